// One store, however it is named: by the config file's name, by its URI and
// by another spelling of that URI. Two routers over one FAISS directory
// would each miss the other's writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/runtime.hpp"
#include "runtime/store_identity.hpp"
#include "support/migration_refusal.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(identity, every_name_of_a_store_reaches_the_same_store) {
  auto dir = fresh_dir();
  auto config = dir + "/app.conf";
  std::ofstream(config) << "[stores]\nvectors=\"faiss://" << dir
                        << "/v?index=flat&pool=1\"\n";
  runtime_options opts;
  opts.config_file = config;
  runtime rt(opts);
  auto by_name = rt.open_vector("vectors");
  auto by_uri = rt.open_vector("faiss://" + dir + "/v?pool=1&index=flat");
  auto by_other = rt.open_vector("faiss://" + dir + "/./v/?index=flat&pool=1");
  await(by_name.create_collection({"docs", 2, metric::l2}));
  // Each handle reads first, so a second router would have loaded the
  // collection before the write below.
  EXPECT_EQ(await(by_uri.count("docs")), 0u);
  EXPECT_EQ(await(by_other.count("docs")), 0u);
  await(by_name.upsert("docs", {{"a", {1, 0}, {}, std::nullopt}}));
  EXPECT_EQ(await(by_uri.count("docs")), 1u);
  EXPECT_EQ(await(by_other.count("docs")), 1u);
  EXPECT_EQ(await(by_other.search("docs",
                                  [] {
                                    search_request q;
                                    q.query = {1, 0};
                                    q.k = 1;
                                    return q;
                                  }()))
                .size(),
            1u);
}

// faiss://localhost/dir is the directory /dir, as in a file URI, not a
// folder "localhost" under the working directory.
TEST(identity, a_faiss_uri_on_localhost_opens_the_absolute_directory) {
  auto dir = fresh_dir();
  {
    runtime rt;
    auto vs = rt.open_vector("faiss://localhost" + dir + "/v");
    await(vs.create_collection({"docs", 2, metric::l2}));
    await(vs.upsert("docs", {{"a", {1, 0}, {}, std::nullopt}}));
  }
  EXPECT_FALSE(std::filesystem::exists("localhost" + dir));
  runtime rt;
  EXPECT_EQ(await(rt.open_vector("faiss://" + dir + "/v").count("docs")), 1u);
}

// Spellings a reader takes for the same store: a relative directory,
// parameters at their defaults, an empty path, database 0.
TEST(identity, spellings_of_defaults_and_relative_paths_are_one_store) {
  auto dir = fresh_dir();
  auto rel = std::filesystem::relative(dir).string();
  EXPECT_EQ(store_identity("faiss://" + rel + "/v"),
            store_identity("faiss://" + dir + "/v"));
  EXPECT_EQ(store_identity("faiss://" + dir + "/v?index=flat&pool=01"),
            store_identity("faiss://" + dir + "/v"));
  EXPECT_EQ(store_identity("faiss://localhost" + dir + "/v"),
            store_identity("faiss://" + dir + "/v"));
  EXPECT_EQ(store_identity("faiss://" + dir +
                           "/v?timeout_ms=10000&"
                           "max_inflight=1024"),
            store_identity("faiss://" + dir + "/v"));
  EXPECT_EQ(store_identity("sqlite://localhost" + dir + "/c.db"),
            store_identity("sqlite://" + dir + "/c.db"));
  EXPECT_EQ(store_identity("memory:///"), store_identity("memory://"));
  EXPECT_EQ(store_identity("memory://?namespace=default&pool=1"),
            store_identity("memory://"));
  EXPECT_EQ(store_identity("redis://127.0.0.1"),
            store_identity("redis://127.0.0.1:6379/0?namespace=default"));
  EXPECT_EQ(store_identity("pgvector://u@h/db?index=hnsw"),
            store_identity("pgvector://u@h:5432/db"));
  EXPECT_EQ(store_identity("memory://?namespace=x&max_entries=0100"),
            store_identity("memory://?max_entries=100&namespace=x"));
  EXPECT_EQ(store_identity("faiss://" + dir + "/v?ef_search=0300&pool=02"),
            store_identity("faiss://" + dir + "/v?ef_search=300&pool=2"));
  // Not the same store: other values, other namespaces, other databases.
  EXPECT_NE(store_identity("faiss://" + dir + "/v?index=hnsw"),
            store_identity("faiss://" + dir + "/v"));
  EXPECT_NE(store_identity("memory://?namespace=007"),
            store_identity("memory://?namespace=7"));
  EXPECT_NE(store_identity("redis://h/1"), store_identity("redis://h/0"));
  EXPECT_NE(store_identity("faiss://Dir/v"), store_identity("faiss://dir/v"));

  runtime rt;
  auto by_rel = rt.open_vector("faiss://" + rel + "/v?pool=1");
  auto by_abs = rt.open_vector("faiss://" + dir + "/v?index=flat");
  await(by_rel.create_collection({"docs", 2, metric::l2}));
  EXPECT_EQ(await(by_abs.count("docs")), 0u);
  await(by_rel.upsert("docs", {{"a", {1, 0}, {}, std::nullopt}}));
  EXPECT_EQ(await(by_abs.count("docs")), 1u);
  auto m1 = rt.open_cache("memory://");
  auto m2 = rt.open_cache("memory:///?namespace=default");
  await(m1.set("k", "v"));
  EXPECT_TRUE(await(m2.exists("k")));
}

// Where the data is, however the store is reached: no migration has one
// data identity as its source and its target.
TEST(identity, a_migration_onto_its_own_data_is_refused) {
  EXPECT_EQ(data_identity(redis_uri() + "?pool=2&timeout_ms=500"),
            data_identity(redis_uri()));
  EXPECT_EQ(data_identity("pgvector://u:a@h/db?pool=4&ef_search=80"),
            data_identity("pgvector://u:b@h:5432/db"));
  EXPECT_EQ(data_identity("faiss:///x/v?index=hnsw&pool=2"),
            data_identity("faiss:///x/v"));
  EXPECT_NE(data_identity(redis_uri() + "?namespace=other"),
            data_identity(redis_uri()));
  EXPECT_NE(data_identity("chroma://h:1?database=a"),
            data_identity("chroma://h:1?database=b"));
  EXPECT_NE(data_identity("memory://?pool=2"), data_identity("memory://"));
  EXPECT_EQ(data_identity("chroma://h:1?tenant=default_tenant"),
            data_identity("chroma://h:1?database=default_database"));
  EXPECT_EQ(data_identity("redis://default:pw@h:1/0"),
            data_identity("redis://h:1"));

  auto dir = fresh_dir();
  auto ns = "ident" + unique_token();
  auto redis = with_param(redis_uri(), "namespace=" + ns);
  auto sqlite = "sqlite://" + dir + "/c.db";
  runtime rt;
  auto cache = rt.open_cache(sqlite);
  await(cache.set("k", "v"));
  for (auto target : {sqlite + "?pool=2",
                      "sqlite://localhost" + dir + "/./c.db?timeout_ms=900"})
    EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
      rt.migrate_live(sqlite, target);
    })) << target;
  // Once the store serves from Redis, Redis is its data and the SQLite
  // file a target again.
  auto m = rt.migrate_live(sqlite, redis);
  m.wait();
  ASSERT_EQ(m.progress().state, live_state::done);
  m.finalize();
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    rt.migrate_live(sqlite, with_param(redis, "pool=3"));
  }));
  auto back = rt.migrate_live(sqlite, sqlite + "?pool=2");
  back.wait();
  EXPECT_EQ(back.progress().state, live_state::done);
  EXPECT_EQ(await(cache.get("k")), std::optional<std::string>("v"));
}

// Hosts that reach one server name one store's data to a migration: a copy
// from 127.0.0.1 onto localhost would rewrite records onto themselves.
TEST(identity, hosts_that_reach_one_server_are_one_source_and_target) {
  EXPECT_TRUE(same_data("redis://127.0.0.1:6379/0?namespace=a",
                        "redis://localhost:6379/0?namespace=a&pool=2"));
  EXPECT_TRUE(same_data("redis://[::1]:6379", "redis://127.0.0.1"));
  EXPECT_TRUE(same_data("pgvector://u:a@localhost/db",
                        "pgvector://u@127.0.0.1:5432/db"));
  EXPECT_FALSE(same_data("redis://localhost:6379/0?namespace=a",
                         "redis://127.0.0.1:6379/0?namespace=b"));
  EXPECT_FALSE(same_data("redis://localhost:6380", "redis://127.0.0.1:6379"));
  EXPECT_FALSE(
      same_data("chroma://localhost:1", "chroma://no-such-host.invalid:1"));

  auto from = with_param(redis_uri(), "namespace=hosts" + unique_token());
  auto at = from.find("127.0.0.1");
  ASSERT_NE(at, std::string::npos) << from;
  auto to = std::string(from).replace(at, 9, "localhost");
  runtime rt;
  for (auto* op : {"migrate", "verify"}) {
    auto e = migration_refusal(rt, op, from, to);
    ASSERT_TRUE(e) << op << " onto " << to << " was not refused";
    EXPECT_EQ(e->code(), errc::invalid_argument) << e->what();
    EXPECT_NE(std::string(e->what()).find("the same store"), std::string::npos)
        << e->what();
  }
}

}  // namespace
}  // namespace storage::test
