// One cache script — set/get/add/incr/del/mget/mset/expire/ttl/exists/clear,
// edge cases included — run through the runtime on memory://, sqlite:// and
// redis:// gives the same transcript, line by line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

constexpr std::int64_t hour_ms = 3'600'000;

std::string show(const std::optional<std::string>& v) {
  return v ? "'" + *v + "'" : "nil";
}

// A remaining TTL, rounded so the transcript does not depend on timing.
std::string show(const ttl_info& t) {
  if (!t.exists) return "missing";
  if (!t.ttl) return "no-ttl";
  return *t.ttl > 0 && *t.ttl <= hour_ms ? "ttl<=1h" : "ttl-out-of-range";
}

class transcript {
 public:
  explicit transcript(cache_store& c) : c_(c) {}

  // Runs one step; a store_error becomes "error <code>".
  template <class F>
  void step(const std::string& what, F&& fn) {
    std::string out;
    try {
      out = fn();
    } catch (const store_error& e) {
      out = std::string("error ") + to_string(e.code());
    }
    lines_.push_back(what + " -> " + out);
  }

  void set(const std::string& k, const std::string& v, ttl_ms ttl = {}) {
    step("set " + k, [&] {
      test::await(c_.set(k, v, ttl));
      return std::string("ok");
    });
  }
  void get(const std::string& k) {
    step("get " + k, [&] { return show(test::await(c_.get(k))); });
  }
  void add(const std::string& k, const std::string& v, ttl_ms ttl = {}) {
    step("add " + k,
         [&] { return std::to_string(test::await(c_.add(k, v, ttl))); });
  }
  void incr(const std::string& k, std::int64_t by = 1) {
    step("incr " + k + " " + std::to_string(by),
         [&] { return std::to_string(test::await(c_.incr(k, by))); });
  }
  void del(std::vector<std::string> ks) {
    step("del", [&] { return std::to_string(test::await(c_.del(ks))); });
  }
  void exists(const std::string& k) {
    step("exists " + k,
         [&] { return std::to_string(test::await(c_.exists(k))); });
  }
  void mget(std::vector<std::string> ks) {
    step("mget", [&] {
      std::string out;
      for (auto& v : test::await(c_.mget(ks))) out += show(v) + ",";
      return out;
    });
  }
  void mset(std::vector<cache_entry> es) {
    step("mset", [&] {
      test::await(c_.mset(es));
      return std::string("ok");
    });
  }
  void expire(const std::string& k, std::int64_t ms) {
    step("expire " + k + " " + std::to_string(ms),
         [&] { return std::to_string(test::await(c_.expire(k, ms))); });
  }
  void ttl(const std::string& k) {
    step("ttl " + k, [&] { return show(test::await(c_.ttl(k))); });
  }
  void clear() {
    step("clear", [&] { return std::to_string(test::await(c_.clear())); });
  }
  // Every live key with its value, in key order, via scan.
  void dump() {
    step("dump", [&] {
      std::map<std::string, std::string> all;
      std::string cursor;
      do {
        auto page = test::await(c_.scan(cursor, 7));
        for (auto& e : page.entries) all[e.key] = e.value;
        cursor = page.next_cursor;
      } while (!cursor.empty());
      std::string out;
      for (auto& [k, v] : all) out += k + "=" + v + ";";
      return out;
    });
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  cache_store& c_;
  std::vector<std::string> lines_;
};

void run_script(transcript& t) {
  const std::string big(10000, 'z');
  const std::string uni = "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9";
  t.get("a");
  t.set("a", "1");
  t.get("a");
  t.set("a", "");  // an empty value is a value
  t.get("a");
  t.exists("a");
  t.add("a", "x");
  t.get("a");
  t.add("b", "bee");
  t.get("b");
  t.set("big", big);
  t.mget({"a", "missing", "b", "a", "big"});
  t.set(uni, uni);
  t.get(uni);
  t.set("with space", "v a l");
  // incr: missing key, canonical integers, and every non-canonical form.
  t.incr("n");
  t.incr("n", 41);
  t.incr("n", -50);
  t.get("n");
  for (std::string v : {"12", "-3", "1.5", " 1", "+1", "007", "-0", "", "1e3",
                        "9223372036854775807", "99999999999999999999", "0"}) {
    t.set("i", v);
    t.incr("i", 1);
    t.get("i");
  }
  t.set("m", "-9223372036854775808");
  t.incr("m", -1);
  t.incr("m", 9);
  t.get("m");
  // TTLs: none, set, kept by incr, cleared by a plain set, rejected.
  t.ttl("a");
  t.ttl("missing");
  t.set("t", "5", hour_ms);
  t.ttl("t");
  t.incr("t", 2);
  t.ttl("t");
  t.get("t");
  t.set("t", "again");
  t.ttl("t");
  t.expire("t", hour_ms);
  t.ttl("t");
  t.expire("missing", hour_ms);
  t.expire("t", 0);
  t.expire("t", -5);
  t.set("neg", "v", std::int64_t{0});
  t.add("neg", "v", std::int64_t{-1});
  t.exists("neg");
  // Expired keys are gone: 1 ms, then a pause far longer than it.
  t.set("short", "s", std::int64_t{1});
  t.add("short2", "s", std::int64_t{1});
  t.expire("b", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t.get("short");
  t.exists("short2");
  t.ttl("b");
  t.mget({"short", "b", "a"});
  t.add("b", "reborn");
  t.get("b");
  // mset whole, with and without TTLs; an invalid entry rejects the batch.
  t.mset({{"p", "1", {}}, {"q", "2", hour_ms}, {"r", "3", {}}});
  t.mget({"p", "q", "r"});
  t.ttl("q");
  t.mset({{"p", "changed", {}}, {"", "bad", {}}});
  t.mset({{"p", "changed", {}}, {"s", "bad", std::int64_t{0}}});
  t.get("p");
  t.get("");
  t.del({});
  t.del({"p", "missing", "q", "p"});
  t.mget({"p", "q", "r"});
  t.dump();
  t.clear();
  t.dump();
  t.get("a");
  t.exists(uni);
  t.clear();
}

std::vector<std::string> transcript_of(const std::string& uri) {
  runtime rt;
  auto c = rt.open_cache(uri);
  transcript t(c);
  run_script(t);
  return t.lines();
}

TEST(CacheEquivalence, SameTranscriptOnMemorySqliteAndRedis) {
  auto dir = test::fresh_dir();
  auto ns = "equiv" + test::unique_token() + "n";
  auto memory = transcript_of("memory://?namespace=" + ns);
  auto sqlite = transcript_of("sqlite://" + dir + "/c.db?namespace=" + ns);
  auto redis =
      transcript_of(test::with_param(test::redis_uri(), "namespace=" + ns));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  ASSERT_GT(memory.size(), 100u);
  // The script means what it says (spot checks on the reference).
  auto has = [&](const std::string& line) {
    return std::find(memory.begin(), memory.end(), line) != memory.end();
  };
  EXPECT_TRUE(has("get a -> ''"));
  EXPECT_TRUE(has("incr n -50 -> -8"));
  EXPECT_TRUE(has("incr i 1 -> error type_mismatch"));
  EXPECT_TRUE(has("incr i 1 -> error invalid_argument"));
  EXPECT_TRUE(has("get short -> nil"));
  EXPECT_TRUE(has("ttl t -> ttl<=1h"));

  ASSERT_EQ(sqlite.size(), memory.size());
  ASSERT_EQ(redis.size(), memory.size());
  for (std::size_t i = 0; i < memory.size(); ++i) {
    EXPECT_EQ(sqlite[i], memory[i]) << "sqlite differs at step " << i;
    EXPECT_EQ(redis[i], memory[i]) << "redis differs at step " << i;
  }
}

}  // namespace
}  // namespace storage::srv
