#include "runtime/vector_store.hpp"

#include "runtime/bridge.hpp"

namespace storage {

vector_store::vector_store(vector_store_actor handle,
                           std::shared_ptr<bridge> via,
                           std::shared_ptr<const call_target> target)
    : handle_(std::move(handle)),
      bridge_(std::move(via)),
      target_(std::move(target)) {}

const std::string& vector_store::name() const {
  return target_->name;
}

std::future<bool> vector_store::create_collection(collection_spec spec) {
  return bridge_->ask<bool, bool>(*target_, "create", as_is{},
                                  vcreate_atom::value, std::move(spec));
}

std::future<bool> vector_store::drop_collection(std::string name) {
  return bridge_->ask<bool, bool>(*target_, "drop", as_is{}, vdrop_atom::value,
                                  std::move(name));
}

std::future<std::vector<collection_spec>> vector_store::list_collections() {
  using specs = std::vector<collection_spec>;
  return bridge_->ask<specs, specs>(*target_, "list", as_is{},
                                    vlist_atom::value);
}

std::future<std::uint64_t> vector_store::upsert(std::string collection,
                                                std::vector<vector_record> rs) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      *target_, "upsert", as_is{}, vupsert_atom::value, std::move(collection),
      std::move(rs));
}

std::future<std::vector<vector_record>> vector_store::get(
    std::string collection, std::vector<std::string> xs) {
  return bridge_->ask<records, records>(*target_, "get", as_is{},
                                        vget_atom::value, std::move(collection),
                                        std::move(xs));
}

std::future<std::uint64_t> vector_store::remove(std::string collection,
                                                std::vector<std::string> xs) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      *target_, "delete", as_is{}, vdelete_atom::value, std::move(collection),
      std::move(xs));
}

std::future<std::uint64_t> vector_store::remove_where(std::string collection,
                                                      filter where) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      *target_, "delete", as_is{}, vdelete_atom::value, std::move(collection),
      std::move(where));
}

std::future<std::uint64_t> vector_store::count(std::string collection) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      *target_, "count", as_is{}, vcount_atom::value, std::move(collection));
}

std::future<std::vector<search_hit>> vector_store::search(
    std::string collection, search_request req) {
  using hits = std::vector<search_hit>;
  return bridge_->ask<hits, hits>(*target_, "search", as_is{},
                                  vsearch_atom::value, std::move(collection),
                                  std::move(req));
}

std::future<std::vector<std::vector<search_hit>>> vector_store::search_batch(
    std::string collection, batch_search_request req) {
  using lists = std::vector<std::vector<search_hit>>;
  return bridge_->ask<lists, lists>(*target_, "search", as_is{},
                                    vsearchb_atom::value, std::move(collection),
                                    std::move(req));
}

std::future<scan_page> vector_store::scan(std::string collection,
                                          std::string after,
                                          std::uint32_t limit) {
  return bridge_->ask<scan_page, scan_page>(
      *target_, "scan", as_is{}, vscan_atom::value, std::move(collection),
      std::move(after), limit);
}

}  // namespace storage
