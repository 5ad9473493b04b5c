#include "actors/cache_router.hpp"

#include "messages/validation.hpp"

namespace storage {

namespace {

using pool_type = worker_pool<cache_backend, cache_worker_actor>;
struct router_state : router_base<cache_backend, cache_worker_actor> {};
using self_ptr = cache_router_actor::stateful_pointer<router_state>;
using worker = cache_worker_actor;
using ms = std::chrono::milliseconds;

template <class T>
T first(std::vector<T>& parts) {
  return std::move(parts.front());
}

std::uint64_t sum(std::vector<std::uint64_t>& parts) {
  std::uint64_t n = 0;
  for (auto x : parts) n += x;
  return n;
}

template <class T, class Fn>
bool rejected(self_ptr self, caf::typed_response_promise<T>& rp, const char* op,
              Fn&& check) {
  try {
    check();
    return false;
  } catch (const store_error& e) {
    rp.deliver(to_caf_error(e.with_context(op, self->state.pool->spec.store)));
    return true;
  }
}

// A read of one key: its shard, or any worker when the backend holds state.
std::vector<std::uint32_t> reader_of(self_ptr self, const std::string& key) {
  auto& pool = *self->state.pool;
  return {pool.spec.sharded ? pool.owner(key) : pool.least_loaded()};
}

std::vector<std::uint32_t> writer_of(self_ptr self, const std::string& key) {
  return {self->state.pool->owner(key)};
}

// Whole-namespace operations: every shard, or one worker.
std::vector<std::uint32_t> everyone_or_one(self_ptr self) {
  auto& pool = *self->state.pool;
  if (pool.spec.sharded) return all_workers(pool.size());
  return {pool.least_loaded()};
}

cache_scan_page merge_pages(std::vector<cache_scan_page>& parts,
                            std::uint32_t limit) {
  if (parts.size() == 1) return std::move(parts.front());
  // Shards page by key order, so the merged cursor is the last key returned.
  cache_scan_page out;
  bool more = false;
  for (auto& p : parts) {
    more = more || !p.next_cursor.empty();
    for (auto& e : p.entries) out.entries.push_back(std::move(e));
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  if (out.entries.size() > limit) {
    out.entries.resize(limit);
    more = true;
  }
  if (more && !out.entries.empty()) out.next_cursor = out.entries.back().key;
  return out;
}

// Splits keyed items by owning worker; returns the targets and their parts.
template <class Item, class KeyOf>
std::pair<std::vector<std::uint32_t>, std::vector<std::vector<Item>>> split(
    self_ptr self, const std::vector<Item>& items, KeyOf key_of) {
  auto parts = partition(*self->state.pool, items, key_of);
  std::pair<std::vector<std::uint32_t>, std::vector<std::vector<Item>>> out;
  for (std::uint32_t i = 0; i < parts.size(); ++i)
    if (!parts[i].empty()) {
      out.first.push_back(i);
      out.second.push_back(pick(items, parts[i]));
    }
  return out;
}

cache_router_actor::behavior_type cache_router(self_ptr self,
                                               pool_factory<cache_backend> make,
                                               pool_spec<cache_backend> spec) {
  self->state.make_pool = std::move(make);
  self->state.set_pool(
      start_pool<pool_type>(self, std::move(spec), spawn_cache_worker));
  self->set_down_handler([=](caf::down_msg& dm) { on_worker_down(self, dm); });
  close_workers_on_exit(self, close_atom::value);
  return {
      [=](cget_atom, const std::string& k) {
        auto rp = self->make_response_promise<maybe_value>();
        if (rejected(self, rp, "get", [&] { validate_key(k); })) return rp;
        return fan_out<maybe_value>(
            self, rp, reader_of(self, k), "get",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cget_atom::value, k);
            },
            first<maybe_value>);
      },
      [=](cset_atom, const cache_entry& e) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "set", [&] {
              validate_key(e.key);
              validate_ttl(e.ttl);
            }))
          return rp;
        return fan_out<bool>(
            self, rp, writer_of(self, e.key), "set",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cset_atom::value, e);
            },
            first<bool>);
      },
      [=](cadd_atom, const cache_entry& e) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "add", [&] {
              validate_key(e.key);
              validate_ttl(e.ttl);
            }))
          return rp;
        return fan_out<bool>(
            self, rp, writer_of(self, e.key), "add",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cadd_atom::value, e);
            },
            first<bool>);
      },
      [=](cdel_atom, const ids& keys) {
        auto rp = self->make_response_promise<std::uint64_t>();
        if (rejected(self, rp, "del", [&] { validate_keys(keys); })) return rp;
        auto [targets, parts] =
            split(self, keys, [](const std::string& k) { return k; });
        return fan_out<std::uint64_t>(
            self, rp, targets, "del",
            [=, parts = parts](const worker& w, std::size_t part, ms t) {
              return self->request(w, t, cdel_atom::value, parts[part]);
            },
            sum);
      },
      [=](cexists_atom, const std::string& k) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "exists", [&] { validate_key(k); })) return rp;
        return fan_out<bool>(
            self, rp, reader_of(self, k), "exists",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cexists_atom::value, k);
            },
            first<bool>);
      },
      [=](cmget_atom, const ids& keys) {
        using values = std::vector<maybe_value>;
        auto rp = self->make_response_promise<values>();
        if (rejected(self, rp, "mget", [&] { validate_keys(keys); })) return rp;
        if (!self->state.pool->spec.sharded)
          return fan_out<values>(
              self, rp, {self->state.pool->least_loaded()}, "mget",
              [=](const worker& w, std::size_t, ms t) {
                return self->request(w, t, cmget_atom::value, keys);
              },
              first<values>);
        auto positions = partition(*self->state.pool, keys,
                                   [](const std::string& k) { return k; });
        auto targets = all_workers(self->state.pool->size());
        return fan_out<values>(
            self, rp, targets, "mget",
            [=](const worker& w, std::size_t part, ms t) {
              return self->request(w, t, cmget_atom::value,
                                   pick(keys, positions[part]));
            },
            [=](std::vector<values>& parts) {
              // Each answer back at the position of its key.
              values out(keys.size());
              for (std::size_t s = 0; s < parts.size(); ++s)
                for (std::size_t j = 0; j < parts[s].size(); ++j)
                  out[positions[s][j]] = std::move(parts[s][j]);
              return out;
            });
      },
      [=](cmset_atom, const std::vector<cache_entry>& es) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "mset", [&] {
              for (auto& e : es) {
                validate_key(e.key);
                validate_ttl(e.ttl);
              }
            }))
          return rp;
        // Split by key so per-key order holds; each part is atomic.
        auto [targets, parts] =
            split(self, es, [](const cache_entry& e) { return e.key; });
        return fan_out<bool>(
            self, rp, targets, "mset",
            [=, parts = parts](const worker& w, std::size_t part, ms t) {
              return self->request(w, t, cmset_atom::value, parts[part]);
            },
            [](std::vector<bool>&) { return true; });
      },
      [=](cincr_atom, const std::string& k, std::int64_t by) {
        auto rp = self->make_response_promise<std::int64_t>();
        if (rejected(self, rp, "incr", [&] { validate_key(k); })) return rp;
        return fan_out<std::int64_t>(
            self, rp, writer_of(self, k), "incr",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cincr_atom::value, k, by);
            },
            first<std::int64_t>);
      },
      [=](cexpire_atom, const std::string& k, std::int64_t ttl) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "expire", [&] {
              validate_key(k);
              validate_ttl(ttl);
            }))
          return rp;
        return fan_out<bool>(
            self, rp, writer_of(self, k), "expire",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cexpire_atom::value, k, ttl);
            },
            first<bool>);
      },
      [=](cttl_atom, const std::string& k) {
        auto rp = self->make_response_promise<ttl_info>();
        if (rejected(self, rp, "ttl", [&] { validate_key(k); })) return rp;
        return fan_out<ttl_info>(
            self, rp, reader_of(self, k), "ttl",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cttl_atom::value, k);
            },
            first<ttl_info>);
      },
      [=](cclear_atom) {
        auto rp = self->make_response_promise<std::uint64_t>();
        return fan_out<std::uint64_t>(
            self, rp, everyone_or_one(self), "clear",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cclear_atom::value);
            },
            sum);
      },
      [=](cscan_atom, const std::string& cursor, std::uint32_t limit) {
        auto rp = self->make_response_promise<cache_scan_page>();
        if (rejected(self, rp, "scan", [&] {
              if (limit == 0)
                throw store_error(errc::invalid_argument,
                                  "scan limit must be positive");
            }))
          return rp;
        return fan_out<cache_scan_page>(
            self, rp, everyone_or_one(self), "scan",
            [=](const worker& w, std::size_t, ms t) {
              return self->request(w, t, cscan_atom::value, cursor, limit);
            },
            [limit](std::vector<cache_scan_page>& parts) {
              return merge_pages(parts, limit);
            });
      },
      [=](swap_atom, const std::string& uri) {
        return swap_pool<pool_type>(self, uri, spawn_cache_worker,
                                    close_atom::value);
      },
      [=](workers_atom) { return current_workers(self); },
      [=](respawn_atom, std::uint64_t gen, std::uint32_t i) {
        respawn_worker(self, gen, i, spawn_cache_worker);
      },
  };
}

}  // namespace

cache_router_actor spawn_cache_router(caf::actor_system& sys,
                                      pool_factory<cache_backend> make_pool,
                                      const std::string& uri) {
  auto spec = make_pool(uri);
  return sys.spawn(cache_router, std::move(make_pool), std::move(spec));
}

}  // namespace storage
