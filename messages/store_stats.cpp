#include "messages/store_stats.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace storage {

double latency_bound(std::size_t i) {
  if (i + 1 >= latency_buckets) return std::numeric_limits<double>::infinity();
  return std::ldexp(1e-6, static_cast<int>(i));
}

namespace {

using nlohmann::json;

double us(double seconds) {
  return seconds * 1e6;
}

json op_to_json(const op_stats& s) {
  return {{"requests", s.requests},      {"errors", s.errors},
          {"p50_us", us(s.p50)},         {"p90_us", us(s.p90)},
          {"p99_us", us(s.p99)},         {"max_us", us(s.max)},
          {"sum_us", us(s.sum_seconds)}, {"buckets", s.buckets}};
}

const json& child(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key))
    throw store_error(errc::invalid_argument,
                      std::string("store stats without '") + key + "'");
  return j.at(key);
}

template <class T>
T field(const json& j, const char* key) {
  return child(j, key).get<T>();
}

}  // namespace

std::string to_json(const store_stats& s) {
  json ops = json::object();
  for (auto& o : s.ops) ops[o.op] = op_to_json(o);
  json workers = json::array();
  for (auto& w : s.workers)
    workers.push_back({{"alive", w.alive}, {"queued", w.queued}});
  json out = {{"store", s.store},
              {"kind", s.kind},
              {"backend", s.backend},
              {"in_flight", s.in_flight},
              {"max_in_flight", s.max_in_flight},
              {"workers", workers},
              {"live_workers", s.live_workers},
              {"reconnects", s.reconnects},
              {"respawns", s.respawns},
              {"batches", s.batches},
              {"batched_requests", s.batched_requests},
              {"max_batch_depth", s.max_batch_depth},
              {"ops", ops}};
  if (auto& m = s.migration)
    out["migration"] = {{"state", m->state},
                        {"target", m->target},
                        {"copied", m->copied},
                        {"total", m->total},
                        {"verified", m->verified},
                        {"seconds", m->seconds},
                        {"rate", m->rate},
                        {"mirror_lag", m->mirror_lag},
                        {"mirroring_back", m->mirroring_back}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

store_stats store_stats_from_json(const std::string& text) {
  try {
    auto j = json::parse(text);
    store_stats s;
    s.store = field<std::string>(j, "store");
    s.kind = field<std::string>(j, "kind");
    s.backend = field<std::string>(j, "backend");
    s.in_flight = field<std::uint64_t>(j, "in_flight");
    s.max_in_flight = field<std::uint64_t>(j, "max_in_flight");
    for (auto& w : child(j, "workers"))
      s.workers.push_back(worker_stats{field<bool>(w, "alive"),
                                       field<std::uint32_t>(w, "queued")});
    s.live_workers = field<std::uint32_t>(j, "live_workers");
    s.reconnects = field<std::uint64_t>(j, "reconnects");
    s.respawns = field<std::uint64_t>(j, "respawns");
    s.batches = field<std::uint64_t>(j, "batches");
    s.batched_requests = field<std::uint64_t>(j, "batched_requests");
    s.max_batch_depth = field<std::uint64_t>(j, "max_batch_depth");
    for (auto& [name, o] : child(j, "ops").items()) {
      op_stats x;
      x.op = name;
      x.requests = field<std::uint64_t>(o, "requests");
      x.errors = field<std::map<std::string, std::uint64_t>>(o, "errors");
      x.buckets = field<std::vector<std::uint64_t>>(o, "buckets");
      x.p50 = field<double>(o, "p50_us") / 1e6;
      x.p90 = field<double>(o, "p90_us") / 1e6;
      x.p99 = field<double>(o, "p99_us") / 1e6;
      x.max = field<double>(o, "max_us") / 1e6;
      x.sum_seconds = field<double>(o, "sum_us") / 1e6;
      s.ops.push_back(std::move(x));
    }
    if (j.contains("migration")) {
      auto& m = j.at("migration");
      migration_stats x;
      x.state = field<std::string>(m, "state");
      x.target = field<std::string>(m, "target");
      x.copied = field<std::uint64_t>(m, "copied");
      x.total = field<std::uint64_t>(m, "total");
      x.verified = field<std::uint64_t>(m, "verified");
      x.seconds = field<double>(m, "seconds");
      x.rate = field<double>(m, "rate");
      x.mirror_lag = field<std::uint64_t>(m, "mirror_lag");
      x.mirroring_back = field<bool>(m, "mirroring_back");
      s.migration = std::move(x);
    }
    return s;
  } catch (const json::exception& e) {
    throw store_error(errc::invalid_argument,
                      std::string("malformed store stats: ") + e.what());
  }
}

}  // namespace storage
