// The --checkpoint file: where each collection of one migration stands, so a
// killed run resumes at its last acknowledged batch. JSON:
//
//   {"format":1,"source":"<redacted URI>","target":"<redacted URI>",
//    "entries":[{"collection":"docs"|null,"cursor":"..","copied":N,
//                "copied_all":false,"completed":false}]}
//
// `collection` is null for a cache. `copied_all`: the copy reached the end of
// the source, so a rerun copies nothing more. `completed`: and verification
// passed afterwards (migration.hpp). Files written before `copied_all`
// existed only hold `completed`, which they set when the copy ended: such an
// entry reads as copied_all and completed, as it did then. Every save replaces
// the file atomically (temporary file, fsync, rename, fsync of the directory),
// so a SIGKILL or a power cut leaves either the old state or the new one, never
// a torn file. The temporary file (`<path>.tmp.<pid>`) a killed run leaves
// is removed by the next open.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace storage {

struct checkpoint_entry {
  std::string cursor;        // resume point after the last acknowledged batch
  std::uint64_t copied = 0;  // records acknowledged by the target, all runs
  bool copied_all = false;   // the source was copied to its end
  bool completed = false;    // and verified afterwards
};

class checkpoint_file {
 public:
  // Loads `path` (a missing file is an empty checkpoint). Throws store_error:
  // invalid_argument if the file is not a checkpoint, or if it belongs to a
  // migration between other stores (resuming it would skip data); a
  // store's timeout_ms, max_inflight or (but on faiss://) pool does not
  // make it another.
  static checkpoint_file open(const std::string& path,
                              const std::string& source,
                              const std::string& target);

  // The entry of `collection` (nullopt: the cache), if there is one.
  std::optional<checkpoint_entry> get(
      const std::optional<std::string>& collection) const;

  // Records the entry and saves the whole file atomically. Throws
  // store_error(internal) naming the path if it cannot be written.
  void put(const std::optional<std::string>& collection,
           const checkpoint_entry& entry);
  // Marks `collection` completed (and copied to its end), or takes that
  // back; saves only if it changes. Taking it back from a collection with
  // no entry records nothing.
  void set_completed(const std::optional<std::string>& collection,
                     bool completed);

  const std::string& path() const { return path_; }

 private:
  void save() const;

  std::string path_;
  nlohmann::json doc_;
};

}  // namespace storage
