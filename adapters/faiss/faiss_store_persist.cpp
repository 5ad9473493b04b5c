// faiss_store's snapshots of loaded collections: saved in the background
// after enough writes and at close (loading them: faiss_store_load.cpp).
#include "adapters/storage_log.hpp"

#include <filesystem>
#include <system_error>

#include "adapters/faiss/faiss_store.hpp"
#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_index.hpp"
#include "adapters/faiss/faiss_store_snapshot.hpp"
#include "messages/errors.hpp"

namespace storage {

using faiss_detail::collection_state;

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
  turn_.relock(lock);
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
  if (same)
    if (auto again = states_.find(name); again != states_.end())
      again->second.partial_on_disk = false;
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
    if (c.unsaved >= due || (c.partial_on_disk && c.unsaved > 0))
      names.push_back(name);
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
