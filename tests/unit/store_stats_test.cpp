// The counters behind runtime::stats and their two renderings: exact counts
// under concurrent recording, quantiles within their bucket, JSON that reads
// back to the same figures, and a Prometheus exposition a strict reader
// accepts.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/pool/store_metrics.hpp"
#include "messages/store_stats.hpp"
#include "support/prometheus.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using std::chrono::microseconds;

const op_stats* op(const store_stats& s, const std::string& name) {
  for (auto& o : s.ops)
    if (o.op == name) return &o;
  return nullptr;
}

TEST(store_metrics, counts_by_operation_and_error_code) {
  store_metrics m;
  for (int i = 0; i < 90; ++i)
    m.record_latency(store_op::get, errc::ok, microseconds(10));
  for (int i = 0; i < 10; ++i)
    m.record_latency(store_op::get, errc::ok, microseconds(1000));
  for (int i = 0; i < 3; ++i)
    m.record_latency(store_op::set, errc::timeout, microseconds(5));
  m.record_latency(store_op::set, errc::overloaded, microseconds(1));
  // What the store sent itself (no start time) is not a request.
  m.record(store_op::set, errc::ok, store_metrics::clock::time_point{});
  store_stats s;
  m.snapshot(s);
  ASSERT_EQ(s.ops.size(), 2u) << "operations never asked for are left out";
  auto* get = op(s, "get");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->requests, 100u);
  EXPECT_TRUE(get->errors.empty());
  EXPECT_DOUBLE_EQ(get->max, 1e-3);
  EXPECT_NEAR(get->sum_seconds, 90 * 10e-6 + 10 * 1e-3, 1e-9);
  // 10 us lies in [8, 16) us, 1000 us in [512, 1024) us.
  EXPECT_GE(get->p50, 8e-6);
  EXPECT_LE(get->p50, 16e-6);
  EXPECT_GE(get->p99, 512e-6);
  EXPECT_LE(get->p99, 1e-3);
  auto* set = op(s, "set");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->requests, 4u);
  EXPECT_EQ(set->errors.at("timeout"), 3u);
  EXPECT_EQ(set->errors.at("overloaded"), 1u);
}

TEST(store_metrics, a_latency_beyond_every_bound_lands_in_the_last_bucket) {
  store_metrics m;
  m.record_latency(store_op::search, errc::ok, std::chrono::seconds(100));
  m.record_latency(store_op::search, errc::ok, std::chrono::nanoseconds(300));
  store_stats s;
  m.snapshot(s);
  auto& b = s.ops.at(0).buckets;
  ASSERT_EQ(b.size(), latency_buckets);
  EXPECT_EQ(b.front(), 1u) << "300 ns is under 1 us";
  EXPECT_EQ(b.back(), 1u);
  EXPECT_TRUE(std::isinf(latency_bound(latency_buckets - 1)));
  EXPECT_DOUBLE_EQ(latency_bound(0), 1e-6);
  EXPECT_DOUBLE_EQ(latency_bound(10), 1024e-6);
}

TEST(store_metrics, concurrent_recording_loses_no_count) {
  store_metrics m;
  constexpr int threads = 4, each = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i)
        m.record_latency(t % 2 ? store_op::get : store_op::set,
                         i % 10 ? errc::ok : errc::timeout,
                         microseconds(i % 2000));
      m.batch_ran(static_cast<std::size_t>(t + 1));
    });
  for (auto& t : ts) t.join();
  store_stats s;
  m.snapshot(s);
  std::uint64_t total = 0, errors = 0;
  for (auto& o : s.ops) {
    total += o.requests;
    std::uint64_t in_buckets = 0;
    for (auto n : o.buckets) in_buckets += n;
    EXPECT_EQ(in_buckets, o.requests) << o.op;
    errors += o.errors.at("timeout");
  }
  EXPECT_EQ(total, std::uint64_t{threads} * each);
  EXPECT_EQ(errors, std::uint64_t{threads} * each / 10);
  EXPECT_EQ(s.batches, 4u);
  EXPECT_EQ(s.batched_requests, 1u + 2 + 3 + 4);
  EXPECT_EQ(s.max_batch_depth, 4u);
}

store_stats sample_stats() {
  store_metrics m;
  m.record_latency(store_op::upsert, errc::ok, microseconds(40));
  m.record_latency(store_op::upsert, errc::dimension_mismatch, microseconds(3));
  m.record_latency(store_op::search, errc::ok, microseconds(700));
  m.reconnected();
  m.respawned();
  m.batch_ran(4);  // two groups of upserts, of 4 and 5
  m.batch_ran(5);
  store_stats s;
  m.snapshot(s);
  s.store = "odd \"name\" \\ with\nnewline";
  s.kind = "vector";
  s.backend = "pgvector://alice:***@127.0.0.1:55432/db";
  s.in_flight = 3;
  s.max_in_flight = 1024;
  s.workers = {{true, 2}, {false, 0}};
  s.live_workers = 1;
  migration_stats mig;
  mig.state = "backfill";
  mig.target = "faiss:///tmp/x";
  mig.copied = 500;
  mig.total = 1000;
  mig.seconds = 2;
  mig.rate = 250;
  mig.mirror_lag = 7;
  s.migration = mig;
  return s;
}

TEST(store_stats, json_reads_back_to_the_same_figures) {
  auto s = sample_stats();
  auto back = store_stats_from_json(to_json(s));
  EXPECT_EQ(to_json(back), to_json(s));
  EXPECT_EQ(back.store, s.store);
  EXPECT_EQ(back.workers.size(), 2u);
  EXPECT_FALSE(back.workers[1].alive);
  ASSERT_TRUE(back.migration);
  EXPECT_EQ(back.migration->mirror_lag, 7u);
  EXPECT_EQ(back.ops.size(), 2u);
}

TEST(store_stats, malformed_json_is_invalid_argument_naming_the_field) {
  auto j = nlohmann::json::parse(to_json(sample_stats()));
  j.erase("in_flight");
  try {
    store_stats_from_json(j.dump());
    FAIL() << "accepted stats without in_flight";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("in_flight"), std::string::npos);
  }
  EXPECT_EQ(test::code_of([] { store_stats_from_json("3"); }),
            errc::invalid_argument);
  EXPECT_EQ(test::code_of([] { store_stats_from_json("{not json"); }),
            errc::invalid_argument);
}

TEST(store_stats, prometheus_exposition_is_well_formed) {
  auto s = sample_stats();
  auto x = test::parse_prometheus(prometheus_text({s}));
  std::map<std::string, std::string> base{{"store", s.store},
                                          {"kind", "vector"}};
  EXPECT_EQ(x.types.at("storage_requests_total"), "counter");
  EXPECT_EQ(x.types.at("storage_request_duration_seconds"), "histogram");
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(base.begin(), base.end());
    return more;
  };
  EXPECT_EQ(x.value("storage_requests_total", with({{"op", "upsert"}})), 2);
  EXPECT_EQ(x.value("storage_request_errors_total",
                    with({{"op", "upsert"}, {"code", "dimension_mismatch"}})),
            1);
  EXPECT_EQ(x.value("storage_requests_in_flight", base), 3);
  EXPECT_EQ(x.value("storage_pool_workers", base), 2);
  EXPECT_EQ(x.value("storage_pool_live_workers", base), 1);
  EXPECT_EQ(x.value("storage_worker_queued_requests", with({{"worker", "0"}})),
            2);
  EXPECT_EQ(x.value("storage_reconnects_total", base), 1);
  EXPECT_EQ(x.value("storage_worker_respawns_total", base), 1);
  EXPECT_EQ(x.value("storage_migration_mirror_lag", base), 7);
  // A vector store's groups of upserts, under names of their own.
  EXPECT_EQ(x.types.at("storage_vector_upsert_groups_total"), "counter");
  EXPECT_EQ(x.value("storage_vector_upsert_groups_total", base), 2);
  EXPECT_EQ(x.value("storage_vector_grouped_upserts_total", base), 9);
  EXPECT_EQ(x.value("storage_vector_upsert_group_depth_max", base), 5);
  EXPECT_TRUE(x.find("storage_cache_batches_total", base).empty());
  EXPECT_EQ(x.value("storage_migration_phase", with({{"phase", "backfill"}})),
            1);
  // Buckets are cumulative, end at +Inf with the count, and the search's
  // 700 us is within its bounds.
  auto buckets = x.find("storage_request_duration_seconds_bucket",
                        with({{"op", "search"}}));
  ASSERT_EQ(buckets.size(), latency_buckets);
  double last = 0;
  for (auto& b : buckets) {
    EXPECT_GE(b.value, last);
    last = b.value;
    double le =
        b.labels.at("le") == "+Inf" ? INFINITY : std::stod(b.labels.at("le"));
    EXPECT_EQ(b.value, le >= 700e-6 ? 1 : 0) << b.labels.at("le");
  }
  EXPECT_EQ(buckets.back().labels.at("le"), "+Inf");
  EXPECT_EQ(x.value("storage_request_duration_seconds_count",
                    with({{"op", "search"}})),
            1);
  EXPECT_NEAR(
      x.value("storage_request_duration_seconds_sum", with({{"op", "search"}})),
      700e-6, 1e-12);
}

}  // namespace
}  // namespace storage
