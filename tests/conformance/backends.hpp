// The backends every conformance suite runs on, and the fixtures the suites
// share. A suite is written once against the runtime's public API and
// instantiated for each descriptor below (in the style of Apache Arrow's
// GenericFileSystemTest), so `--gtest_filter='*/faiss_hnsw'` picks a backend.
//
// Every test gets a fresh store: a fresh temporary directory for the embedded
// backends, a unique namespace for caches and unique collection names on the
// shared servers. A server that is down fails the test; nothing is skipped.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/filter.hpp"
#include "messages/records.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::conformance {

// The helpers every suite shares (unique names, fresh directories, bounded
// waits, error-code assertions).
using test::await;
using test::fails_with;
using test::fresh_dir;
using test::unique_token;
using test::with_param;

// ---- stores served by another node ---------------------------------------

// One `storectl serve` child per test process, started on first use: the
// caf_* backends below are its stores, reached through caf:// URIs, so the
// suites run unchanged across a real node link. A cache namespace maps to
// one of three served stores by how the suites derive it (the main
// namespace ends in "n", its siblings add "2" or "_x").
inline test::served_node& conformance_node() {
  static test::served_node node{[] {
    static const std::string dir = fresh_dir();
    auto ns = "node" + unique_token();
    std::map<std::string, std::string> stores{
        {"faiss", "faiss://" + dir + "/faiss"}};
    for (std::string slot : {"main", "sib2", "sibx"}) {
      stores["sqlite_" + slot] =
          "sqlite://" + dir + "/c.db?namespace=" + ns + slot;
      stores["redis_" + slot] =
          with_param(test::redis_uri(), "namespace=" + ns + slot);
    }
    return stores;
  }()};
  return node;
}

inline std::string served_cache(const std::string& backend,
                                const std::string& ns) {
  auto ends = [&](const std::string& tail) {
    return ns.size() >= tail.size() &&
           ns.compare(ns.size() - tail.size(), tail.size(), tail) == 0;
  };
  auto slot = ends("n2") ? "sib2" : ends("n_x") ? "sibx" : "main";
  return conformance_node().uri(backend + "_" + slot);
}

// ---- vector backends ---------------------------------------------------

struct vector_backend_desc {
  std::string name;
  // The store URI for a test, given a fresh directory.
  std::function<std::string(const std::string& dir)> uri;
  // The store is a server shared with other tests and processes: its
  // collection list holds collections that are not ours, so list checks look
  // for ours instead of comparing the whole list. (faiss gets a fresh
  // directory per test, so its list is exactly what the test created.)
  bool shared_server = false;
};

inline std::vector<vector_backend_desc> vector_backends() {
  return {
      {"faiss_flat", [](const std::string& d) { return "faiss://" + d; },
       false},
      {"faiss_hnsw",
       [](const std::string& d) { return "faiss://" + d + "?index=hnsw"; },
       false},
      {"faiss_sharded",
       [](const std::string& d) { return "faiss://" + d + "?pool=3"; }, false},
      {"pgvector", [](const std::string&) { return test::pgvector_uri(); },
       true},
      {"chroma", [](const std::string&) { return test::chroma_uri(); }, true},
      // The same suite at pool=4: shards on faiss, four interchangeable
      // connections on the servers.
      {"faiss_pool4",
       [](const std::string& d) { return "faiss://" + d + "?pool=4"; }, false},
      {"pgvector_pool4",
       [](const std::string&) {
         return with_param(test::pgvector_uri(), "pool=4");
       },
       true},
      {"chroma_pool4",
       [](const std::string&) {
         return with_param(test::chroma_uri(), "pool=4");
       },
       true},
      // A faiss store served by a child node: its collections outlive one
      // test, so it counts as shared.
      {"caf_faiss",
       [](const std::string&) { return conformance_node().uri("faiss"); },
       true},
  };
}

// Failures name the backend instead of dumping the descriptor's bytes.
inline void PrintTo(const vector_backend_desc& d, std::ostream* os) {
  *os << d.name;
}

inline std::string backend_name(
    const ::testing::TestParamInfo<vector_backend_desc>& info) {
  return info.param.name;
}

// A vector store opened through a fresh runtime; collections named by
// collection() are unique per test and dropped afterwards.
class vector_fixture : public ::testing::TestWithParam<vector_backend_desc> {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    uri_ = GetParam().uri(dir_);
    rt_ = std::make_unique<runtime>();
    store_.emplace(rt_->open_vector(uri_));
  }

  void TearDown() override {
    for (auto& c : created_) {
      try {
        await(vs().drop_collection(c));
      } catch (const std::exception&) {
        // Best effort: the test itself already reported any failure.
      }
    }
    store_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  vector_store& vs() { return *store_; }

  // A collection name unique to this test, e.g. "basic_1234_7".
  std::string collection(const std::string& base) {
    auto name = base + "_" + unique_token();
    created_.push_back(name);
    return name;
  }

  // Creates a fresh collection and checks the backend says it is new.
  std::string create(const std::string& base, std::uint32_t dim,
                     metric m = metric::l2) {
    auto name = collection(base);
    EXPECT_TRUE(await(vs().create_collection({name, dim, m}))) << name;
    return name;
  }

  static vector_record rec(std::string id, std::vector<float> e,
                           metadata m = {},
                           std::optional<std::string> doc = std::nullopt) {
    return vector_record{std::move(id), std::move(e), std::move(m),
                         std::move(doc)};
  }

  std::vector<std::string> search_ids(const std::string& c,
                                      std::vector<float> q, std::uint32_t k,
                                      std::optional<filter> where = {}) {
    search_request req;
    req.query = std::move(q);
    req.k = k;
    req.where = std::move(where);
    std::vector<std::string> out;
    for (auto& h : await(vs().search(c, req))) out.push_back(h.id);
    return out;
  }

  std::vector<std::string> get_ids(const std::string& c,
                                   std::vector<std::string> ids) {
    std::vector<std::string> out;
    for (auto& r : await(vs().get(c, std::move(ids)))) out.push_back(r.id);
    return out;
  }

  std::string dir_;
  std::string uri_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> store_;
  std::vector<std::string> created_;
};

// ---- cache backends ----------------------------------------------------

struct cache_backend_desc {
  std::string name;
  // The store URI for namespace `ns`, given a fresh directory shared by every
  // namespace of one test.
  std::function<std::string(const std::string& dir, const std::string& ns)> uri;
  // Namespaces share one keyspace (one SQLite file, one Redis database), so
  // a sibling namespace is where a careless clear or scan would leak. For
  // memory:// each namespace is its own map; the sibling tests still run.
  bool shared_keyspace = true;
};

inline std::vector<cache_backend_desc> cache_backends() {
  return {
      {"memory",
       [](const std::string&, const std::string& ns) {
         return "memory://?namespace=" + ns;
       },
       false},
      {"memory_sharded",
       [](const std::string&, const std::string& ns) {
         return "memory://?pool=4&namespace=" + ns;
       },
       false},
      {"sqlite",
       [](const std::string& d, const std::string& ns) {
         return "sqlite://" + d + "/c.db?namespace=" + ns;
       },
       true},
      {"redis",
       [](const std::string&, const std::string& ns) {
         return with_param(test::redis_uri(), "namespace=" + ns);
       },
       true},
      {"sqlite_pool4",
       [](const std::string& d, const std::string& ns) {
         return "sqlite://" + d + "/c.db?pool=4&namespace=" + ns;
       },
       true},
      {"redis_pool4",
       [](const std::string&, const std::string& ns) {
         return with_param(test::redis_uri(), "pool=4&namespace=" + ns);
       },
       true},
      {"caf_sqlite",
       [](const std::string&, const std::string& ns) {
         return served_cache("sqlite", ns);
       },
       true},
      {"caf_redis",
       [](const std::string&, const std::string& ns) {
         return served_cache("redis", ns);
       },
       true},
  };
}

inline void PrintTo(const cache_backend_desc& d, std::ostream* os) {
  *os << d.name;
}

inline std::string cache_backend_name(
    const ::testing::TestParamInfo<cache_backend_desc>& info) {
  return info.param.name;
}

// A cache in a unique namespace, opened through a fresh runtime; further
// namespaces of the same backend via open_ns().
class cache_fixture : public ::testing::TestWithParam<cache_backend_desc> {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    // Ends in a letter, so the siblings ns_ + "2" / ns_ + "_x" can never be
    // another test's main namespace.
    ns_ = "conf" + unique_token() + "n";
    rt_ = std::make_unique<runtime>();
    main_.emplace(open_ns(ns_));
  }

  void TearDown() override {
    for (auto& s : opened_) {
      try {
        await(s.clear());
      } catch (const std::exception&) {
        // Best effort: the test itself already reported any failure.
      }
    }
    opened_.clear();
    main_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  cache_store open_ns(const std::string& ns) {
    auto s = rt_->open_cache(GetParam().uri(dir_, ns));
    opened_.push_back(s);
    return s;
  }

  cache_store& cs() { return *main_; }

  std::string dir_;
  std::string ns_;
  std::unique_ptr<runtime> rt_;
  std::optional<cache_store> main_;
  std::vector<cache_store> opened_;
};

}  // namespace storage::conformance
