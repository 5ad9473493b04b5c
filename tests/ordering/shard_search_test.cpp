// Searches of a faiss:// store split into shards go from the caller's thread
// to every shard and come back merged, without the router
// (actors/pool/shard_scatter.hpp): the k closest of all shards, after the
// caller's earlier writes and before its later ones, counted once, and with
// the first shard's error when the request is bad.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <thread>

#include <caf/all.hpp>

#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t dims = 8;

std::vector<float> random_point(std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(dims);
  for (auto& x : v) x = u(gen);
  return v;
}

std::vector<vector_record> points(std::size_t n, const std::string& prefix,
                                  unsigned seed) {
  std::mt19937 gen(seed);
  std::vector<vector_record> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].id = prefix + std::to_string(i);
    out[i].embedding = random_point(gen);
  }
  return out;
}

// The ids of the k records of `rs` closest to `q` (squared L2, ties by id):
// what a search of all of them must answer.
std::vector<std::string> closest(const std::vector<vector_record>& rs,
                                 const std::vector<float>& q, std::size_t k) {
  std::vector<std::pair<double, std::string>> all;
  for (auto& r : rs) {
    double d = 0;
    for (std::size_t i = 0; i < q.size(); ++i)
      d += (r.embedding[i] - q[i]) * (r.embedding[i] - q[i]);
    all.emplace_back(d, r.id);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < k && i < all.size(); ++i)
    out.push_back(all[i].second);
  return out;
}

std::vector<std::string> hit_ids(const std::vector<search_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits) out.push_back(h.id);
  return out;
}

// Waits (up to 5 s) until the store holds no request: every shard idle.
void wait_idle(runtime& rt, const std::string& uri) {
  auto until = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto s = rt.stats(uri);
    bool idle = s.in_flight == 0;
    for (auto& w : s.workers) idle = idle && w.queued == 0;
    if (idle) return;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "never idle";
    std::this_thread::sleep_for(1ms);
  }
}

std::uint64_t searches_counted(runtime& rt, const std::string& uri,
                               const std::string& code = "") {
  for (auto& o : rt.stats(uri).ops)
    if (o.op == "search") {
      if (code.empty()) return o.requests;
      auto it = o.errors.find(code);
      return it == o.errors.end() ? 0 : it->second;
    }
  return 0;
}

struct sharded_store {
  runtime rt;
  std::string uri = "faiss://" + fresh_dir() + "/v?pool=4";
  vector_store store = rt.open_vector(uri);
  std::vector<vector_record> records = points(400, "p-", 1);

  sharded_store() {
    await(store.create_collection({"docs", dims, metric::l2}));
    // Four hundred ids over four shards: the router splits the batch.
    EXPECT_EQ(await(store.upsert("docs", records)), 400u);
  }
};

TEST(shard_search, merges_the_k_closest_of_every_shard) {
  sharded_store s;
  std::mt19937 gen(3);
  for (int i = 0; i < 20; ++i) {
    search_request req;
    req.query = random_point(gen);
    req.k = 7;
    EXPECT_EQ(hit_ids(await(s.store.search("docs", req))),
              closest(s.records, req.query, 7))
        << i;
  }
  batch_search_request b;
  for (int q = 0; q < 3; ++q) b.queries.push_back(random_point(gen));
  b.k = 5;
  auto got = await(s.store.search_batch("docs", b));
  ASSERT_EQ(got.size(), 3u);
  for (int q = 0; q < 3; ++q)
    EXPECT_EQ(hit_ids(got[q]), closest(s.records, b.queries[q], 5)) << q;
  EXPECT_EQ(searches_counted(s.rt, s.uri), 21u) << "one count per search";
}

// An actor's upsert of one id, search, delete of that id and search, sent
// without waiting: the first search finds the new id first, the second
// does not find it.
TEST(shard_search, an_actors_search_sees_its_earlier_writes_not_its_later) {
  sharded_store s;
  auto near = s.records[0];
  near.id = "near";
  for (auto& x : near.embedding) x += 0.001f;
  search_request req;
  req.query = near.embedding;
  req.k = 3;
  struct replies {
    std::vector<search_hit> before, after;
    std::uint64_t upserted = 0, removed = 0;
    int pending = 4;
  };
  auto done = std::make_shared<std::promise<replies>>();
  auto result = done->get_future();
  auto h = s.store.actor();
  // An argument: CAF 0.17 binds a null reference for a function spawned
  // without any (UBSan: init_fun_factory.hpp:85).
  s.rt.system().spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        auto r = std::make_shared<replies>();
        auto one_done = [=] {
          if (--r->pending == 0) {
            done->set_value(*r);
            self->quit();
          }
        };
        auto fail = [=](caf::error& e) {
          done->set_exception(
              std::make_exception_ptr(std::runtime_error(caf::to_string(e))));
          self->quit();
        };
        std::string c = "docs";
        self->request(h, 10s, vupsert_atom::value, c, records{near})
            .then(
                [=](std::uint64_t n) {
                  r->upserted = n;
                  one_done();
                },
                fail);
        self->request(h, 10s, vsearch_atom::value, c, req)
            .then(
                [=](std::vector<search_hit>& x) {
                  r->before = std::move(x);
                  one_done();
                },
                fail);
        self->request(h, 10s, vdelete_atom::value, c, ids{"near"})
            .then(
                [=](std::uint64_t n) {
                  r->removed = n;
                  one_done();
                },
                fail);
        self->request(h, 10s, vsearch_atom::value, c, req)
            .then(
                [=](std::vector<search_hit>& x) {
                  r->after = std::move(x);
                  one_done();
                },
                fail);
        return {[](caf::unit_t) {}};
      },
      0);
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready);
  auto r = result.get();
  EXPECT_EQ(r.upserted, 1u);
  EXPECT_EQ(r.removed, 1u);
  ASSERT_EQ(r.before.size(), 3u);
  EXPECT_EQ(r.before[0].id, "near");
  EXPECT_EQ(hit_ids(r.after), closest(s.records, req.query, 3));
}

// Many callers at once, each writing one id of its own and searching for it
// without waiting in between, while another caller's batches go through
// the router: every search finds its caller's latest write.
TEST(shard_search, concurrent_callers_each_find_their_own_last_write) {
  sharded_store s;
  std::atomic<bool> stop{false};
  std::thread batches([&] {
    std::mt19937 gen(11);
    for (int round = 0; !stop; ++round) {
      auto b = points(50, "b" + std::to_string(round % 4) + "-", gen());
      EXPECT_EQ(await(s.store.upsert("docs", b)), 50u);
    }
  });
  std::vector<std::thread> callers;
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&, c] {
      for (int i = 0; i < 30; ++i) {
        // Far from every random point (they lie in [-1, 1]), and a step
        // from this caller's earlier writes.
        vector_record mine;
        mine.id = "c" + std::to_string(c) + "-" + std::to_string(i);
        mine.embedding.assign(dims, 10.0f + c);
        mine.embedding[0] += 0.25f * i;
        search_request req;
        req.query = mine.embedding;
        req.k = 2;
        auto up = s.store.upsert("docs", {mine});
        auto found = s.store.search("docs", req);
        EXPECT_EQ(await(std::move(up)), 1u);
        auto hits = await(std::move(found));
        ASSERT_FALSE(hits.empty());
        EXPECT_EQ(hits[0].id, mine.id);
        EXPECT_NEAR(hits[0].distance, 0.0, 1e-4);
      }
    });
  for (auto& t : callers) t.join();
  stop = true;
  batches.join();
}

// A bad search is answered once with the shards' error and changes nothing.
TEST(shard_search, a_bad_search_fails_once_and_the_next_one_works) {
  sharded_store s;
  search_request bad;
  bad.query = std::vector<float>(dims + 1, 0.5f);
  EXPECT_TRUE(fails_with(errc::dimension_mismatch,
                         [&] { await(s.store.search("docs", bad)); }));
  search_request nowhere;
  nowhere.query = std::vector<float>(dims, 0.5f);
  EXPECT_TRUE(fails_with(errc::collection_not_found,
                         [&] { await(s.store.search("missing", nowhere)); }));
  search_request good;
  good.query = s.records[5].embedding;
  good.k = 1;
  auto hits = await(s.store.search("docs", good));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "p-5");
  wait_idle(s.rt, s.uri);
  EXPECT_EQ(searches_counted(s.rt, s.uri), 3u);
  EXPECT_EQ(searches_counted(s.rt, s.uri, "dimension_mismatch"), 1u);
  EXPECT_EQ(searches_counted(s.rt, s.uri, "collection_not_found"), 1u);
}

// Sixteen shards, each part cut by the bound its search shares
// (actors/pool/search_bound.hpp): every hit still carries its own
// document, metadata and embedding, filtered or not, with k above a
// shard's share and above the whole store, from several callers at once.
TEST(shard_search, the_winners_carry_their_documents_from_sixteen_shards) {
  runtime rt;
  auto store = rt.open_vector("faiss://" + fresh_dir() + "/v?pool=16");
  await(store.create_collection({"docs", dims, metric::l2}));
  auto rs = points(300, "d-", 7);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    rs[i].document = "text of " + rs[i].id;
    rs[i].metadata["n"] = static_cast<std::int64_t>(i % 3);
  }
  ASSERT_EQ(await(store.upsert("docs", rs)), 300u);
  std::vector<vector_record> n0;  // what filter n == 0 matches
  for (auto& r : rs)
    if (std::get<std::int64_t>(r.metadata.at("n")) == 0) n0.push_back(r);
  auto by_id = [&](const std::string& id) -> const vector_record& {
    return *std::find_if(rs.begin(), rs.end(),
                         [&](auto& r) { return r.id == id; });
  };
  std::atomic<int> checked{0};
  auto caller = [&](unsigned seed) {
    std::mt19937 gen(seed);
    for (std::uint32_t k : {1u, 10u, 40u, 400u}) {
      for (bool filtered : {false, true}) {
        search_request req;
        req.query = random_point(gen);
        req.k = k;
        req.include.embedding = true;
        if (filtered) req.where = filter::eq("n", std::int64_t{0});
        auto got = await(store.search("docs", req));
        EXPECT_EQ(hit_ids(got), closest(filtered ? n0 : rs, req.query, k))
            << "k " << k << (filtered ? ", filtered" : "");
        for (auto& h : got) {
          auto& r = by_id(h.id);
          EXPECT_EQ(h.document, r.document) << h.id;
          EXPECT_EQ(h.metadata, r.metadata) << h.id;
          EXPECT_EQ(h.embedding, r.embedding) << h.id;
        }
        ++checked;
      }
    }
  };
  std::vector<std::thread> callers;
  for (unsigned t = 0; t < 4; ++t) callers.emplace_back(caller, 100 + t);
  for (auto& t : callers) t.join();
  EXPECT_EQ(checked.load(), 4 * 4 * 2);
}

}  // namespace
}  // namespace storage::test
