#include "actors/migration/checkpoint_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "messages/errors.hpp"

namespace storage {

namespace {

[[noreturn]] void bad_file(const std::string& path, const std::string& why) {
  throw store_error(errc::invalid_argument,
                    "checkpoint file '" + path + "' " + why, "migrate");
}

[[noreturn]] void io_failure(const std::string& path, const char* what) {
  throw store_error(errc::internal,
                    std::string(what) + " checkpoint file '" + path +
                        "': " + std::strerror(errno),
                    "migrate");
}

nlohmann::json key_of(const std::optional<std::string>& collection) {
  return collection ? nlohmann::json(*collection) : nlohmann::json(nullptr);
}

// Cursors are ids or keys, arbitrary bytes: stored as hex so a cursor that
// is not UTF-8 survives JSON exactly ("cursor" beside it is for people).
std::string to_hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(const std::string& path, const std::string& h) {
  auto val = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    bad_file(path, "holds a malformed cursor");
  };
  if (h.size() % 2) bad_file(path, "holds a malformed cursor");
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2)
    out.push_back(static_cast<char>(val(h[i]) * 16 + val(h[i + 1])));
  return out;
}

// Writes all of `data` to `fd`, retrying short writes.
bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// A store's URI without the parameters that say how to reach it rather than
// where its data is (timeout_ms, max_inflight, and pool except on faiss://,
// where it is the shard layout), others sorted: a run killed by a too short
// timeout_ms resumes with a longer one.
std::string data_of(const std::string& uri) {
  const bool sharded_on_disk = uri.rfind("faiss:", 0) == 0;
  auto q = uri.find('?');
  if (q == std::string::npos) return uri;
  std::vector<std::string> kept;
  std::stringstream params(uri.substr(q + 1));
  for (std::string kv; std::getline(params, kv, '&');) {
    auto key = kv.substr(0, kv.find('='));
    if ((key != "pool" || sharded_on_disk) && key != "timeout_ms" &&
        key != "max_inflight")
      kept.push_back(kv);
  }
  std::sort(kept.begin(), kept.end());
  std::string out = uri.substr(0, q);
  for (std::size_t i = 0; i < kept.size(); ++i)
    out += (i ? "&" : "?") + kept[i];
  return out;
}

// A run killed between creating its temporary file and renaming it leaves
// `<path>.tmp.<pid>` behind. Removes those of processes that are gone; a
// live process's file may be a save in progress (two runs on one file is
// the user's mistake, but not one to make worse).
void remove_leftovers(const std::string& path) {
  namespace fs = std::filesystem;
  auto target = fs::path(path);
  auto dir =
      target.parent_path().empty() ? fs::path(".") : target.parent_path();
  auto prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix))
      continue;
    auto digits = name.substr(prefix.size());
    if (digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
      ::unlink(it->path().c_str());
  }
}

}  // namespace

checkpoint_file checkpoint_file::open(const std::string& path,
                                      const std::string& source,
                                      const std::string& target) {
  checkpoint_file f;
  f.path_ = path;
  remove_leftovers(path);
  std::ifstream in(path);
  if (!in) {
    // A path that cannot be written is the caller's mistake, named before
    // the migration writes anything, not after its first batch.
    auto probe = path + ".probe." + std::to_string(::getpid());
    int fd =
        ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      bad_file(path, std::string("cannot be created: ") + std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
    f.doc_ = {{"format", 1},
              {"source", source},
              {"target", target},
              {"entries", nlohmann::json::array()}};
    return f;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") ||
      !doc["entries"].is_array() || !doc.contains("source") ||
      !doc.contains("target") || !doc["source"].is_string() ||
      !doc["target"].is_string())
    bad_file(path, "is not a migration checkpoint");
  if (data_of(doc["source"].get<std::string>()) != data_of(source) ||
      data_of(doc["target"].get<std::string>()) != data_of(target))
    bad_file(path, "belongs to the migration from '" +
                       doc["source"].get<std::string>() + "' to '" +
                       doc["target"].get<std::string>() +
                       "'; use another file for this one");
  f.doc_ = std::move(doc);
  return f;
}

std::optional<checkpoint_entry> checkpoint_file::get(
    const std::optional<std::string>& collection) const {
  auto key = key_of(collection);
  for (auto& e : doc_["entries"]) {
    if (e.value("collection", nlohmann::json()) != key) continue;
    checkpoint_entry out;
    out.cursor = from_hex(path_, e.value("cursor_hex", std::string()));
    out.copied = e.value("copied", std::uint64_t{0});
    out.completed = e.value("completed", false);
    out.copied_all = e.value("copied_all", out.completed) || out.completed;
    return out;
  }
  return std::nullopt;
}

void checkpoint_file::set_completed(
    const std::optional<std::string>& collection, bool completed) {
  auto e = get(collection).value_or(checkpoint_entry{});
  if (e.completed == completed) return;
  e.completed = completed;
  if (completed) e.copied_all = true;
  put(collection, e);
}

void checkpoint_file::put(const std::optional<std::string>& collection,
                          const checkpoint_entry& entry) {
  auto key = key_of(collection);
  nlohmann::json row = {{"collection", key},
                        {"cursor", entry.cursor},
                        {"cursor_hex", to_hex(entry.cursor)},
                        {"copied", entry.copied},
                        {"copied_all", entry.copied_all || entry.completed},
                        {"completed", entry.completed}};
  bool found = false;
  for (auto& e : doc_["entries"])
    if (e.value("collection", nlohmann::json()) == key) {
      e = row;
      found = true;
    }
  if (!found) doc_["entries"].push_back(row);
  save();
}

void checkpoint_file::save() const {
  namespace fs = std::filesystem;
  auto target = fs::path(path_);
  auto dir =
      target.parent_path().empty() ? fs::path(".") : target.parent_path();
  auto tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  // The cursor may hold bytes that are not UTF-8 (a key or an id): replace
  // them rather than fail the write the target already acknowledged.
  auto data =
      doc_.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_failure(path_, "cannot create");
  bool ok = write_all(fd, data) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
    auto saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    io_failure(path_, "cannot write");
  }
  // The rename itself is durable only once the directory is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace storage
