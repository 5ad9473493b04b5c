// What pgvector_store reads back from PostgreSQL as text: an embedding
// (parse_vector) and a jsonb metadata column (parse_metadata). The input is
// NUL-terminated as libpq's values are; its first byte picks the decoder
// (even: vector, odd: metadata) so each gets the whole rest. Properties:
// only store_error escapes; what parse_vector returned reads back equal
// from vector_text (NaN as NaN); what parse_metadata returned reads back
// equal from metadata_json.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"

namespace {

using storage::store_error;

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

void vector_case(const std::string& text) {
  std::vector<float> v;
  try {
    v = storage::pgv::parse_vector(text.c_str());
  } catch (const store_error&) {
    return;
  }
  const std::string back = storage::pgv::vector_text(v);
  std::vector<float> again;
  try {
    again = storage::pgv::parse_vector(back.c_str());
  } catch (const store_error& e) {
    fuzz::fail("vector_text output " + fuzz::shown(back) +
               " is unreadable: " + e.what());
  }
  fuzz::check(same(v, again),
              "vector " + fuzz::shown(text) + " became " + fuzz::shown(back));
}

void metadata_case(const std::string& text) {
  storage::metadata m;
  try {
    m = storage::pgv::parse_metadata(text.c_str());
  } catch (const store_error&) {
    return;
  }
  std::string back;
  try {
    back = storage::pgv::metadata_json(m);
  } catch (const store_error&) {
    return;  // e.g. a NUL byte, which PostgreSQL text cannot hold
  }
  storage::metadata again;
  try {
    again = storage::pgv::parse_metadata(back.c_str());
  } catch (const store_error& e) {
    fuzz::fail("metadata_json output " + fuzz::shown(back) +
               " is unreadable: " + e.what());
  }
  fuzz::check(again == m,
              "metadata " + fuzz::shown(text) + " became " + fuzz::shown(back));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  // c_str() ends the text at its first NUL, as PQgetvalue's does.
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
    vector_case(text);
  else
    metadata_case(text);
  return 0;
}
