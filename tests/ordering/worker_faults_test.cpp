// Only a connection-level failure makes a worker drop its adapter: a bad
// request gets its error and the adapter (a FAISS index included) stays.
// The pool's adapter factory is wrapped to count adapters made and to fail
// requests on chosen collections the way an adapter can (internal for a
// request FAISS rejects, backend_unavailable for a lost connection).
#include <gtest/gtest.h>

#include <atomic>

#include "actors/routing/vector_router.hpp"
#include "adapters/factories.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

std::atomic<int> adapters_made{0};
std::atomic<bool> server_down{false};

// The real faiss:// adapter; requests on collection "bad" fail with
// internal, on "lost" with backend_unavailable.
class failing_faiss final : public vector_backend {
 public:
  explicit failing_faiss(std::unique_ptr<vector_backend> real)
      : real_(std::move(real)) {}
  vector_capabilities capabilities() const override {
    return real_->capabilities();
  }
  bool create_collection(const collection_spec& s) override {
    return real_->create_collection(s);
  }
  bool drop_collection(const std::string& n) override {
    return real_->drop_collection(n);
  }
  std::vector<collection_spec> list_collections() override {
    return real_->list_collections();
  }
  std::uint64_t upsert(const std::string& c,
                       const std::vector<vector_record>& rs) override {
    return real_->upsert(c, rs);
  }
  std::vector<vector_record> get(const std::string& c,
                                 const std::vector<std::string>& ids) override {
    return real_->get(c, ids);
  }
  std::uint64_t remove(const std::string& c,
                       const std::vector<std::string>& ids) override {
    return real_->remove(c, ids);
  }
  std::uint64_t remove_where(const std::string& c, const filter& w) override {
    return real_->remove_where(c, w);
  }
  std::uint64_t count(const std::string& c) override {
    if (c == "bad") throw store_error(errc::internal, "FAISS rejected it");
    if (c == "lost") throw store_error(errc::backend_unavailable, "gone");
    return real_->count(c);
  }
  std::vector<search_hit> search(const std::string& c,
                                 const search_request& r) override {
    return real_->search(c, r);
  }
  scan_page scan(const std::string& c, const std::string& after,
                 std::uint32_t limit) override {
    return real_->scan(c, after, limit);
  }

 private:
  std::unique_ptr<vector_backend> real_;
};

pool_spec<vector_backend> failing_pool(const std::string& uri) {
  auto spec = vector_pool_for(uri);
  auto real = spec.make_backend;
  spec.make_backend =
      [real](std::uint32_t i,
             open_deadline deadline) -> std::unique_ptr<vector_backend> {
    if (server_down)
      throw store_error(errc::backend_unavailable, "server still down", "open",
                        "faiss://test");
    ++adapters_made;
    return std::make_unique<failing_faiss>(real(i, deadline));
  };
  return spec;
}

TEST(worker_faults, a_bad_request_keeps_the_adapter_and_its_index) {
  runtime rt;
  auto store = spawn_vector_store(rt.system(), failing_pool,
                                  "faiss://" + fresh_dir() + "/v?index=hnsw");
  caf::scoped_actor self{rt.system()};
  auto ask_count = [&](const std::string& c) {
    errc code = errc::internal;
    bool failed = false;
    self->request(store.handle, caf::infinite, vcount_atom::value, c)
        .receive([](std::uint64_t) {},
                 [&](caf::error& e) {
                   failed = true;
                   code = from_caf_error(e, "count", "").code();
                 });
    return failed ? std::optional<errc>(code) : std::nullopt;
  };
  self->request(store.handle, caf::infinite, vcreate_atom::value,
                collection_spec{"docs", 2, metric::l2})
      .receive([](bool) {}, [](caf::error& e) { FAIL() << to_string(e); });
  EXPECT_EQ(ask_count("docs"), std::nullopt);
  EXPECT_EQ(adapters_made, 1);
  EXPECT_EQ(ask_count("bad"), errc::internal);
  EXPECT_EQ(ask_count("nosuchcollection"), errc::collection_not_found);
  EXPECT_EQ(ask_count("docs"), std::nullopt);
  EXPECT_EQ(adapters_made, 1) << "a bad request made the worker reconnect";
  // A lost connection does drop the adapter; the next request makes one.
  EXPECT_EQ(ask_count("lost"), errc::backend_unavailable);
  // While the adapter cannot be made again, the requests fail as
  // themselves, not as an "open" their callers never asked for.
  server_down = true;
  self->request(store.handle, caf::infinite, vcount_atom::value,
                std::string("docs"))
      .receive([](std::uint64_t) { ADD_FAILURE() << "counted"; },
               [&](caf::error& e) {
                 auto err = from_caf_error(e, "", "");
                 EXPECT_EQ(err.code(), errc::backend_unavailable);
                 EXPECT_EQ(err.operation(), "count") << err.what();
               });
  server_down = false;
  EXPECT_EQ(ask_count("docs"), std::nullopt);
  EXPECT_EQ(adapters_made, 2);
  caf::anon_send_exit(store.router, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace storage::test
