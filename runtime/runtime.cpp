#include "runtime/runtime.hpp"

#include <thread>

#include <caf/all.hpp>

#include "actors/cache_router.hpp"
#include "actors/vector_router.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/bridge.hpp"
#include "runtime/config_file.hpp"
#include "runtime/live_coordinator.hpp"
#include "runtime/store_identity.hpp"

namespace storage {

namespace {

unsigned thread_count(const runtime_options& opts) {
  if (opts.threads > 0) return opts.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

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
struct runtime_config : caf::actor_system_config {
  explicit runtime_config(const runtime_options& opts) {
    set("scheduler.max-threads", static_cast<size_t>(thread_count(opts)));
    set("logger.console", caf::atom("none"));
    set("work-stealing.moderate-poll-attempts", size_t{0});
    if (opts.poll_attempts > 0)
      set("work-stealing.aggressive-poll-attempts", opts.poll_attempts);
    register_types(*this);
  }
};

}  // namespace

struct runtime::impl {
  explicit impl(const runtime_options& opts)
      : cfg(opts), sys(cfg), via(std::make_shared<bridge>(sys)) {
    if (!opts.config_file.empty()) names = read_store_names(opts.config_file);
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
    // Calls still waiting end with backend_unavailable, not a hang.
    via.reset();
  }

  runtime_config cfg;
  caf::actor_system sys;
  std::shared_ptr<bridge> via;
  std::map<std::string, std::string> names;
  std::mutex mtx;
  // Open stores by identity (store_identity.hpp): one router each,
  // however they were named.
  std::map<std::string, vector_store_handles> vectors;
  std::map<std::string, cache_store_handles> caches;

  // The open store `uri_or_name` names, or nullptr.
  template <class Map>
  auto find(Map& m, const std::string& uri) -> decltype(&m.begin()->second) {
    auto it = m.find(store_identity(uri));
    return it == m.end() ? nullptr : &it->second;
  }
  std::vector<live_migration> migrations;
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
  return key.find("://") != std::string::npos ? redact(uri) : key;
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

// The open store `uri` names in `stores` (spawned if it is not open yet)
// and a call target naming it as the caller did. Call with the lock held.
template <class Map, class Spawn, class PoolFor>
std::pair<typename Map::mapped_type, std::shared_ptr<const call_target>>
open_in(Map& stores, caf::actor_system& sys, Spawn spawn, PoolFor pool_for,
        const std::string& uri_or_name, const std::string& uri) {
  auto id = store_identity(uri);
  auto it = stores.find(id);
  if (it == stores.end())
    it = stores.emplace(id, spawn(sys, pool_for, uri)).first;
  return {it->second, target_of(it->second, display_name(uri_or_name, uri))};
}

vector_store runtime::open_vector(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto [h, target] = open_in(impl_->vectors, impl_->sys, spawn_vector_store,
                             vector_pool_for, uri_or_name, uri);
  return vector_store(h.handle, impl_->via, target);
}

cache_store runtime::open_cache(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto [h, target] = open_in(impl_->caches, impl_->sys, spawn_cache_store,
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
                      "no open store named '" + redact(uri_or_name) + "'",
                      "swap");
  }
  if (failure) throw from_caf_error(failure, "swap", redact(uri_or_name));
}

live_migration runtime::migrate_live(const std::string& uri_or_name,
                                     const std::string& target_uri,
                                     live_options opts) {
  auto uri = resolve(uri_or_name);
  auto name = display_name(uri_or_name, uri);
  auto target_kind = kind_of(resolve(target_uri));
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto wrong_kind = [&](const char* kind) {
    return store_error(errc::invalid_argument,
                       "'" + redact(target_uri) + "' is not a " + kind +
                           " like the store it should receive",
                       "migrate", name);
  };
  if (auto v = impl_->find(impl_->vectors, uri)) {
    if (target_kind != store_kind::vector) throw wrong_kind("vector store");
    impl_->migrations.push_back(start_live_migration(
        impl_->sys, v->router, name, resolve(target_uri), opts));
  } else if (auto c = impl_->find(impl_->caches, uri)) {
    if (target_kind != store_kind::cache) throw wrong_kind("cache");
    impl_->migrations.push_back(start_live_migration(
        impl_->sys, c->router, name, resolve(target_uri), opts));
  } else {
    throw store_error(errc::invalid_argument,
                      "no open store named '" + redact(uri_or_name) + "'",
                      "migrate");
  }
  return impl_->migrations.back();
}

caf::actor_system& runtime::system() {
  return impl_->sys;
}

}  // namespace storage
