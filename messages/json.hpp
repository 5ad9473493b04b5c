// JSON conversions shared by storectl, the HTTP adapter and tests.
#pragma once

#include <nlohmann/json.hpp>

#include "messages/records.hpp"

namespace storage {

// Scalars only; a nested array or object is invalid_argument naming the key.
metadata_value value_from_json(const nlohmann::json& j,
                               const std::string& what);
nlohmann::json value_to_json(const metadata_value& v);

metadata metadata_from_json(const nlohmann::json& j);
nlohmann::json metadata_to_json(const metadata& m);

// {"id", "embedding", "metadata"?, "document"?}; invalid_argument on a
// missing id or embedding, or a value of the wrong type.
vector_record record_from_json(const nlohmann::json& j);
nlohmann::json record_to_json(const vector_record& r);

}  // namespace storage
