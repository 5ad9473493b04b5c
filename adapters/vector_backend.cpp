#include "adapters/vector_backend.hpp"

#include "messages/validation.hpp"

namespace storage {

bool vector_backend::build_index(const std::string& collection) {
  count(collection);  // collection_not_found when it is missing
  return false;
}

bool vector_backend::searches_from_memory(const std::string&) {
  return false;
}

std::vector<std::vector<search_hit>> vector_backend::search_batch(
    const std::string& collection, const batch_search_request& req) {
  // Checked whole first, so a bad query late in the batch fails it before
  // any search ran.
  validate_batch_search(req);
  search_request one;
  one.k = req.k;
  one.where = req.where;
  one.include = req.include;
  std::vector<std::vector<search_hit>> out;
  out.reserve(req.queries.size());
  for (std::size_t i = 0; i < req.queries.size(); ++i) {
    one.query = req.queries[i];
    try {
      out.push_back(search(collection, one));
    } catch (const store_error& e) {
      throw for_query(i, e);
    }
  }
  return out;
}

}  // namespace storage
