// The process the faiss:// snapshot test kills: runs the steps of one round
// (tests/adapters/faiss_store_steps.hpp) on collection "col" and writes each
// step's number, as a binary int on file descriptor 3 (stdout may carry the
// log), once it was acknowledged.
#include <unistd.h>

#include <iostream>

#include "adapters/factories.hpp"
#include "adapters/faiss_store_steps.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: faiss_snapshot_writer URI ROUND\n";
    return 2;
  }
  using namespace storage;
  auto store = make_faiss_store(store_uri::parse(argv[1]), 0, 1);
  int round = std::stoi(argv[2]);
  for (int i = 0;; ++i) {
    faiss_testing::run_step(*store, faiss_testing::step_for(round, i));
    if (write(3, &i, sizeof i) != sizeof i) return 1;
  }
}
