#include "actors/migration/migration_digest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <cstring>

#include "messages/json.hpp"

namespace storage {

namespace {

struct fnv1a {
  std::uint64_t h = 1469598103934665603ull;

  void bytes(const void* data, std::size_t n) {
    auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  }

  void field(const std::string& s) {
    std::uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
};

}  // namespace

std::uint64_t record_digest(const vector_record& r) {
  fnv1a f;
  f.field(r.id);
  std::uint64_t n = r.embedding.size();
  f.bytes(&n, sizeof n);
  f.bytes(r.embedding.data(), r.embedding.size() * sizeof(float));
  f.field(metadata_to_json(normalized(r.metadata))
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::uint8_t has_doc = r.document ? 1 : 0;
  f.bytes(&has_doc, 1);
  if (r.document) f.field(*r.document);
  return f.h;
}

namespace {

// Chroma's server parses a JSON number to within a unit or two in the last
// place (90.42857142857143 comes back as 90.42857142857144), so a double
// that went through it is the same value to 15 significant digits, not
// bit for bit. Every other kind of value must be equal.
bool same_value(const metadata_value& x, const metadata_value& y) {
  auto* a = std::get_if<double>(&x);
  auto* b = std::get_if<double>(&y);
  if (!a || !b) return x == y;
  constexpr double ulps = 4 * std::numeric_limits<double>::epsilon();
  return *a == *b ||
         std::fabs(*a - *b) <= ulps * std::max(std::fabs(*a), std::fabs(*b));
}

// Within 5e-7 of each other relative to the larger: what printing a float
// with 7 significant digits may change. Relative, so a component near zero
// gets no more room than a large one (an absolute 1e-6 let a changed target
// pass verification; found by an outside audit).
bool within_seven_digits(float x, float y) {
  if (x == y) return true;
  double a = x, b = y;
  return std::fabs(a - b) <= 5e-7 * std::max(std::fabs(a), std::fabs(b));
}

bool same_metadata(const metadata& x, const metadata& y) {
  auto a = normalized(x), b = normalized(y);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](auto& l, auto& r) {
           return l.first == r.first && same_value(l.second, r.second);
         });
}

}  // namespace

bool same_up_to_rounding(const vector_record& a, const vector_record& b) {
  if (a.id != b.id || a.document != b.document ||
      !same_metadata(a.metadata, b.metadata) ||
      a.embedding.size() != b.embedding.size())
    return false;
  for (std::size_t i = 0; i < a.embedding.size(); ++i)
    if (!within_seven_digits(a.embedding[i], b.embedding[i])) return false;
  return true;
}

std::uint64_t entry_digest(const std::string& key, const std::string& value) {
  fnv1a f;
  f.field(key);
  f.field(value);
  return f.h;
}

}  // namespace storage
