// A live migration that fails or is aborted before cutover leaves the source
// authoritative and intact, and its callers never see an error; after
// cutover an abort is refused.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "live_support.hpp"
#include "runtime/migration_journal.hpp"
#include "support/servers.hpp"

extern char** environ;

namespace storage::test {
namespace {

// Callers writing and reading keys of a cache while a test runs; every
// acknowledged write goes into `h`.
struct cache_traffic {
  cache_store cs;
  history& h;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;

  cache_traffic(cache_store store, history& hist, int keys)
      : cs(store), h(hist) {
    for (int c = 0; c < 4; ++c)
      threads.emplace_back([this, c, keys] {
        std::mt19937 r(c);
        for (int seq = 0; !stop; ++seq) {
          auto key = "t" + std::to_string(r() % keys);
          try {
            auto start = h.tick();
            if (seq % 2) {
              auto v = std::to_string(c * 1000000 + seq);
              await(cs.set(key, v));
              h.add(key, start, h.tick(), v);
            } else {
              await(cs.get(key));
            }
          } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++errors;
          }
        }
      });
  }

  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

struct vector_traffic {
  vector_store vs;
  std::string coll;
  history& h;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;

  vector_traffic(vector_store store, std::string c, history& hist)
      : vs(store), coll(std::move(c)), h(hist) {
    for (int c = 0; c < 4; ++c)
      threads.emplace_back([this, c] {
        std::mt19937 r(c);
        for (int seq = 0; !stop; ++seq) {
          auto id = "t" + std::to_string(r() % 50);
          try {
            auto start = h.tick();
            if (seq % 3 == 0) {
              await(vs.remove(coll, {id}));
              h.add(id, start, h.tick(), std::nullopt);
            } else {
              auto token = std::to_string(c) + "-" + std::to_string(seq);
              await(vs.upsert(coll, {record_for(id, token)}));
              h.add(id, start, h.tick(), token);
            }
            await(vs.get(coll, {id}));
          } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++errors;
          }
        }
      });
  }

  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

std::map<std::string, std::string> tokens(vector_store& vs,
                                          const std::string& c) {
  std::map<std::string, std::string> out;
  for (auto& [id, r] : scan_all(vs, c)) out[id] = r.document.value_or("");
  return out;
}

// Preloads `n` records, each recorded in `h`.
void preload(vector_store& vs, const std::string& c, int n, history& h) {
  for (int i = 0; i < n; i += 500) {
    std::vector<vector_record> batch;
    for (int j = i; j < std::min(n, i + 500); ++j)
      batch.push_back(record_for("p" + std::to_string(j), "init"));
    auto start = h.tick();
    await(vs.upsert(c, batch));
    auto ack = h.tick();
    for (auto& r : batch) h.add(r.id, start, ack, "init");
  }
}

TEST(live_failure, unreachable_target_fails_cleanly_and_a_retry_succeeds) {
  runtime rt;
  auto src = "faiss://" + fresh_dir();
  auto vs = rt.open_vector(src);
  auto coll = "live_unreach_" + unique_token();
  await(vs.create_collection({coll, 8, metric::l2}));
  history h;
  preload(vs, coll, 300, h);
  vector_traffic traffic(vs, coll, h);
  // Nothing listens on port 1.
  auto m = rt.migrate_live(
      src, "pgvector://storage:storage-secret@127.0.0.1:1/storage_test");
  EXPECT_EQ(settle(m), live_state::failed);
  EXPECT_TRUE(fails_with(errc::backend_unavailable, [&] { m.wait(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  traffic.finish();
  EXPECT_EQ(traffic.errors, 0);
  check_against(h, tokens(vs, coll));

  // The store is as before: it can migrate again, to a reachable target.
  auto again = rt.migrate_live(src, pgvector_uri());
  ASSERT_EQ(settle(again), live_state::done) << outcome(again);
  check_against(h, tokens(vs, coll));
  again.finalize();
  await(vs.drop_collection(coll));
}

// A Redis server of the test's own, so stopping it cannot disturb others.
struct private_redis {
  int port = 0;
  pid_t pid = -1;

  private_redis() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(s);
    auto p = std::to_string(port);
    std::vector<std::string> args{
        "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no"};
    std::vector<char*> argv;
    for (auto& x : args) argv.push_back(x.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(),
                       environ) != 0)
      throw std::runtime_error("cannot start redis-server");
    // Ready once it accepts connections.
    for (int i = 0; i < 500; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM, 0);
      bool up = ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(c);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("redis-server did not start");
  }

  void kill() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }

  ~private_redis() { kill(); }

  std::string uri() const {
    return "redis://127.0.0.1:" + std::to_string(port) + "/0?namespace=live";
  }
};

TEST(live_failure, target_stopped_mid_backfill_fails_cleanly) {
  private_redis redis;
  runtime rt;
  auto src = "sqlite://" + fresh_dir() + "/big.db";
  auto cs = rt.open_cache(src);
  history h;
  for (int i = 0; i < 20000; i += 1000) {
    std::vector<cache_entry> es;
    for (int j = i; j < i + 1000; ++j)
      es.push_back({"p" + std::to_string(j), std::to_string(j), {}});
    auto start = h.tick();
    await(cs.mset(es));
    auto ack = h.tick();
    for (auto& e : es) h.add(e.key, start, ack, e.value);
  }
  cache_traffic traffic(cs, h, 100);
  live_options opts;
  opts.batch = 10;  // many small batches: the backfill takes a while
  auto m = rt.migrate_live(src, redis.uri(), opts);
  while (m.state() == live_state::dual_write)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(m.state(), live_state::backfill) << "the backfill ended too soon";
  redis.kill();
  EXPECT_EQ(settle(m), live_state::failed);
  EXPECT_TRUE(fails_with(errc::backend_unavailable, [&] { m.wait(); }))
      << outcome(m);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  traffic.finish();
  EXPECT_EQ(traffic.errors, 0);
  check_against(h, scan_all(cs));
}

TEST(live_failure, abort_before_cutover_keeps_the_source) {
  runtime rt;
  auto src = "faiss://" + fresh_dir();
  auto vs = rt.open_vector(src);
  auto coll = "live_abort_" + unique_token();
  await(vs.create_collection({coll, 8, metric::l2}));
  history h;
  preload(vs, coll, 5000, h);
  vector_traffic traffic(vs, coll, h);
  live_options opts;
  opts.batch = 10;
  auto m = rt.migrate_live(src, pgvector_uri(), opts);
  while (m.state() == live_state::dual_write)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m.abort();
  EXPECT_EQ(m.state(), live_state::aborted);
  EXPECT_TRUE(fails_with(errc::conflict, [&] { m.wait(); }));
  EXPECT_TRUE(fails_with(errc::conflict, [&] { m.finalize(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  traffic.finish();
  EXPECT_EQ(traffic.errors, 0);
  check_against(h, tokens(vs, coll));
  // Reads and writes still reach faiss: PostgreSQL has at most a part.
  runtime direct;
  auto pg = direct.open_vector(pgvector_uri());
  EXPECT_LT(await(pg.count(coll)), 5000u);
  await(pg.drop_collection(coll));
}

// Waits until `fn` holds (a mirror lands after the caller's answer).
template <class Fn>
bool eventually(Fn fn) {
  for (int i = 0; i < 500; ++i) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// After cutover the source keeps receiving writes until finalize; a process
// that opens the store meanwhile is served by the target (the journal says
// it is authoritative); after finalize an abort is refused.
TEST(live_failure, reverse_replication_until_finalize) {
  runtime rt;
  auto src = "sqlite://" + fresh_dir() + "/done.db";
  auto tgt = with_param(redis_uri(), "namespace=livedone" + unique_token());
  auto cs = rt.open_cache(src);
  await(cs.set("a", "1"));
  auto m = rt.migrate_live(src, tgt);
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);
  EXPECT_TRUE(m.progress().mirroring_back);
  await(cs.set("b", "2"));  // answered by Redis, mirrored back to SQLite
  runtime direct;
  auto redis = direct.open_cache(tgt);
  EXPECT_EQ(await(redis.get("b")), "2");
  EXPECT_TRUE(eventually([&] {
    runtime sqlite_only({0, {}, 0, fresh_dir(), {}});  // no journal: the file
    return await(sqlite_only.open_cache(src).get("b")) == "2";
  }));
  // Another runtime with the same state directory opens the target.
  {
    runtime again;
    await(again.open_cache(src).set("from-again", "3"));
    EXPECT_EQ(await(redis.get("from-again")), "3");
  }
  // A swap would leave the source behind: refused while it mirrors.
  EXPECT_TRUE(fails_with(errc::conflict, [&] { rt.swap(src, "memory://"); }));
  m.finalize();
  EXPECT_TRUE(m.progress().finalized);
  EXPECT_FALSE(m.progress().mirroring_back);
  await(cs.set("c", "4"));  // Redis only now
  EXPECT_EQ(await(redis.get("c")), "4");
  EXPECT_TRUE(fails_with(errc::conflict, [&] { m.abort(); }));
  EXPECT_EQ(m.state(), live_state::done);
  {
    runtime sqlite_only({0, {}, 0, fresh_dir(), {}});
    EXPECT_FALSE(await(sqlite_only.open_cache(src).get("c")).has_value());
  }
  await(cs.clear());
}

// An abort after cutover hands the store back to the source, for this
// process and for the next one.
TEST(live_failure, abort_after_cutover_switches_back_for_good) {
  runtime rt;
  auto src = "sqlite://" + fresh_dir() + "/back.db";
  auto tgt = with_param(redis_uri(), "namespace=liveback" + unique_token());
  auto cs = rt.open_cache(src);
  await(cs.set("a", "1"));
  auto m = rt.migrate_live(src, tgt);
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);
  await(cs.set("b", "2"));
  m.abort();
  EXPECT_EQ(m.state(), live_state::aborted);
  EXPECT_FALSE(m.progress().mirroring_back);
  EXPECT_EQ(await(cs.get("b")), "2");
  await(cs.set("c", "3"));
  runtime direct;
  auto redis = direct.open_cache(tgt);
  EXPECT_FALSE(await(redis.get("c")).has_value());
  runtime again;
  EXPECT_EQ(await(again.open_cache(src).get("c")), "3");
  EXPECT_TRUE(fails_with(errc::conflict, [&] { m.finalize(); }));
  await(redis.clear());
}

TEST(live_failure, bad_requests_are_refused) {
  runtime rt;
  auto src = "sqlite://" + fresh_dir() + "/bad.db";
  auto cs = rt.open_cache(src);
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    rt.migrate_live(src, "faiss:///tmp/not-a-cache");
  }));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    rt.migrate_live("memory://?namespace=never-opened", "memory://");
  }));
  // A second migration of the same store is refused while one runs (and
  // while it mirrors back after cutover), before it touches the journal;
  // the first is unaffected.
  std::vector<cache_entry> es;
  for (int i = 0; i < 3000; ++i)
    es.push_back({"k" + std::to_string(i), "v", {}});
  await(cs.mset(es));
  live_options opts;
  opts.batch = 10;
  auto first = rt.migrate_live(src, "memory://?namespace=first", opts);
  while (first.state() == live_state::dual_write)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(fails_with(errc::conflict, [&] {
    rt.migrate_live(src, "memory://?namespace=second");
  }));
  ASSERT_EQ(settle(first), live_state::done) << outcome(first);
  EXPECT_TRUE(fails_with(errc::conflict, [&] {
    rt.migrate_live(src, "memory://?namespace=second");
  }));
  EXPECT_EQ(scan_all(cs).size(), 3000u);
  migration_journal journal(std::getenv("STORAGE_STATE_DIR"));
  auto entry = journal.find(src);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->target_uri, "memory://?namespace=first");
  EXPECT_EQ(entry->step, live_step::cut_over);
  // Once finalized, the store (now on `first`) may move again.
  first.finalize();
  auto third = rt.migrate_live(src, "memory://?namespace=third");
  ASSERT_EQ(settle(third), live_state::done) << outcome(third);
  entry = journal.find(src);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->source_uri, "memory://?namespace=first");
  EXPECT_EQ(entry->target_uri, "memory://?namespace=third");
  EXPECT_EQ(scan_all(cs).size(), 3000u);
  third.finalize();
}

}  // namespace
}  // namespace storage::test
