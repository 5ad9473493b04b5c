// search_bound (actors/pool/search_bound.hpp): a part keeps a hit only while
// it is among the k closest offered by every part so far, ties by id.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/pool/search_bound.hpp"

namespace storage {
namespace {

std::vector<search_hit> offered(
    std::vector<std::pair<double, std::string>> xs) {
  std::vector<search_hit> out;
  for (auto& [d, id] : xs) {
    search_hit h;
    h.id = id;
    h.distance = d;
    out.push_back(h);
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<search_hit>& hs) {
  std::vector<std::string> out;
  for (auto& h : hs) out.push_back(h.id);
  return out;
}

TEST(search_bound, keeps_every_hit_until_k_were_offered) {
  search_bound b(3);
  EXPECT_FALSE(b.full());
  auto first = offered({{5, "e"}, {9, "i"}});
  b.keep_contenders(first);
  EXPECT_EQ(ids_of(first), (std::vector<std::string>{"e", "i"}));
  EXPECT_FALSE(b.full());
}

TEST(search_bound, drops_what_the_k_closest_so_far_beat) {
  search_bound b(3);
  auto first = offered({{1, "a"}, {4, "d"}, {6, "f"}});
  b.keep_contenders(first);
  EXPECT_EQ(ids_of(first), (std::vector<std::string>{"a", "d", "f"}));
  EXPECT_TRUE(b.full());
  // 2 and 3 push 4 and 6 out; 7 never got in.
  auto second = offered({{2, "b"}, {3, "c"}, {7, "g"}});
  b.keep_contenders(second);
  EXPECT_EQ(ids_of(second), (std::vector<std::string>{"b", "c"}));
  auto third = offered({{3.5, "x"}});
  b.keep_contenders(third);
  EXPECT_TRUE(third.empty()) << "the three closest are 1, 2 and 3";
}

TEST(search_bound, breaks_a_tie_at_the_kth_by_id) {
  search_bound b(2);
  auto first = offered({{1, "a"}, {2, "m"}});
  b.keep_contenders(first);
  auto second = offered({{2, "n"}, {2, "b"}});
  b.keep_contenders(second);
  // At distance 2, "b" ranks before "m" and "n".
  EXPECT_EQ(ids_of(second), (std::vector<std::string>{"b"}));
}

TEST(search_bound, keeps_nothing_for_k_zero) {
  search_bound b(0);
  auto hs = offered({{1, "a"}});
  b.keep_contenders(hs);
  EXPECT_TRUE(hs.empty());
}

}  // namespace
}  // namespace storage
