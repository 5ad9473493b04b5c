// The byte layout a batch of records crosses nodes in (record_codec.hpp):
// every value comes back exactly, and bytes this build did not write are
// refused without reading past their end (ASan checks the latter in CI).
#include "messages/record_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace storage::detail {
namespace {

std::vector<vector_record> sample() {
  std::vector<vector_record> rs(3);
  rs[0].id = "plain";
  rs[0].embedding = {1.0f, -0.0f, std::numeric_limits<float>::infinity(),
                     std::numeric_limits<float>::denorm_min()};
  rs[1].id = std::string("nul\0inside", 10);
  rs[1].embedding = {std::numeric_limits<float>::quiet_NaN()};
  rs[1].metadata["null"] = std::monostate{};
  rs[1].metadata["t"] = true;
  rs[1].metadata["f"] = false;
  rs[1].metadata["i"] = std::numeric_limits<std::int64_t>::min();
  rs[1].metadata["d"] = -0.0;
  rs[1].metadata["s"] = std::string("x\0y", 3);
  rs[1].document = "doc";
  rs[2].document = "";  // an empty document is not an absent one
  return rs;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

TEST(record_codec, every_value_comes_back_exactly) {
  auto rs = sample();
  std::vector<vector_record> back{vector_record{"stale", {}, {}, {}}};
  ASSERT_TRUE(decode_records(encode_records(rs), back));
  ASSERT_EQ(back.size(), rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(back[i].id, rs[i].id);
    EXPECT_TRUE(same_bits(back[i].embedding, rs[i].embedding)) << i;
    EXPECT_EQ(back[i].metadata, rs[i].metadata) << i;
    EXPECT_EQ(back[i].document, rs[i].document) << i;
  }
  auto d = std::get<double>(back[1].metadata.at("d"));
  EXPECT_TRUE(std::signbit(d));
}

TEST(record_codec, an_empty_batch_is_four_bytes) {
  auto bytes = encode_records({});
  EXPECT_EQ(bytes, std::string(4, '\0'));
  std::vector<vector_record> back(2);
  ASSERT_TRUE(decode_records(bytes, back));
  EXPECT_TRUE(back.empty());
}

TEST(record_codec, every_cut_and_trailing_byte_is_refused) {
  auto bytes = encode_records(sample());
  std::vector<vector_record> back;
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_records(bytes.substr(0, n), back)) << n;
  EXPECT_FALSE(decode_records(bytes + '\0', back));
}

TEST(record_codec, counts_and_lengths_beyond_the_bytes_are_refused) {
  std::vector<vector_record> back;
  // Four billion records in four bytes: refused before allocating.
  EXPECT_FALSE(decode_records(std::string(4, '\xff'), back));
  vector_record r;
  r.id = "a";
  r.metadata["k"] = std::string("v");
  auto bytes = encode_records({r});
  // Count 1, id length 1 "a", dim 0, 1 field, key "k", tag 4, "v", no doc.
  ASSERT_EQ(bytes.size(), 4u + 5 + 4 + 4 + 5 + 1 + 5 + 1);
  auto tag_at = 4 + 5 + 4 + 4 + 5;
  for (char tag : {'\x05', '\xff'}) {
    auto bad = bytes;
    bad[tag_at] = tag;
    EXPECT_FALSE(decode_records(bad, back)) << int(tag);
  }
  auto long_id = bytes;
  long_id[4] = '\x7f';
  EXPECT_FALSE(decode_records(long_id, back));
  auto doc_flag = bytes;
  doc_flag.back() = '\x02';
  EXPECT_FALSE(decode_records(doc_flag, back));
}

TEST(record_codec, random_bytes_never_read_past_the_end) {
  std::mt19937 rng(7);
  auto good = encode_records(sample());
  std::vector<vector_record> back, again;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto bytes = good;
    for (int j = 0; j < 3; ++j)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (!decode_records(bytes, back)) continue;
    // Accepted (the bytes hit only ids, floats or values): a valid batch.
    ++accepted;
    ASSERT_TRUE(decode_records(encode_records(back), again)) << i;
    ASSERT_EQ(again.size(), back.size()) << i;
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace storage::detail
