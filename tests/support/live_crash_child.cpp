// A child process for the live-migration crash tests. It opens SOURCE
// (a vector store with collection COLLECTION, or a cache), seeds it, starts
// four writers on disjoint ids, migrates the store live to TARGET and
// SIGKILLs itself at STEP:
//   backfill   20 ms into the backfill;
//   verified   once verification passed (cutover may have begun);
//   cutover    once the store cut over (traffic runs on the target);
//   finalized  once finalize() returned.
// Every write is logged to LOG before it is sent ("B thread id value") and
// after it was acknowledged ("A thread id"); value "-" is a delete. Lines
// are single write(2) calls on an O_APPEND file, so SIGKILL loses none that
// were written.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.hpp"

namespace {

using namespace storage;

constexpr int seeded = 3000;  // records before the migration starts
constexpr int written = 400;  // the ids the writers share out
constexpr int writers = 4;

int log_fd = -1;
std::string collection;

void log_line(const std::string& s) {
  auto line = s + "\n";
  if (::write(log_fd, line.data(), line.size()) !=
      static_cast<ssize_t>(line.size()))
    std::abort();
}

vector_record record_of(const std::string& id, const std::string& value) {
  vector_record r;
  r.id = id;
  std::seed_seq seq(value.begin(), value.end());
  std::mt19937 rng(seq);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < 8; ++i) r.embedding.push_back(u(rng));
  r.metadata["value"] = value;
  r.document = value;
  return r;
}

std::string id_of(int i) {
  return "id" + std::to_string(i);
}

struct store {
  std::optional<vector_store> vs;
  std::optional<cache_store> cs;

  void put(const std::string& id, const std::string& v) {
    if (vs)
      vs->upsert(collection, {record_of(id, v)}).get();
    else
      cs->set(id, v).get();
  }
  void remove(const std::string& id) {
    if (vs)
      vs->remove(collection, {id}).get();
    else
      cs->del({id}).get();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: live_crash_child vector|cache SOURCE TARGET STEP LOG "
                 "COLLECTION\n";
    return 2;
  }
  collection = argv[6];
  bool vector = std::string(argv[1]) == "vector";
  std::string source = argv[2], target = argv[3], step = argv[4];
  log_fd = ::open(argv[5], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return 2;

  runtime rt;  // the state directory comes from STORAGE_STATE_DIR
  store s;
  if (vector) {
    s.vs = rt.open_vector(source);
    s.vs->create_collection({collection, 8, metric::l2}).get();
    std::vector<vector_record> batch;
    for (int i = 0; i < seeded; ++i)
      batch.push_back(record_of(id_of(i), "seed" + std::to_string(i)));
    s.vs->upsert(collection, batch).get();
  } else {
    s.cs = rt.open_cache(source);
    std::vector<cache_entry> es;
    for (int i = 0; i < seeded; ++i)
      es.push_back({id_of(i), "seed" + std::to_string(i), {}});
    s.cs->mset(es).get();
  }
  log_line("SEEDED");

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      for (int seq = 0; !stop; ++seq) {
        // Thread t owns the ids i with i % writers == t: one writer per id.
        auto id =
            id_of(static_cast<int>(rng() % (written / writers)) * writers + t);
        bool del = rng() % 4 == 0;
        auto v = "t" + std::to_string(t) + "-" + std::to_string(seq);
        auto tag = std::to_string(t) + " " + id;
        log_line("B " + tag + " " + (del ? "-" : v));
        try {
          if (del)
            s.remove(id);
          else
            s.put(id, v);
          log_line("A " + tag);
        } catch (const std::exception& e) {
          // Not acknowledged: the test allows either outcome. Say why.
          log_line("E " + tag + " " + e.what());
        }
      }
    });

  live_options opts;
  opts.batch = 50;  // a backfill long enough to be killed in
  auto m = rt.migrate_live(source, target, opts);
  for (;;) {
    auto p = m.progress();
    bool now = (step == "backfill" && p.state == live_state::backfill) ||
               (step == "verified" && (p.state == live_state::cutover ||
                                       p.state == live_state::done)) ||
               ((step == "cutover" || step == "finalized") &&
                p.state == live_state::done);
    if (now) break;
    if (p.state == live_state::failed || p.state == live_state::aborted) {
      std::cerr << "the migration ended: " << to_string(p.state) << "\n";
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (step == "backfill")
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (step == "cutover" || step == "finalized")
    // Traffic on the target for a moment, mirrored back to the source.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (step == "finalized") {
    m.finalize();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log_line("KILL " + step);
  ::kill(::getpid(), SIGKILL);
}
