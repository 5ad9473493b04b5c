// Merging the scan pages of a sharded pool: id order, the limit, and the
// cursor — including a shard's empty page that is not its last.
#include <gtest/gtest.h>

#include "actors/routing/vector_router_state.hpp"

namespace storage {
namespace {

scan_page page(std::vector<std::string> ids, std::string cursor) {
  scan_page p;
  for (auto& id : ids) p.records.push_back({id, {1.0f}, {}, std::nullopt});
  p.next_cursor = std::move(cursor);
  return p;
}

std::vector<std::string> ids(const scan_page& p) {
  std::vector<std::string> out;
  for (auto& r : p.records) out.push_back(r.id);
  return out;
}

TEST(scan_merge, pages_merge_in_id_order_up_to_the_limit) {
  std::vector<scan_page> parts{page({"c", "d"}, "d"), page({"a", "b"}, "")};
  auto merged = vector_detail::merge_pages(parts, 2);
  EXPECT_EQ(ids(merged), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(merged.next_cursor, "b");
}

TEST(scan_merge, the_last_pages_end_the_scan) {
  std::vector<scan_page> parts{page({"x"}, ""), page({}, "")};
  auto merged = vector_detail::merge_pages(parts, 10);
  EXPECT_EQ(ids(merged), std::vector<std::string>{"x"});
  EXPECT_TRUE(merged.next_cursor.empty());
}

TEST(scan_merge, an_empty_page_that_is_not_the_last_keeps_the_scan_going) {
  // Chroma returns one when the ids it listed were removed before it
  // fetched them: the scan must go on, not end early.
  std::vector<scan_page> parts{page({}, "m"), page({}, "k"), page({}, "")};
  auto merged = vector_detail::merge_pages(parts, 10);
  EXPECT_TRUE(merged.records.empty());
  EXPECT_EQ(merged.next_cursor, "k");
  std::vector<scan_page> one{page({}, "q")};
  EXPECT_EQ(vector_detail::merge_pages(one, 10).next_cursor, "q");
}

}  // namespace
}  // namespace storage
