#include "runtime/migration_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "runtime/store_identity.hpp"

namespace storage {

namespace fs = std::filesystem;

namespace {

const live_step all_steps[] = {live_step::started,   live_step::backfilled,
                               live_step::verified,  live_step::cut_over,
                               live_step::finalized, live_step::aborted,
                               live_step::failed};

std::optional<live_step> parse_step(const std::string& s) {
  for (auto step : all_steps)
    if (s == to_string(step)) return step;
  return std::nullopt;
}

// FNV-1a: a file name that is the same in every build and process.
std::string hash_name(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

store_error io_error(const std::string& what, const std::string& path) {
  return store_error(errc::internal,
                     what + " '" + path + "': " + std::strerror(errno),
                     "journal");
}

void write_synced(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw io_error("cannot create the migration journal", path);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw io_error("cannot write the migration journal", path);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw io_error("cannot sync the migration journal", path);
  }
  ::close(fd);
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw io_error("cannot open the state directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw io_error("cannot sync the state directory", dir);
}

}  // namespace

const std::string& journal_entry::authoritative() const {
  // A memory:// target does not outlive the process that migrated to it:
  // whoever reads this entry later finds it empty, while reverse
  // replication kept the source current until the process ended.
  if (step == live_step::cut_over && in_memory_target()) return source_uri;
  return step == live_step::cut_over || step == live_step::finalized
             ? target_uri
             : source_uri;
}

bool journal_entry::in_memory_target() const {
  try {
    return store_uri::parse(target_uri).scheme() == "memory";
  } catch (const store_error&) {
    return false;
  }
}

std::string default_state_dir() {
  if (auto* d = std::getenv("STORAGE_STATE_DIR"); d && *d) return d;
  if (auto* d = std::getenv("XDG_STATE_HOME"); d && *d)
    return std::string(d) + "/storage-runtime";
  if (auto* d = std::getenv("HOME"); d && *d)
    return std::string(d) + "/.local/state/storage-runtime";
  return "/tmp/storage-runtime-state";
}

migration_journal::migration_journal(std::string state_dir)
    : dir_(state_dir.empty() ? default_state_dir() : std::move(state_dir)) {}

std::string migration_journal::file_for(const std::string& key) const {
  return dir_ + "/migrations/" + hash_name(key) + ".json";
}

std::string migration_journal::path_for(const std::string& uri) const {
  return file_for(data_identity(uri));
}

namespace {

// The entry in `path` if it is the one of the store whose recorded
// source_identity is `key` (a hash collision is absurdly unlikely, but
// costs nothing to rule out); nullopt if there is no such file.
std::optional<journal_entry> read_entry(const std::string& path,
                                        const std::string& key) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error("cannot read the migration journal", path);
  }
  auto bad = [&](const std::string& why) {
    return store_error(errc::internal,
                       "the migration journal '" + path + "' is unreadable (" +
                           why +
                           "); which backend holds the store's data is "
                           "unknown, so it is not opened",
                       "journal");
  };
  journal_entry e;
  try {
    auto j = nlohmann::json::parse(in);
    e.source_identity = j.at("source_identity").get<std::string>();
    e.source_uri = j.at("source_uri").get<std::string>();
    e.target_uri = j.at("target_uri").get<std::string>();
    e.at_ms = j.at("at_ms").get<std::int64_t>();
    auto step = parse_step(j.at("step").get<std::string>());
    if (!step) throw bad("unknown step");
    e.step = *step;
  } catch (const nlohmann::json::exception& x) {
    throw bad(x.what());
  }
  if (e.source_identity != key) return std::nullopt;
  e.file = path;
  return e;
}

}  // namespace

std::optional<journal_entry> migration_journal::find(
    const std::string& source) const {
  auto key = data_identity(source);
  if (auto e = read_entry(file_for(key), key)) return e;
  // Before 2026-12-06 files were named by the store's full identity, pool,
  // timeouts and password included: a store migrated then still finds them.
  auto full = store_identity(source);
  return read_entry(file_for(full), full);
}

migration_journal::serving_backend migration_journal::serving(
    const std::string& uri) const {
  serving_backend out{uri, std::nullopt};
  auto home = data_identity(uri);
  std::set<std::string> seen;
  auto at = home;
  auto from = uri;
  // Each hop's entry must be newer than the one that led to it: an older
  // entry of a backend the store moved to later describes that backend's
  // past (A -> B then B -> A: B's entry is newer than A's, A's older than
  // B's), and the walk ends at the first backend it has seen before.
  while (seen.insert(at).second) {
    auto e = find(from);
    if (!e || (out.last && e->at_ms <= out.last->at_ms)) break;
    from = e->authoritative();
    out.last = std::move(e);
    auto next = data_identity(from);
    if (next == at) break;
    at = std::move(next);
  }
  // Back home: the configuration's own URI (its password and pool now).
  out.uri = data_identity(from) == home ? uri : from;
  return out;
}

void migration_journal::record(journal_entry e) const {
  e.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  auto dir = dir_ + "/migrations";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw store_error(
        errc::internal,
        "cannot create the state directory '" + dir + "': " + ec.message(),
        "journal");
  auto write = [&](const std::string& key) {
    nlohmann::json j{{"source_identity", key},
                     {"source_uri", e.source_uri},
                     {"target_uri", e.target_uri},
                     {"step", to_string(e.step)},
                     {"at_ms", e.at_ms}};
    auto path = file_for(key);
    auto tmp = path + ".tmp";
    write_synced(tmp, j.dump() + "\n");
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw io_error("cannot replace the migration journal", path);
    sync_dir(dir);
  };
  // A store configured as A that an earlier migration moved to B migrates
  // from B: B's entry comes first, so a configuration pointed at B (as the
  // log asked) finds this migration too, even if the process dies between
  // the two writes (A's older entry leads to B, whose entry is newer).
  if (auto moved = data_identity(e.source_uri); moved != e.source_identity)
    write(moved);
  write(e.source_identity);
}

}  // namespace storage
