#include "adapters/faiss/faiss_store_uri.hpp"

#include "adapters/factories.hpp"
#include "messages/errors.hpp"

namespace storage {
namespace faiss_detail {

namespace {

[[noreturn]] void invalid(const std::string& uri, const std::string& what) {
  throw store_error(errc::invalid_argument, what, "open", uri);
}

}  // namespace

uri_settings settings_of(const store_uri& uri) {
  auto shown = uri.redacted();
  if (uri.scheme() != "faiss")
    invalid(shown,
            "expected a faiss:// URI, got scheme '" + uri.scheme() + "'");
  uri.check_params({STORAGE_RUNTIME_PARAMS, "index", "m", "ef_construction",
                    "ef_search", "exact_below", "sync", "snapshot",
                    "snapshot_after"});
  uri_settings s;
  auto index = uri.param_or("index", "flat");
  if (index != "flat" && index != "hnsw")
    invalid(shown, "index must be flat or hnsw, got '" + index + "'");
  s.index.hnsw = index == "hnsw";
  s.index.m = static_cast<int>(uri.int_param("m", 32, 4, 256));
  s.index.ef_construction =
      static_cast<int>(uri.int_param("ef_construction", 64, 8, 4096));
  s.index.ef_search =
      static_cast<int>(uri.int_param("ef_search", 256, 8, 65536));
  s.index.exact_below = static_cast<std::size_t>(
      uri.int_param("exact_below", 10000, 0, 100000000));
  auto sync = uri.param_or("sync", "normal");
  if (sync != "normal" && sync != "full")
    invalid(shown, "sync must be normal or full, got '" + sync + "'");
  s.full_sync = sync == "full";
  auto snapshot = uri.param_or("snapshot", "on");
  if (snapshot != "on" && snapshot != "off")
    invalid(shown, "snapshot must be on or off, got '" + snapshot + "'");
  s.snapshots = snapshot == "on";
  s.snapshot_after = static_cast<std::uint64_t>(uri.int_param(
      "snapshot_after", s.index.hnsw ? 10000 : 100000, 1, 1000000000));
  s.dir = faiss_directory(uri);
  if (s.dir.empty()) invalid(shown, "no directory in the URI");
  return s;
}

}  // namespace faiss_detail

std::string faiss_directory(const store_uri& uri) {
  // A file URI's host "localhost" is this machine, not a relative folder.
  return (uri.host() == "localhost" ? "" : uri.host()) + uri.path();
}

void check_faiss_uri(const store_uri& uri) {
  faiss_detail::settings_of(uri);
}

}  // namespace storage
