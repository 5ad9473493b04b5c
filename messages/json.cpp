#include "messages/json.hpp"

#include <limits>

#include "messages/errors.hpp"

namespace storage {

using nlohmann::json;

metadata_value value_from_json(const json& j, const std::string& what) {
  switch (j.type()) {
    case json::value_t::null:
      return std::monostate{};
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
      return j.get<std::int64_t>();
    case json::value_t::number_unsigned: {
      auto u = j.get<std::uint64_t>();
      if (u >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw store_error(errc::invalid_argument,
                          what + ": integer out of the int64 range");
      return static_cast<std::int64_t>(u);
    }
    case json::value_t::number_float:
      return j.get<double>();
    case json::value_t::string:
      return j.get<std::string>();
    default:
      throw store_error(errc::invalid_argument,
                        what + ": expected null, bool, number or string, got " +
                            std::string(j.type_name()));
  }
}

json value_to_json(const metadata_value& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return nullptr;
        else
          return x;
      },
      v);
}

metadata metadata_from_json(const json& j) {
  if (j.is_null()) return {};
  if (!j.is_object())
    throw store_error(errc::invalid_argument, "metadata must be an object");
  metadata m;
  for (auto& [k, v] : j.items()) {
    if (k.empty())
      throw store_error(errc::invalid_argument, "metadata key is empty");
    m[k] = value_from_json(v, "metadata field '" + k + "'");
  }
  return normalized(std::move(m));
}

json metadata_to_json(const metadata& m) {
  json j = json::object();
  for (auto& [k, v] : m)
    if (!is_null(v)) j[k] = value_to_json(v);
  return j;
}

vector_record record_from_json(const json& j) {
  if (!j.is_object())
    throw store_error(errc::invalid_argument, "a record must be a JSON object");
  vector_record r;
  auto id = j.find("id");
  if (id == j.end() || !id->is_string())
    throw store_error(errc::invalid_argument, "a record needs a string \"id\"");
  r.id = id->get<std::string>();
  // A misspelt field ("metdata") would drop what it holds without a word.
  for (auto& [key, value] : j.items())
    if (key != "id" && key != "embedding" && key != "metadata" &&
        key != "document")
      throw store_error(errc::invalid_argument,
                        "record '" + r.id + "': unknown field '" + key +
                            "' (a record has id, embedding, metadata, "
                            "document)");
  auto emb = j.find("embedding");
  if (emb == j.end() || !emb->is_array())
    throw store_error(errc::invalid_argument,
                      "record '" + r.id + "' needs an \"embedding\" array");
  r.embedding.reserve(emb->size());
  for (auto& x : *emb) {
    if (!x.is_number())
      throw store_error(
          errc::invalid_argument,
          "record '" + r.id + "': embedding values must be numbers");
    r.embedding.push_back(x.get<float>());
  }
  if (auto m = j.find("metadata"); m != j.end())
    r.metadata = metadata_from_json(*m);
  if (auto d = j.find("document"); d != j.end() && !d->is_null()) {
    if (!d->is_string())
      throw store_error(errc::invalid_argument,
                        "record '" + r.id + "': document must be a string");
    r.document = d->get<std::string>();
  }
  return r;
}

json record_to_json(const vector_record& r) {
  json j;
  j["id"] = r.id;
  j["embedding"] = r.embedding;
  j["metadata"] = metadata_to_json(r.metadata);
  j["document"] = r.document ? json(*r.document) : json(nullptr);
  return j;
}

}  // namespace storage
