// `storectl stats --store S`: what a store has done (runtime::stats), one
// JSON line per report. Against caf://HOST:PORT/NAME it shows the serving
// node's live figures; a local store opened by storectl itself shows its
// pool and zeros (storectl is the only one using it). --every/--count
// repeat the report; --output table prints a row per operation instead.
#include <chrono>
#include <thread>

#include "runtime/backend_factory.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

struct stats_args {
  store_options store;
  double every = 1;
  std::int64_t count = 1;
};

void print_stats(const storage::store_stats& s) {
  if (get_output_format() == output_format::json) {
    print(nlohmann::ordered_json::parse(storage::to_json(s)));
    return;
  }
  if (s.ops.empty()) print({{"store", s.store}, {"op", "-"}, {"requests", 0}});
  for (auto& o : s.ops) {
    std::uint64_t errors = 0;
    for (auto& [code, n] : o.errors) errors += n;
    print({{"store", s.store},
           {"op", o.op},
           {"requests", o.requests},
           {"errors", errors},
           {"p50_us", static_cast<std::int64_t>(o.p50 * 1e6)},
           {"p99_us", static_cast<std::int64_t>(o.p99 * 1e6)},
           {"max_us", static_cast<std::int64_t>(o.max * 1e6)},
           {"in_flight", s.in_flight},
           {"workers", std::to_string(s.live_workers) + "/" +
                           std::to_string(s.workers.size())}});
  }
}

void run(const stats_args& a) {
  require_seconds(a.every, "--every");
  require_positive(a.count, "--count");
  with_runtime(a.store, [&](storage::runtime& rt, const std::string& uri) {
    // A local store is opened here: its pool is what there is to see, once
    // the router has started it.
    if (!storage::is_remote(uri)) {
      if (storage::kind_of(uri) == storage::store_kind::vector)
        rt.open_vector(a.store.store);
      else
        rt.open_cache(a.store.store);
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (rt.stats(a.store.store).workers.empty() &&
             std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (std::int64_t i = 0; i < a.count; ++i) {
      if (i > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(a.every));
      print_stats(rt.stats(a.store.store));
      flush_output();
    }
  });
}

}  // namespace

void add_stats_command(CLI::App& app, action& selected) {
  auto args = std::make_shared<stats_args>();
  auto* cmd = app.add_subcommand(
      "stats",
      "what a store has done: requests, errors and latency by operation, its "
      "pool, reconnects; live figures of a node's store via caf://");
  add_store_options(*cmd, args->store);
  cmd->add_option("--every", args->every,
                  "seconds between reports (default 1)");
  cmd->add_option("--count", args->count, "reports to print (default 1)");
  cmd->callback([&selected, args] { selected = [args] { run(*args); }; });
}

}  // namespace storectl
