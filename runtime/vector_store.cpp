#include "runtime/vector_store.hpp"

#include "runtime/bridge.hpp"

namespace storage {

vector_store::vector_store(vector_store_actor router,
                           std::shared_ptr<bridge> via, std::string name)
    : router_(std::move(router)),
      bridge_(std::move(via)),
      name_(std::move(name)) {}

std::future<bool> vector_store::create_collection(collection_spec spec) {
  return bridge_->ask<bool, bool>(router_, "create", name_, as_is{},
                                  vcreate_atom::value, std::move(spec));
}

std::future<bool> vector_store::drop_collection(std::string name) {
  return bridge_->ask<bool, bool>(router_, "drop", name_, as_is{},
                                  vdrop_atom::value, std::move(name));
}

std::future<std::vector<collection_spec>> vector_store::list_collections() {
  using specs = std::vector<collection_spec>;
  return bridge_->ask<specs, specs>(router_, "list", name_, as_is{},
                                    vlist_atom::value);
}

std::future<std::uint64_t> vector_store::upsert(std::string collection,
                                                std::vector<vector_record> rs) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      router_, "upsert", name_, as_is{}, vupsert_atom::value,
      std::move(collection), std::move(rs));
}

std::future<std::vector<vector_record>> vector_store::get(
    std::string collection, std::vector<std::string> xs) {
  return bridge_->ask<records, records>(router_, "get", name_, as_is{},
                                        vget_atom::value, std::move(collection),
                                        std::move(xs));
}

std::future<std::uint64_t> vector_store::remove(std::string collection,
                                                std::vector<std::string> xs) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      router_, "delete", name_, as_is{}, vdelete_atom::value,
      std::move(collection), std::move(xs));
}

std::future<std::uint64_t> vector_store::remove_where(std::string collection,
                                                      filter where) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      router_, "delete", name_, as_is{}, vdelete_atom::value,
      std::move(collection), std::move(where));
}

std::future<std::uint64_t> vector_store::count(std::string collection) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(router_, "count", name_,
                                                    as_is{}, vcount_atom::value,
                                                    std::move(collection));
}

std::future<std::vector<search_hit>> vector_store::search(
    std::string collection, search_request req) {
  using hits = std::vector<search_hit>;
  return bridge_->ask<hits, hits>(router_, "search", name_, as_is{},
                                  vsearch_atom::value, std::move(collection),
                                  std::move(req));
}

std::future<scan_page> vector_store::scan(std::string collection,
                                          std::string after,
                                          std::uint32_t limit) {
  return bridge_->ask<scan_page, scan_page>(
      router_, "scan", name_, as_is{}, vscan_atom::value, std::move(collection),
      std::move(after), limit);
}

}  // namespace storage
