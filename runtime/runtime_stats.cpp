// runtime::stats and requests_in_flight: the open stores' counters
// (actors/pool/store_metrics.hpp) and pools, read without asking a router.
#include <algorithm>

#include "messages/store_uri.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/remote_migration.hpp"
#include "runtime/runtime_impl.hpp"

namespace storage {

namespace {

// The live migration's figures; mirror_lag from the router's counters.
migration_stats migration_of(const live_migration& m, std::uint64_t lag) {
  auto p = m.progress();
  migration_stats out;
  out.state = to_string(p.state);
  out.copied = p.copied;
  out.total = p.total;
  out.verified = p.verified;
  out.seconds = p.seconds;
  out.rate = p.seconds > 0 ? static_cast<double>(p.copied) / p.seconds : 0;
  out.mirror_lag = lag;
  out.mirroring_back = p.mirroring_back;
  return out;
}

store_stats local_stats(const route_table& table, const char* kind) {
  store_stats s;
  s.kind = kind;
  table.metrics->snapshot(s);
  if (auto r = table.current()) {
    s.backend = r->store;
    if (r->gauge) {
      s.in_flight = r->gauge->inflight();
      s.max_in_flight = r->gauge->max_inflight();
    }
    for (std::uint32_t i = 0; i < r->workers.size(); ++i) {
      worker_stats w;
      w.alive = r->workers[i] != nullptr;
      w.queued = r->gauge ? r->gauge->load(i) : 0;
      s.live_workers += w.alive ? 1 : 0;
      s.workers.push_back(w);
    }
  }
  return s;
}

}  // namespace

std::size_t runtime::requests_in_flight() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  std::size_t n = 0;
  auto add = [&n](const std::shared_ptr<route_table>& t) {
    if (!t) return;
    if (auto r = t->current(); r && r->gauge) n += r->gauge->inflight();
  };
  for (auto& [k, s] : impl_->vectors) add(s.table);
  for (auto& [k, s] : impl_->caches) add(s.table);
  return n;
}

namespace {

// The open store whose identity is `id`, or nothing. Looked up by identity,
// never parsed again: an identity holds a decoded password, which need not
// parse as a URI (a '@' or '/' in it). A template: runtime::impl is private.
template <class Impl>
std::optional<store_stats> stats_by_identity(Impl& impl,
                                             const std::string& id) {
  std::lock_guard<std::mutex> guard(impl.mtx);
  std::shared_ptr<route_table> table;
  const char* kind = "vector";
  if (auto it = impl.vectors.find(id); it != impl.vectors.end()) {
    table = it->second.table;
  } else if (auto it = impl.caches.find(id); it != impl.caches.end()) {
    table = it->second.table;
    kind = "cache";
  } else {
    return std::nullopt;
  }
  auto s = local_stats(*table, kind);
  s.store = impl.display[id];
  if (auto it = impl.last_migration.find(id); it != impl.last_migration.end()) {
    s.migration = migration_of(it->second, table->metrics->mirror_lag());
    s.migration->target = impl.migration_targets[id];
  }
  return s;
}

}  // namespace

store_stats runtime::stats(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  if (is_remote(uri)) return remote_stats(*this, uri);
  if (auto s = stats_by_identity(*impl_, store_identity(uri))) return *s;
  throw store_error(errc::invalid_argument,
                    "no open store named '" + redact_uri(uri_or_name) + "'",
                    "stats");
}

std::string runtime::serves_from(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  if (is_remote(uri)) return uri;
  if (auto s = stats_by_identity(*impl_, store_identity(uri)))
    return s->backend;
  return impl_->journal.serving(uri).uri;
}

std::vector<store_stats> runtime::stats() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> guard(impl_->mtx);
    for (auto& [id, name] : impl_->display) ids.push_back(id);
  }
  std::vector<store_stats> out;
  for (auto& id : ids)  // one closed meanwhile is left out
    if (auto s = stats_by_identity(*impl_, id)) out.push_back(std::move(*s));
  // By name; stores of one name (URIs that differ only in their password)
  // keep the order of their identities, which does not change while they
  // are open, and the later ones are told apart: "NAME (2)", ...
  std::stable_sort(out.begin(), out.end(),
                   [](auto& a, auto& b) { return a.store < b.store; });
  std::string previous;
  for (std::size_t i = 0, n = 0; i < out.size(); ++i) {
    n = i > 0 && out[i].store == previous ? n + 1 : 1;
    previous = out[i].store;
    if (n > 1) out[i].store += " (" + std::to_string(n) + ")";
  }
  return out;
}

}  // namespace storage
