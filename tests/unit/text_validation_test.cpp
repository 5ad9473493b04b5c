// Text the vector contract stores (ids, documents, metadata keys and string
// values, a `where`'s strings) is UTF-8 without NUL on every backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/filter.hpp"
#include "messages/records.hpp"
#include "messages/validation.hpp"

namespace storage {
namespace {

using namespace std::string_literals;

// The message of the invalid_argument `f` throws, or "" if it throws none.
template <class F>
std::string rejection(F f) {
  try {
    f();
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
    return e.message();
  }
  return "";
}

vector_record record(std::string id) {
  vector_record r;
  r.id = std::move(id);
  r.embedding = {1, 0};
  return r;
}

TEST(TextValidation, WellFormedUtf8IsText) {
  for (auto s : {""s, "plain ascii"s, "ü✓"s, "日本語"s, "\xF0\x9F\x98\x80"s,
                 "\xF4\x8F\xBF\xBF"s /* U+10FFFF */, "\xED\x9F\xBF"s})
    EXPECT_TRUE(is_text(s)) << s;
}

TEST(TextValidation, NulAndMalformedSequencesAreNot) {
  for (auto s : {"a\0b"s, "\x80"s, "\xC0\xAF"s /* overlong '/' */, "\xC1\xBF"s,
                 "\xE0\x80\xAF"s /* overlong */,
                 "\xED\xA0\x80"s /* surrogate */, "\xF4\x90\x80\x80"s,
                 "\xF5\x80\x80\x80"s, "\xE2\x9C"s /* cut short */, "ok\xFF"s})
    EXPECT_FALSE(is_text(s)) << "case of " << s.size() << " bytes";
}

TEST(TextValidation, ABatchNamesTheRecordAndFieldAndTheFirstBadByte) {
  auto doc = record("d");
  doc.document = "ab\0c"s;
  auto m = rejection([&] { validate_batch({record("ok"), doc}); });
  EXPECT_NE(m.find("record 'd': the document holds a NUL byte (byte 2)"),
            std::string::npos)
      << m;

  auto meta = record("m");
  meta.metadata["lang"] = "\xFF"s;
  m = rejection([&] { validate_batch({meta}); });
  EXPECT_NE(m.find("record 'm': metadata 'lang' is not UTF-8 (byte 0)"),
            std::string::npos)
      << m;

  auto key = record("k");
  key.metadata["a\0"s] = std::int64_t{1};
  EXPECT_NE(rejection([&] { validate_batch({key}); }).find("a metadata key"),
            std::string::npos);

  // An id that is what is wrong is named escaped, with its place.
  m = rejection([&] { validate_batch({record("ok"), record("x\xC3\\"s)}); });
  EXPECT_NE(m.find("the id of record 1 ('x\\xc3\\x5c') is not UTF-8 (byte 1)"),
            std::string::npos)
      << m;
  // Ids to read or delete are not checked: an older version may have
  // stored such a record, which must stay reachable.
  EXPECT_EQ(rejection([&] { validate_ids({"fine", "n\0"s, "\xFF"s}); }), "");
  EXPECT_EQ(text_ids({"a", "n\0"s, "\xFF"s, "ü"}),
            (std::vector<std::string>{"a", "ü"}));
}

TEST(TextValidation, NonTextMetadataValuesAndGoodTextPass) {
  auto r = record("ü-1");
  r.document = "grüße ✓";
  r.metadata["n"] = std::int64_t{7};
  r.metadata["d"] = 0.5;
  r.metadata["b"] = true;
  r.metadata["s"] = "日本"s;
  EXPECT_EQ(rejection([&] { validate_batch({r}); }), "");
}

TEST(TextValidation, AFiltersFieldsAndStringsAreText) {
  EXPECT_NE(rejection([] { filter::eq("k\0"s, "v"s); }), "");
  auto m = rejection([] { filter::in("k", {"ok"s, "\xFE"s}); });
  EXPECT_NE(m.find("where: $in on 'k' is not UTF-8"), std::string::npos) << m;
  EXPECT_NE(rejection([] { filter::parse(R"({"k": "a\u0000b"})"); }), "");
  EXPECT_EQ(rejection([] { filter::parse(R"({"k": {"$ne": "ü"}})"); }), "");
}

}  // namespace
}  // namespace storage
