// A child process for the durability test: writes record i to a vector store
// and key i to a cache, and prints i only after both were acknowledged. The
// test SIGKILLs it mid-run; everything printed must survive.
#include <iostream>

#include "runtime/runtime.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: durability_writer VECTOR_URI CACHE_URI\n";
    return 2;
  }
  storage::runtime rt;
  auto vs = rt.open_vector(argv[1]);
  auto cache = rt.open_cache(argv[2]);
  vs.create_collection({"durable", 3, storage::metric::l2}).get();
  for (int i = 0;; ++i) {
    auto id = "r" + std::to_string(i);
    vs.upsert("durable",
              {{id, {float(i), 1, 2}, {{"i", std::int64_t(i)}}, "doc " + id}})
        .get();
    cache.set("k" + std::to_string(i), "v" + std::to_string(i)).get();
    std::cout << i << std::endl;  // flushed: the test reads it as an ack
  }
}
