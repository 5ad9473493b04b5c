// Collections: the database they live in, their specs, the name -> id cache.
#include <algorithm>

#include "adapters/chroma/chroma_store.hpp"
#include "messages/validation.hpp"

namespace storage {

using nlohmann::json;

void chroma_store::ensure_database() {
  if (database_ready_) return;
  std::string tenant = "/api/v2/tenants/" + http_.escape(opts_.tenant);
  auto r =
      http_.send("GET", tenant + "/databases/" + http_.escape(opts_.database));
  if (r.status == 404) {
    json t{{"name", opts_.tenant}}, d{{"name", opts_.database}};
    // 409 means another connection created it first: fine.
    auto rt = http_.send("GET", tenant);
    if (rt.status == 404) {
      auto c = http_.send("POST", "/api/v2/tenants", &t);
      if (c.status / 100 != 2 && c.status != 409)
        throw store_error(
            chroma_error_code(c.status, c.message),
            "cannot create Chroma tenant '" + opts_.tenant + "': " + c.message);
    }
    auto c = http_.send("POST", tenant + "/databases", &d);
    if (c.status / 100 != 2 && c.status != 409)
      throw store_error(chroma_error_code(c.status, c.message),
                        "cannot create Chroma database '" + opts_.database +
                            "': " + c.message);
  } else if (r.status / 100 != 2) {
    throw store_error(chroma_error_code(r.status, r.message),
                      "Chroma database '" + opts_.database + "': " + r.message);
  }
  database_ready_ = true;
}

std::string chroma_store::collections_path() const {
  return "/api/v2/tenants/" + http_.escape(opts_.tenant) + "/databases/" +
         http_.escape(opts_.database) + "/collections";
}

chroma_store::collection_info chroma_store::lookup(const std::string& name) {
  auto it = cache_.find(name);
  if (it != cache_.end()) return it->second;
  ensure_database();
  auto c = http_.send("GET", collections_path() + "/" + http_.escape(name));
  if (c.status == 404)
    throw store_error(errc::collection_not_found,
                      "no collection '" + name + "'");
  if (c.status / 100 != 2)
    throw store_error(chroma_error_code(c.status, c.message),
                      "Chroma at " + http_.endpoint() + " answered " +
                          std::to_string(c.status) + " looking up '" + name +
                          "': " + c.message);
  return cache_[name] = chroma_collection_info(c.body);
}

bool chroma_store::create_collection(const collection_spec& spec) {
  return guarded("create_collection", [&] {
    validate_collection_spec(spec);
    ensure_database();
    json md{{"hnsw:space", to_string(spec.metric)},
            {"dimension", spec.dimension},
            {"hnsw:M", opts_.m},
            {"hnsw:construction_ef", opts_.ef_construction},
            {"hnsw:search_ef", opts_.ef_search}};
    json body{{"name", spec.name}, {"metadata", md}};
    auto r = http_.send("POST", collections_path(), &body);
    if (r.status / 100 == 2) {
      cache_[spec.name] = chroma_collection_info(r.body);
      return true;
    }
    if (r.status != 409)
      throw store_error(chroma_error_code(r.status, r.message),
                        "cannot create '" + spec.name + "': " + r.message);
    cache_.erase(spec.name);
    auto info = lookup(spec.name);
    if (info.dimension != spec.dimension || info.metric != spec.metric)
      throw store_error(errc::conflict,
                        "collection '" + spec.name +
                            "' exists with dimension " +
                            std::to_string(info.dimension) + " and metric " +
                            to_string(info.metric) + ", not dimension " +
                            std::to_string(spec.dimension) + " and metric " +
                            to_string(spec.metric));
    return false;
  });
}

bool chroma_store::drop_collection(const std::string& name) {
  return guarded("drop_collection", [&] {
    ensure_database();
    cache_.erase(name);
    auto r =
        http_.send("DELETE", collections_path() + "/" + http_.escape(name));
    if (r.status == 404) return false;
    if (r.status / 100 != 2)
      throw store_error(chroma_error_code(r.status, r.message),
                        "cannot drop '" + name + "': " + r.message);
    return true;
  });
}

std::vector<collection_spec> chroma_store::list_collections() {
  return guarded("list_collections", [&] {
    ensure_database();
    std::vector<collection_spec> out;
    const std::size_t page = 100;
    for (std::size_t offset = 0;; offset += page) {
      json list =
          call("GET", collections_path() + "?limit=" + std::to_string(page) +
                          "&offset=" + std::to_string(offset));
      for (auto& c : list) {
        auto [name, info] = chroma_listed_collection(c);
        cache_[name] = info;
        out.push_back({name, info.dimension, info.metric});
      }
      if (list.size() < page) break;
    }
    std::sort(out.begin(), out.end(),
              [](auto& a, auto& b) { return a.name < b.name; });
    return out;
  });
}

}  // namespace storage
