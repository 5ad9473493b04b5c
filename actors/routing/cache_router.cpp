#include "actors/routing/cache_router_state.hpp"
#include "actors/routing/router_shared.hpp"
#include "messages/validation.hpp"

namespace storage::cache_detail {

cache_scan_page merge_pages(std::vector<cache_scan_page>& parts,
                            std::uint32_t limit) {
  return merge_scan_pages(
      parts, limit, &cache_scan_page::entries,
      [](const auto& e) -> const std::string& { return e.key; });
}

void mget_on(self_ptr self, std::shared_ptr<pool_type> pool,
             caf::typed_response_promise<values> rp, const ids& keys,
             bool external) {
  auto send = [&](std::vector<std::uint32_t> targets, auto make_req,
                  auto merge) {
    if (external)
      fan_out<values>(self, rp, targets, "mget", make_req, merge);
    else
      ask_pool<values>(self, pool, rp, targets, "mget", make_req, merge);
  };
  if (!pool->spec.sharded)
    return send(
        {pool_type::by_caller},
        [=](const worker& w, std::size_t, job_ticket t) {
          return ask_worker(self, w, std::move(t), cmget_atom::value, keys);
        },
        first<values>);
  auto positions =
      partition(*pool, keys, [](const std::string& k) { return k; });
  send(
      all_workers(pool->size()),
      [=](const worker& w, std::size_t part, job_ticket t) {
        return ask_worker(self, w, std::move(t), cmget_atom::value,
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
}

namespace {

// A read of one key: its shard, or any worker when the backend holds state.
std::vector<std::uint32_t> reader_of(self_ptr self, const std::string& key) {
  auto& pool = *self->state.pool;
  return {pool.for_key(key)};
}

std::vector<std::uint32_t> writer_of(self_ptr self, const std::string& key) {
  return {self->state.pool->for_key(key)};
}

// Splits keyed items by owning worker; returns the targets and their parts.
template <class Item, class KeyOf>
std::pair<std::vector<std::uint32_t>, std::vector<std::vector<Item>>> split(
    self_ptr self, const std::vector<Item>& items, KeyOf key_of) {
  auto parts = partition(*self->state.pool, items, key_of);
  std::pair<std::vector<std::uint32_t>, std::vector<std::vector<Item>>> out;
  for (std::uint32_t i = 0; i < parts.size(); ++i)
    if (!parts[i].empty()) {
      out.first.push_back(part_target(*self->state.pool, i));
      out.second.push_back(pick(items, parts[i]));
    }
  return out;
}

using slots = std::shared_ptr<std::vector<mirror_slot<worker>>>;

slots make_slots(std::size_t n) {
  return std::make_shared<std::vector<mirror_slot<worker>>>(n);
}

// add, incr and expire: the result depends on the source's state, so the
// target gets that state, read right behind the request on its worker.
template <class Reply, class Atom, class... Ts>
void stateful(self_ptr self, caf::typed_response_promise<Reply> rp,
              const char* op, const std::string& key, Atom atom, Ts... xs) {
  fan_out<Reply>(
      self, rp, writer_of(self, key), op,
      [=](const worker& w, std::size_t, job_ticket t) {
        auto sent = ask_worker(self, w, std::move(t), atom, xs...);
        mirror_slot<worker> slot{keyed_sent(self, {key}), w};
        if (slot.entry) copy_keys(self, slot, {key});
        return sent;
      },
      first<Reply>);
}

void set(self_ptr self, caf::typed_response_promise<bool> rp,
         const cache_entry& e) {
  if (rejected(self, rp, "set", [&] { validate_entry(e); })) return;
  auto s = make_slots(1);
  fan_out<bool>(
      self, rp, writer_of(self, e.key), "set",
      [=](const worker& w, std::size_t, job_ticket t) {
        (*s)[0] = {keyed_sent(self, {e.key}), w};
        return ask_worker(self, w, std::move(t), cset_atom::value, e);
      },
      first<bool>,
      [=](std::size_t, bool* ok, const caf::error*) {
        set_done(self, (*s)[0], e, ok != nullptr);
      });
}

void del(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
         const ids& keys) {
  if (rejected(self, rp, "del", [&] { validate_keys(keys); })) return;
  auto [targets, parts] =
      split(self, keys, [](const std::string& k) { return k; });
  auto s = make_slots(targets.size());
  fan_out<std::uint64_t>(
      self, rp, targets, "del",
      [=, parts = parts](const worker& w, std::size_t part, job_ticket t) {
        (*s)[part] = {keyed_sent(self, parts[part]), w};
        return ask_worker(self, w, std::move(t), cdel_atom::value, parts[part]);
      },
      sum,
      [=, parts = parts](std::size_t part, std::uint64_t* ok,
                         const caf::error*) {
        del_done(self, (*s)[part], parts[part], ok != nullptr);
      });
}

void mset(self_ptr self, caf::typed_response_promise<bool> rp,
          const std::vector<cache_entry>& es) {
  if (rejected(self, rp, "mset", [&] { validate_entries(es); })) return;
  // Split by key so per-key order holds; each part is atomic.
  auto [targets, parts] =
      split(self, es, [](const cache_entry& e) { return e.key; });
  auto s = make_slots(targets.size());
  fan_out<bool>(
      self, rp, targets, "mset",
      [=, parts = parts](const worker& w, std::size_t part, job_ticket t) {
        ids keys;
        for (auto& e : parts[part]) keys.push_back(e.key);
        (*s)[part] = {keyed_sent(self, keys), w};
        return ask_worker(self, w, std::move(t), cmset_atom::value,
                          parts[part]);
      },
      [](std::vector<bool>&) { return true; },
      [=, parts = parts](std::size_t part, bool* ok, const caf::error*) {
        mset_done(self, (*s)[part], parts[part], ok != nullptr);
      });
}

void clear(self_ptr self, caf::typed_response_promise<std::uint64_t> rp) {
  auto targets = everyone_or_one(*self->state.pool);
  auto e = std::make_shared<std::shared_ptr<mirror_entry>>();
  auto left = std::make_shared<std::size_t>(targets.size());
  auto failure = std::make_shared<caf::error>();
  fan_out<std::uint64_t>(
      self, rp, targets, "clear",
      [=](const worker& w, std::size_t part, job_ticket t) {
        if (part == 0) *e = clear_sent(self);
        return ask_worker(self, w, std::move(t), cclear_atom::value);
      },
      sum,
      [=](std::size_t, std::uint64_t*, const caf::error* err) {
        if (err && !*failure) *failure = *err;
        if (--*left == 0) clear_done(self, *e, *failure ? &*failure : nullptr);
      });
}

template <class Reply, class Atom, class... Ts>
void read_one(self_ptr self, caf::typed_response_promise<Reply> rp,
              const char* op, const std::string& key, Atom atom, Ts... xs) {
  if (rejected(self, rp, op, [&] { validate_key(key); })) return;
  fan_out<Reply>(
      self, rp, reader_of(self, key), op,
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), atom, xs...);
      },
      first<Reply>);
}

cache_router_actor::behavior_type cache_router(
    self_ptr self, pool_factory<cache_backend> make,
    pool_spec<cache_backend> spec, std::shared_ptr<route_table> table) {
  start_router<pool_type>(self, std::move(make), std::move(spec),
                          std::move(table), spawn_cache_worker);
  // Every request goes through admit: while a live migration pauses the
  // router, requests wait in order instead of overtaking each other.
  return with_shared<cache_router_actor::behavior_type>(
      shared_handlers<pool_type>(self, spawn_cache_worker, live_recheck,
                                 final_check),
      [=](cget_atom a, const std::string& k) {
        auto rp = self->make_response_promise<maybe_value>();
        admit(self, [=] { read_one(self, rp, "get", k, a, k); });
        return rp;
      },
      [=](cset_atom, const cache_entry& e) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { set(self, rp, e); });
        return rp;
      },
      [=](cadd_atom a, const cache_entry& e) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] {
          if (rejected(self, rp, "add", [&] { validate_entry(e); })) return;
          stateful(self, rp, "add", e.key, a, e);
        });
        return rp;
      },
      [=](cdel_atom, const ids& keys) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { del(self, rp, keys); });
        return rp;
      },
      [=](cexists_atom a, const std::string& k) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { read_one(self, rp, "exists", k, a, k); });
        return rp;
      },
      [=](cmget_atom, const ids& keys) {
        auto rp = self->make_response_promise<values>();
        admit(self, [=] {
          if (rejected(self, rp, "mget", [&] { validate_keys(keys); })) return;
          mget_on(self, self->state.pool, rp, keys, true);
        });
        return rp;
      },
      [=](cmset_atom, const std::vector<cache_entry>& es) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { mset(self, rp, es); });
        return rp;
      },
      [=](cincr_atom a, const std::string& k, std::int64_t by) {
        auto rp = self->make_response_promise<std::int64_t>();
        admit(self, [=] {
          if (rejected(self, rp, "incr", [&] { validate_key(k); })) return;
          stateful(self, rp, "incr", k, a, k, by);
        });
        return rp;
      },
      [=](cexpire_atom a, const std::string& k, std::int64_t ttl) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] {
          if (rejected(self, rp, "expire", [&] {
                validate_key(k);
                validate_ttl(ttl);
              }))
            return;
          stateful(self, rp, "expire", k, a, k, ttl);
        });
        return rp;
      },
      [=](cttl_atom a, const std::string& k) {
        auto rp = self->make_response_promise<ttl_info>();
        admit(self, [=] { read_one(self, rp, "ttl", k, a, k); });
        return rp;
      },
      [=](cclear_atom) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { clear(self, rp); });
        return rp;
      },
      [=](cscan_atom, const std::string& cursor, std::uint32_t limit) {
        auto rp = self->make_response_promise<cache_scan_page>();
        admit(self, [=] {
          if (rejected(self, rp, "scan", [&] {
                if (limit == 0)
                  throw store_error(errc::invalid_argument,
                                    "scan limit must be positive");
              }))
            return;
          fan_out<cache_scan_page>(
              self, rp, everyone_or_one(*self->state.pool), "scan",
              [=](const worker& w, std::size_t, job_ticket t) {
                return ask_worker(self, w, std::move(t), cscan_atom::value,
                                  cursor, limit);
              },
              [limit](std::vector<cache_scan_page>& parts) {
                return merge_pages(parts, limit);
              });
        });
        return rp;
      },
      [=](live_begin_atom, const std::string& uri, const live_link& link) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { live_begin(self, rp, uri, link); });
        return rp;
      },
      [=](live_fill_atom, const std::vector<cache_entry>& es) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { live_backfill(self, rp, es); });
        return rp;
      },
      [=](live_verify_atom, bool from_target, const std::string& cursor,
          bool repair) {
        auto rp = self->make_response_promise<std::uint64_t, std::uint64_t,
                                              std::string, ids, ids, ids>();
        admit(self,
              [=] { live_verify(self, rp, from_target, cursor, repair); });
        return rp;
      },
      [=](live_target_atom, cget_atom a, const std::string& k) {
        auto rp = self->make_response_promise<maybe_value>();
        target_read(self, rp, k, "get", [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), a, k);
        });
        return rp;
      },
      [=](live_target_atom, cexists_atom a, const std::string& k) {
        auto rp = self->make_response_promise<bool>();
        target_read(self, rp, k, "exists", [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), a, k);
        });
        return rp;
      },
      [=](live_target_atom, cttl_atom a, const std::string& k) {
        auto rp = self->make_response_promise<ttl_info>();
        target_read(self, rp, k, "ttl", [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), a, k);
        });
        return rp;
      },
      [=](live_target_atom, cmget_atom, const ids& keys) {
        auto rp = self->make_response_promise<values>();
        if (!self->state.dual)
          rp.deliver(router_error(errc::conflict, "no live migration", "mget",
                                  self->state.pool->spec.store));
        else
          mget_on(self, self->state.dual->target, rp, keys, false);
        return rp;
      },
      [=](live_target_atom, cscan_atom, const std::string& cursor,
          std::uint32_t limit) {
        auto rp = self->make_response_promise<cache_scan_page>();
        auto& d = self->state.dual;
        if (!d) {
          rp.deliver(router_error(errc::conflict, "no live migration", "scan",
                                  self->state.pool->spec.store));
          return rp;
        }
        ask_pool<cache_scan_page>(
            self, d->target, rp, everyone_or_one(*d->target), "scan",
            [=](const worker& w, std::size_t, job_ticket t) {
              return ask_worker(self, w, std::move(t), cscan_atom::value,
                                cursor, limit);
            },
            [limit](std::vector<cache_scan_page>& parts) {
              return merge_pages(parts, limit);
            });
        return rp;
      });
}

}  // namespace

}  // namespace storage::cache_detail

namespace storage {

cache_store_handles spawn_cache_store(caf::actor_system& sys,
                                      pool_factory<cache_backend> make_pool,
                                      const std::string& uri) {
  return spawn_store<cache_store_handles>(sys, cache_detail::cache_router,
                                          std::move(make_pool), uri);
}

}  // namespace storage
