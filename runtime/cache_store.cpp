#include "runtime/cache_store.hpp"

#include "runtime/bridge.hpp"

namespace storage {

namespace {

std::optional<std::string> from_maybe(maybe_value& v) {
  if (!v.found) return std::nullopt;
  return std::move(v.value);
}

struct ignore {
  void operator()(bool&) const {}
};

}  // namespace

cache_store::cache_store(cache_store_actor handle, std::shared_ptr<bridge> via,
                         std::shared_ptr<const call_target> target)
    : handle_(std::move(handle)),
      bridge_(std::move(via)),
      target_(std::move(target)) {}

const std::string& cache_store::name() const {
  return target_->name;
}

std::future<std::optional<std::string>> cache_store::get(std::string key) {
  return bridge_->ask<maybe_value, std::optional<std::string>>(
      *target_, "get", from_maybe, cget_atom::value, std::move(key));
}

std::future<void> cache_store::set(std::string key, std::string value,
                                   ttl_ms ttl) {
  return bridge_->ask<bool, void>(
      *target_, "set", ignore{}, cset_atom::value,
      cache_entry{std::move(key), std::move(value), ttl});
}

std::future<bool> cache_store::add(std::string key, std::string value,
                                   ttl_ms ttl) {
  return bridge_->ask<bool, bool>(
      *target_, "add", as_is{}, cadd_atom::value,
      cache_entry{std::move(key), std::move(value), ttl});
}

std::future<std::uint64_t> cache_store::del(std::vector<std::string> keys) {
  return bridge_->ask<std::uint64_t, std::uint64_t>(
      *target_, "del", as_is{}, cdel_atom::value, std::move(keys));
}

std::future<bool> cache_store::exists(std::string key) {
  return bridge_->ask<bool, bool>(*target_, "exists", as_is{},
                                  cexists_atom::value, std::move(key));
}

std::future<std::vector<std::optional<std::string>>> cache_store::mget(
    std::vector<std::string> keys) {
  using values = std::vector<std::optional<std::string>>;
  auto convert = [](std::vector<maybe_value>& vs) {
    values out;
    out.reserve(vs.size());
    for (auto& v : vs) out.push_back(from_maybe(v));
    return out;
  };
  return bridge_->ask<std::vector<maybe_value>, values>(
      *target_, "mget", convert, cmget_atom::value, std::move(keys));
}

std::future<void> cache_store::mset(std::vector<cache_entry> entries) {
  return bridge_->ask<bool, void>(*target_, "mset", ignore{}, cmset_atom::value,
                                  std::move(entries));
}

std::future<std::int64_t> cache_store::incr(std::string key, std::int64_t by) {
  return bridge_->ask<std::int64_t, std::int64_t>(
      *target_, "incr", as_is{}, cincr_atom::value, std::move(key), by);
}

std::future<bool> cache_store::expire(std::string key, std::int64_t ttl) {
  return bridge_->ask<bool, bool>(*target_, "expire", as_is{},
                                  cexpire_atom::value, std::move(key), ttl);
}

std::future<ttl_info> cache_store::ttl(std::string key) {
  return bridge_->ask<ttl_info, ttl_info>(*target_, "ttl", as_is{},
                                          cttl_atom::value, std::move(key));
}

std::future<std::uint64_t> cache_store::clear() {
  return bridge_->ask<std::uint64_t, std::uint64_t>(*target_, "clear", as_is{},
                                                    cclear_atom::value);
}

std::future<cache_scan_page> cache_store::scan(std::string cursor,
                                               std::uint32_t limit) {
  return bridge_->ask<cache_scan_page, cache_scan_page>(
      *target_, "scan", as_is{}, cscan_atom::value, std::move(cursor), limit);
}

}  // namespace storage
