// Chroma's answers as chroma_store decodes them
// (adapters/chroma/chroma_store_reply.hpp). The first byte picks the answer (a
// /get, a /query with its hits' distances, a collection, a /collections page, a
// /count), the rest is the body, parsed as chroma_http parses it (not JSON:
// null). Property: a malformed answer is an error, not a crash or undefined
// behaviour: only store_error escapes, or nlohmann::json::exception, which
// chroma_store's guarded() (around every public operation, hence every
// decoding) turns into store_error(internal). A collection's dimension is the
// one the answer gives.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/chroma/chroma_store_reply.hpp"
#include "fuzz/fuzz_support.hpp"
#include "messages/distance.hpp"
#include "messages/errors.hpp"

namespace {

using nlohmann::json;
using namespace storage;

void check_dimension(const json& c, const chroma_collection& info) {
  // Where parse_collection looks: metadata.dimension, else dimension.
  const json* d = nullptr;
  if (c.contains("metadata") && c["metadata"].is_object() &&
      c["metadata"].contains("dimension") &&
      c["metadata"]["dimension"].is_number_integer())
    d = &c["metadata"]["dimension"];
  else if (c.contains("dimension") && c["dimension"].is_number_integer())
    d = &c["dimension"];
  if (!d) {
    fuzz::check(info.dimension == 0, "a dimension from nowhere");
    return;
  }
  fuzz::check(d->dump() == std::to_string(info.dimension),
              "dimension " + d->dump() + " decoded as " +
                  std::to_string(info.dimension));
}

void query(json& answer) {
  // As chroma_store::query_many: each query's columns, each row a record
  // and its distance to the query.
  const std::vector<float> q{0.5f, -1.0f, 2.0f};
  for (std::size_t n = 0; n < 4; ++n) {
    json cols = chroma_query_columns(answer, n);
    std::size_t raw = cols.contains("ids") ? cols["ids"].size() : 0;
    for (std::size_t i = 0; i < raw; ++i) {
      auto rec = chroma_record(cols, i);
      for (auto m : {metric::l2, metric::cosine, metric::ip})
        (void)distance(m, rec.embedding, q);
    }
  }
}

void decode(std::uint8_t kind, json& answer) {
  switch (kind % 5) {
    case 0:
      (void)chroma_records(answer);
      return;
    case 1:
      query(answer);
      return;
    case 2: {
      auto info = chroma_collection_info(answer);
      check_dimension(answer, info);
      return;
    }
    case 3:
      // As chroma_store::list_collections walks a page.
      for (auto& c : answer) {
        auto listed = chroma_listed_collection(c);
        check_dimension(c, listed.second);
      }
      (void)answer.size();
      return;
    default:
      (void)chroma_count(answer);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  json answer = json::parse(data + 1, data + size, nullptr, false);
  if (answer.is_discarded()) answer = nullptr;
  try {
    decode(data[0], answer);
  } catch (const store_error&) {
  } catch (const json::exception&) {
    // guarded(): store_error(internal, "unexpected answer from Chroma ...")
  }
  return 0;
}
