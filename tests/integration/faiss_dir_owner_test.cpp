// A faiss:// directory has one store at a time (faiss_dir_lock.hpp): a
// second process gets `conflict` naming the process that holds it, as
// long as that one does, and nothing of the first store's is touched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(faiss_dir_owner, a_second_process_is_refused_while_the_first_holds_it) {
  auto uri = "faiss://" + fresh_dir() + "/vectors";
  std::vector<std::string> count = {"vector", "count",        "--store",
                                    uri,      "--collection", "docs"};
  {
    runtime rt;
    auto vs = rt.open_vector(uri);
    await(vs.create_collection({"docs", 2, metric::l2}));
    await(vs.upsert("docs", {{"a", {1, 2}, {}, {}}}));
    auto r = storectl(count);
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("conflict"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("process " + std::to_string(::getpid())),
              std::string::npos)
        << r.err;
    r = storectl({"vector", "upsert", "--store", uri, "--collection", "docs"},
                 "{\"id\":\"b\",\"embedding\":[3,4]}\n");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_EQ(await(vs.count("docs")), 1u);
  }
  // Closed with its runtime: the next process opens it and finds its data.
  auto r = storectl(count);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line().value("count", -1), 1) << r.out;
}

// In one runtime, the directory opened again with other parameters is
// refused at once (not after waiting for the first store's lock), and
// opened with another shard count -- now or after the first store closed --
// it is refused too: the records of the first layout would be invisible.
TEST(faiss_dir_owner, other_parameters_or_shard_counts_are_refused_at_once) {
  auto uri = "faiss://" + fresh_dir() + "/vectors";
  {
    runtime rt;
    auto vs = rt.open_vector(uri);
    await(vs.create_collection({"docs", 2, metric::l2}));
    await(vs.upsert("docs", {{"a", {1, 2}, {}, {}}}));
    auto started = std::chrono::steady_clock::now();
    for (auto other :
         {with_param(uri, "timeout_ms=5000"), with_param(uri, "pool=2")}) {
      try {
        auto second = rt.open_vector(other);
        await(second.count("docs"));
        ADD_FAILURE() << other << " opened a second store";
      } catch (const store_error& e) {
        EXPECT_EQ(e.code(), errc::conflict) << e.what();
        EXPECT_NE(std::string(e.what()).find("one store at a time"),
                  std::string::npos)
            << e.what();
      }
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started,
              std::chrono::seconds(2));
    // The same parameters are the same store.
    EXPECT_EQ(
        await(rt.open_vector(with_param(uri, "index=flat")).count("docs")), 1u);
    // What counts is the directory a store serves now: swapped elsewhere,
    // it leaves this one free and holds the other.
    auto elsewhere = "faiss://" + fresh_dir() + "/moved";
    rt.swap(uri, elsewhere);
    auto freed = rt.open_vector(with_param(uri, "timeout_ms=5000"));
    EXPECT_EQ(await(freed.count("docs")), 1u);
    EXPECT_TRUE(fails_with(errc::conflict, [&] {
      rt.open_vector(with_param(elsewhere, "timeout_ms=5000"));
    }));
  }
  // Closed: another pool size is still refused, naming the one it holds,
  // and nothing is created beside the records.
  auto r = storectl({"vector", "count", "--store", with_param(uri, "pool=3"),
                     "--collection", "docs"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("conflict"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pool=1"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(uri.substr(8)) /
                                       "shard-0-of-3"));
  r = storectl({"vector", "count", "--store", uri, "--collection", "docs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line().value("count", -1), 1);
}

// A swap to the same directory with other options hands the directory
// from the old store to the new one while writes go on: none fails, and
// every acknowledged one is there.
TEST(faiss_dir_owner, a_swap_to_the_same_directory_hands_over_cleanly) {
  auto uri = "faiss://" + fresh_dir() + "/vectors";
  runtime rt;
  auto vs = rt.open_vector(uri);
  await(vs.create_collection({"docs", 2, metric::l2}));
  // Enough unsaved writes that the old store's close writes a snapshot,
  // which keeps the directory a while after its worker is done.
  std::vector<vector_record> bulk;
  for (int i = 0; i < 50000; ++i)
    bulk.push_back({"b" + std::to_string(i), {1, float(i)}, {}, {}});
  await(vs.upsert("docs", bulk));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::vector<std::string> errors;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      try {
        await(vs.upsert("docs", {{"w" + std::to_string(i), {1, 2}, {}, {}}}));
        ++written;
      } catch (const std::exception& e) {
        errors.push_back(e.what());
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rt.swap(uri, with_param(uri, "max_inflight=512"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << ": " << errors.front();
  EXPECT_GT(written.load(), 0);
  EXPECT_EQ(await(vs.count("docs")),
            static_cast<std::uint64_t>(written) + bulk.size());
}

}  // namespace
}  // namespace storage::test
