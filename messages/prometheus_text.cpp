// The Prometheus text exposition format, version 0.0.4: per metric family
// one HELP and one TYPE line, then its samples; label values escaped
// (backslash, double quote, newline).
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "messages/store_stats.hpp"

namespace storage {

namespace {

std::string escaped(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string number(std::uint64_t v) {
  return std::to_string(v);
}

class exposition {
 public:
  explicit exposition(const std::vector<store_stats>& stores)
      : stores_(stores) {}

  // One family: its samples come from each(store, add).
  using add_fn =
      std::function<void(const std::string& labels, const std::string& value)>;
  void family(const std::string& name, const char* type, const char* help,
              const std::function<void(const store_stats&, add_fn)>& each) {
    out_ += "# HELP " + name + " " + help + "\n";
    out_ += "# TYPE " + name + " " + type + "\n";
    for (auto& s : stores_) {
      auto base = "store=\"" + escaped(s.store) + "\",kind=\"" + s.kind + "\"";
      each(s, [&](const std::string& labels, const std::string& value) {
        out_ += name + "{" + base + (labels.empty() ? "" : "," + labels) + "} ";
        out_ += value + "\n";
      });
    }
  }

  std::string text() && { return std::move(out_); }

 private:
  const std::vector<store_stats>& stores_;
  std::string out_;
};

std::string label(const char* k, const std::string& v) {
  return std::string(k) + "=\"" + escaped(v) + "\"";
}

void histogram(const std::vector<store_stats>& stores, std::string& out) {
  const std::string name = "storage_request_duration_seconds";
  out += "# HELP " + name +
         " Time from a request's hand-off to the store to its reply.\n";
  out += "# TYPE " + name + " histogram\n";
  for (auto& s : stores)
    for (auto& o : s.ops) {
      auto base = label("store", s.store) + "," + label("kind", s.kind) + "," +
                  label("op", o.op);
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < o.buckets.size(); ++i) {
        cumulative += o.buckets[i];
        out += name + "_bucket{" + base + ",le=\"" + number(latency_bound(i)) +
               "\"} " + number(cumulative) + "\n";
      }
      out += name + "_sum{" + base + "} " + number(o.sum_seconds) + "\n";
      out += name + "_count{" + base + "} " + number(o.requests) + "\n";
    }
}

}  // namespace

std::string prometheus_text(const std::vector<store_stats>& stores) {
  exposition x(stores);
  x.family("storage_requests_total", "counter",
           "Requests answered, errors included.", [](auto& s, auto add) {
             for (auto& o : s.ops) add(label("op", o.op), number(o.requests));
           });
  x.family("storage_request_errors_total", "counter",
           "Requests answered with an error, by the error's code.",
           [](auto& s, auto add) {
             for (auto& o : s.ops)
               for (auto& [code, n] : o.errors)
                 add(label("op", o.op) + "," + label("code", code), number(n));
           });
  x.family("storage_requests_in_flight", "gauge",
           "Requests admitted and not yet answered.",
           [](auto& s, auto add) { add("", number(s.in_flight)); });
  x.family("storage_requests_max_in_flight", "gauge",
           "The store's bound on requests in flight (max_inflight).",
           [](auto& s, auto add) { add("", number(s.max_in_flight)); });
  x.family("storage_worker_queued_requests", "gauge",
           "Requests queued on a worker or running there.",
           [](auto& s, auto add) {
             for (std::size_t i = 0; i < s.workers.size(); ++i)
               add(label("worker", std::to_string(i)),
                   number(std::uint64_t{s.workers[i].queued}));
           });
  x.family("storage_pool_workers", "gauge", "Workers the pool is made of.",
           [](auto& s, auto add) {
             add("", number(std::uint64_t{s.workers.size()}));
           });
  x.family("storage_pool_live_workers", "gauge",
           "Workers running (the others are being respawned).",
           [](auto& s, auto add) {
             add("", number(std::uint64_t{s.live_workers}));
           });
  x.family("storage_reconnects_total", "counter",
           "Backend connections made again after one was lost.",
           [](auto& s, auto add) { add("", number(s.reconnects)); });
  x.family("storage_worker_respawns_total", "counter",
           "Workers restarted after they died.",
           [](auto& s, auto add) { add("", number(s.respawns)); });
  // A figure of one kind of store, one sample per store of that kind.
  auto kind_figure = [&x](const char* kind, const char* name, const char* type,
                          const char* help, auto value) {
    x.family(name, type, help, [kind, value](auto& s, auto add) {
      if (s.kind == kind) add("", number(value(s)));
    });
  };
  auto cache_figure = [&](auto... args) { kind_figure("cache", args...); };
  auto vector_figure = [&](auto... args) { kind_figure("vector", args...); };
  cache_figure("storage_cache_batches_total", "counter",
               "Pipelined batches a cache's workers ran (one round trip "
               "each on Redis).",
               [](auto& s) { return s.batches; });
  cache_figure("storage_cache_batched_requests_total", "counter",
               "Requests those batches carried.",
               [](auto& s) { return s.batched_requests; });
  cache_figure("storage_cache_batch_depth_max", "gauge",
               "The deepest batch so far.",
               [](auto& s) { return s.max_batch_depth; });
  vector_figure("storage_vector_upsert_groups_total", "counter",
                "Upserts queued at a faiss:// shard that ran as one "
                "(one transaction each).",
                [](auto& s) { return s.batches; });
  vector_figure("storage_vector_grouped_upserts_total", "counter",
                "Upsert requests those groups carried.",
                [](auto& s) { return s.batched_requests; });
  vector_figure("storage_vector_upsert_group_depth_max", "gauge",
                "The most upserts one group carried so far.",
                [](auto& s) { return s.max_batch_depth; });
  x.family("storage_migration_phase", "gauge",
           "1 for the phase the store's last live migration is in.",
           [](auto& s, auto add) {
             if (s.migration)
               add(label("target", s.migration->target) + "," +
                       label("phase", s.migration->state),
                   "1");
           });
  // A live migration's figure, labelled with its target.
  auto migration_gauge = [&x](const char* name, const char* help, auto value) {
    x.family(name, "gauge", help, [value](auto& s, auto add) {
      if (s.migration)
        add(label("target", s.migration->target), number(value(*s.migration)));
    });
  };
  migration_gauge("storage_migration_copied_records",
                  "Records (keys) the live migration's backfill copied.",
                  [](auto& m) { return m.copied; });
  migration_gauge("storage_migration_source_records",
                  "Records the source held when the live migration started.",
                  [](auto& m) { return m.total; });
  migration_gauge("storage_migration_copy_rate",
                  "Records copied per second by the live migration.",
                  [](auto& m) { return m.rate; });
  migration_gauge("storage_migration_mirror_lag",
                  "Writes accepted and not yet applied on the migration's "
                  "other side.",
                  [](auto& m) { return m.mirror_lag; });
  auto out = std::move(x).text();
  histogram(stores, out);
  return out;
}

}  // namespace storage
