// pgvector bulk loads: a collection created with defer_index has no HNSW
// index until a create_collection without the flag builds it -- on any
// connection, as a restarted process or a migration rerun would -- and
// searches answer the same before and after. Real server, no skips.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/pgvector_index_probe.hpp"
#include "adapters/pgvector_store_fixture.hpp"

namespace storage::pgtest {
namespace {

constexpr std::uint32_t dim = 8;

std::vector<vector_record> rows(std::size_t n) {
  std::vector<vector_record> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<float> e(dim);
    // Distinct for every i (the pattern repeats every 101, dimension 0
    // tells the repeats apart).
    for (std::uint32_t d = 0; d < dim; ++d)
      e[d] = static_cast<float>((i * 37 + d * 11) % 101) / 101.0f - 0.5f;
    e[0] += static_cast<float>(i / 101);
    out.push_back(
        rec("r" + std::to_string(i), e, {{"i", static_cast<std::int64_t>(i)}}));
  }
  return out;
}

collection_spec spec_of(const std::string& name, bool defer) {
  collection_spec s{name, dim, metric::l2};
  s.defer_index = defer;
  return s;
}

// Upserts `data` in batches of 2000.
void load(vector_backend& s, const std::string& name,
          const std::vector<vector_record>& data) {
  for (std::size_t i = 0; i < data.size(); i += 2000)
    s.upsert(name, {data.begin() + i,
                    data.begin() + std::min(data.size(), i + 2000)});
}

// The nearest record to r's embedding is r.
void expect_nearest(vector_backend& s, const std::string& name,
                    const vector_record& r) {
  search_request q;
  q.query = r.embedding;
  q.k = 1;
  auto hits = s.search(name, q);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, r.id);
}

// Each collection a test makes, dropped afterwards whatever happened.
class pgvector_bulk : public ::testing::Test {
 protected:
  std::string fresh() {
    names.push_back(unique_name("bulk"));
    return names.back();
  }
  void TearDown() override {
    auto s = open();
    for (auto& n : names) s->drop_collection(n);
  }
  std::vector<std::string> names;
};

// exact_below=0: every search takes the index path, so the answers below
// come from the HNSW index once it exists.
TEST_F(pgvector_bulk, deferred_index_is_built_by_the_next_plain_create) {
  auto s = open("exact_below=0");
  auto name = fresh();
  EXPECT_TRUE(s->create_collection(spec_of(name, true)));
  EXPECT_EQ(hnsw_indexes(name), 0);
  auto data = rows(500);
  EXPECT_EQ(s->upsert(name, data), 500u);
  search_request q;
  q.query = data[123].embedding;
  q.k = 3;
  // Without the index the same statement scans every row: still right.
  auto before = s->search(name, q);
  ASSERT_EQ(before.size(), 3u);
  EXPECT_EQ(before[0].id, "r123");

  EXPECT_FALSE(s->create_collection(spec_of(name, false)));
  EXPECT_EQ(hnsw_indexes(name), 1);
  auto after = s->search(name, q);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].id, "r123");
  EXPECT_EQ(ids_of(after), ids_of(before));
  // Once built, a create changes nothing.
  EXPECT_FALSE(s->create_collection(spec_of(name, false)));
  EXPECT_EQ(hnsw_indexes(name), 1);
  EXPECT_EQ(s->count(name), 500u);
}

// A load that stopped before its index (a killed process): another
// connection's create builds it, and the rows are all there.
TEST_F(pgvector_bulk, a_later_connection_builds_what_a_stopped_load_left) {
  auto name = fresh();
  {
    auto loader = open();
    EXPECT_TRUE(loader->create_collection(spec_of(name, true)));
    loader->upsert(name, rows(300));
  }
  EXPECT_EQ(hnsw_indexes(name), 0);
  auto later = open("exact_below=0");
  EXPECT_FALSE(later->create_collection(spec_of(name, false)));
  EXPECT_EQ(hnsw_indexes(name), 1);
  EXPECT_EQ(later->count(name), 300u);
  expect_nearest(*later, name, rows(300)[42]);
}

TEST_F(pgvector_bulk, defer_leaves_an_existing_collection_as_it_is) {
  auto s = open();
  auto name = fresh();
  EXPECT_TRUE(s->create_collection(spec_of(name, false)));
  EXPECT_EQ(hnsw_indexes(name), 1);
  EXPECT_FALSE(s->create_collection(spec_of(name, true)));
  EXPECT_EQ(hnsw_indexes(name), 1);
  // Still the same spec rules: another dimension is a conflict.
  auto other = spec_of(name, true);
  other.dimension = dim + 1;
  EXPECT_EQ(code_of([&] { s->create_collection(other); }), errc::conflict);
}

// index=none never builds one, deferred or not.
TEST_F(pgvector_bulk, a_store_without_hnsw_builds_no_index) {
  auto s = open("index=none");
  auto name = fresh();
  EXPECT_TRUE(s->create_collection(spec_of(name, true)));
  s->upsert(name, rows(50));
  EXPECT_FALSE(s->create_collection(spec_of(name, false)));
  EXPECT_EQ(hnsw_indexes(name), 0);
}

// Two connections finishing the same load at once: one builds, the other
// waits for it and finds the index; neither fails.
TEST_F(pgvector_bulk, concurrent_builders_build_one_index) {
  auto name = fresh();
  auto loader = open();
  EXPECT_TRUE(loader->create_collection(spec_of(name, true)));
  loader->upsert(name, rows(3000));
  errc codes[2] = {errc::internal, errc::internal};
  std::vector<std::thread> builders;
  for (int i = 0; i < 2; ++i)
    builders.emplace_back([&, i] {
      auto s = open();
      codes[i] = code_of([&] { s->create_collection(spec_of(name, false)); });
    });
  for (auto& t : builders) t.join();
  EXPECT_EQ(codes[0], errc::ok);
  EXPECT_EQ(codes[1], errc::ok);
  EXPECT_EQ(hnsw_indexes(name), 1);
}

// build_index: only on a collection that exists (a live migration's build
// must never re-create one dropped meanwhile), once.
TEST_F(pgvector_bulk, build_index_builds_once_and_creates_nothing) {
  auto s = open();
  auto missing = fresh();
  EXPECT_EQ(code_of([&] { s->build_index(missing); }),
            errc::collection_not_found);
  EXPECT_EQ(hnsw_indexes(missing), -1);
  auto name = fresh();
  EXPECT_TRUE(s->create_collection(spec_of(name, true)));
  s->upsert(name, rows(200));
  EXPECT_TRUE(s->build_index(name));
  EXPECT_EQ(valid_hnsw_indexes(name), 1);
  EXPECT_FALSE(s->build_index(name));
  EXPECT_EQ(hnsw_indexes(name), 1);
}

// The build runs beside writes (CREATE INDEX CONCURRENTLY): another
// connection's upserts are answered while it is under way, and the index
// holds the rows they wrote.
TEST_F(pgvector_bulk, writes_go_on_while_the_index_is_built) {
  auto name = fresh();
  auto loader = open();
  EXPECT_TRUE(loader->create_collection(spec_of(name, true)));
  load(*loader, name, rows(20000));
  std::atomic<bool> started{false}, built{false};
  errc build_code = errc::internal;
  std::thread builder([&] {
    auto b = open("timeout_ms=120000");
    started = true;
    build_code = code_of([&] { b->build_index(name); });
    built = true;
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto extra = rows(20010);
  int written_during_build = 0;
  for (std::size_t i = 20000; i < extra.size(); ++i) {
    loader->upsert(name, {extra[i]});
    if (!built) ++written_during_build;
  }
  builder.join();
  EXPECT_EQ(build_code, errc::ok);
  // A plain CREATE INDEX would hold every one of them until it ended.
  EXPECT_GT(written_during_build, 0);
  EXPECT_EQ(valid_hnsw_indexes(name), 1);
  expect_nearest(*open("exact_below=0"), name, extra[20005]);
}

// A build gets the deadline its caller set (a live migration gives its own
// build at least an hour), not the store's timeout_ms, which bounds every
// other statement: with timeout_ms=100 the build of 20,000 rows outlasts
// that limit and still ends.
TEST_F(pgvector_bulk, a_build_takes_the_deadline_it_is_given) {
  auto name = fresh();
  auto loader = open();
  EXPECT_TRUE(loader->create_collection(spec_of(name, true)));
  load(*loader, name, rows(20000));
  auto s = open("timeout_ms=100");
  s->set_deadline(std::chrono::steady_clock::now() + std::chrono::minutes(2));
  EXPECT_TRUE(s->build_index(name));
  EXPECT_EQ(valid_hnsw_indexes(name), 1);
}

// A concurrent build that was interrupted (here: by its statement timeout)
// leaves an invalid index; the next build drops it and builds a valid one.
TEST_F(pgvector_bulk, an_interrupted_build_is_replaced_by_the_next) {
  auto name = fresh();
  auto s = open();
  EXPECT_TRUE(s->create_collection(spec_of(name, true)));
  load(*s, name, rows(20000));
  interrupted_hnsw_build(name, 50);
  ASSERT_EQ(hnsw_indexes(name), 1);  // there, but invalid
  ASSERT_EQ(valid_hnsw_indexes(name), 0);
  auto later = open("timeout_ms=120000");
  EXPECT_TRUE(later->build_index(name));
  EXPECT_EQ(hnsw_indexes(name), 1);
  EXPECT_EQ(valid_hnsw_indexes(name), 1);
}

// interrupt() from another thread ends a build in progress on the server
// (no build runs once build_index has thrown; the index is left invalid,
// where a finished build would be valid) and fails every later request of
// that adapter with conflict.
TEST_F(pgvector_bulk, interrupt_cancels_a_build_on_the_server) {
  auto name = fresh();
  auto loader = open();
  EXPECT_TRUE(loader->create_collection(spec_of(name, true)));
  load(*loader, name, rows(30000));
  auto s = open();
  s->set_deadline(std::chrono::steady_clock::now() + std::chrono::minutes(2));
  std::atomic<bool> ended{false};
  std::string failure;
  std::thread builder([&] {
    try {
      s->build_index(name);
    } catch (const store_error& e) {
      failure = std::string(to_string(e.code())) + ": " + e.what();
    }
    ended = true;
  });
  while (!ended && !index_build_running(name))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  bool seen = !ended;
  s->interrupt();
  builder.join();
  ASSERT_TRUE(seen) << "the build ended before it was seen running";
  EXPECT_EQ(failure.rfind("conflict: ", 0), 0u) << failure;
  EXPECT_NE(failure.find("interrupted"), std::string::npos) << failure;
  EXPECT_FALSE(index_build_running(name));
  EXPECT_EQ(valid_hnsw_indexes(name), 0);
  try {
    s->count(name);
    ADD_FAILURE() << "a request after interrupt() ran";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::conflict) << e.what();
  }
  EXPECT_EQ(loader->count(name), 30000u);
}

}  // namespace
}  // namespace storage::pgtest
