#include "adapters/faiss/faiss_store.hpp"

#include <filesystem>
#include <new>
#include <system_error>

#include "adapters/factories.hpp"
#include "adapters/faiss/faiss_dir_lock.hpp"
#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_index.hpp"
#include "adapters/faiss/faiss_store_math.hpp"
#include "adapters/faiss/faiss_store_uri.hpp"
#include "messages/errors.hpp"
#include "messages/validation.hpp"

namespace storage {

using faiss_detail::collection_state;
using faiss_detail::database;

namespace {

[[noreturn]] void invalid(const std::string& uri, const std::string& what) {
  throw store_error(errc::invalid_argument, what, "open", uri);
}

// `what` names the query: "query", or "query 3:" in a batch.
void check_query_dimension(const std::string& what,
                           const std::vector<float>& query,
                           const collection_spec& spec) {
  if (query.size() != spec.dimension)
    throw store_error(errc::dimension_mismatch,
                      what + " has " + std::to_string(query.size()) +
                          " dimensions, collection '" + spec.name + "' has " +
                          std::to_string(spec.dimension));
}

// The hits as the caller asked for them, documents and embeddings as
// written coming from SQLite.
std::vector<search_hit> to_hits(database& db, const std::string& collection,
                                const collection_state& state,
                                const std::vector<collection_state::hit>& found,
                                const include_fields& include) {
  std::vector<search_hit> hits;
  hits.reserve(found.size());
  for (auto& f : found) {
    search_hit h;
    h.id = state.id(f.slot);
    h.distance = f.distance;
    if (include.metadata) h.metadata = state.meta(f.slot);
    hits.push_back(std::move(h));
  }
  // The index keeps cosine vectors normalized: embeddings as written come
  // from SQLite, as documents do.
  if (hits.empty() || !(include.embedding || include.document)) return hits;
  db.reading([&] {
    for (auto& h : hits) {
      if (include.embedding) {
        auto r = db.get(collection, h.id);
        if (!r) continue;
        h.embedding = std::move(r->embedding);
        if (include.document) h.document = std::move(r->document);
      } else if (include.document) {
        h.document = db.document(collection, h.id);
      }
    }
  });
  return hits;
}

}  // namespace

template <class F>
auto faiss_store::guarded(const char* op, F&& fn) -> decltype(fn()) {
  std::unique_lock<std::mutex> lock(mu_);
  turn_.wait_turn(lock);
  try {
    return fn();
  } catch (const store_error& e) {
    if (db_ && db_->broken()) {
      db_.reset();
      forget_states();
    }
    throw e.with_context(op, uri_);
  } catch (const std::bad_alloc&) {
    throw store_error(errc::internal, "out of memory", op, uri_);
  } catch (const std::exception& e) {
    throw store_error(errc::internal, e.what(), op, uri_);
  }
}

faiss_store::faiss_store(const store_uri& uri, std::uint32_t shard,
                         std::uint32_t shards)
    : uri_(uri.redacted()),
      opts_(std::make_unique<faiss_detail::index_options>()) {
  auto s = faiss_detail::settings_of(uri);
  if (shards == 0 || shard >= shards)
    invalid(uri_, "shard " + std::to_string(shard) + " of " +
                      std::to_string(shards) + " does not exist");
  *opts_ = s.index;
  full_sync_ = s.full_sync;
  snapshots_ = s.snapshots;
  snapshot_after_ = s.snapshot_after;
  dir_ = s.dir;
  guarded("open", [&] { faiss_detail::check_layout(dir_, shards); });
  if (shards > 1)
    dir_ += "/shard-" + std::to_string(shard) + "-of-" + std::to_string(shards);
  faiss_detail::use_one_blas_thread();
  guarded("open", [this] { db(); });
}

faiss_store::~faiss_store() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  snapshot_wanted_.notify_all();
  // The loader first: finishing a load may still start the snapshotter.
  stop_loading();
  if (snapshotter_.joinable()) snapshotter_.join();
  close_snapshots();
}

faiss_detail::database& faiss_store::db() {
  if (!db_) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
      throw store_error(
          errc::backend_unavailable,
          "cannot create directory " + dir_ + ": " + ec.message());
    if (!lock_) lock_ = std::make_unique<faiss_detail::dir_lock>(dir_);
    // Without snapshots the removal log is not kept, so any snapshot left
    // from earlier runs would go stale: it goes first.
    if (!snapshots_) std::filesystem::remove_all(dir_ + "/snapshots", ec);
    auto fresh =
        std::make_unique<database>(dir_ + "/store.db", full_sync_, snapshots_);
    std::map<std::string, collection_entry> catalogue;
    for (auto& c : fresh->collections())
      catalogue[c.spec.name] = {c.spec, c.incarnation};
    db_ = std::move(fresh);
    catalogue_ = std::move(catalogue);
    forget_states();
    if (snapshots_) remove_orphan_snapshots();
  }
  return *db_;
}

const faiss_store::collection_entry& faiss_store::entry_of(
    const std::string& name) {
  db();
  auto it = catalogue_.find(name);
  if (it == catalogue_.end())
    throw store_error(errc::collection_not_found,
                      "collection '" + name + "' does not exist");
  return it->second;
}

std::optional<faiss_store::load_report> faiss_store::last_load(
    const std::string& collection) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(collection);
  if (it == states_.end()) return std::nullopt;
  return it->second.how;
}

void faiss_store::wrote(const std::string& name, std::uint64_t n) {
  auto it = states_.find(name);
  if (it == states_.end()) return;
  auto& c = it->second;
  if (c.state->wants_rebuild()) start_graph_rebuild(name);
  c.unsaved += n;
  if (!snapshots_ || c.queued || c.unsaved < snapshot_after_) return;
  c.queued = true;
  snapshot_queue_.push_back(name);
  if (!snapshotter_.joinable())
    snapshotter_ = std::thread([this] { snapshot_loop(); });
  snapshot_wanted_.notify_one();
}

vector_capabilities faiss_store::capabilities() const {
  vector_capabilities caps;
  caps.in_process = true;
  caps.approximate = opts_->hnsw;
  return caps;
}

bool faiss_store::create_collection(const collection_spec& spec) {
  return guarded("create_collection", [&] {
    validate_collection_spec(spec);
    db();
    if (auto it = catalogue_.find(spec.name); it != catalogue_.end()) {
      auto& have = it->second.spec;
      if (have == spec) return false;
      throw store_error(errc::conflict,
                        "collection '" + spec.name +
                            "' exists with dimension " +
                            std::to_string(have.dimension) + " and metric " +
                            to_string(have.metric) + ", asked for dimension " +
                            std::to_string(spec.dimension) + " and metric " +
                            to_string(spec.metric));
    }
    auto incarnation = db_->add_collection(spec);
    catalogue_[spec.name] = {spec, incarnation};
    return true;
  });
}

bool faiss_store::drop_collection(const std::string& name) {
  return guarded("drop_collection", [&] {
    db();
    auto it = catalogue_.find(name);
    if (it == catalogue_.end()) return false;
    db_->drop_collection(name);
    auto incarnation = it->second.incarnation;
    catalogue_.erase(it);
    states_.erase(name);
    loading_.erase(name);
    rebuilding_.erase(name);
    load_finished_.notify_all();
    drop_snapshot(incarnation);
    return true;
  });
}

std::vector<collection_spec> faiss_store::list_collections() {
  return guarded("list_collections", [&] {
    db();
    std::vector<collection_spec> out;
    for (auto& [name, c] : catalogue_) out.push_back(c.spec);
    return out;
  });
}

std::uint64_t faiss_store::upsert(const std::string& collection,
                                  const std::vector<vector_record>& records) {
  return guarded("upsert", [&]() -> std::uint64_t {
    auto& spec = spec_of(collection);
    validate_batch(records);
    validate_dimension(records, spec.dimension);
    if (records.empty()) return 0;
    auto& state = *loaded(collection).state;
    auto seq = db_->upsert(collection, records);
    if (rebuilding_.count(collection)) {
      std::vector<std::string> ids;
      for (auto& r : records) ids.push_back(r.id);
      touched(collection, ids);
    }
    try {
      state.put(records);
      state.set_seq(seq);
    } catch (...) {
      // The batch is durable; a half-applied state is reloaded on next use.
      states_.erase(collection);
      throw;
    }
    wrote(collection, records.size());
    return records.size();
  });
}

std::vector<vector_record> faiss_store::get(
    const std::string& collection, const std::vector<std::string>& ids) {
  return guarded("get", [&] {
    spec_of(collection);
    std::vector<vector_record> out;
    db_->reading([&] {
      for (auto& id : ids)
        if (auto r = db_->get(collection, id)) out.push_back(std::move(*r));
    });
    return out;
  });
}

std::uint64_t faiss_store::remove(const std::string& collection,
                                  const std::vector<std::string>& ids) {
  return guarded("remove", [&]() -> std::uint64_t {
    spec_of(collection);
    if (ids.empty()) return 0;
    auto& state = *loaded(collection).state;
    auto done = db_->remove(collection, ids);
    for (auto& id : ids) state.erase(id);
    state.set_seq(done.seq);
    touched(collection, ids);
    wrote(collection, done.removed);
    return done.removed;
  });
}

std::uint64_t faiss_store::remove_where(const std::string& collection,
                                        const filter& where) {
  return guarded("remove_where", [&]() -> std::uint64_t {
    auto& state = *loaded(collection).state;
    auto ids = state.matching(where);
    if (ids.empty()) return 0;
    auto done = db_->remove(collection, ids);
    for (auto& id : ids) state.erase(id);
    state.set_seq(done.seq);
    touched(collection, ids);
    wrote(collection, done.removed);
    return done.removed;
  });
}

std::uint64_t faiss_store::count(const std::string& collection) {
  return guarded("count", [&]() -> std::uint64_t {
    spec_of(collection);
    if (auto it = states_.find(collection); it != states_.end())
      return it->second.state->size();
    return db_->count(collection);
  });
}

bool faiss_store::searches_from_memory(const std::string& collection) {
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  // states_ is emptied whenever db_ goes (forget_states).
  return lock.owns_lock() && !turn_.background_waiting() &&
         states_.count(collection) != 0;
}

std::vector<search_hit> faiss_store::search(const std::string& collection,
                                            const search_request& req) {
  return guarded("search", [&] {
    auto& spec = spec_of(collection);
    validate_search(req);
    check_query_dimension("query", req.query, spec);
    auto& state = *loaded(collection).state;
    auto found =
        state.search(req.query, req.k, req.where ? &*req.where : nullptr);
    return to_hits(*db_, collection, state, found, req.include);
  });
}

std::vector<std::vector<search_hit>> faiss_store::search_batch(
    const std::string& collection, const batch_search_request& req) {
  return guarded("search", [&] {
    auto& spec = spec_of(collection);
    validate_batch_search(req);
    for (std::size_t i = 0; i < req.queries.size(); ++i)
      check_query_dimension("query " + std::to_string(i) + ":", req.queries[i],
                            spec);
    auto& state = *loaded(collection).state;
    auto found = state.search_batch(
        req.queries, req.k, req.where ? &*req.where : nullptr, deadline_);
    std::vector<std::vector<search_hit>> out;
    out.reserve(found.size());
    for (auto& f : found)
      out.push_back(to_hits(*db_, collection, state, f, req.include));
    return out;
  });
}

scan_page faiss_store::scan(const std::string& collection,
                            const std::string& after, std::uint32_t limit) {
  return guarded("scan", [&] {
    spec_of(collection);
    if (limit == 0)
      throw store_error(errc::invalid_argument, "scan limit must be positive");
    scan_page page;
    // One extra row tells whether another page follows.
    page.records =
        db_->scan(collection, after, static_cast<std::int64_t>(limit) + 1);
    if (page.records.size() > limit) {
      page.records.resize(limit);
      page.next_cursor = page.records.back().id;
    }
    return page;
  });
}

std::unique_ptr<vector_backend> make_faiss_store(const store_uri& uri,
                                                 std::uint32_t shard,
                                                 std::uint32_t shards,
                                                 open_deadline) {
  // Loading reads local files: there is nothing to wait for.
  return std::make_unique<faiss_store>(uri, shard, shards);
}

}  // namespace storage
