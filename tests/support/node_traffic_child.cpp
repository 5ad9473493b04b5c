// A client process of a serving node: `node_traffic_child URI PREFIX LOG`
// sets and deletes keys PREFIX0..PREFIX49 of the caf:// cache URI, one call
// at a time, until SIGTERM, and writes every call's outcome to LOG:
//   ok set KEY VALUE | ok del KEY | unknown set KEY VALUE | unknown del KEY
// ("unknown": the call failed, so it may or may not have taken effect).
// The node tests replay LOG as the model of what the store must hold.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "messages/errors.hpp"
#include "runtime/runtime.hpp"

namespace {

std::atomic<bool> stop{false};

void on_term(int) {
  stop = true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: node_traffic_child URI PREFIX LOG\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  std::string uri = argv[1], prefix = argv[2];
  std::ofstream log(argv[3]);
  storage::runtime rt;
  auto cache = rt.open_cache(uri);
  std::mt19937 rng(std::random_device{}());
  std::fprintf(stdout, "ready\n");
  std::fflush(stdout);
  std::uint64_t calls = 0, failures = 0;
  for (std::uint64_t i = 0; !stop; ++i) {
    auto key = prefix + std::to_string(rng() % 50);
    bool del = rng() % 5 == 0;
    auto value = std::to_string(i);
    try {
      if (del)
        cache.del({key}).get();
      else
        cache.set(key, value).get();
      log << "ok ";
    } catch (const storage::store_error&) {
      log << "unknown ";
      ++failures;
    }
    log << (del ? "del " + key : "set " + key + " " + value) << "\n";
    ++calls;
  }
  log.flush();
  std::fprintf(stderr, "calls %llu failures %llu\n",
               static_cast<unsigned long long>(calls),
               static_cast<unsigned long long>(failures));
  return 0;
}
