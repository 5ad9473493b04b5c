// What faiss_store's loader shares between loading collections
// (faiss_store_load.cpp) and rebuilding hnsw graphs
// (faiss_store_rebuild.cpp). Private to the faiss_store library.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/faiss/faiss_store.hpp"
#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_index.hpp"
#include "messages/errors.hpp"

namespace storage {

namespace faiss_detail {

using clock_type = std::chrono::steady_clock;

// A step's FAISS work aims at this long: short enough for the store's other
// collections to be served between steps and for a close to stop promptly.
constexpr auto step_time = std::chrono::milliseconds(250);

// The rows of the next step, from how long this one's took. At most 4096:
// larger pages only churned memory (twice the page faults at 65536) without
// reading faster.
inline std::int64_t next_chunk(std::int64_t chunk, clock_type::duration took) {
  took = std::max(took, clock_type::duration(std::chrono::milliseconds(1)));
  auto scaled = static_cast<double>(chunk) *
                (std::chrono::duration<double>(step_time) / took);
  return static_cast<std::int64_t>(std::clamp(
      scaled, 16.0, std::min(4096.0, 4.0 * static_cast<double>(chunk))));
}

// Rows read back from SQLite must have the collection's dimension: a
// corrupt or foreign row would otherwise overrun (or short) the index's row
// buffer. Throws internal naming the first that does not.
inline void check_stored(const std::vector<vector_record>& rows,
                         std::uint32_t dimension) {
  for (auto& r : rows)
    if (r.embedding.size() != dimension)
      throw store_error(errc::internal, "stored record '" + r.id + "' has " +
                                            std::to_string(r.embedding.size()) +
                                            " dimensions, the collection has " +
                                            std::to_string(dimension));
}

inline std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace faiss_detail

// A collection on its way into memory, or an hnsw graph being rebuilt.
// Its state is the loader's alone until it is published in states_.
struct faiss_store::load_job {
  std::uint64_t incarnation = 0;
  collection_spec spec;
  std::unique_ptr<faiss_detail::collection_state> state;  // null at first
  bool by_id = false;  // a rebuild, in id order, as of write cursor.seq
  faiss_detail::database::load_cursor cursor;
  load_report how;
  std::uint64_t total = 0;       // records in SQLite when the load began
  std::uint64_t size = 0;        // records in `state`, as of the last step
  std::uint64_t unsaved = 0;     // records loaded since the last snapshot
  bool partial_on_disk = false;  // the snapshot on disk is a partial load's
  std::int64_t chunk = 0;        // rows per step, adapted to step_time
  std::exception_ptr failed;
  // A graph rebuild: the state it replaces, whether the scan of SQLite is
  // done, the ids written since it began (applied before the swap).
  const faiss_detail::collection_state* replaces = nullptr;
  bool scanned = false;
  std::set<std::string> touched;
  int catch_ups = 0;
  faiss_detail::clock_type::time_point began = faiss_detail::clock_type::now();
  faiss_detail::clock_type::time_point saved_at = began;
};

}  // namespace storage
