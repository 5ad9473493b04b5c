// Every message type of the contract through CAF's binary serializer, alone
// and inside a caf::message. The message round trip is what catches an
// unregistered type: CAF 0.17 turns one into an empty message, silently.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/caf_support.hpp"
#include "messages/interfaces.hpp"

namespace storage {
namespace {

// ---- field-by-field equality (the contract defines few operator==) --------

template <class T>
bool eq(const std::vector<T>& a, const std::vector<T>& b);

bool eq(const collection_spec& a, const collection_spec& b) {
  return a == b;
}
bool eq(const vector_record& a, const vector_record& b) {
  // Exact: the metadata map including any null values.
  return a.id == b.id && a.embedding == b.embedding &&
         a.metadata == b.metadata && a.document == b.document;
}
bool eq(const filter& a, const filter& b) {
  return a == b;
}
bool eq(const include_fields& a, const include_fields& b) {
  return a.metadata == b.metadata && a.document == b.document &&
         a.embedding == b.embedding;
}
bool eq(const search_request& a, const search_request& b) {
  return a.query == b.query && a.k == b.k && a.where == b.where &&
         eq(a.include, b.include);
}
bool eq(const batch_search_request& a, const batch_search_request& b) {
  return a.queries == b.queries && a.k == b.k && a.where == b.where &&
         eq(a.include, b.include);
}
bool eq(const search_hit& a, const search_hit& b) {
  return a.id == b.id && a.distance == b.distance && a.metadata == b.metadata &&
         a.document == b.document && a.embedding == b.embedding;
}
bool eq(const scan_page& a, const scan_page& b) {
  return eq(a.records, b.records) && a.next_cursor == b.next_cursor;
}
bool eq(const cache_entry& a, const cache_entry& b) {
  return a.key == b.key && a.value == b.value && a.ttl == b.ttl;
}
bool eq(const ttl_info& a, const ttl_info& b) {
  return a.exists == b.exists && a.ttl == b.ttl;
}
bool eq(const cache_scan_page& a, const cache_scan_page& b) {
  return eq(a.entries, b.entries) && a.next_cursor == b.next_cursor;
}
bool eq(const maybe_value& a, const maybe_value& b) {
  return a.found == b.found && a.value == b.value;
}
template <class T>
bool eq(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!eq(a[i], b[i])) return false;
  return true;
}

// ---- samples --------------------------------------------------------------

metadata every_value_type() {
  return {{"b", true},
          {"f", false},
          {"i", std::int64_t{-42}},
          {"big", std::int64_t{9007199254740993}},
          {"d", 2.5},
          {"s", std::string("text \xe2\x9c\x93")},
          {"empty", std::string()},
          {"null", std::monostate{}}};
}

vector_record full_record() {
  return {"id-1", {1.5f, -2.f, 0.f}, every_value_type(), "a document"};
}

vector_record bare_record() {
  return {"id-2", {0.25f}, {}, std::nullopt};
}

filter nested_filter() {
  return filter::any_of(
      {filter::eq("a", std::int64_t{1}), filter::ne("b", std::string("x")),
       filter::all_of(
           {filter::gt("c", 1.5), filter::gte("c", std::int64_t{1}),
            filter::lt("c", 9.0), filter::lte("c", std::int64_t{9}),
            filter::in("d", {std::int64_t{1}, std::string("1"), true, 0.5}),
            filter::nin("e", {false})})});
}

search_request request_with_where() {
  search_request r;
  r.query = {0.1f, 0.2f, 0.3f};
  r.k = 17;
  r.where = nested_filter();
  r.include = {false, true, true};
  return r;
}

search_request request_without_where() {
  search_request r;
  r.query = {1.f};
  r.k = 3;
  return r;
}

batch_search_request batch_with_where() {
  batch_search_request r;
  r.queries = {{0.1f, 0.2f}, {-1.f, 3.5f}, {0.f, 0.f}};
  r.k = 9;
  r.where = nested_filter();
  r.include = {true, false, true};
  return r;
}

search_hit full_hit() {
  return {"h1", 0.125, every_value_type(), "doc", {1.f, 2.f}};
}

search_hit bare_hit() {
  return {"h2", -3.0, {}, std::nullopt, {}};
}

// ---- the fixture ----------------------------------------------------------

struct registered_config : caf::actor_system_config {
  registered_config() { register_types(*this); }
};

class Serialization : public ::testing::Test {
 protected:
  registered_config cfg_;
  caf::actor_system sys_{cfg_};

  template <class T>
  T through_bytes(const T& x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys_, buf};
    T copy = x;
    auto err = sink(copy);
    EXPECT_FALSE(err) << sys_.render(err);
    EXPECT_FALSE(buf.empty());
    T out{};
    caf::binary_deserializer source{sys_, buf};
    err = source(out);
    EXPECT_FALSE(err) << sys_.render(err);
    return out;
  }

  caf::message through_bytes(const caf::message& m) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys_, buf};
    caf::message copy = m;
    auto err = sink(copy);
    EXPECT_FALSE(err) << sys_.render(err);
    caf::message out;
    caf::binary_deserializer source{sys_, buf};
    err = source(out);
    EXPECT_FALSE(err) << sys_.render(err);
    return out;
  }

  // Alone, and as the only element of a message.
  template <class T>
  void check(const T& x, const char* what) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(eq(through_bytes(x), x)) << "value round trip";
    caf::message m = through_bytes(caf::make_message(x));
    ASSERT_EQ(m.size(), 1u) << "message lost its content: unregistered type";
    ASSERT_TRUE(m.match_elements<T>()) << "element type changed";
    EXPECT_TRUE(eq(m.get_as<T>(0), x)) << "message round trip";
  }
};

TEST_F(Serialization, VectorSideTypes) {
  check(collection_spec{"docs", 384, metric::ip}, "collection_spec");
  check(std::vector<collection_spec>{{"a12", 1, metric::cosine},
                                     {"b34", 2, metric::l2}},
        "vector<collection_spec>");
  check(full_record(), "vector_record with document and every value type");
  check(bare_record(), "vector_record without document or metadata");
  check(records{full_record(), bare_record()}, "records");
  check(records{}, "empty records");
  check(nested_filter(), "nested filter");
  check(filter::eq("k", std::string("v")), "leaf filter");
  check(request_with_where(), "search_request with where");
  check(request_without_where(), "search_request without where");
  check(full_hit(), "search_hit with document and embedding");
  check(bare_hit(), "search_hit bare");
  check(std::vector<search_hit>{full_hit(), bare_hit()}, "vector<search_hit>");
  check(batch_with_where(), "batch_search_request with where");
  check(batch_search_request{}, "empty batch_search_request");
  check(std::vector<std::vector<search_hit>>{{full_hit(), bare_hit()}, {}},
        "vector<vector<search_hit>>");
  check(scan_page{{full_record(), bare_record()}, "id-2"}, "scan_page");
  check(scan_page{{}, ""}, "last scan_page");
}

TEST_F(Serialization, CacheSideTypes) {
  check(cache_entry{"k", "v", std::int64_t{1500}}, "cache_entry with ttl");
  check(cache_entry{"k", "", std::nullopt}, "cache_entry without ttl");
  check(std::vector<cache_entry>{{"a", "1", std::nullopt},
                                 {"b", "2", std::int64_t{5}}},
        "vector<cache_entry>");
  check(ttl_info{true, std::int64_t{99}}, "ttl_info with ttl");
  check(ttl_info{true, std::nullopt}, "ttl_info without expiry");
  check(ttl_info{false, std::nullopt}, "ttl_info missing key");
  check(cache_scan_page{{{"a", "1", std::int64_t{7}}, {"b", "2", std::nullopt}},
                        "cursor-9"},
        "cache_scan_page");
  check(maybe_value{true, "v"}, "maybe_value found");
  check(maybe_value{false, ""}, "maybe_value missing");
  check(std::vector<maybe_value>{{true, "a"}, {false, ""}, {true, ""}},
        "vector<maybe_value>");
}

// A batch of records crosses as one string (record_codec.hpp); bytes it
// did not write fail the deserializer rather than reaching a store.
TEST_F(Serialization, MalformedRecordBatchFailsToDeserialize) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys_, buf};
  records rs{full_record(), bare_record()};
  ASSERT_FALSE(sink(rs));
  // The last byte is the bare record's has-document flag: 0 or 1 only.
  ASSERT_EQ(buf.back(), '\0');
  buf.back() = '\x02';
  records out;
  caf::binary_deserializer source{sys_, buf};
  auto err = source(out);
  ASSERT_TRUE(err);
  EXPECT_EQ(err, caf::sec::invalid_argument) << sys_.render(err);
  // Cut short: the string's length runs past the end.
  buf.pop_back();
  caf::binary_deserializer cut{sys_, buf};
  EXPECT_TRUE(cut(out));
}

// A message printed for a log shows a batch's ids, not its packed bytes.
TEST_F(Serialization, PrintedRecordBatchShowsItsIds) {
  auto text = caf::to_string(caf::make_message(
      std::string("coll"), records{full_record(), bare_record()}));
  EXPECT_NE(text.find("id-1"), std::string::npos) << text;
  EXPECT_NE(text.find("id-2"), std::string::npos) << text;
}

// The requests as the typed interfaces send them: atom first, then payload.
TEST_F(Serialization, RequestMessagesKeepEveryElement) {
  auto up = through_bytes(caf::make_message(
      vupsert_atom::value, std::string("coll"), records{full_record()}));
  ASSERT_TRUE((up.match_elements<vupsert_atom, std::string, records>()));
  EXPECT_EQ(up.get_as<std::string>(1), "coll");
  EXPECT_TRUE(eq(up.get_as<records>(2), records{full_record()}));

  auto del = through_bytes(caf::make_message(
      vdelete_atom::value, std::string("coll"), nested_filter()));
  ASSERT_TRUE((del.match_elements<vdelete_atom, std::string, filter>()));
  EXPECT_TRUE(eq(del.get_as<filter>(2), nested_filter()));

  auto ids_msg = through_bytes(
      caf::make_message(vget_atom::value, std::string("coll"), ids{"a", "b"}));
  ASSERT_TRUE((ids_msg.match_elements<vget_atom, std::string, ids>()));
  EXPECT_EQ(ids_msg.get_as<ids>(2), (ids{"a", "b"}));

  auto scan =
      through_bytes(caf::make_message(vscan_atom::value, std::string("c"),
                                      std::string("after"), std::uint32_t{50}));
  ASSERT_TRUE((scan.match_elements<vscan_atom, std::string, std::string,
                                   std::uint32_t>()));
  EXPECT_EQ(scan.get_as<std::uint32_t>(3), 50u);

  auto batch = through_bytes(caf::make_message(
      vsearchb_atom::value, std::string("c"), batch_with_where()));
  ASSERT_TRUE((batch.match_elements<vsearchb_atom, std::string,
                                    batch_search_request>()));
  EXPECT_TRUE(eq(batch.get_as<batch_search_request>(2), batch_with_where()));

  auto incr = through_bytes(
      caf::make_message(cincr_atom::value, std::string("k"), std::int64_t{-3}));
  ASSERT_TRUE((incr.match_elements<cincr_atom, std::string, std::int64_t>()));
  EXPECT_EQ(incr.get_as<std::int64_t>(2), -3);

  auto mset = through_bytes(caf::make_message(
      cmset_atom::value,
      std::vector<cache_entry>{{"a", "1", std::int64_t{10}}}));
  ASSERT_TRUE((mset.match_elements<cmset_atom, std::vector<cache_entry>>()));
  EXPECT_EQ(mset.get_as<std::vector<cache_entry>>(1)[0].ttl,
            std::optional<std::int64_t>(10));
}

TEST_F(Serialization, ErrorsKeepCodeMessageOperationAndStore) {
  store_error e(errc::dimension_mismatch, "wrong length", "upsert",
                "pgvector://u:secret@h:1/db");
  auto ce = to_caf_error(e);
  EXPECT_EQ(ce.category(), error_category);
  std::vector<char> buf;
  caf::binary_serializer sink{sys_, buf};
  auto err = sink(ce);
  ASSERT_FALSE(err) << sys_.render(err);
  caf::error back;
  caf::binary_deserializer source{sys_, buf};
  err = source(back);
  ASSERT_FALSE(err) << sys_.render(err);
  auto se = from_caf_error(back, "other-op", "other-store");
  EXPECT_EQ(se.code(), errc::dimension_mismatch);
  EXPECT_EQ(se.message(), "wrong length");
  EXPECT_EQ(se.operation(), "upsert");
  EXPECT_EQ(se.store(), "pgvector://u:***@h:1/db");
  EXPECT_NE(sys_.render(back).find("dimension_mismatch"), std::string::npos)
      << sys_.render(back);
  // Errors from CAF itself map onto the contract's codes.
  EXPECT_EQ(from_caf_error(caf::sec::request_timeout, "get", "s").code(),
            errc::timeout);
  EXPECT_EQ(from_caf_error(caf::sec::request_receiver_down, "get", "s").code(),
            errc::backend_unavailable);
  auto other = from_caf_error(caf::sec::unexpected_message, "get", "s");
  EXPECT_EQ(other.code(), errc::internal);
  EXPECT_EQ(other.operation(), "get");
}

}  // namespace
}  // namespace storage
