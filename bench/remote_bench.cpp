// A store served by another process (`storectl serve`, caf:// on loopback)
// against the same backend opened in-process, both through the future
// facade, in one run so the ratio is measured under the same conditions:
//
//   remote/redis/get/<local|remote>/threads:N    100-byte values, N callers
//                                                (pool=1 at 1, pool=4 at 32)
//   remote/faiss/search/<local|remote>/threads:1 k=10 over 10,000 x 128-d
//   remote/faiss/upsert/<local|remote>/threads:1 batches of 100
//   remote/loopback_rtt/threads:1                 the floor: a raw loopback
//                                                 TCP round trip between two
//                                                 processes, no runtime
//
// The serving node runs on the same two cores as the client, so a remote
// row pays for both processes, as a real deployment on one host would.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
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

// Reads exactly 100 bytes; false at the end of the stream or on an error.
bool read_full(int fd, char (&b)[100]) {
  std::size_t got = 0;
  while (got < sizeof b) {
    auto r = ::read(fd, b + got, sizeof b - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// The floor under the remote rows: a 100-byte request and a 100-byte reply
// between this process and a child over loopback TCP (TCP_NODELAY, blocking
// I/O, no runtime at all). A remote Redis GET pays one such round trip to
// the node plus the node's own round trip to Redis.
class echo_process {
 public:
  static echo_process& get() {
    static echo_process e;
    return e;
  }
  int fd() const { return fd_; }
  ~echo_process() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

 private:
  echo_process() {
    int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
        ::listen(ls, 1) != 0)
      throw std::runtime_error("echo_process: cannot listen on loopback");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("echo_process: fork failed");
    if (pid_ == 0) {  // only async-signal-safe calls in the child
      int c = ::accept(ls, nullptr, nullptr);
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char b[100];
      while (read_full(c, b) && ::write(c, b, sizeof b) == sizeof b) {
      }
      _exit(0);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd_ < 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("echo_process: cannot connect");
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::close(ls);
  }

  pid_t pid_ = -1;
  int fd_ = -1;
};

void loopback_rtt(benchmark::State& state) {
  char b[100] = {};
  int fd = -1;
  try {
    fd = echo_process::get().fd();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  timed_loop(state, [&](std::uint64_t) {
    if (::write(fd, b, sizeof b) != sizeof b || !read_full(fd, b))
      throw std::runtime_error("echo_process: the child went away");
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
  add("remote/loopback_rtt", loopback_rtt, 1);
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
