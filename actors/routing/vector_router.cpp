#include <unordered_map>

#include "actors/routing/router_shared.hpp"
#include "actors/routing/vector_router_state.hpp"
#include "messages/validation.hpp"

namespace storage::vector_detail {

std::vector<std::uint32_t> readers(pool_type& pool) {
  return everyone_or_one(pool);
}

scan_page merge_pages(std::vector<scan_page>& parts, std::uint32_t limit) {
  return merge_scan_pages(
      parts, limit, &scan_page::records,
      [](const vector_record& r) -> const std::string& { return r.id; });
}

namespace {

// Splits keyed items by the worker that owns each id.
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

ids ids_of(const records& rs) {
  ids out;
  for (auto& r : rs) out.push_back(r.id);
  return out;
}

void upsert(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
            const std::string& c, const records& rs) {
  if (rejected(self, rp, "upsert", [&] {
        validate_collection_name(c);
        validate_batch(rs);
      }))
    return;
  // Split by id hash so two writes to one id always meet in order.
  auto [targets, batches] =
      split(self, rs,
            [](const vector_record& r) -> const std::string& { return r.id; });
  auto slots =
      std::make_shared<std::vector<mirror_slot<worker>>>(targets.size());
  fan_out<std::uint64_t>(
      self, rp, targets, "upsert",
      [=, batches = batches](const worker& w, std::size_t part, job_ticket t) {
        (*slots)[part] = {keyed_sent(self, c, ids_of(batches[part])), w};
        return ask_worker(self, w, std::move(t), vupsert_atom::value, c,
                          batches[part]);
      },
      sum,
      [=, batches = batches](std::size_t part, std::uint64_t* ok,
                             const caf::error*) {
        upsert_done(self, (*slots)[part], c, batches[part], ok != nullptr);
      });
}

void remove(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
            const std::string& c, const ids& xs) {
  if (rejected(self, rp, "delete", [&] {
        validate_collection_name(c);
        validate_ids(xs);
      }))
    return;
  auto [targets, batches] =
      split(self, xs, [](const std::string& id) { return id; });
  auto slots =
      std::make_shared<std::vector<mirror_slot<worker>>>(targets.size());
  fan_out<std::uint64_t>(
      self, rp, targets, "delete",
      [=, batches = batches](const worker& w, std::size_t part, job_ticket t) {
        (*slots)[part] = {keyed_sent(self, c, batches[part]), w};
        return ask_worker(self, w, std::move(t), vdelete_atom::value, c,
                          batches[part]);
      },
      sum,
      [=, batches = batches](std::size_t part, std::uint64_t* ok,
                             const caf::error*) {
        delete_done(self, (*slots)[part], c, batches[part], ok != nullptr);
      });
}

void remove_where(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                  const std::string& c, const filter& where) {
  if (rejected(self, rp, "delete", [&] { validate_collection_name(c); }))
    return;
  auto e = std::make_shared<std::shared_ptr<mirror_entry>>();
  auto parts = everyone_or_one(*self->state.pool);
  auto left = std::make_shared<std::size_t>(parts.size());
  auto failure = std::make_shared<caf::error>();
  fan_out<std::uint64_t>(
      self, rp, parts, "delete",
      [=](const worker& w, std::size_t part, job_ticket t) {
        if (part == 0) *e = delete_where_sent(self, c, where);
        return ask_worker(self, w, std::move(t), vdelete_atom::value, c, where);
      },
      sum,
      [=](std::size_t, std::uint64_t*, const caf::error* err) {
        if (err && !*failure) *failure = *err;
        if (--*left == 0)
          delete_where_done(self, *e, c, where, *failure ? &*failure : nullptr);
      });
}

void create(self_ptr self, caf::typed_response_promise<bool> rp,
            const collection_spec& spec) {
  if (rejected(self, rp, "create", [&] { validate_collection_spec(spec); }))
    return;
  auto parts = everyone_or_one(*self->state.pool);
  auto e = std::make_shared<std::shared_ptr<mirror_entry>>();
  auto left = std::make_shared<std::size_t>(parts.size());
  auto failure = std::make_shared<caf::error>();
  fan_out<bool>(
      self, rp, parts, "create",
      [=](const worker& w, std::size_t part, job_ticket t) {
        if (part == 0) *e = reserve(self);
        return ask_worker(self, w, std::move(t), vcreate_atom::value, spec);
      },
      first<bool>,
      [=](std::size_t, bool*, const caf::error* err) {
        if (err && !*failure) *failure = *err;
        if (--*left == 0)
          create_done(self, *e, spec, *failure ? &*failure : nullptr);
      });
}

void drop(self_ptr self, caf::typed_response_promise<bool> rp,
          const std::string& name) {
  if (rejected(self, rp, "drop", [&] { validate_collection_name(name); }))
    return;
  auto parts = everyone_or_one(*self->state.pool);
  auto e = std::make_shared<std::shared_ptr<mirror_entry>>();
  auto left = std::make_shared<std::size_t>(parts.size());
  auto failure = std::make_shared<caf::error>();
  fan_out<bool>(
      self, rp, parts, "drop",
      [=](const worker& w, std::size_t part, job_ticket t) {
        if (part == 0) *e = drop_sent(self, name);
        return ask_worker(self, w, std::move(t), vdrop_atom::value, name);
      },
      first<bool>,
      [=](std::size_t, bool*, const caf::error* err) {
        if (err && !*failure) *failure = *err;
        if (--*left == 0)
          drop_done(self, *e, name, *failure ? &*failure : nullptr);
      });
}

void get(self_ptr self, caf::typed_response_promise<records> rp,
         const std::string& c, const ids& xs) {
  if (rejected(self, rp, "get", [&] {
        validate_collection_name(c);
        validate_ids(xs);
      }))
    return;
  auto& pool = *self->state.pool;
  if (!pool.spec.sharded) {
    fan_out<records>(
        self, rp, readers(pool), "get",
        [=](const worker& w, std::size_t, job_ticket t) {
          return ask_worker(self, w, std::move(t), vget_atom::value, c, xs);
        },
        first<records>);
    return;
  }
  auto parts = partition(pool, xs, [](const std::string& id) { return id; });
  fan_out<records>(
      self, rp, all_workers(pool.size()), "get",
      [=](const worker& w, std::size_t part, job_ticket t) {
        return ask_worker(self, w, std::move(t), vget_atom::value, c,
                          pick(xs, parts[part]));
      },
      [xs](std::vector<records>& found) {
        // Back into the order the caller asked for.
        std::unordered_map<std::string, vector_record> by_id;
        for (auto& part : found)
          for (auto& r : part) by_id.emplace(r.id, std::move(r));
        records out;
        for (auto& id : xs)
          if (auto it = by_id.find(id); it != by_id.end()) {
            out.push_back(std::move(it->second));
            by_id.erase(it);
          }
        return out;
      });
}

vector_router_actor::behavior_type vector_router(
    self_ptr self, pool_factory<vector_backend> make_pool,
    pool_spec<vector_backend> spec, std::shared_ptr<route_table> table) {
  start_router<pool_type>(self, std::move(make_pool), std::move(spec),
                          std::move(table), spawn_vector_worker);
  // Every request goes through admit: while a live migration pauses the
  // router, requests wait in order instead of overtaking each other.
  return with_shared<vector_router_actor::behavior_type>(
      shared_handlers<pool_type>(self, spawn_vector_worker, live_recheck,
                                 final_check),
      [=](vcreate_atom, const collection_spec& spec) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { create(self, rp, spec); });
        return rp;
      },
      [=](vdrop_atom, const std::string& name) {
        auto rp = self->make_response_promise<bool>();
        admit(self, [=] { drop(self, rp, name); });
        return rp;
      },
      [=](vlist_atom) {
        auto rp = self->make_response_promise<specs>();
        admit(self, [=] {
          auto& pool = *self->state.pool;
          fan_out<specs>(
              self, rp, {pool.spec.sharded ? 0u : pool_type::by_caller}, "list",
              [=](const worker& w, std::size_t, job_ticket t) {
                return ask_worker(self, w, std::move(t), vlist_atom::value);
              },
              first<specs>);
        });
        return rp;
      },
      [=](vupsert_atom, const std::string& c, const records& rs) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { upsert(self, rp, c, rs); });
        return rp;
      },
      [=](vget_atom, const std::string& c, const ids& xs) {
        auto rp = self->make_response_promise<records>();
        admit(self, [=] { get(self, rp, c, xs); });
        return rp;
      },
      [=](vdelete_atom, const std::string& c, const ids& xs) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { remove(self, rp, c, xs); });
        return rp;
      },
      [=](vdelete_atom, const std::string& c, const filter& where) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { remove_where(self, rp, c, where); });
        return rp;
      },
      [=](vcount_atom, const std::string& c) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] {
          if (rejected(self, rp, "count", [&] { validate_collection_name(c); }))
            return;
          fan_out<std::uint64_t>(
              self, rp, readers(*self->state.pool), "count",
              [=](const worker& w, std::size_t, job_ticket t) {
                return ask_worker(self, w, std::move(t), vcount_atom::value, c);
              },
              sum);
        });
        return rp;
      },
      [=](vsearch_atom, const std::string& c, const search_request& req) {
        auto rp = self->make_response_promise<hits>();
        admit(self, [=] { search(self, rp, c, req); });
        return rp;
      },
      [=](vsearchb_atom, const std::string& c,
          const batch_search_request& req) {
        auto rp = self->make_response_promise<batch_hits>();
        admit(self, [=] { search_batch(self, rp, c, req); });
        return rp;
      },
      [=](vscan_atom, const std::string& c, const std::string& after,
          std::uint32_t limit) {
        auto rp = self->make_response_promise<scan_page>();
        admit(self, [=] {
          if (rejected(self, rp, "scan", [&] {
                validate_collection_name(c);
                if (limit == 0)
                  throw store_error(errc::invalid_argument,
                                    "scan limit must be positive");
              }))
            return;
          fan_out<scan_page>(
              self, rp, readers(*self->state.pool), "scan",
              [=](const worker& w, std::size_t, job_ticket t) {
                return ask_worker(self, w, std::move(t), vscan_atom::value, c,
                                  after, limit);
              },
              [limit](std::vector<scan_page>& parts) {
                return merge_pages(parts, limit);
              });
        });
        return rp;
      },
      [=](live_begin_atom, const std::string& uri, const live_link& link) {
        auto rp = self->make_response_promise<specs>();
        admit(self, [=] { live_begin(self, rp, uri, link); });
        return rp;
      },
      [=](live_fill_atom, const std::string& c, const records& rs) {
        auto rp = self->make_response_promise<std::uint64_t>();
        admit(self, [=] { live_backfill(self, rp, c, rs); });
        return rp;
      },
      [=](live_verify_atom, const std::string& c, const std::string& after,
          bool repair) {
        auto rp = self->make_response_promise<std::uint64_t, std::uint64_t,
                                              std::string, ids, ids, ids>();
        admit(self, [=] { live_verify(self, rp, c, after, repair); });
        return rp;
      },
      [=](live_verify_atom, vlist_atom) {
        auto rp = self->make_response_promise<ids>();
        admit(self, [=] { live_dropped(self, rp); });
        return rp;
      },
      [=](live_target_atom, vcreate_atom, const collection_spec& spec) {
        auto rp = self->make_response_promise<bool>();
        target_create(self, rp, spec);
        return rp;
      },
      [=](live_target_atom, vlist_atom) {
        auto rp = self->make_response_promise<specs>();
        target_list(self, rp);
        return rp;
      },
      [=](live_target_atom, vcount_atom, const std::string& c) {
        auto rp = self->make_response_promise<std::uint64_t>();
        target_count(self, rp, c);
        return rp;
      },
      [=](live_target_atom, vget_atom, const std::string& c, const ids& xs) {
        auto rp = self->make_response_promise<records>();
        target_get(self, rp, c, xs);
        return rp;
      },
      [=](live_target_atom, vscan_atom, const std::string& c,
          const std::string& after, std::uint32_t limit) {
        auto rp = self->make_response_promise<scan_page>();
        target_scan(self, rp, c, after, limit);
        return rp;
      });
}

}  // namespace

}  // namespace storage::vector_detail

namespace storage {

vector_store_handles spawn_vector_store(caf::actor_system& sys,
                                        pool_factory<vector_backend> make_pool,
                                        const std::string& uri) {
  return spawn_store<vector_store_handles>(sys, vector_detail::vector_router,
                                           std::move(make_pool), uri);
}

}  // namespace storage
