// Moving a vector store from FAISS to pgvector while it serves traffic.
// Four threads keep reading and writing through their handle; the store is
// migrated live under them, and the traffic's latency is printed for before
// and during the migration.
//
// Usage: live_migration [PGVECTOR_URI]   (or STORAGE_PGVECTOR_URI; default:
// the test server that scripts/services.sh starts)
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "runtime/runtime.hpp"

using namespace storage;
using clock_type = std::chrono::steady_clock;

namespace {

std::string target_uri(int argc, char** argv) {
  if (argc > 1) return argv[1];
  if (const char* env = std::getenv("STORAGE_PGVECTOR_URI")) return env;
  return "pgvector://storage:storage-secret@127.0.0.1:55432/storage_test";
}

vector_record random_record(std::mt19937& rng, int id) {
  std::normal_distribution<float> gauss;
  vector_record r;
  r.id = "doc-" + std::to_string(id);
  for (int d = 0; d < 32; ++d) r.embedding.push_back(gauss(rng));
  r.metadata["shard"] = static_cast<std::int64_t>(id % 8);
  return r;
}

// Request latencies, split by whether a migration was running.
struct latencies {
  std::mutex mtx;
  std::vector<double> before, during;

  void add(bool migrating, double us) {
    std::lock_guard<std::mutex> guard(mtx);
    (migrating ? during : before).push_back(us);
  }
};

void report(const char* label, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[static_cast<std::size_t>(q * (v.size() - 1))];
  };
  std::cout << label << ": " << v.size() << " requests, p50 " << at(0.5)
            << " us, p99 " << at(0.99) << " us\n";
}

}  // namespace

int main(int argc, char** argv) {
  auto target = target_uri(argc, argv);
  auto dir = std::filesystem::temp_directory_path() / "storage-live-example";
  std::filesystem::remove_all(dir);
  auto source = "faiss://" + dir.string();

  // The journal that records the cutover lives beside the example's data:
  // a rerun starts from a fresh FAISS directory, not the last run's target.
  runtime_options opts;
  opts.state_dir = (dir / "state").string();
  runtime rt(opts);
  auto store = rt.open_vector(source);
  const std::string coll = "live_example";
  store.drop_collection(coll).get();
  store.create_collection({coll, 32, metric::cosine}).get();
  std::mt19937 rng(7);
  for (int b = 0; b < 5000; b += 500) {
    std::vector<vector_record> batch;
    for (int i = b; i < b + 500; ++i) batch.push_back(random_record(rng, i));
    store.upsert(coll, batch).get();
  }
  // The target must not hold an older copy of the collection.
  {
    runtime direct;
    direct.open_vector(target).drop_collection(coll).get();
  }

  latencies lat;
  std::atomic<bool> migrating{false}, stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> traffic;
  for (int t = 0; t < 4; ++t)
    traffic.emplace_back([&, t] {
      std::mt19937 r(t);
      while (!stop) {
        int id = static_cast<int>(r() % 5000);
        bool during = migrating;
        auto began = clock_type::now();
        try {
          if (r() % 2)
            store.upsert(coll, {random_record(r, id)}).get();
          else
            store.get(coll, {"doc-" + std::to_string(id)}).get();
        } catch (const std::exception& e) {
          ++errors;
          std::cerr << "request failed: " << e.what() << "\n";
        }
        lat.add(during, std::chrono::duration<double, std::micro>(
                            clock_type::now() - began)
                            .count());
      }
    });

  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::cout << "migrating " << source << " -> pgvector while 4 threads "
            << "read and write\n";
  migrating = true;
  auto m = rt.migrate_live(source, target);
  while (m.state() != live_state::done && m.state() != live_state::failed) {
    auto p = m.progress();
    std::cout << "  " << to_string(p.state) << ": copied " << p.copied << "/"
              << p.total << ", verified " << p.verified << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  migrating = false;
  stop = true;
  for (auto& t : traffic) t.join();

  try {
    auto r = m.wait();
    std::cout << "cut over after " << r.seconds << " s: " << r.copied
              << " records backfilled, " << r.target_count
              << " verified on the target\n";
    // Until now every write also went back to FAISS (abort() would have
    // switched back); from here the store lives in pgvector only.
    m.finalize();
  } catch (const std::exception& e) {
    std::cout << "migration failed, FAISS stays authoritative: " << e.what()
              << "\n";
  }
  report("before the migration", lat.before);
  report("during the migration", lat.during);
  std::cout << "caller errors: " << errors << "\n";
  std::cout << "records now in pgvector: " << store.count(coll).get() << "\n";
  store.drop_collection(coll).get();
  return errors == 0 ? 0 : 1;
}
