// Every type the store interfaces and the node directory carry crosses a
// real node link (BASP over loopback, two actor systems) and comes back
// byte for byte. CAF 0.17 turns an unregistered type into an empty message
// without an error, so only a round trip like this proves registration.
#include <gtest/gtest.h>

#include <limits>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/caf_support.hpp"
#include "messages/interfaces.hpp"
#include "messages/node_protocol.hpp"
#include "runtime/runtime.hpp"

namespace storage {
namespace {

metadata every_value_kind() {
  return {{"s", std::string("text")},
          {"i", std::int64_t{-42}},
          {"d", 2.5},
          {"b", true},
          {"n", std::monostate{}}};
}

filter a_filter() {
  return filter::all_of({filter::eq("s", std::string("x")),
                         filter::any_of({filter::gt("i", std::int64_t{3}),
                                         filter::in("d", {1.5, 2.5})})});
}

vector_record a_record() {
  return {"id-1", {0.25f, -1.5f, 3.0f}, every_value_kind(), "a document"};
}

search_hit a_hit() {
  return {"id-2", 0.125, every_value_kind(), "doc", {1.0f, 2.0f}};
}

template <class T>
std::vector<char> bytes_of(caf::actor_system& sys, T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(x);
  EXPECT_FALSE(err) << sys.render(err);
  return buf;
}

// Answers every message with itself. A class rather than a lambda: CAF
// 0.17 spawns an argument-less function actor by dereferencing a null
// shared_ptr to an empty tuple (init_fun_factory.hpp), which UBSan reports.
class echo_actor : public caf::event_based_actor {
 public:
  using caf::event_based_actor::event_based_actor;

  caf::behavior make_behavior() override {
    set_default_handler(caf::reflect);
    return {[](caf::unit_t) {}};
  }
};

class node_types : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<runtime>();
    client_ = std::make_unique<runtime>();
    echo_local_ = server_->system().spawn<echo_actor>();
    auto port =
        server_->system().middleman().publish(echo_local_, 0, "127.0.0.1");
    ASSERT_TRUE(port) << server_->system().render(port.error());
    auto remote =
        client_->system().middleman().remote_actor("127.0.0.1", *port);
    ASSERT_TRUE(remote) << client_->system().render(remote.error());
    echo_ = *remote;
    ASSERT_NE(echo_.node(), client_->system().node()) << "not a remote actor";
  }

  // Sends `x` (with the atom in front, as the interfaces do) across the
  // link and back; the answer must serialize to the same bytes.
  template <class Atom, class... Ts>
  void round_trip(Atom atom, Ts... xs) {
    auto& sys = client_->system();
    auto sent = caf::make_message(atom, xs...);
    caf::scoped_actor self{sys};
    bool answered = false;
    // An unregistered element would come back as an empty message, which
    // this handler does not match (unexpected_response).
    self->request(echo_, std::chrono::seconds(10), atom, xs...)
        .receive(
            [&](Atom, Ts&... back) {
              answered = true;
              auto got = caf::make_message(atom, back...);
              EXPECT_EQ(bytes_of(sys, sent), bytes_of(sys, got))
                  << caf::to_string(sent);
            },
            [&](caf::error& e) {
              FAIL() << sys.render(e) << " for " << caf::to_string(sent);
            });
    EXPECT_TRUE(answered);
  }

  void TearDown() override {
    caf::anon_send_exit(echo_local_, caf::exit_reason::user_shutdown);
    echo_ = nullptr;
    client_.reset();
    server_->system().middleman().unpublish(echo_local_);
    server_.reset();
  }

  std::unique_ptr<runtime> server_;
  caf::actor echo_local_;
  std::unique_ptr<runtime> client_;
  caf::actor echo_;
};

TEST_F(node_types, vector_interface_requests_and_replies) {
  collection_spec spec{"docs", 3, metric::ip, true};
  round_trip(vcreate_atom::value, spec);
  round_trip(vlist_atom::value, std::vector<collection_spec>{spec, spec});
  round_trip(vupsert_atom::value, std::string("docs"),
             records{a_record(), vector_record{"id-2", {1.0f}, {}, {}}});
  round_trip(vget_atom::value, std::string("docs"), ids{"a", "b,c"});
  round_trip(vdelete_atom::value, std::string("docs"), a_filter());
  search_request req;
  req.query = {0.5f, 0.25f};
  req.k = 7;
  req.where = a_filter();
  req.include = {false, true, true};
  round_trip(vsearch_atom::value, std::string("docs"), req);
  batch_search_request batch;
  batch.queries = {{1.0f}, {2.0f, 3.0f}};
  batch.k = 2;
  batch.where = a_filter();
  round_trip(vsearchb_atom::value, std::string("docs"), batch);
  round_trip(vscan_atom::value, std::string("docs"), std::string("after"),
             std::uint32_t{100});
  round_trip(vsearch_atom::value, std::vector<search_hit>{a_hit()});
  round_trip(vsearchb_atom::value,
             std::vector<std::vector<search_hit>>{{a_hit()}, {}});
  round_trip(vscan_atom::value, scan_page{{a_record()}, "next"});
  round_trip(vcount_atom::value, std::uint64_t{123456789012});
}

// CAF 0.17's own float encoding hangs on an infinity and garbles NaN; the
// contract's types send bits (inspect.hpp), so every value crosses exactly.
TEST_F(node_types, special_floats_cross_bit_for_bit) {
  auto nan = std::numeric_limits<float>::quiet_NaN();
  auto inf = std::numeric_limits<float>::infinity();
  auto tiny = std::numeric_limits<float>::denorm_min();
  vector_record r{"odd", {nan, inf, -inf, tiny, -0.0f, 1.0f / 3}, {}, {}};
  r.metadata["d"] = std::numeric_limits<double>::infinity();
  round_trip(vupsert_atom::value, std::string("docs"), records{r});
  search_hit h{"odd", std::numeric_limits<double>::quiet_NaN(), {}, {}, {inf}};
  round_trip(vsearch_atom::value, std::vector<search_hit>{h});
  batch_search_request b;
  b.queries = {{nan, tiny}, {-inf}};
  round_trip(vsearchb_atom::value, std::string("docs"), b);
}

TEST_F(node_types, cache_interface_requests_and_replies) {
  cache_entry e{"k", "v\0w", std::int64_t{1500}};
  round_trip(cset_atom::value, e);
  round_trip(cmset_atom::value,
             std::vector<cache_entry>{e, cache_entry{"k2", "v2", {}}});
  round_trip(cget_atom::value, maybe_value{true, "value"});
  round_trip(cmget_atom::value,
             std::vector<maybe_value>{{true, "x"}, {false, ""}});
  round_trip(cincr_atom::value, std::string("n"), std::int64_t{-5});
  round_trip(cttl_atom::value, ttl_info{true, std::int64_t{99}});
  round_trip(cscan_atom::value, cache_scan_page{{e}, "cursor"});
  round_trip(cdel_atom::value, ids{"a", "b"});
}

TEST_F(node_types, directory_messages) {
  served_store s{"vectors", "vector", "pgvector://app:***@db/app"};
  round_trip(nhello_atom::value, node_protocol_version);
  round_trip(nlookup_atom::value, s);
  round_trip(nlist_atom::value, std::vector<served_store>{s, s});
  round_trip(nmigrate_atom::value, std::string("vectors"),
             live_request{"faiss:///tmp/x", 250, false});
  live_report r;
  r.state = "done";
  r.collection = "docs";
  r.copied = 5;
  r.has_result = true;
  r.error_code = 3;
  r.error = "conflict";
  round_trip(nprogress_atom::value, r);
  message_batch batch;
  batch.items.push_back(
      {caf::actor_cast<caf::strong_actor_ptr>(echo_), 7,
       caf::make_message(cset_atom::value, cache_entry{"k", "v", {}})});
  batch.items.push_back(
      {nullptr, 8,
       caf::make_message(vget_atom::value, std::string("docs"), ids{"a"})});
  round_trip(nbatch_atom::value, batch);
}

// An error reply is a caf::error in the "storage" category whose context
// carries message, operation and store (caf_support.hpp).
TEST_F(node_types, store_errors_keep_code_message_and_store) {
  auto sent = to_caf_error(store_error(errc::dimension_mismatch,
                                       "expected 3, got 2", "upsert", "vs"));
  round_trip(vupsert_atom::value, sent);
  auto e = from_caf_error(sent, "", "");
  EXPECT_EQ(e.code(), errc::dimension_mismatch);
  EXPECT_EQ(e.operation(), "upsert");
}

}  // namespace
}  // namespace storage
