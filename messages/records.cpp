#include "messages/records.hpp"

#include "messages/errors.hpp"

namespace storage {

const char* to_string(metric m) {
  switch (m) {
    case metric::l2:
      return "l2";
    case metric::ip:
      return "ip";
    default:
      return "cosine";
  }
}

metric parse_metric(const std::string& name) {
  if (name == "cosine") return metric::cosine;
  if (name == "l2") return metric::l2;
  if (name == "ip") return metric::ip;
  throw store_error(errc::invalid_argument,
                    "unknown metric '" + name + "' (cosine, l2 or ip)");
}

bool operator==(const vector_record& a, const vector_record& b) {
  return a.id == b.id && a.embedding == b.embedding &&
         normalized(a.metadata) == normalized(b.metadata) &&
         a.document == b.document;
}

}  // namespace storage
