#include "runtime/runtime.hpp"

#include <fstream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/cache_router.hpp"
#include "actors/pool/pool_gauge.hpp"
#include "actors/pool/store_dispatcher.hpp"
#include "actors/vector_router.hpp"
#include "adapters/storage_log.hpp"
#include "messages/store_uri.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/bridge.hpp"
#include "runtime/config_file.hpp"
#include "runtime/live_coordinator.hpp"
#include "runtime/log_config.hpp"
#include "runtime/migration_journal.hpp"
#include "runtime/remote_store.hpp"
#include "runtime/store_identity.hpp"

namespace storage {

namespace {

unsigned thread_count(const runtime_options& opts) {
  if (opts.threads > 0) return opts.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// BASP threads that deserialize incoming messages. CAF's default is 1 on
// two cores; 0 lets the middleman's own thread deserialize and deliver: one
// thread hand-off less per message each way, since a store's handle and a
// caller's reply relay take a message without a mailbox (BENCHMARKS.md).
constexpr std::size_t middleman_workers = 0;

// CAF's defaults start 4 scheduler threads on these 2 cores and, once idle,
// poll 500 times with 50 us sleeps in between before blocking; a reply that
// arrives in that phase (every reply from a detached worker does) waits for
// the sleep to end, which dominated the facade's round trip
// (PLATFORM-NOTES.md). So: one thread per core, and no moderate phase: after
// CAF's short spin an idle thread blocks on its condition variable, which
// every enqueue from outside the scheduler signals. Measured in
// BENCHMARKS.md (bench/scheduler_bench.cpp): the single-caller p50 about
// 100 -> 30 us, CPU per request about 70 -> 40 us, idle CPU about 2.5% ->
// 0.5% of a core. Raising poll_attempts spins longer: more CPU at low request
// rates for no reliable latency gain on 2 cores, so it stays off.
//
// Every runtime loads the middleman (caf:// stores, node_server) and CAF's
// OpenSSL module; both start idle and cost a thread that sleeps in epoll.
struct runtime_config : caf::actor_system_config {
  explicit runtime_config(const runtime_options& opts) {
    set("scheduler.max-threads", static_cast<size_t>(thread_count(opts)));
    set("logger.console", caf::atom("none"));
    set("work-stealing.moderate-poll-attempts", size_t{0});
    if (opts.poll_attempts > 0)
      set("work-stealing.aggressive-poll-attempts", opts.poll_attempts);
    set("middleman.heartbeat-interval", caf::timespan{opts.node.heartbeat});
    set("middleman.connection-timeout",
        caf::timespan{opts.node.connection_timeout});
    set("middleman.workers", middleman_workers);
    auto& tls = opts.node.tls;
    openssl_certificate = tls.certificate;
    openssl_key = tls.key;
    openssl_cafile = tls.cafile;
    openssl_capath = tls.capath;
    openssl_passphrase = tls.passphrase;
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
    register_types(*this);
  }
};

void fill(std::string& field, const std::string& from_file) {
  if (field.empty()) field = from_file;
}

// `opts` with the config file's [openssl] section filling what is unset,
// checked: CAF's OpenSSL module throws from deep inside the actor system
// for a half-configured TLS.
runtime_options merged(runtime_options opts) {
  if (!opts.config_file.empty()) {
    auto file = read_tls_options(opts.config_file);
    auto& t = opts.node.tls;
    fill(t.certificate, file.certificate);
    fill(t.key, file.key);
    fill(t.cafile, file.cafile);
    fill(t.capath, file.capath);
    fill(t.passphrase, file.passphrase);
  }
  auto& t = opts.node.tls;
  if (t.enabled() && (t.certificate.empty() || t.key.empty() ||
                      (t.cafile.empty() && t.capath.empty())))
    throw store_error(errc::invalid_argument,
                      "TLS needs all of openssl.certificate, openssl.key and "
                      "openssl.cafile (or openssl.capath)",
                      "open");
  for (auto* f : {&t.certificate, &t.key, &t.cafile})
    if (!f->empty() && !std::ifstream(*f))
      throw store_error(errc::invalid_argument,
                        "cannot read TLS file '" + *f + "'", "open");
  return opts;
}

}  // namespace

struct runtime::impl {
  explicit impl(const runtime_options& given)
      : opts(merged(given)),
        cfg(opts),
        sys(cfg),
        via(std::make_shared<bridge>(sys)),
        journal(opts.state_dir) {
    if (!opts.config_file.empty()) {
      names = read_store_names(opts.config_file);
      apply_log_options(read_log_options(opts.config_file));
      if (auto w = exposed_secrets_warning(opts.config_file))
        storage_log()->warn("{}", *w);
    }
  }

  ~impl() {
    // Live migrations first: they talk to the routers.
    for (auto& m : migrations) m.shutdown();
    for (auto& [k, s] : vectors) {
      caf::anon_send_exit(s.router, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(s.handle, caf::exit_reason::user_shutdown);
    }
    for (auto& [k, s] : caches) {
      caf::anon_send_exit(s.router, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(s.handle, caf::exit_reason::user_shutdown);
    }
    for (auto& [k, r] : remotes) stop_remote_store(r);
    // Calls still waiting end with backend_unavailable, not a hang.
    via.reset();
  }

  runtime_options opts;
  runtime_config cfg;
  caf::actor_system sys;
  std::shared_ptr<bridge> via;
  migration_journal journal;
  std::map<std::string, std::string> names;
  std::mutex mtx;
  // Open stores by identity (store_identity.hpp): one router each,
  // however they were named.
  std::map<std::string, vector_store_handles> vectors;
  std::map<std::string, cache_store_handles> caches;
  // caf:// stores by URI identity (host:port/name and kind).
  std::map<std::string, remote_store_handles> remotes;

  // The open store `uri_or_name` names, or nullptr.
  template <class Map>
  auto find(Map& m, const std::string& uri) -> decltype(&m.begin()->second) {
    auto it = m.find(store_identity(uri));
    return it == m.end() ? nullptr : &it->second;
  }
  std::vector<live_migration> migrations;
  // The last live migration of each store (by identity): a second one is
  // refused while it runs, before it could touch the journal.
  std::map<std::string, live_migration> last_migration;
};

runtime::runtime(runtime_options opts) : impl_(std::make_unique<impl>(opts)) {}

runtime::~runtime() = default;

std::string runtime::resolve(const std::string& uri_or_name) const {
  if (uri_or_name.find("://") != std::string::npos) return uri_or_name;
  auto it = impl_->names.find(uri_or_name);
  if (it == impl_->names.end())
    throw store_error(errc::invalid_argument,
                      "'" + uri_or_name +
                          "' is neither a store URI nor a store named in the "
                          "config file's [stores] section",
                      "open");
  return it->second;
}

namespace {

std::string display_name(const std::string& key, const std::string& uri) {
  return key.find("://") != std::string::npos ? redact_uri(uri) : key;
}

}  // namespace

namespace {

template <class Handles>
std::shared_ptr<const call_target> target_of(const Handles& h,
                                             std::string name) {
  auto t = std::make_shared<call_target>();
  t->handle = caf::actor_cast<caf::strong_actor_ptr>(h.handle);
  t->name = std::move(name);
  t->table = h.table;
  return t;
}

}  // namespace

// The backend that holds the data of the store configured as `uri`: the
// authoritative side of its last live migration, if one was journaled.
std::string serving_uri(const migration_journal& journal, const std::string& id,
                        const std::string& uri, const std::string& name) {
  auto e = journal.find(id);
  if (!e) return uri;
  auto& serving = e->authoritative();
  if (store_identity(serving) != id)
    storage_log()->warn(
        "store '{}' is served from {}: its live migration to {} is {} ({}); "
        "point the configuration at it",
        name, redact_uri(serving), redact_uri(e->target_uri),
        to_string(e->step), journal.path_for(id));
  else if (e->step == live_step::started || e->step == live_step::backfilled ||
           e->step == live_step::verified)
    storage_log()->warn(
        "store '{}': its live migration to {} ended with its process at step "
        "{}; the store stays on {}, the target keeps a partial copy that a "
        "new migration to it repairs",
        name, redact_uri(e->target_uri), to_string(e->step),
        redact_uri(serving));
  return serving;
}

// The open store `uri` names in `stores` (spawned if it is not open yet)
// and a call target naming it as the caller did. Call with the lock held.
template <class Map, class Spawn, class PoolFor>
std::pair<typename Map::mapped_type, std::shared_ptr<const call_target>>
open_in(Map& stores, caf::actor_system& sys, const migration_journal& journal,
        Spawn spawn, PoolFor pool_for, const std::string& uri_or_name,
        const std::string& uri) {
  auto id = store_identity(uri);
  auto name = display_name(uri_or_name, uri);
  auto it = stores.find(id);
  if (it == stores.end()) {
    auto serving = serving_uri(journal, id, uri, name);
    it = stores.emplace(id, spawn(sys, pool_for, serving)).first;
    storage_log()->debug("opened store '{}' on {}", name, redact_uri(serving));
  }
  return {it->second, target_of(it->second, name)};
}

bool is_remote(const std::string& uri) {
  return uri.compare(0, 6, "caf://") == 0;
}

// The caf:// store `uri` names, opened as `kind` if it is not open yet.
std::pair<caf::strong_actor_ptr, std::shared_ptr<const call_target>>
open_remote(std::map<std::string, remote_store_handles>& remotes,
            caf::actor_system& sys, bool tls, const std::string& uri_or_name,
            const std::string& uri, store_kind kind) {
  auto spec = remote_spec_for(uri, kind);
  spec.tls = tls;
  auto key = std::string(to_string(kind)) + " " + spec.host + ":" +
             std::to_string(spec.port) + "/" + spec.name;
  auto it = remotes.find(key);
  if (it == remotes.end()) {
    it = remotes.emplace(key, spawn_remote_store(sys, spec)).first;
    storage_log()->debug("opened {} store '{}' served by node {}:{}",
                         to_string(kind), spec.name, spec.host, spec.port);
  }
  auto t = std::make_shared<call_target>();
  t->handle = it->second.handle;
  t->name = display_name(uri_or_name, uri);
  t->timeout = spec.timeout;
  return {it->second.handle, t};
}

vector_store runtime::open_vector(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  if (is_remote(uri)) {
    auto [h, target] =
        open_remote(impl_->remotes, impl_->sys, impl_->opts.node.tls.enabled(),
                    uri_or_name, uri, store_kind::vector);
    return vector_store(caf::actor_cast<vector_store_actor>(h), impl_->via,
                        target);
  }
  auto [h, target] =
      open_in(impl_->vectors, impl_->sys, impl_->journal, spawn_vector_store,
              vector_pool_for, uri_or_name, uri);
  return vector_store(h.handle, impl_->via, target);
}

cache_store runtime::open_cache(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  if (is_remote(uri)) {
    auto [h, target] =
        open_remote(impl_->remotes, impl_->sys, impl_->opts.node.tls.enabled(),
                    uri_or_name, uri, store_kind::cache);
    return cache_store(caf::actor_cast<cache_store_actor>(h), impl_->via,
                       target);
  }
  auto [h, target] =
      open_in(impl_->caches, impl_->sys, impl_->journal, spawn_cache_store,
              cache_pool_for, uri_or_name, uri);
  return cache_store(h.handle, impl_->via, target);
}

void runtime::swap(const std::string& uri_or_name, const std::string& new_uri) {
  caf::scoped_actor self{impl_->sys};
  std::unique_lock<std::mutex> guard(impl_->mtx);
  caf::error failure;
  auto ok = [](bool) {};
  auto fail = [&](caf::error& e) { failure = std::move(e); };
  auto uri = resolve(uri_or_name);
  if (is_remote(uri))
    throw store_error(errc::unsupported,
                      "a caf:// store is swapped by the node that serves it",
                      "swap", redact_uri(uri_or_name));
  if (auto v = impl_->find(impl_->vectors, uri)) {
    auto router = v->router;
    guard.unlock();
    self->request(router, caf::infinite, swap_atom::value, new_uri)
        .receive(ok, fail);
  } else if (auto c = impl_->find(impl_->caches, uri)) {
    auto router = c->router;
    guard.unlock();
    self->request(router, caf::infinite, swap_atom::value, new_uri)
        .receive(ok, fail);
  } else {
    throw store_error(errc::invalid_argument,
                      "no open store named '" + redact_uri(uri_or_name) + "'",
                      "swap");
  }
  if (failure) throw from_caf_error(failure, "swap", redact_uri(uri_or_name));
}

live_migration runtime::migrate_live(const std::string& uri_or_name,
                                     const std::string& target_uri,
                                     live_options opts) {
  auto uri = resolve(uri_or_name);
  auto name = display_name(uri_or_name, uri);
  if (is_remote(uri))
    throw store_error(errc::unsupported,
                      "a caf:// store migrates on the node that serves it "
                      "(storectl migrate --live --from caf://...)",
                      "migrate", name);
  auto target = resolve(target_uri);
  auto target_kind = kind_of(target);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto wrong_kind = [&](const char* kind) {
    return store_error(errc::invalid_argument,
                       "'" + redact_uri(target_uri) + "' is not a " + kind +
                           " like the store it should receive",
                       "migrate", name);
  };
  auto v = impl_->find(impl_->vectors, uri);
  auto c = v ? nullptr : impl_->find(impl_->caches, uri);
  if (!v && !c)
    throw store_error(errc::invalid_argument,
                      "no open store named '" + redact_uri(uri_or_name) + "'",
                      "migrate");
  if (v && target_kind != store_kind::vector) throw wrong_kind("vector store");
  if (c && target_kind != store_kind::cache) throw wrong_kind("cache");
  journal_entry entry;
  entry.source_identity = store_identity(uri);
  if (auto it = impl_->last_migration.find(entry.source_identity);
      it != impl_->last_migration.end()) {
    auto p = it->second.progress();
    bool ended = p.state == live_state::failed ||
                 p.state == live_state::aborted ||
                 (p.state == live_state::done && !p.mirroring_back);
    if (!ended)
      throw store_error(errc::conflict,
                        "a live migration of this store is in progress; "
                        "finalize or abort it first",
                        "migrate", name);
  }
  // The journal names the backend the store serves from now (an earlier
  // migration may have moved it), which is this migration's source.
  auto last = impl_->journal.find(entry.source_identity);
  entry.source_uri = last ? last->authoritative() : uri;
  entry.target_uri = target;
  live_start how{name, target, opts,
                 [journal = impl_->journal, entry](live_step step) {
                   auto e = entry;
                   e.step = step;
                   journal.record(e);
                 },
                 false};
  // An earlier run to the same target that never finished left a partial
  // copy there; this run repairs it.
  how.repair = last && last->step != live_step::cut_over &&
               last->step != live_step::finalized &&
               store_identity(last->target_uri) == store_identity(target);
  impl_->migrations.push_back(
      v ? start_live_migration(impl_->sys, v->router, std::move(how))
        : start_live_migration(impl_->sys, c->router, std::move(how)));
  impl_->last_migration.insert_or_assign(entry.source_identity,
                                         impl_->migrations.back());
  return impl_->migrations.back();
}

std::vector<std::string> runtime::store_names() const {
  std::vector<std::string> out;
  for (auto& [name, uri] : impl_->names) out.push_back(name);
  return out;
}

const node_options& runtime::node() const {
  return impl_->opts.node;
}

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

caf::actor_system& runtime::system() {
  return impl_->sys;
}

}  // namespace storage
