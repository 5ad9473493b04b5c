// The `where` filter: the contract's JSON parsed by filter::parse, then what
// the backends make of it. Properties, for every filter that parses:
// - parse(to_json()) gives the same filter;
// - Chroma: on records derived from the input (the filter's fields, values
//   near the filter's own: ints, doubles fractional or not, bools, strings,
//   fields missing, a document), chroma_where(f) under Chroma 1.0.1's
//   semantics (chroma_where_model.hpp) selects exactly what f.matches does,
//   and is a clause Chroma accepts;
// - pgvector: where_sql's placeholders are exactly $1..$n for its n
//   parameters.
// Rejections are store_error; any other exception fails the run.
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/chroma/chroma_store_where.hpp"
#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "fuzz/chroma_where_model.hpp"
#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"
#include "messages/filter.hpp"
#include "messages/json.hpp"

namespace {

using namespace storage;
using nlohmann::json;

constexpr double two63 = 9223372036854775808.0;
constexpr std::int64_t two53 = std::int64_t{1} << 53;
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();

bool fits_i64(double d) {
  return std::isfinite(d) && d >= -two63 && d < two63;
}

void collect(const filter& f, std::set<std::string>& fields,
             std::vector<metadata_value>& values) {
  if (f.is_logical()) {
    for (auto& c : f.children()) collect(c, fields, values);
    return;
  }
  fields.insert(f.field());
  for (auto& v : f.values()) values.push_back(v);
}

// A stored value: one of the filter's values, or one near it in type or
// magnitude, or something unrelated.
metadata_value pick(const std::vector<metadata_value>& pool, fuzz::rng& g) {
  static const std::int64_t big_ints[] = {
      two53 - 1,     two53,   two53 + 1,   two53 + 2,
      -two53 - 1,    i64_max, i64_max - 1, i64_max - 511,
      i64_max - 512, i64_min, i64_min + 1, i64_min + 513};
  static const double big_doubles[] = {
      9007199254740992.0, two63, -two63, 1e19, 9.2233720368547748e18, -1e19};
  const metadata_value& v = pool[g.below(pool.size())];
  auto* i = std::get_if<std::int64_t>(&v);
  auto* d = std::get_if<double>(&v);
  switch (g.below(12)) {
    case 0:
      return v;
    case 1:  // the same number in the other type
      if (i) return static_cast<double>(*i);
      if (d && fits_i64(*d)) return static_cast<std::int64_t>(*d);
      return v;
    case 2:  // a neighbour
      if (i) return *i == i64_max ? *i - 1 : *i + 1;
      if (d) return *d + (g.below(2) ? 0.5 : -0.5);
      return v;
    case 3:  // an integer next to a fractional double
      if (d && fits_i64(*d) && std::isfinite(*d)) {
        double r = g.below(2) ? std::floor(*d) : std::ceil(*d);
        if (fits_i64(r)) return static_cast<std::int64_t>(r);
      }
      return static_cast<std::int64_t>(g.below(7)) - 3;
    case 4:
      return static_cast<std::int64_t>(g.below(7)) - 3;
    case 5:
      return (static_cast<double>(g.below(13)) - 6) / 2;
    case 6:
      return g.below(2) == 1;
    case 7: {
      static const char* words[] = {"", "a", "b", "chroma", "doc", "1"};
      if (std::holds_alternative<std::string>(v) && g.below(2)) return v;
      return std::string(words[g.below(6)]);
    }
    case 8:
      return big_ints[g.below(std::size(big_ints))];
    case 9:
      return big_doubles[g.below(std::size(big_doubles))];
    case 10:
      if (d && std::isfinite(*d))
        return std::nextafter(*d, g.below(2) ? HUGE_VAL : -HUGE_VAL);
      return v;
    default:
      if (i) return *i == i64_min ? *i + 1 : *i - 1;
      return v;
  }
}

struct record {
  metadata md;
  std::optional<std::string> document;
};

record make_record(const std::set<std::string>& fields,
                   const std::vector<metadata_value>& pool, fuzz::rng& g) {
  record r;
  for (auto& f : fields) {
    // Chroma keeps its own data under "chroma:"; the adapter refuses such
    // keys, so no record has one (the document row stands for them).
    if (f.rfind("chroma:", 0) == 0 || g.below(4) == 0) continue;
    r.md[f] = pick(pool, g);
  }
  switch (g.below(3)) {
    case 0:
      break;
    case 1:
      r.document = "doc";
      break;
    default:
      if (auto* s = std::get_if<std::string>(&pool[g.below(pool.size())]))
        r.document = *s;
  }
  return r;
}

std::string shown(const record& r) {
  return metadata_to_json(r.md).dump() + " document " +
         (r.document ? json(*r.document).dump() : "none");
}

// Whether chroma_where may select more than the filter (a "chroma:" key, a
// number beyond 2^53): the adapter then relies on filter::matches.
bool widened(const filter& f) {
  if (f.field().rfind("chroma:", 0) == 0) return true;
  for (auto& v : f.values())
    if (auto* d = std::get_if<double>(&v);
        d && !(std::fabs(*d) < 9007199254740992.0))
      return true;
    else if (auto* i = std::get_if<std::int64_t>(&v);
             i && (*i > two53 || *i < -two53))
      return true;
  for (auto& c : f.children())
    if (widened(c)) return true;
  return false;
}

void check_round_trip(const filter& f) {
  std::string text = f.to_json();
  filter again;
  try {
    again = filter::parse(text);
  } catch (const store_error& e) {
    fuzz::fail("to_json() does not parse back: " + fuzz::shown(text) + ": " +
               e.what());
  }
  fuzz::check(again == f, "parse(to_json()) differs: " + fuzz::shown(text) +
                              " became " + fuzz::shown(again.to_json()));
}

void check_chroma(const filter& f, fuzz::rng& g) {
  // What the adapter sends, read back as Chroma's JSON parser would see it.
  const json translated = chroma_where(f);
  const std::string sent = translated.dump();  // null: no where at all
  const json where = json::parse(sent);
  const bool exact = !widened(f);
  std::set<std::string> fields;
  std::vector<metadata_value> pool;
  collect(f, fields, pool);
  for (int n = 0; n < 8; ++n) {
    record r = make_record(fields, pool, g);
    chroma_model::rows rows = r.md;
    if (r.document) rows["chroma:document"] = *r.document;
    bool want = f.matches(r.md), got = false;
    try {
      got = where.is_null() || chroma_model::matches(where, rows);
    } catch (const chroma_model::rejected& e) {
      fuzz::fail("Chroma rejects the translated where " + fuzz::shown(sent) +
                 " of " + fuzz::shown(f.to_json()) + ": " + e.what());
    }
    // Never fewer than the filter; exactly as many unless widened.
    if ((want && !got) || (exact && got != want))
      fuzz::fail("Chroma selects differently: filter " +
                 fuzz::shown(f.to_json()) + ", chroma where " +
                 fuzz::shown(sent) + ", record " + fuzz::shown(shown(r)) +
                 ": filter::matches " + (want ? "true" : "false") +
                 ", Chroma " + (got ? "true" : "false"));
  }
}

void check_pgvector(const filter& f) {
  pgv::params p;
  const std::string sql = pgv::where_sql(f, p);
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$') continue;
    std::size_t n = 0, j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n < 1000000)
      n = n * 10 + static_cast<std::size_t>(sql[j++] - '0');
    fuzz::check(j > i + 1, "a '$' without a number in " + fuzz::shown(sql));
    seen.insert(n);
  }
  std::size_t count = p.values().size();
  fuzz::check(
      seen.size() == count &&
          (count == 0 || (*seen.begin() == 1 && *seen.rbegin() == count)),
      "where_sql uses " + std::to_string(seen.size()) + " placeholders for " +
          std::to_string(count) + " parameters: " + fuzz::shown(sql));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  filter f;
  try {
    f = filter::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const store_error&) {
    return 0;  // rejected, as it should be
  }
  check_round_trip(f);
  fuzz::rng g(fuzz::hash(data, size));
  check_chroma(f, g);
  check_pgvector(f);
  return 0;
}
