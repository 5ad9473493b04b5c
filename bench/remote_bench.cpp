// A store served by another process (`storectl serve`, caf:// on loopback)
// against the same backend opened in-process, both through the future
// facade, in one run so the ratio is measured under the same conditions:
//
//   remote/redis/get/<local|remote>/threads:N    100-byte values, N callers
//                                                (pool=1 at 1, pool=4 at 32)
//   remote/faiss/search/<local|remote>/threads:1 k=10 over 10,000 x 128-d
//   remote/faiss/upsert/<local|remote>/threads:1 batches of 100
//
// The serving node runs on the same two cores as the client, so a remote
// row pays for both processes, as a real deployment on one host would.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>

#include "bench/bench_util.hpp"
#include "bench/vector_data.hpp"
#include "tests/support/servers.hpp"

namespace storage::bench {

namespace {

constexpr std::uint32_t dim = 128;
const std::string search_coll = "bench_search";
const std::string upsert_coll = "bench_upsert";
constexpr std::size_t keyspace = 10000;

std::string redis_uri(int pool) {
  return with_param(test::redis_uri(),
                    "namespace=bench_remote&pool=" + std::to_string(pool));
}

std::string faiss_uri(const std::string& name) {
  return "faiss://" + scratch_dir() + "/" + name;
}

// The serving node: one child process for the whole run.
class node_process {
 public:
  static node_process& get() {
    static node_process n;
    return n;
  }
  std::string uri(const std::string& name) const {
    return "caf://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }
  ~node_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  node_process() {
    auto cfg = scratch_dir() + "/node.ini";
    std::ofstream(cfg) << "[stores]\nredis1=\"" << redis_uri(1)
                       << "\"\nredis4=\"" << redis_uri(4) << "\"\nfaiss=\""
                       << faiss_uri("faiss-node") << "\"\n";
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      // The node's log, for when a remote row fails.
      int log = open("/tmp/storage-bench-node.log",
                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, STDERR_FILENO);
      execl(STORECTL_PATH, STORECTL_PATH, "serve", "--config", cfg.c_str(),
            "--port", "0", nullptr);
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    auto at = line.find("127.0.0.1:");
    if (at == std::string::npos)
      throw std::runtime_error("storectl serve did not start: " + line);
    port_ = std::stoi(line.substr(at + 10));
    // fds[0] stays open: the node prints a last line when it stops.
  }

  pid_t pid_ = -1;
  int port_ = 0;
};

std::string store_uri_for(bool remote, const std::string& name,
                          const std::string& local_uri) {
  return remote ? node_process::get().uri(name) : local_uri;
}

const std::string& key_for(std::uint64_t i, int thread) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (std::size_t k = 0; k < keyspace; ++k)
      out.push_back("key:" + std::to_string(k));
    return out;
  }();
  return keys[(i * 7919 + static_cast<std::uint64_t>(thread) * 104729) %
              keyspace];
}

template <bool Remote>
void redis_get(benchmark::State& state) {
  int pool = state.threads() > 1 ? 4 : 1;
  std::optional<cache_store> s;
  try {
    auto& rt = runtime_holder::get();
    s.emplace(rt.open_cache(store_uri_for(
        Remote, "redis" + std::to_string(pool), redis_uri(pool))));
    once_per_process("redis fill", [&] {
      std::vector<cache_entry> all;
      for (std::size_t k = 0; k < keyspace; ++k)
        all.push_back({key_for(k, 0), std::string(100, 'v'), {}});
      s->mset(all).get();
    });
    s->get(key_for(0, 0)).get();  // connected before the timed loop
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto t = state.thread_index();
  timed_loop(state, [&](std::uint64_t i) {
    benchmark::DoNotOptimize(s->get(key_for(i, t)).get());
  });
}

vector_store faiss_store(bool remote) {
  auto& rt = runtime_holder::get();
  auto s =
      rt.open_vector(store_uri_for(remote, "faiss", faiss_uri("faiss-local")));
  once_per_process(remote ? "faiss remote" : "faiss local", [&] {
    fill_search_collection(
        dim,
        [&] {
          try {
            return s.count(search_coll).get();
          } catch (const store_error&) {
            return std::uint64_t{0};
          }
        },
        [&] {
          s.drop_collection(search_coll).get();
          s.create_collection({search_coll, dim, metric::l2}).get();
        },
        [&](const std::vector<vector_record>& rs) {
          s.upsert(search_coll, rs).get();
        });
    s.create_collection({upsert_coll, dim, metric::l2}).get();
  });
  return s;
}

template <bool Remote>
void faiss_search(benchmark::State& state) {
  std::optional<vector_store> s;
  try {
    s.emplace(faiss_store(Remote));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto& qs = queries(dim);
  timed_loop(state, [&](std::uint64_t i) {
    search_request req;
    req.query = qs[i % qs.size()];
    req.k = 10;
    benchmark::DoNotOptimize(s->search(search_coll, req).get());
  });
}

template <bool Remote>
void faiss_upsert(benchmark::State& state) {
  std::optional<vector_store> s;
  std::vector<std::vector<vector_record>> batches;
  try {
    s.emplace(faiss_store(Remote));
    batches = upsert_batches(dim, 0);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  timed_loop(state, [&](std::uint64_t i) {
    s->upsert(upsert_coll, batches[i % batches.size()]).get();
  });
}

template <class F>
void add(const char* name, F fn, int threads) {
  benchmark::RegisterBenchmark(name, fn)
      ->Threads(threads)
      ->UseRealTime()
      ->MinTime(1.0);
}

const bool registered = [] {
  add("remote/redis/get/local", redis_get<false>, 1);
  add("remote/redis/get/remote", redis_get<true>, 1);
  add("remote/redis/get/local", redis_get<false>, 32);
  add("remote/redis/get/remote", redis_get<true>, 32);
  add("remote/faiss/search/local", faiss_search<false>, 1);
  add("remote/faiss/search/remote", faiss_search<true>, 1);
  add("remote/faiss/upsert/local", faiss_upsert<false>, 1);
  add("remote/faiss/upsert/remote", faiss_upsert<true>, 1);
  return true;
}();

}  // namespace

}  // namespace storage::bench
