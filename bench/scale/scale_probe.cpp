// A new process's view of a faiss:// store: opens it, runs one search, and
// prints the seconds that took. The scale suite runs it and reads its peak
// RSS from wait4.
//   faiss_scale_probe URI QUERY_FILE_DATASET(0|1)
#include <chrono>
#include <cstdio>
#include <string>

#include "adapters/factories.hpp"
#include "bench/scale/scale_data.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: faiss_scale_probe URI DATASET\n");
    return 2;
  }
  using namespace storage;
  auto t0 = std::chrono::steady_clock::now();
  auto store = make_faiss_store(store_uri::parse(argv[1]), 0, 1);
  search_request req;
  req.query = bench::scale::query_of(
      static_cast<bench::scale::dataset>(std::stoi(argv[2])), 0);
  req.k = 10;
  auto hits = store->search("scale", req);
  auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
               .count();
  std::printf("%.6f %zu\n", s, hits.size());
  std::fflush(stdout);
  // What a crash would do: the point is the open, not the close.
  std::_Exit(hits.size() == 10 ? 0 : 1);
}
