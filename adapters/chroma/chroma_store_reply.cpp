#include "adapters/chroma/chroma_store_reply.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "messages/errors.hpp"
#include "messages/json.hpp"

namespace storage {

using nlohmann::json;

namespace {

// get<std::uint32_t>() would wrap -1 or 2^32 + 1 into some other dimension.
std::uint32_t dimension_of(const json& d) {
  if (!d.is_number_unsigned() || d.get<std::uint64_t>() > UINT32_MAX)
    throw store_error(errc::internal,
                      "unexpected dimension from Chroma: " + d.dump());
  return d.get<std::uint32_t>();
}

constexpr char copy_prefix[] = "data:application/x-float32le;base64,";
constexpr char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A table, not strchr: a scan page decodes thousands of characters a record.
int b64_value(char c) {
  static const auto table = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(b64[i])] = static_cast<signed char>(i);
    return t;
  }();
  return table[static_cast<unsigned char>(c)];
}

// The values of an exact copy of `n` floats; nothing when `uri` is not one
// (another client's uri, or a copy of another length).
std::optional<std::vector<float>> decode_copy(const std::string& uri,
                                              std::size_t n) {
  const std::size_t plen = sizeof(copy_prefix) - 1;
  if (uri.compare(0, plen, copy_prefix) != 0) return std::nullopt;
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = plen; i < uri.size() && uri[i] != '='; ++i) {
    int v = b64_value(uri[i]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bytes.size() != 4 * n) return std::nullopt;
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u = 0;
    for (int b = 3; b >= 0; --b)
      u = (u << 8) | static_cast<unsigned char>(bytes[4 * i + b]);
    std::memcpy(&out[i], &u, sizeof u);
  }
  return out;
}

// Chroma gives back a cosine vector as its stored unit vector times its
// stored length, both float32: each value off by float32 rounding of the
// value and of the norm (summed over up to thousands of values), far below
// 1e-3 of the norm. A copy further off is stale: another client, which
// knows nothing of copies and whose upsert keeps the old uri, changed the
// embedding, and the embedding column is the truth.
bool agrees(const std::vector<float>& copy, const std::vector<float>& served) {
  double norm = 0;
  for (float x : copy) norm += static_cast<double>(x) * x;
  const double tolerance = 1e-3 * std::sqrt(norm);
  if (!std::isfinite(tolerance)) return false;  // an Inf would agree with all
  for (std::size_t i = 0; i < copy.size(); ++i)
    if (!(std::fabs(static_cast<double>(copy[i]) - served[i]) <= tolerance))
      return false;
  return true;
}

}  // namespace

std::string chroma_exact_copy(const std::vector<float>& embedding) {
  std::string bytes;
  bytes.reserve(4 * embedding.size());
  for (float x : embedding) {
    std::uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    for (int b = 0; b < 4; ++b)
      bytes.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
  }
  std::string out = copy_prefix;
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = 0;
    std::size_t take = std::min<std::size_t>(3, bytes.size() - i);
    for (std::size_t j = 0; j < 3; ++j)
      chunk = (chunk << 8) |
              (j < take ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (std::size_t j = 0; j < 4; ++j)
      out.push_back(j <= take ? b64[(chunk >> (18 - 6 * j)) & 63] : '=');
  }
  return out;
}

const char chroma_no_document[] = "#storage-no-document";

vector_record chroma_record(const json& cols, std::size_t i) {
  vector_record r;
  r.id = cols.at("ids").at(i).get<std::string>();
  auto col = [&](const char* name) -> const json* {
    auto it = cols.find(name);
    if (it == cols.end() || !it->is_array() || i >= it->size()) return nullptr;
    return &(*it)[i];
  };
  std::string uri;
  bool no_document = false;
  if (auto* u = col("uris"); u && u->is_string()) {
    uri = u->get<std::string>();
    const std::size_t mlen = sizeof(chroma_no_document) - 1;
    no_document = uri.size() >= mlen &&
                  uri.compare(uri.size() - mlen, mlen, chroma_no_document) == 0;
    if (no_document) uri.resize(uri.size() - mlen);
  }
  if (auto* e = col("embeddings"); e && e->is_array()) {
    r.embedding.reserve(e->size());
    for (auto& x : *e) r.embedding.push_back(x.get<float>());
    if (auto copy = decode_copy(uri, r.embedding.size());
        copy && agrees(*copy, r.embedding))
      r.embedding = std::move(*copy);
  }
  if (auto* m = col("metadatas"); m && m->is_object())
    r.metadata = metadata_from_json(*m);
  // The mark counts only over the "" written with it: another client that
  // gave the record a document since left the uri as it was.
  if (auto* d = col("documents"); d && d->is_string())
    if (!no_document || !d->get_ref<const std::string&>().empty())
      r.document = d->get<std::string>();
  return r;
}

json chroma_record_columns() {
  return json::array({"embeddings", "metadatas", "documents", "uris"});
}

std::vector<vector_record> chroma_records(const json& answer) {
  std::vector<vector_record> out;
  auto& ids = answer.at("ids");
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    out.push_back(chroma_record(answer, i));
  return out;
}

json chroma_query_columns(json& answer, std::size_t q) {
  json cols = json::object();
  for (const char* col :
       {"ids", "embeddings", "metadatas", "documents", "uris"})
    if (answer.contains(col) && answer[col].is_array() &&
        answer[col].size() > q)
      cols[col] = std::move(answer[col][q]);
  return cols;
}

chroma_collection chroma_collection_info(const json& c) {
  chroma_collection info;
  info.id = c.at("id").get<std::string>();
  const json* md = c.contains("metadata") && c["metadata"].is_object()
                       ? &c["metadata"]
                       : nullptr;
  if (md && md->contains("dimension") && (*md)["dimension"].is_number_integer())
    info.dimension = dimension_of((*md)["dimension"]);
  else if (c.contains("dimension") && c["dimension"].is_number_integer())
    info.dimension = dimension_of(c["dimension"]);
  std::string space = "l2";  // Chroma's default
  auto cfg = c.find("configuration_json");
  if (cfg != c.end() && cfg->is_object() && cfg->contains("hnsw") &&
      (*cfg)["hnsw"].is_object() && (*cfg)["hnsw"].contains("space") &&
      (*cfg)["hnsw"]["space"].is_string())
    space = (*cfg)["hnsw"]["space"].get<std::string>();
  else if (md && md->contains("hnsw:space") && (*md)["hnsw:space"].is_string())
    space = (*md)["hnsw:space"].get<std::string>();
  info.metric = parse_metric(space);
  return info;
}

std::pair<std::string, chroma_collection> chroma_listed_collection(
    const json& c) {
  auto info = chroma_collection_info(c);
  return {c.at("name").get<std::string>(), std::move(info)};
}

std::uint64_t chroma_count(const json& answer) {
  // Converting a float or a negative number would be undefined or wrong.
  if (!answer.is_number_integer() ||
      (!answer.is_number_unsigned() && answer.get<std::int64_t>() < 0))
    throw store_error(errc::internal, "unexpected count from Chroma: " +
                                          answer.dump().substr(0, 100));
  return answer.get<std::uint64_t>();
}

}  // namespace storage
