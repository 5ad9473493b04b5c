// One round of the vector live-migration test: 8 callers upsert, delete and
// read overlapping ids of a faiss:// store while it migrates to pgvector;
// afterwards the target must hold exactly what the acknowledged writes say,
// and no caller may have seen an error.
#pragma once

#include "live_support.hpp"
#include "support/servers.hpp"

namespace storage::test {

struct round_size {
  int ids = 300;
  int callers = 8;
  // Traffic before the migration starts and after it ends, at most.
  std::chrono::milliseconds before{30}, after{30};
  // Switch back to the source after cutover, with traffic still running;
  // the source must then hold every acknowledged write.
  bool abort_after_cutover = false;
};

inline void vector_round(unsigned seed, round_size size = {}) {
  std::mt19937 rng(seed);
  runtime rt;
  auto src = "faiss://" + fresh_dir() + "?pool=" + std::to_string(1 + seed % 2);
  auto tgt = with_param(pgvector_uri(), "pool=" + std::to_string(1 + seed % 4));
  auto vs = rt.open_vector(src);
  auto coll = "live_" + unique_token();
  await(vs.create_collection({coll, 8, metric::l2}));
  auto id_of = [](int i) { return "id" + std::to_string(i); };

  history h;
  for (int i = 0; i < size.ids; i += 100) {
    std::vector<vector_record> batch;
    for (int j = i; j < std::min(size.ids, i + 100); ++j)
      batch.push_back(record_for(id_of(j), "init-" + id_of(j)));
    auto start = h.tick();
    await(vs.upsert(coll, batch));
    auto ack = h.tick();
    for (auto& r : batch) h.add(r.id, start, ack, *r.document);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, ops{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < size.callers; ++c)
    callers.emplace_back([&, c] {
      std::mt19937 r(seed * 131 + c);
      for (int seq = 0; !stop; ++seq) {
        // 1-3 distinct ids from the shared range.
        std::set<std::string> pick;
        for (int n = 1 + r() % 3; static_cast<int>(pick.size()) < n;)
          pick.insert(id_of(static_cast<int>(r() % size.ids)));
        std::vector<std::string> xs(pick.begin(), pick.end());
        auto op = r() % 4;
        try {
          auto start = h.tick();
          if (op < 2) {
            auto token = "c" + std::to_string(c) + "-" + std::to_string(seq);
            std::vector<vector_record> batch;
            for (auto& id : xs) batch.push_back(record_for(id, token));
            await(vs.upsert(coll, batch));
            auto ack = h.tick();
            for (auto& id : xs) h.add(id, start, ack, token);
          } else if (op == 2) {
            await(vs.remove(coll, xs));
            auto ack = h.tick();
            for (auto& id : xs) h.add(id, start, ack, std::nullopt);
          } else {
            await(vs.get(coll, xs));
          }
          ++ops;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "caller " << c << ": " << e.what();
          ++errors;
        }
      }
    });

  std::this_thread::sleep_for(size.before * (rng() % 100) / 100);
  auto m = rt.migrate_live(src, tgt);
  auto state = settle(m);
  std::this_thread::sleep_for(size.after * (rng() % 100) / 100);
  if (size.abort_after_cutover && state == live_state::done) {
    EXPECT_TRUE(m.progress().mirroring_back);
    m.abort();
    EXPECT_EQ(m.state(), live_state::aborted);
    std::this_thread::sleep_for(size.after * (rng() % 100) / 100);
  }
  stop = true;
  for (auto& t : callers) t.join();

  EXPECT_EQ(errors, 0);
  ASSERT_EQ(state, live_state::done) << outcome(m);
  auto result = m.wait();
  EXPECT_TRUE(result.verified);
  if (size.abort_after_cutover) {
    // The handle reads the source again, which must hold every write,
    // including those the target answered; and writes no longer reach the
    // target.
    auto on_source = scan_all(vs, coll);
    std::map<std::string, std::string> tokens;
    for (auto& [id, r] : on_source) {
      ASSERT_TRUE(r.document.has_value()) << id;
      EXPECT_TRUE(r == record_for(id, *r.document)) << id;
      tokens[id] = *r.document;
    }
    check_against(h, tokens);
    await(vs.upsert(coll, {record_for("after-abort", "x")}));
    runtime direct;
    auto pg = direct.open_vector(tgt);
    EXPECT_TRUE(await(pg.get(coll, {"after-abort"})).empty());
    await(pg.drop_collection(coll));
    await(vs.drop_collection(coll));
    return;
  }

  // Reads now reach pgvector through the same handle; a second runtime
  // reading PostgreSQL directly must see the same records.
  auto via_handle = scan_all(vs, coll);
  runtime direct;
  auto pg = direct.open_vector(tgt);
  auto in_pg = scan_all(pg, coll);
  EXPECT_EQ(via_handle.size(), in_pg.size());
  std::map<std::string, std::string> tokens;
  for (auto& [id, r] : in_pg) {
    ASSERT_TRUE(r.document.has_value()) << id;
    tokens[id] = *r.document;
    EXPECT_TRUE(r == record_for(id, *r.document))
        << "record " << id << " was altered";
    EXPECT_TRUE(via_handle.count(id) && via_handle[id] == r) << id;
  }
  check_against(h, tokens);
  EXPECT_GT(ops, 0);

  m.finalize();
  await(vs.drop_collection(coll));
}

}  // namespace storage::test
