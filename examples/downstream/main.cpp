// A CAF actor application built against the installed runtime
// (find_package(storage_runtime)): it stores two records through the
// typed vector-store handle, finds the nearest one, counts the search in a
// cache, and exits 0 only if every answer is what it should be.
//   downstream_app [VECTOR_URI] [CACHE_URI]   (a fresh vector store)
#include <iostream>

#include <caf/all.hpp>
#include <storage/runtime/runtime.hpp>
#include <storage/runtime/version.hpp>

using namespace storage;

namespace {

caf::behavior app(caf::event_based_actor* self, vector_store_actor vectors,
                  cache_store_actor cache, std::shared_ptr<int> exit_code) {
  auto timeout = std::chrono::seconds(10);
  auto fail = [=](caf::error& e) {
    std::cerr << "downstream_app: " << self->system().render(e) << "\n";
    self->quit();
  };
  auto count_search = [=] {
    self->request(cache, timeout, cincr_atom::value, std::string("searches"),
                  std::int64_t{1})
        .then(
            [=](std::int64_t n) {
              std::cout << "searches so far: " << n << "\n";
              *exit_code = n >= 1 ? 0 : 1;
              self->quit();
            },
            fail);
  };
  auto search = [=] {
    search_request q;
    q.query = {0.9f, 0.1f};
    q.k = 1;
    self->request(vectors, timeout, vsearch_atom::value,
                  std::string("greetings"), q)
        .then(
            [=](std::vector<search_hit>& hits) {
              if (hits.size() != 1 || hits[0].id != "hello") {
                std::cerr << "downstream_app: wrong nearest record\n";
                return self->quit();
              }
              std::cout << "nearest: " << hits[0].id << "\n";
              count_search();
            },
            fail);
  };
  auto upsert = [=] {
    records batch{{"hello", {1, 0}, {{"lang", std::string("en")}}, "hello"},
                  {"hola", {0, 1}, {{"lang", std::string("es")}}, "hola"}};
    self->request(vectors, timeout, vupsert_atom::value,
                  std::string("greetings"), batch)
        .then(
            [=](std::uint64_t n) {
              std::cout << "upserted " << n << " records\n";
              search();
            },
            fail);
  };
  self->request(vectors, timeout, vcreate_atom::value,
                collection_spec{"greetings", 2, metric::l2})
      .then([=](bool) { upsert(); }, fail);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string vec = argc > 1 ? argv[1] : "faiss:///tmp/storage-downstream";
  std::string kv = argc > 2 ? argv[2] : "memory://";
  std::cout << "storage runtime " << storage::version_string << "\n";
  auto exit_code = std::make_shared<int>(1);
  {
    runtime rt;
    auto vectors = rt.open_vector(vec);
    auto cache = rt.open_cache(kv);
    auto actor =
        rt.system().spawn(app, vectors.actor(), cache.actor(), exit_code);
    caf::scoped_actor self{rt.system()};
    self->wait_for(actor);
  }
  return *exit_code;
}
