// pgvector_store: the HNSW index, built with the table (create_collection) or
// after a bulk load (collection_spec::defer_index), and the warning when an
// index search meets a collection still without one. See the header comment.
#include <algorithm>
#include <chrono>
#include <thread>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "adapters/storage_log.hpp"

namespace storage {

namespace {

// pgvector's HNSW holds at most 2000 dimensions.
constexpr std::uint32_t max_hnsw_dimension = 2000;

const char* opclass(metric m) {
  switch (m) {
    case metric::l2:
      return "vector_l2_ops";
    case metric::ip:
      return "vector_ip_ops";
    default:
      return "vector_cosine_ops";
  }
}

// maintenance_work_mem (kB) that holds the whole graph of `rows` rows in
// memory. Measured on pgvector 0.8.0: 8 MB held 6493 rows of 128-d at m=16,
// 1.29 kB a row = 4 x dimension + 48 x m + 32 bytes; 25% on top for the
// allocator and the layers above the first. Beyond the memory pgvector
// writes the graph out and inserts on disk, many times slower.
std::int64_t build_memory_kb(std::int64_t rows, std::uint32_t dim, int m,
                             std::int64_t max_mb) {
  constexpr std::int64_t min_kb = 64 * 1024;  // PostgreSQL's default
  auto per_row = 4 * static_cast<std::int64_t>(dim) + 48 * m + 32;
  auto kb = rows * per_row * 5 / 4 / 1024;
  return std::clamp(kb, min_kb, std::max(min_kb, max_mb * 1024));
}

}  // namespace

namespace pgv {

build_lock::build_lock(connection& c, const std::string& collection,
                       std::chrono::milliseconds wait)
    : c_(c) {
  sql_key_ = key_.add("storage_index " + collection);
  auto give_up = std::chrono::steady_clock::now() + wait;
  while (
      c_.exec("SELECT pg_try_advisory_lock(hashtext(" + sql_key_ + "))", key_)
          .text(0, 0) != "t") {
    if (std::chrono::steady_clock::now() > give_up)
      throw store_error(errc::timeout,
                        "another connection is still building the HNSW "
                        "index of collection '" +
                            collection + "'");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

build_lock::~build_lock() {
  try {
    c_.exec("SELECT pg_advisory_unlock(hashtext(" + sql_key_ + "))", key_);
  } catch (const std::exception&) {
    // The session is gone, and the lock with it.
  }
}

}  // namespace pgv

bool pgvector_store::wants_index(const collection_spec& spec) const {
  return opt_.hnsw && spec.dimension <= max_hnsw_dimension;
}

std::string pgvector_store::index_sql(const collection_info& c,
                                      bool concurrently) const {
  return std::string("CREATE INDEX ") + (concurrently ? "CONCURRENTLY " : "") +
         "ON " + c.table + " USING hnsw (embedding " + opclass(c.spec.metric) +
         ") WITH (m = " + std::to_string(opt_.m) +
         ", ef_construction = " + std::to_string(opt_.ef_construction) + ")";
}

bool pgvector_store::ensure_index(const collection_info& c) {
  pgv::build_lock lock(*conn_, c.spec.name,
                       std::chrono::milliseconds(opt_.timeout_ms));
  pgv::params p;
  auto state = conn_->exec(
      "SELECT " + std::string(pgv::has_hnsw_sql) + ", " +
          std::string(pgv::invalid_hnsw_sql) + ", id" +
          " FROM storage_collections WHERE name = " + p.add(c.spec.name),
      p);
  if (state.rows() == 0)
    throw store_error(errc::collection_not_found,
                      "collection '" + c.spec.name + "' does not exist");
  // The table as it is now, under the lock (a drop and re-create may have
  // come between the caller's lookup and the lock).
  collection_info now = c;
  now.table = pgv::quote_ident("storage_vs_" + state.text(0, 2));
  if (state.text(0, 0) == "t") {
    catalogue_[c.spec.name].index_missing = false;
    return false;
  }
  // What an interrupted concurrent build left: an index marked invalid,
  // which writes keep maintaining but no search uses.
  if (!state.text(0, 1).empty())
    conn_->exec("DROP INDEX CONCURRENTLY IF EXISTS " +
                pgv::quote_ident(state.text(0, 1)));
  std::int64_t rows =
      std::stoll(conn_->exec("SELECT count(*) FROM " + now.table).text(0, 0));
  auto want_kb =
      build_memory_kb(rows, c.spec.dimension, opt_.m, opt_.build_memory_mb);
  // A server configured for more keeps its setting.
  std::int64_t have_kb =
      std::stoll(conn_
                     ->exec("SELECT setting FROM pg_settings WHERE name = "
                            "'maintenance_work_mem'")
                     .text(0, 0));
  pgv::session_setting memory(
      *conn_, "maintenance_work_mem",
      have_kb < want_kb ? "'" + std::to_string(want_kb) + "kB'" : "");
  auto began = std::chrono::steady_clock::now();
  conn_->exec_long(index_sql(now, true));
  catalogue_[c.spec.name].index_missing = false;
  storage_log()->info(
      "pgvector: built the HNSW index of collection '{}' over {} rows in "
      "{:.1f} s (maintenance_work_mem {} MB)",
      c.spec.name, rows,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
          .count(),
      std::max(want_kb, have_kb) / 1024);
  return true;
}

void pgvector_store::warn_if_unindexed(const std::string& name) {
  auto it = catalogue_.find(name);
  if (it == catalogue_.end() || !it->second.index_missing || it->second.warned)
    return;
  it->second.warned = true;
  // Another connection may have built it since this one looked (a live
  // migration builds on a connection of its own).
  pgv::params p;
  auto now =
      conn_->exec("SELECT " + std::string(pgv::has_hnsw_sql) +
                      " FROM storage_collections WHERE name = " + p.add(name),
                  p);
  if (now.rows() > 0 && now.text(0, 0) == "t") {
    it->second.index_missing = false;
    return;
  }
  storage_log()->warn(
      "pgvector: collection '{}' has no HNSW index (a bulk load stopped "
      "before building it?): its searches scan every row until "
      "create_collection (or rerunning the migration) builds it",
      name);
}

}  // namespace storage
