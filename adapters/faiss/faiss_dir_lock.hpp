// The lock that makes one faiss_store the only one using its directory,
// across processes and within one. Private to the faiss_store library.
//
// A second store on the same directory would not see the first one's
// writes in its index, and worse, a snapshot it saved records how far the
// shared SQLite log it reflects goes -- past writes it never applied, so
// after a reopen they would be missing from searches, and removals the
// other store had already forgotten could come back. Like LevelDB's LOCK
// file: flock(2) on dir/LOCK, which the kernel releases when the store
// closes or its process dies, even by SIGKILL. Other processes reach the
// store through a node (`storectl serve`, caf://).
#pragma once

#include <string>

namespace storage::faiss_detail {

// Refuses (conflict) to open `root` as a store of `shards` shards when it
// already holds a store of another shard count: its records would not be
// visible (one shard keeps root/store.db, n shards root/shard-<i>-of-<n>).
// A directory holding several layouts (left by versions that allowed it)
// may be opened with any of them.
void check_layout(const std::string& root, std::uint32_t shards);

class dir_lock {
 public:
  // Takes the lock of `dir` (which must exist). A store of this process
  // that holds it is waited for up to 5 s: it is most likely closing (a
  // swap to the same directory hands over while the old store closes,
  // and a close may write snapshots). Throws store_error: conflict,
  // naming the holder's process, when another store holds it (another
  // process's at once); backend_unavailable when the lock file cannot be
  // opened.
  explicit dir_lock(const std::string& dir);
  ~dir_lock();
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace storage::faiss_detail
