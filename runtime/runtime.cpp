#include "runtime/runtime.hpp"

#include "messages/store_uri.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/caf_thread_guard.hpp"
#include "runtime/live_coordinator.hpp"
#include "runtime/runtime_impl.hpp"
#include "runtime/runtime_internals.hpp"
#include "runtime/tls_files.hpp"

namespace storage {

namespace {

void fill(std::string& field, const std::string& from_file) {
  if (field.empty()) field = from_file;
}

}  // namespace

// The config's [openssl] merged in, and checked (tls_files.hpp).
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
  check_tls_files(opts.node.tls);
  return opts;
}

runtime::runtime(runtime_options opts)
    : impl_([&opts] {
        caf_thread_guard caf_thread;
        return std::make_unique<impl>(opts);
      }()) {}

runtime::~runtime() = default;

std::string runtime::resolve(const std::string& uri_or_name) const {
  if (uri_or_name.find("://") != std::string::npos) return uri_or_name;
  auto it = impl_->names.find(uri_or_name);
  if (it == impl_->names.end())
    throw store_error(errc::invalid_argument,
                      "'" + redact_uri(uri_or_name) +
                          "' is neither a store URI nor a store named in the "
                          "config file's [stores] section",
                      "open");
  return it->second;
}

namespace {

std::string display_name(const std::string& key, const std::string& uri) {
  return key.find("://") != std::string::npos ? redact_uri(uri) : key;
}

// A URI that does not parse fails in the parser, which knows neither the
// operation nor the store: name both, as every other open error does.
template <class Open>
auto with_open_context(const std::string& uri_or_name, Open open) {
  try {
    return open();
  } catch (const store_error& e) {
    throw e.with_context("open", uri_or_name);
  }
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

// The backend that holds the data of the store configured as `uri`, as
// the journal's entries say (migration_journal::serving).
std::string serving_uri(const migration_journal& journal,
                        const std::string& uri, const std::string& name) {
  auto s = journal.serving(uri);
  if (!s.last) return uri;
  auto& e = *s.last;
  if (data_identity(s.uri) != data_identity(uri))
    storage_log()->warn(
        "store '{}' is served from {}: its live migration to {} is {} ({}); "
        "point the configuration at it",
        name, redact_uri(s.uri), redact_uri(e.target_uri), to_string(e.step),
        e.file);
  else if (e.step == live_step::cut_over && e.in_memory_target())
    storage_log()->warn(
        "store '{}': its live migration to {} was cut over, but a memory:// "
        "store ends with its process; the store stays on {}, which reverse "
        "replication kept current until that process ended ({})",
        name, redact_uri(e.target_uri), redact_uri(s.uri), e.file);
  else if (e.step == live_step::started || e.step == live_step::backfilled ||
           e.step == live_step::verified)
    storage_log()->warn(
        "store '{}': its live migration to {} ended with its process at step "
        "{}; the store stays on {}, the target keeps a partial copy that a "
        "new migration to it repairs",
        name, redact_uri(e.target_uri), to_string(e.step), redact_uri(s.uri));
  return s.uri;
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
    auto serving = serving_uri(journal, uri, name);
    it = stores.emplace(id, spawn(sys, pool_for, serving)).first;
    storage_log()->debug("opened store '{}' on {}", name, redact_uri(serving));
  }
  return {it->second, target_of(it->second, name)};
}

// One faiss:// directory, one store of this runtime (faiss_dir_lock.hpp):
// a directory another of its stores serves now (as opened, or since a swap
// or cutover) opened with other parameters, or swapped to, is `conflict` at
// once, not a store that waits for the other one's lock on every call.
// `id` is the identity of the URI to serve; `self` the store that would
// serve it (its own directory is its to change).
void refuse_second_faiss_store(
    const std::map<std::string, vector_store_handles>& vectors,
    const std::map<std::string, std::string>& display, const std::string& id,
    const std::string& self, const char* op) {
  if (id.rfind("faiss://", 0) != 0) return;
  auto dir_of = [](const std::string& identity) {
    return identity.substr(0, identity.find('?'));
  };
  for (auto& [open_id, handles] : vectors) {
    auto r = handles.table ? handles.table->current() : nullptr;
    if (open_id == self || !r || r->store.rfind("faiss://", 0) != 0) continue;
    if (dir_of(store_identity(r->store)) != dir_of(id)) continue;
    auto name = display.find(open_id);
    throw store_error(
        errc::conflict,
        "directory " + dir_of(id).substr(8) + " is in use by store '" +
            (name != display.end() ? name->second : redact_uri(open_id)) +
            "' of this runtime, which serves it with other parameters: a "
            "faiss:// directory has one store at a time; use that store",
        op, redact_uri(id));
  }
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
  caf_thread_guard caf_thread;
  return with_open_context(uri_or_name, [&] {
    auto uri = resolve(uri_or_name);
    std::lock_guard<std::mutex> guard(impl_->mtx);
    if (is_remote(uri)) {
      auto [h, target] = open_remote(impl_->remotes, impl_->sys,
                                     impl_->opts.node.tls.enabled(),
                                     uri_or_name, uri, store_kind::vector);
      return vector_store(caf::actor_cast<vector_store_actor>(h), impl_->via,
                          target);
    }
    refuse_second_faiss_store(impl_->vectors, impl_->display,
                              store_identity(uri), store_identity(uri), "open");
    auto [h, target] =
        open_in(impl_->vectors, impl_->sys, impl_->journal, spawn_vector_store,
                vector_pool_for, uri_or_name, uri);
    impl_->display.emplace(store_identity(uri), target->name);
    return vector_store(h.handle, impl_->via, target);
  });
}

cache_store runtime::open_cache(const std::string& uri_or_name) {
  caf_thread_guard caf_thread;
  return with_open_context(uri_or_name, [&] {
    auto uri = resolve(uri_or_name);
    std::lock_guard<std::mutex> guard(impl_->mtx);
    if (is_remote(uri)) {
      auto [h, target] = open_remote(impl_->remotes, impl_->sys,
                                     impl_->opts.node.tls.enabled(),
                                     uri_or_name, uri, store_kind::cache);
      return cache_store(caf::actor_cast<cache_store_actor>(h), impl_->via,
                         target);
    }
    auto [h, target] =
        open_in(impl_->caches, impl_->sys, impl_->journal, spawn_cache_store,
                cache_pool_for, uri_or_name, uri);
    impl_->display.emplace(store_identity(uri), target->name);
    return cache_store(h.handle, impl_->via, target);
  });
}

namespace {

// Whether the store's last live migration still runs or mirrors back: from
// its first step (dual writes start before the router knows of a copy)
// until it failed, was aborted or finalized. A template: impl is private.
template <class Impl>
bool migration_running(const Impl& impl, const std::string& id) {
  auto it = impl.last_migration.find(id);
  if (it == impl.last_migration.end()) return false;
  auto p = it->second.progress();
  return !(p.state == live_state::failed || p.state == live_state::aborted ||
           (p.state == live_state::done && !p.mirroring_back));
}

}  // namespace

void runtime::swap(const std::string& uri_or_name, const std::string& new_uri) {
  caf_thread_guard caf_thread;
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
  auto id = store_identity(uri);
  if (migration_running(*impl_, id))
    throw store_error(errc::conflict,
                      "a live migration of this store is in progress; "
                      "finalize or abort it first",
                      "swap", redact_uri(uri_or_name));
  if (auto v = impl_->find(impl_->vectors, uri)) {
    std::string next;
    try {
      next = store_identity(new_uri);
    } catch (const store_error&) {
      // A URI that does not parse: the router's swap says what is wrong.
    }
    refuse_second_faiss_store(impl_->vectors, impl_->display, next, id, "swap");
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

void runtime_internals::open_backend(runtime& rt, const std::string& name,
                                     const std::string& collection,
                                     std::chrono::milliseconds timeout) {
  caf_thread_guard caf_thread;
  auto& impl = *rt.impl_;
  vector_router_actor router;
  {
    std::lock_guard<std::mutex> guard(impl.mtx);
    auto v = impl.find(impl.vectors, rt.resolve(name));
    if (!v)
      throw store_error(errc::invalid_argument,
                        "no open vector store named '" + redact_uri(name) + "'",
                        "open");
    router = v->router;
  }
  caf::error failure;
  caf::scoped_actor self{impl.sys};
  self->request(router, timeout, vcount_atom::value, collection)
      .receive([](std::uint64_t) {},
               [&](caf::error& e) { failure = std::move(e); });
  if (!failure) return;
  auto e = from_caf_error(failure, "open", redact_uri(name));
  if (e.code() != errc::collection_not_found) throw e;
}

live_migration runtime::migrate_live(const std::string& uri_or_name,
                                     const std::string& target_uri,
                                     live_options opts) {
  caf_thread_guard caf_thread;
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
  auto id = store_identity(uri);
  entry.source_identity = data_identity(uri);
  if (migration_running(*impl_, id))
    throw store_error(errc::conflict,
                      "a live migration of this store is in progress; "
                      "finalize or abort it first",
                      "migrate", name);
  // Onto the data it serves from now (another spelling, pool or timeout):
  // a copy onto itself, whose "old backend" would be the live data.
  auto table = v ? v->table : c->table;
  if (auto r = table ? table->current() : nullptr;
      r && same_data(r->store, target))
    throw store_error(errc::invalid_argument,
                      "the target '" + redact_uri(target_uri) +
                          "' is where this store's data is now (" + r->store +
                          "): a migration needs another backend",
                      "migrate", name);
  // The journal names the backend the store serves from now (an earlier
  // migration may have moved it), which is this migration's source.
  auto last = impl_->journal.find(uri);
  entry.source_uri = impl_->journal.serving(uri).uri;
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
               data_identity(last->target_uri) == data_identity(target);
  impl_->migrations.push_back(
      v ? start_live_migration(impl_->sys, v->router, std::move(how))
        : start_live_migration(impl_->sys, c->router, std::move(how)));
  impl_->last_migration.insert_or_assign(id, impl_->migrations.back());
  impl_->migration_targets[id] = redact_uri(target);
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

caf::actor_system& runtime::system() {
  return impl_->sys;
}

}  // namespace storage
