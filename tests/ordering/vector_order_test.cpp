// A caller's un-awaited vector operations take effect in the order issued,
// at every pool size and on every backend: several callers at once, each on
// its own collection of one shared store, issuing upserts, gets, deletes by
// id and by filter, counts and drop/create without waiting (and on faiss://
// filtered searches, exact there), checked against a sequential model.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

constexpr int callers = 3;
constexpr int ops_per_caller = 90;

struct order_case {
  std::string backend;  // faiss, pgvector, chroma
  int pool;
};

std::string case_name(const ::testing::TestParamInfo<order_case>& info) {
  return info.param.backend + "_pool" + std::to_string(info.param.pool);
}

std::string store_uri(const order_case& p) {
  std::string base;
  if (p.backend == "faiss") base = "faiss://" + fresh_dir() + "/v";
  if (p.backend == "pgvector") base = pgvector_uri();
  if (p.backend == "chroma") base = chroma_uri();
  return with_param(base, "pool=" + std::to_string(p.pool));
}

// The model's record: the group its metadata carries.
using model_t = std::map<std::string, std::int64_t>;

struct check {
  std::string what;
  std::function<void()> run;
};

vector_record record(const std::string& id, std::int64_t g, int i) {
  vector_record r;
  r.id = id;
  r.embedding = {static_cast<float>(i % 7) + 1.0f, static_cast<float>(g), 1.0f};
  r.metadata["g"] = g;
  return r;
}

// The ids a search for group `g` must find: all of them (k covers them).
std::vector<std::string> ids_in_group(const model_t& model, std::int64_t g) {
  std::vector<std::string> out;
  for (auto& [id, group] : model)
    if (group == g) out.push_back(id);
  return out;
}

void run_caller(vector_store vs, std::string c, unsigned seed, bool searches) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e", "f"};
  model_t model;
  std::vector<check> log;
  await(vs.create_collection({c, 3, metric::l2}));
  for (int i = 0; i < ops_per_caller; ++i) {
    auto tag = c + " #" + std::to_string(i);
    int op = pick(100);
    if (op < 35) {
      std::vector<vector_record> batch;
      for (int n = pick(3) + 1; n > 0; --n) {
        auto id = ids[pick(6)];
        bool dup = false;
        for (auto& r : batch) dup = dup || r.id == id;
        if (dup) continue;
        auto g = static_cast<std::int64_t>(pick(3));
        batch.push_back(record(id, g, i));
        model[id] = g;
      }
      auto f =
          std::make_shared<std::future<std::uint64_t>>(vs.upsert(c, batch));
      auto n = batch.size();
      log.push_back(
          {tag + " upsert", [f, n] { EXPECT_EQ(await(std::move(*f)), n); }});
    } else if (searches && op >= 50 && op < 60) {
      auto g = static_cast<std::int64_t>(pick(3));
      search_request req;
      req.query = {1.0f, static_cast<float>(g), 1.0f};
      req.k = 6;
      req.where = filter::parse("{\"g\": " + std::to_string(g) + "}");
      auto want = ids_in_group(model, g);
      auto f = std::make_shared<std::future<std::vector<search_hit>>>(
          vs.search(c, req));
      log.push_back({tag + " search", [f, want, tag] {
                       std::vector<std::string> got;
                       for (auto& h : await(std::move(*f))) got.push_back(h.id);
                       std::sort(got.begin(), got.end());
                       EXPECT_EQ(got, want) << tag;
                     }});
    } else if (op < 60) {
      std::vector<std::string> want_ids = {ids[pick(6)], ids[pick(6)]};
      if (want_ids[0] == want_ids[1]) want_ids.pop_back();
      std::map<std::string, std::int64_t> want;
      for (auto& id : want_ids)
        if (model.count(id)) want[id] = model[id];
      auto f = std::make_shared<std::future<std::vector<vector_record>>>(
          vs.get(c, want_ids));
      log.push_back({tag + " get", [f, want, tag] {
                       std::map<std::string, std::int64_t> got;
                       for (auto& r : await(std::move(*f)))
                         got[r.id] = std::get<std::int64_t>(r.metadata.at("g"));
                       EXPECT_EQ(got, want) << tag;
                     }});
    } else if (op < 72) {
      auto id = ids[pick(6)];
      std::uint64_t n = model.erase(id);
      auto f = std::make_shared<std::future<std::uint64_t>>(vs.remove(c, {id}));
      log.push_back({tag + " remove", [f, n, tag] {
                       EXPECT_EQ(await(std::move(*f)), n) << tag;
                     }});
    } else if (op < 82) {
      auto g = static_cast<std::int64_t>(pick(3));
      std::uint64_t n = 0;
      for (auto it = model.begin(); it != model.end();)
        if (it->second == g) {
          it = model.erase(it);
          ++n;
        } else {
          ++it;
        }
      auto f = std::make_shared<std::future<std::uint64_t>>(vs.remove_where(
          c, filter::parse("{\"g\": " + std::to_string(g) + "}")));
      log.push_back({tag + " remove_where", [f, n, tag] {
                       EXPECT_EQ(await(std::move(*f)), n) << tag;
                     }});
    } else if (op < 95) {
      auto n = static_cast<std::uint64_t>(model.size());
      auto f = std::make_shared<std::future<std::uint64_t>>(vs.count(c));
      log.push_back({tag + " count", [f, n, tag] {
                       EXPECT_EQ(await(std::move(*f)), n) << tag;
                     }});
    } else {
      model.clear();
      auto d = std::make_shared<std::future<bool>>(vs.drop_collection(c));
      auto k = std::make_shared<std::future<bool>>(
          vs.create_collection({c, 3, metric::l2}));
      log.push_back({tag + " drop+create", [d, k, tag] {
                       EXPECT_TRUE(await(std::move(*d))) << tag;
                       EXPECT_TRUE(await(std::move(*k))) << tag;
                     }});
    }
  }
  for (auto& x : log) x.run();
  EXPECT_EQ(await(vs.count(c)), model.size()) << c << " final";
  await(vs.drop_collection(c));
}

class vector_order : public ::testing::TestWithParam<order_case> {
 protected:
  runtime rt;
};

TEST_P(vector_order, each_callers_operations_take_effect_in_issue_order) {
  auto vs = rt.open_vector(store_uri(GetParam()));
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back(
        run_caller, vs, "ord" + std::to_string(c) + "_" + unique_token(),
        104729u * (c + 1) + GetParam().pool, GetParam().backend == "faiss");
  for (auto& t : threads) t.join();
}

INSTANTIATE_TEST_SUITE_P(
    backends, vector_order,
    ::testing::Values(order_case{"faiss", 1}, order_case{"faiss", 4},
                      order_case{"faiss", 16}, order_case{"pgvector", 1},
                      order_case{"pgvector", 4}, order_case{"pgvector", 16},
                      order_case{"chroma", 1}, order_case{"chroma", 4},
                      order_case{"chroma", 16}),
    case_name);

}  // namespace
}  // namespace storage::test
