#include "adapters/chroma/chroma_store_reply.hpp"

#include <cstdint>

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

}  // namespace

vector_record chroma_record(const json& cols, std::size_t i) {
  vector_record r;
  r.id = cols.at("ids").at(i).get<std::string>();
  auto col = [&](const char* name) -> const json* {
    auto it = cols.find(name);
    if (it == cols.end() || !it->is_array() || i >= it->size()) return nullptr;
    return &(*it)[i];
  };
  if (auto* e = col("embeddings"); e && e->is_array()) {
    r.embedding.reserve(e->size());
    for (auto& x : *e) r.embedding.push_back(x.get<float>());
  }
  if (auto* m = col("metadatas"); m && m->is_object())
    r.metadata = metadata_from_json(*m);
  if (auto* d = col("documents"); d && d->is_string())
    r.document = d->get<std::string>();
  return r;
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
  for (const char* col : {"ids", "embeddings", "metadatas", "documents"})
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
