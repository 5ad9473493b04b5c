// What a runtime is made of, shared by the files that implement it
// (runtime.cpp, runtime_stats.cpp); not a public header.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/routing/cache_router.hpp"
#include "actors/routing/vector_router.hpp"
#include "adapters/storage_log.hpp"
#include "messages/caf_support.hpp"
#include "runtime/bridge.hpp"
#include "runtime/config_file.hpp"
#include "runtime/log_config.hpp"
#include "runtime/migration_journal.hpp"
#include "runtime/remote_store.hpp"
#include "runtime/runtime.hpp"
#include "runtime/runtime_scheduler.hpp"
#include "runtime/store_identity.hpp"

namespace storage {

inline unsigned thread_count(const runtime_options& opts) {
  if (opts.threads > 0) return opts.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// BASP threads that deserialize incoming messages. CAF's default is 1 on
// two cores; 0 lets the middleman's own thread deserialize and deliver: one
// thread hand-off less per message each way, since a store's handle and a
// caller's reply relay take a message without a mailbox (BENCHMARKS.md).
inline constexpr std::size_t middleman_workers = 0;

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
// rates for no reliable latency gain on 2 cores, so it stays off. Instead
// the scheduler is CAF's work stealing with a targeted spin: an idle thread
// polls a while longer only while one caller goes back and forth
// (runtime/spinning_stealing.hpp), and CAF's clock thread is woken only when
// a timer needs it (runtime/lazy_actor_clock.hpp; runtime_scheduler.hpp).
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
    module_factories.push_back(
        [](caf::actor_system& sys) -> caf::actor_system::module* {
          return new runtime_scheduler(sys);
        });
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
    register_types(*this);
  }
};

// `opts` with the config file's [openssl] section filling what is unset,
// checked (runtime.cpp).
runtime_options merged(runtime_options opts);

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
    // Callers waiting for an answer are let go at once: what follows may
    // wait for requests that are running (each ends by its deadline).
    via->shut_down();
    // Live migrations first: they talk to the routers.
    for (auto& m : migrations) m.shutdown();
    // A facade handle (cache_store, vector_store) may outlive the runtime:
    // it holds the store's table, which lets go of the workers here, so
    // the actor system's shutdown does not wait for it.
    auto close = [](auto& s) {
      caf::anon_send_exit(s.router, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(s.handle, caf::exit_reason::user_shutdown);
      if (s.table) s.table->close();
    };
    for (auto& [k, s] : vectors) close(s);
    for (auto& [k, s] : caches) close(s);
    for (auto& [k, r] : remotes) stop_remote_store(r);
    // A call that raced the first shut_down ends too (the closed tables
    // answered it already, or this does), and so does any call a handle
    // makes later.
    via->shut_down();
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
  std::map<std::string, std::string> migration_targets;  // redacted
  // Each open store's name as it was first opened (a URI redacted), by
  // identity: what stats() calls it.
  std::map<std::string, std::string> display;
};

}  // namespace storage
