#include "runtime/runtime.hpp"

#include <thread>

#include <caf/all.hpp>

#include "actors/cache_router.hpp"
#include "actors/vector_router.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/bridge.hpp"
#include "runtime/config_file.hpp"
#include "runtime/live_coordinator.hpp"

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
      : cfg(opts),
        sys(cfg),
        via(std::make_shared<bridge>(sys, thread_count(opts))) {
    if (!opts.config_file.empty()) names = read_store_names(opts.config_file);
  }

  ~impl() {
    // Live migrations first: they talk to the routers.
    for (auto& m : migrations) m.shutdown();
    for (auto& [k, r] : vectors)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    for (auto& [k, r] : caches)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }

  runtime_config cfg;
  caf::actor_system sys;
  std::shared_ptr<bridge> via;
  std::map<std::string, std::string> names;
  std::mutex mtx;
  std::map<std::string, vector_router_actor> vectors;
  std::map<std::string, cache_router_actor> caches;
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

vector_store runtime::open_vector(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto& slot = impl_->vectors[uri_or_name];
  if (!slot) {
    try {
      slot = spawn_vector_router(impl_->sys, vector_pool_for, uri);
    } catch (...) {
      impl_->vectors.erase(uri_or_name);
      throw;
    }
  }
  return vector_store(caf::actor_cast<vector_store_actor>(slot), impl_->via,
                      display_name(uri_or_name, uri));
}

cache_store runtime::open_cache(const std::string& uri_or_name) {
  auto uri = resolve(uri_or_name);
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto& slot = impl_->caches[uri_or_name];
  if (!slot) {
    try {
      slot = spawn_cache_router(impl_->sys, cache_pool_for, uri);
    } catch (...) {
      impl_->caches.erase(uri_or_name);
      throw;
    }
  }
  return cache_store(caf::actor_cast<cache_store_actor>(slot), impl_->via,
                     display_name(uri_or_name, uri));
}

void runtime::swap(const std::string& uri_or_name, const std::string& new_uri) {
  caf::scoped_actor self{impl_->sys};
  std::unique_lock<std::mutex> guard(impl_->mtx);
  caf::error failure;
  auto ok = [](bool) {};
  auto fail = [&](caf::error& e) { failure = std::move(e); };
  if (auto v = impl_->vectors.find(uri_or_name); v != impl_->vectors.end()) {
    auto router = v->second;
    guard.unlock();
    self->request(router, caf::infinite, swap_atom::value, new_uri)
        .receive(ok, fail);
  } else if (auto c = impl_->caches.find(uri_or_name);
             c != impl_->caches.end()) {
    auto router = c->second;
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
  if (auto v = impl_->vectors.find(uri_or_name); v != impl_->vectors.end()) {
    if (target_kind != store_kind::vector) throw wrong_kind("vector store");
    impl_->migrations.push_back(start_live_migration(
        impl_->sys, v->second, name, resolve(target_uri), opts));
  } else if (auto c = impl_->caches.find(uri_or_name);
             c != impl_->caches.end()) {
    if (target_kind != store_kind::cache) throw wrong_kind("cache");
    impl_->migrations.push_back(start_live_migration(
        impl_->sys, c->second, name, resolve(target_uri), opts));
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
