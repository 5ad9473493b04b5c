// faiss_store's snapshots: loading a collection from its snapshot and the
// writes after it, and saving snapshots in the background and at close.
#include "adapters/storage_log.hpp"

#include <filesystem>
#include <system_error>

#include "adapters/faiss_store.hpp"
#include "adapters/faiss_store_db.hpp"
#include "adapters/faiss_store_index.hpp"
#include "adapters/faiss_store_snapshot.hpp"
#include "messages/errors.hpp"

namespace storage {

using faiss_detail::collection_state;

namespace {

// Loads rows in batches, so an hnsw graph is built with FAISS's bulk path.
class batch_loader {
 public:
  batch_loader(collection_state& state, const collection_spec& spec)
      : state_(state), spec_(spec) {}
  void operator()(vector_record&& r) {
    if (r.embedding.size() != spec_.dimension)
      throw store_error(errc::internal, "stored record '" + r.id + "' has " +
                                            std::to_string(r.embedding.size()) +
                                            " dimensions, the collection has " +
                                            std::to_string(spec_.dimension));
    batch_.push_back(std::move(r));
    if (batch_.size() == 4096) flush();
  }
  void flush() {
    state_.put(batch_);
    count_ += batch_.size();
    batch_.clear();
  }
  std::uint64_t count() const { return count_; }

 private:
  collection_state& state_;
  const collection_spec& spec_;
  std::vector<vector_record> batch_;
  std::uint64_t count_ = 0;
};

}  // namespace

std::unique_ptr<collection_state> faiss_store::load_state(
    const std::string& name, load_report& how) {
  auto& entry = entry_of(name);
  auto last = db_->last_seq(name);
  std::unique_ptr<collection_state> state;
  if (snapshots_) {
    auto path = faiss_detail::snapshot_path(dir_, entry.incarnation);
    std::string why;
    state = faiss_detail::read_snapshot(path, entry.spec, *opts_,
                                        entry.incarnation, why);
    // After a power loss SQLite (sync=normal) may have lost commits the
    // snapshot had seen: SQLite wins.
    if (state && state->seq() > last) {
      why = "newer than the database (write " + std::to_string(state->seq()) +
            " > " + std::to_string(last) + ")";
      state.reset();
    }
    if (!why.empty())
      storage_log()->warn(
          "faiss store {}: snapshot {} of collection '{}' is unusable ({}); "
          "rebuilding the index from SQLite",
          uri_, path, name, why);
  }
  how = {};
  how.from_snapshot = state != nullptr;
  if (state) {
    auto removed = db_->removed_since(name, state->seq());
    for (auto& id : removed) state->erase(id);
    batch_loader load(*state, entry.spec);
    db_->load(name, state->seq(), std::ref(load));
    load.flush();
    how.replayed = removed.size() + load.count();
  } else {
    state = std::make_unique<collection_state>(entry.spec, *opts_);
    state->reserve(db_->count(name));
    batch_loader load(*state, entry.spec);
    db_->load(name, 0, std::ref(load));
    load.flush();
    how.replayed = load.count();
  }
  state->set_seq(last);
  return state;
}

void faiss_store::save_snapshot(const std::string& name,
                                std::unique_lock<std::mutex>& lock) {
  auto it = states_.find(name);
  auto cat = catalogue_.find(name);
  if (it == states_.end() || cat == catalogue_.end() || !db_) return;
  it->second.queued = false;
  if (it->second.unsaved == 0) return;
  auto incarnation = cat->second.incarnation;
  auto& state = *it->second.state;
  auto seq = state.seq();
  auto pending = faiss_detail::write_snapshot(
      faiss_detail::snapshot_path(dir_, incarnation), state, cat->second.spec,
      *opts_, incarnation);
  auto saved = it->second.unsaved;
  it->second.unsaved = 0;
  lock.unlock();
  std::exception_ptr failed;
  try {
    pending->commit();
  } catch (...) {
    failed = std::current_exception();
  }
  lock.lock();
  // The collection may have gone meanwhile (or been dropped and created
  // again): the file then belongs to no current incarnation.
  cat = catalogue_.find(name);
  bool same = cat != catalogue_.end() && cat->second.incarnation == incarnation;
  if (failed) {
    if (same)
      if (auto again = states_.find(name); again != states_.end())
        again->second.unsaved += saved;
    std::rethrow_exception(failed);
  }
  // Removals up to `seq` are in the snapshot now; a rebuild reads SQLite.
  if (same && db_) db_->forget_removals(name, seq);
}

void faiss_store::snapshot_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    snapshot_wanted_.wait(
        lock, [this] { return stopping_ || !snapshot_queue_.empty(); });
    if (stopping_) return;
    auto name = std::move(snapshot_queue_.front());
    snapshot_queue_.pop_front();
    try {
      save_snapshot(name, lock);
    } catch (const std::exception& e) {
      storage_log()->warn(
          "faiss store {}: saving the snapshot of '{}' failed: {}", uri_, name,
          e.what());
    }
  }
}

void faiss_store::close_snapshots() {
  if (!snapshots_) return;
  std::unique_lock<std::mutex> lock(mu_);
  auto due = std::min<std::uint64_t>(snapshot_after_, 1000);
  std::vector<std::string> names;
  for (auto& [name, c] : states_)
    if (c.unsaved >= due) names.push_back(name);
  for (auto& name : names) {
    try {
      save_snapshot(name, lock);
    } catch (const std::exception& e) {
      storage_log()->warn(
          "faiss store {}: saving the snapshot of '{}' failed: {}", uri_, name,
          e.what());
    }
  }
}

void faiss_store::remove_orphan_snapshots() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir_ + "/snapshots", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    // <incarnation>.idx, or <incarnation>.idx.tmp from a writer that died
    // before renaming it (or is writing it now, in another store object:
    // a current one is left alone and overwritten by the next snapshot).
    auto file = it->path().filename().string();
    auto incarnation = file.substr(0, file.find('.'));
    bool current = false;
    for (auto& [name, c] : catalogue_)
      current = current || incarnation == std::to_string(c.incarnation);
    if (!current) fs::remove(it->path(), ec);
  }
}

void faiss_store::drop_snapshot(std::uint64_t incarnation) {
  std::error_code ec;
  std::filesystem::remove(faiss_detail::snapshot_path(dir_, incarnation), ec);
}

}  // namespace storage
