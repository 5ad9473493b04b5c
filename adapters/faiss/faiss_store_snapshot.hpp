// A collection's in-memory state saved beside the SQLite truth, so a new
// process loads it in about the time it takes to read the file instead of
// rebuilding the index. Private to the faiss_store library.
//
// File: snapshots/<incarnation>.idx in the store's directory —
//   header (magic, format version, dimension, metric, index kind and m,
//   incarnation), the state's image (collection_state::save: slots, ids,
//   metadata as JSON, then FAISS's own write_index), and a trailer holding
//   a 64-bit checksum of everything before it.
// Written to a .tmp file, synced, then renamed over the old one: a crash
// at any moment leaves the previous snapshot or the new one, never a torn
// file under the final name. A file that is torn, corrupt, of another
// incarnation or built with other index parameters is never used.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "adapters/faiss/faiss_store_index.hpp"

namespace storage::faiss_detail {

// The path of a collection's snapshot in `dir`.
std::string snapshot_path(const std::string& dir, std::uint64_t incarnation);

// A snapshot written but not yet durable or visible.
class pending_snapshot {
 public:
  pending_snapshot(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  ~pending_snapshot();
  pending_snapshot(const pending_snapshot&) = delete;
  pending_snapshot& operator=(const pending_snapshot&) = delete;

  // Syncs the file, renames it into place and syncs the directory. Needs
  // no lock: the state was copied into the file already.
  void commit();

 private:
  std::string path_;  // final name; the file is path_ + ".tmp"
  std::FILE* file_;
};

// Copies the state into a temporary file (into the page cache: the caller
// holds the state still only for that long). Throws on I/O failure.
std::unique_ptr<pending_snapshot> write_snapshot(const std::string& path,
                                                 const collection_state& state,
                                                 const collection_spec& spec,
                                                 const index_options& opts,
                                                 std::uint64_t incarnation);

// The state in the snapshot at `path`, or null with the reason in `why`
// when the file is missing (why stays empty) or unusable.
std::unique_ptr<collection_state> read_snapshot(const std::string& path,
                                                const collection_spec& spec,
                                                const index_options& opts,
                                                std::uint64_t incarnation,
                                                std::string& why);

}  // namespace storage::faiss_detail
