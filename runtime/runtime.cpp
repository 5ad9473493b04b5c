#include "runtime/runtime.hpp"

#include <thread>

#include <caf/all.hpp>

#include "actors/cache_router.hpp"
#include "actors/vector_router.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/bridge.hpp"
#include "runtime/config_file.hpp"

namespace storage {

namespace {

unsigned thread_count(const runtime_options& opts) {
  if (opts.threads > 0) return opts.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// CAF's defaults start 4 scheduler threads on these 2 cores and back off to
// 50 us sleeps when idle, which dominates a blocking caller's round trip
// (PLATFORM-NOTES.md). One thread per core; the polling settings are
// measured in BENCHMARKS.md.
struct runtime_config : caf::actor_system_config {
  explicit runtime_config(const runtime_options& opts) {
    set("scheduler.max-threads", static_cast<size_t>(thread_count(opts)));
    set("logger.console", caf::atom("none"));
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

caf::actor_system& runtime::system() {
  return impl_->sys;
}

}  // namespace storage
