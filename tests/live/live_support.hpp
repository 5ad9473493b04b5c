// What the live-migration tests share: a history of acknowledged writes
// that says which values each id may hold at the end, deterministic records
// derived from a value token, and a bounded wait for a migration to settle.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {

// Every acknowledged write, with a global logical clock read before it was
// sent and after it was acknowledged. Writes to one id from several callers
// may overlap, so the final value is not unique; but it must be one of the
// writes that no other write followed entirely (started after it was
// acknowledged). A lost write, a resurrected delete or a stale backfill copy
// falls outside that set.
class history {
 public:
  using value = std::optional<std::string>;  // nullopt: deleted

  std::uint64_t tick() { return ++clock_; }

  void add(const std::string& id, std::uint64_t start, std::uint64_t ack,
           value v) {
    std::lock_guard<std::mutex> guard(mtx_);
    events_[id].push_back({start, ack, std::move(v)});
  }

  std::vector<value> allowed(const std::string& id) const {
    std::lock_guard<std::mutex> guard(mtx_);
    auto it = events_.find(id);
    if (it == events_.end()) return {std::nullopt};
    std::vector<value> out;
    for (auto& w : it->second) {
      bool superseded = false;
      for (auto& later : it->second)
        superseded = superseded || later.start > w.ack;
      if (!superseded) out.push_back(w.v);
    }
    return out;
  }

  std::set<std::string> ids() const {
    std::lock_guard<std::mutex> guard(mtx_);
    std::set<std::string> out;
    for (auto& [id, e] : events_) out.insert(id);
    return out;
  }

 private:
  struct event {
    std::uint64_t start, ack;
    value v;
  };
  mutable std::mutex mtx_;
  std::atomic<std::uint64_t> clock_{0};
  std::map<std::string, std::vector<event>> events_;
};

// Checks a store's final contents (id -> value, absent ids missing) against
// the history; returns how many ids had more than one acceptable value.
inline int check_against(const history& h,
                         const std::map<std::string, std::string>& actual) {
  int ambiguous = 0;
  auto ids = h.ids();
  for (auto& [id, v] : actual) ids.insert(id);
  for (auto& id : ids) {
    auto ok = h.allowed(id);
    ambiguous += ok.size() > 1 ? 1 : 0;
    history::value got;
    if (auto it = actual.find(id); it != actual.end()) got = it->second;
    bool found = false;
    for (auto& v : ok) found = found || v == got;
    EXPECT_TRUE(found) << "id " << id << " holds " << (got ? *got : "<deleted>")
                       << ", which is "
                       << (ok.size() == 1 && ok[0] ? "not the last write "
                                                   : "not an acceptable ")
                       << "value (" << ok.size() << " acceptable)";
  }
  return ambiguous;
}

// A record whose every field derives from its id and value token, so the
// target can be checked field by field.
inline vector_record record_for(const std::string& id,
                                const std::string& token) {
  std::seed_seq seq(token.begin(), token.end());
  std::mt19937 rng(seq);
  std::uniform_real_distribution<float> u(-1, 1);
  vector_record r;
  r.id = id;
  for (int i = 0; i < 8; ++i) r.embedding.push_back(u(rng));
  r.metadata["token"] = token;
  r.metadata["n"] = static_cast<std::int64_t>(rng() % 10);
  r.document = token;
  return r;
}

// Waits until the migration is no longer running; fails the test after
// `limit`.
inline live_state settle(
    const live_migration& m,
    std::chrono::seconds limit = std::chrono::seconds(120)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto s = m.state();
    if (s == live_state::done || s == live_state::failed ||
        s == live_state::aborted)
      return s;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "migration still " << to_string(s) << " after "
                    << limit.count() << " s";
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Why a migration ended, for assertion messages.
inline std::string outcome(const live_migration& m) {
  try {
    m.wait();
    return "succeeded";
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Every record of a collection, by id.
inline std::map<std::string, vector_record> scan_all(vector_store& vs,
                                                     const std::string& c) {
  std::map<std::string, vector_record> out;
  std::string after;
  do {
    auto page = await(vs.scan(c, after, 200));
    for (auto& r : page.records) out[r.id] = r;
    after = page.next_cursor;
  } while (!after.empty());
  return out;
}

// Every live key of a cache, with its value.
inline std::map<std::string, std::string> scan_all(cache_store& cs) {
  std::map<std::string, std::string> out;
  std::string cursor;
  do {
    auto page = await(cs.scan(cursor, 200));
    for (auto& e : page.entries) out[e.key] = e.value;
    cursor = page.next_cursor;
  } while (!cursor.empty());
  return out;
}

}  // namespace storage::test
