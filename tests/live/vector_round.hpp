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
  // One more caller owns a second collection and issues the whole-collection
  // operations: remove_where, drop and create, between keyed writes. It is
  // the only writer there, so its model is exact.
  auto aux = "aux_" + unique_token();
  std::map<std::string, std::string> aux_model;  // id -> token
  bool aux_exists = false;
  callers.emplace_back([&] {
    std::mt19937 r(seed * 977 + 1);
    try {
      for (int seq = 0; !stop; ++seq) {
        auto op = r() % 8;
        if (!aux_exists || op == 0) {
          if (aux_exists && r() % 2) {
            await(vs.drop_collection(aux));
            aux_model.clear();
            aux_exists = false;
            continue;
          }
          await(vs.create_collection({aux, 8, metric::l2}));
          aux_exists = true;
        } else if (op == 1) {
          auto n = static_cast<std::int64_t>(r() % 10);
          await(vs.remove_where(aux, filter::eq("n", n)));
          for (auto it = aux_model.begin(); it != aux_model.end();)
            it = record_for(it->first, it->second).metadata.at("n") ==
                         metadata_value{n}
                     ? aux_model.erase(it)
                     : std::next(it);
        } else {
          std::vector<vector_record> batch;
          auto token = "aux-" + std::to_string(seq);
          auto first = static_cast<int>(r() % 38);
          for (int i = first; i < first + 3; ++i)
            batch.push_back(record_for("a" + std::to_string(i), token));
          await(vs.upsert(aux, batch));
          for (auto& x : batch) aux_model[x.id] = token;
        }
        ++ops;
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "whole-collection caller: " << e.what();
      ++errors;
    }
  });
  // Where the aux collection must now be exactly as modelled.
  auto check_aux = [&](vector_store& where) {
    std::set<std::string> names;
    for (auto& spec : await(where.list_collections())) names.insert(spec.name);
    ASSERT_EQ(names.count(aux), aux_exists ? 1u : 0u);
    if (!aux_exists) return;
    auto got = scan_all(where, aux);
    EXPECT_EQ(got.size(), aux_model.size());
    for (auto& [id, token] : aux_model)
      EXPECT_TRUE(got.count(id) && got[id] == record_for(id, token))
          << "aux record " << id;
    await(where.drop_collection(aux));
  };
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
    check_aux(vs);
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
  check_aux(pg);
  EXPECT_GT(ops, 0);

  m.finalize();
  await(vs.drop_collection(coll));
}

}  // namespace storage::test
