// The main job on the embedded defaults: a FAISS vector store and a SQLite
// cache, no server needed. Usage: quickstart [DATA_DIR]
#include <chrono>
#include <iostream>
#include <random>

#include "runtime/runtime.hpp"

using namespace storage;

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/tmp/storage-quickstart";
  runtime rt;
  auto vectors = rt.open_vector("faiss://" + dir + "/vectors");
  auto cache =
      rt.open_cache("sqlite://" + dir + "/cache.db?namespace=quickstart");

  // A collection of 5,000 random 64-d vectors, each tagged with a topic and
  // a year, in batches of 500.
  const std::uint32_t dim = 64, n = 5000;
  vectors.create_collection({"articles", dim, metric::cosine}).get();
  std::mt19937 rng(42);
  std::normal_distribution<float> gauss;
  const char* topics[] = {"databases", "actors", "search", "caching"};
  auto started = std::chrono::steady_clock::now();
  for (std::uint32_t b = 0; b < n; b += 500) {
    std::vector<vector_record> batch;
    for (std::uint32_t i = b; i < b + 500; ++i) {
      vector_record r;
      r.id = "article-" + std::to_string(i);
      for (std::uint32_t d = 0; d < dim; ++d) r.embedding.push_back(gauss(rng));
      r.metadata = {{"topic", std::string(topics[i % 4])},
                    {"year", std::int64_t(2000 + i % 25)}};
      r.document = "Article number " + std::to_string(i);
      batch.push_back(std::move(r));
    }
    vectors.upsert("articles", std::move(batch)).get();
  }
  auto secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  std::cout << "upserted " << vectors.count("articles").get()
            << " vectors into faiss://" << dir << "/vectors in " << secs
            << " s\n";

  search_request query;
  for (std::uint32_t d = 0; d < dim; ++d) query.query.push_back(gauss(rng));
  query.k = 5;
  std::cout << "top 5, unfiltered:\n";
  for (auto& hit : vectors.search("articles", query).get())
    std::cout << "  " << hit.id << "  distance " << hit.distance << "\n";

  // The same query, restricted to one topic after 2020: JSON or C++ built.
  query.where = filter::parse(
      R"({"$and": [{"topic": "actors"}, {"year": {"$gt": 2020}}]})");
  std::cout << "top 5 about actors after 2020:\n";
  for (auto& hit : vectors.search("articles", query).get())
    std::cout << "  " << hit.id << "  distance " << hit.distance << "  year "
              << std::get<std::int64_t>(hit.metadata.at("year")) << "\n";

  // The cache: a counter, a value with a TTL, and a batch read.
  cache.set("greeting", "hello").get();
  cache.set("session", "abc123", 60'000).get();
  auto runs = cache.incr("quickstart-runs").get();
  auto values = cache.mget({"greeting", "session", "missing"}).get();
  std::cout << "cache sqlite://" << dir << "/cache.db: this is run #" << runs
            << "; greeting=" << values[0].value_or("null")
            << " session=" << values[1].value_or("null")
            << " missing=" << values[2].value_or("null") << "; session ttl "
            << cache.ttl("session").get().ttl.value_or(-1) << " ms\n";
  return 0;
}
