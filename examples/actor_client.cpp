// A CAF actor using the typed handles: the same code works whatever backend
// the URI names. Usage: actor_client [VECTOR_URI] [CACHE_URI]
#include <iostream>

#include <caf/all.hpp>

#include "runtime/runtime.hpp"

using namespace storage;

namespace {

// Creates a collection, upserts two records, searches, and bumps a counter
// in the cache; every step is request(...).then, nothing blocks.
caf::behavior client(caf::event_based_actor* self, vector_store_actor vectors,
                     cache_store_actor cache) {
  auto timeout = std::chrono::seconds(10);
  auto fail = [self](caf::error& e) {
    std::cerr << "error: " << self->system().render(e) << "\n";
    self->quit();
  };
  self->request(vectors, timeout, vcreate_atom::value,
                collection_spec{"greetings", 2, metric::l2})
      .then(
          [=](bool) {
            records batch{
                {"hello", {1, 0}, {{"lang", std::string("en")}}, "hello"},
                {"hola", {0, 1}, {{"lang", std::string("es")}}, "hola"}};
            self->request(vectors, timeout, vupsert_atom::value,
                          std::string("greetings"), batch)
                .then(
                    [=](std::uint64_t n) {
                      std::cout << "upserted " << n << " records\n";
                      search_request q;
                      q.query = {0.9f, 0.1f};
                      q.k = 1;
                      self->request(vectors, timeout, vsearch_atom::value,
                                    std::string("greetings"), q)
                          .then(
                              [=](std::vector<search_hit>& hits) {
                                std::cout << "nearest: " << hits.at(0).id
                                          << " at " << hits.at(0).distance
                                          << "\n";
                                self->request(cache, timeout, cincr_atom::value,
                                              std::string("searches"),
                                              std::int64_t{1})
                                    .then(
                                        [=](std::int64_t n) {
                                          std::cout << "searches so far: " << n
                                                    << "\n";
                                          self->quit();
                                        },
                                        fail);
                              },
                              fail);
                    },
                    fail);
          },
          fail);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string vec = argc > 1 ? argv[1] : "faiss:///tmp/storage-actor-client";
  std::string kv = argc > 2 ? argv[2] : "memory://";
  runtime rt;
  auto vectors = rt.open_vector(vec);
  auto cache = rt.open_cache(kv);
  auto actor = rt.system().spawn(client, vectors.actor(), cache.actor());
  caf::scoped_actor self{rt.system()};
  self->wait_for(actor);
  return 0;
}
