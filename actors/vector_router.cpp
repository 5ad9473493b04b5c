#include "actors/vector_router.hpp"

#include <unordered_map>

#include "messages/distance.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

using pool_type = worker_pool<vector_backend, vector_worker_actor>;
struct router_state : router_base<vector_backend, vector_worker_actor> {};
using self_ptr = vector_router_actor::stateful_pointer<router_state>;

std::uint64_t sum(std::vector<std::uint64_t>& parts) {
  std::uint64_t n = 0;
  for (auto x : parts) n += x;
  return n;
}

template <class T>
T first(std::vector<T>& parts) {
  return std::move(parts.front());
}

// Fails the promise with the validation error, if any, and says so.
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

// One worker for reads on shared backends; every shard otherwise.
std::vector<std::uint32_t> readers(self_ptr self) {
  auto& pool = *self->state.pool;
  if (pool.spec.sharded) return all_workers(pool.size());
  return {pool.least_loaded()};
}

// Where a request that is neither keyed nor a read goes: one worker when the
// backend holds the state, every shard when the workers do.
std::vector<std::uint32_t> everyone_or_one(self_ptr self) {
  return readers(self);
}

std::vector<search_hit> merge_hits(std::vector<std::vector<search_hit>>& parts,
                                   std::uint32_t k) {
  std::vector<search_hit> all;
  for (auto& p : parts)
    for (auto& h : p) all.push_back(std::move(h));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return closer(a.distance, a.id, b.distance, b.id);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

scan_page merge_pages(std::vector<scan_page>& parts, std::uint32_t limit) {
  scan_page out;
  bool more = false;
  for (auto& p : parts) {
    more = more || !p.next_cursor.empty();
    for (auto& r : p.records) out.records.push_back(std::move(r));
  }
  std::sort(out.records.begin(), out.records.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  if (out.records.size() > limit) {
    out.records.resize(limit);
    more = true;
  }
  if (more && !out.records.empty()) out.next_cursor = out.records.back().id;
  return out;
}

vector_router_actor::behavior_type vector_router(
    self_ptr self, pool_factory<vector_backend> make_pool,
    pool_spec<vector_backend> spec) {
  self->state.make_pool = std::move(make_pool);
  self->state.set_pool(
      start_pool<pool_type>(self, std::move(spec), spawn_vector_worker));
  self->set_down_handler([=](caf::down_msg& dm) { on_worker_down(self, dm); });
  close_workers_on_exit(self, close_atom::value);
  return {
      [=](vcreate_atom, const collection_spec& spec) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "create",
                     [&] { validate_collection_spec(spec); }))
          return rp;
        auto targets = self->state.pool->spec.sharded
                           ? all_workers(self->state.pool->size())
                           : readers(self);
        return fan_out<bool>(
            self, rp, targets, "create",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vcreate_atom::value, spec);
            },
            first<bool>);
      },
      [=](vdrop_atom, const std::string& name) {
        auto rp = self->make_response_promise<bool>();
        if (rejected(self, rp, "drop", [&] { validate_collection_name(name); }))
          return rp;
        return fan_out<bool>(
            self, rp, everyone_or_one(self), "drop",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vdrop_atom::value, name);
            },
            first<bool>);
      },
      [=](vlist_atom) {
        using specs = std::vector<collection_spec>;
        auto rp = self->make_response_promise<specs>();
        return fan_out<specs>(
            self, rp,
            {self->state.pool->spec.sharded ? 0u
                                            : self->state.pool->least_loaded()},
            "list",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vlist_atom::value);
            },
            first<specs>);
      },
      [=](vupsert_atom, const std::string& c, const records& rs) {
        auto rp = self->make_response_promise<std::uint64_t>();
        if (rejected(self, rp, "upsert", [&] {
              validate_collection_name(c);
              validate_batch(rs);
            }))
          return rp;
        // Split by id hash so two writes to one id always meet in order.
        auto parts = partition(*self->state.pool, rs,
                               [](const vector_record& r) { return r.id; });
        std::vector<std::uint32_t> targets;
        std::vector<records> batches;
        for (std::uint32_t i = 0; i < parts.size(); ++i)
          if (!parts[i].empty()) {
            targets.push_back(i);
            batches.push_back(pick(rs, parts[i]));
          }
        return fan_out<std::uint64_t>(
            self, rp, targets, "upsert",
            [=](const vector_worker_actor& w, std::size_t part, auto t) {
              return self->request(w, t, vupsert_atom::value, c, batches[part]);
            },
            sum);
      },
      [=](vget_atom, const std::string& c, const ids& xs) {
        auto rp = self->make_response_promise<records>();
        if (rejected(self, rp, "get", [&] {
              validate_collection_name(c);
              validate_ids(xs);
            }))
          return rp;
        if (!self->state.pool->spec.sharded)
          return fan_out<records>(
              self, rp, readers(self), "get",
              [=](const vector_worker_actor& w, std::size_t, auto t) {
                return self->request(w, t, vget_atom::value, c, xs);
              },
              first<records>);
        auto parts = partition(*self->state.pool, xs,
                               [](const std::string& id) { return id; });
        auto targets = all_workers(self->state.pool->size());
        return fan_out<records>(
            self, rp, targets, "get",
            [=](const vector_worker_actor& w, std::size_t part, auto t) {
              return self->request(w, t, vget_atom::value, c,
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
      },
      [=](vdelete_atom, const std::string& c, const ids& xs) {
        auto rp = self->make_response_promise<std::uint64_t>();
        if (rejected(self, rp, "delete", [&] {
              validate_collection_name(c);
              validate_ids(xs);
            }))
          return rp;
        auto parts = partition(*self->state.pool, xs,
                               [](const std::string& id) { return id; });
        std::vector<std::uint32_t> targets;
        std::vector<ids> batches;
        for (std::uint32_t i = 0; i < parts.size(); ++i)
          if (!parts[i].empty()) {
            targets.push_back(i);
            batches.push_back(pick(xs, parts[i]));
          }
        return fan_out<std::uint64_t>(
            self, rp, targets, "delete",
            [=](const vector_worker_actor& w, std::size_t part, auto t) {
              return self->request(w, t, vdelete_atom::value, c, batches[part]);
            },
            sum);
      },
      [=](vdelete_atom, const std::string& c, const filter& where) {
        auto rp = self->make_response_promise<std::uint64_t>();
        if (rejected(self, rp, "delete", [&] { validate_collection_name(c); }))
          return rp;
        return fan_out<std::uint64_t>(
            self, rp, everyone_or_one(self), "delete",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vdelete_atom::value, c, where);
            },
            sum);
      },
      [=](vcount_atom, const std::string& c) {
        auto rp = self->make_response_promise<std::uint64_t>();
        if (rejected(self, rp, "count", [&] { validate_collection_name(c); }))
          return rp;
        return fan_out<std::uint64_t>(
            self, rp, readers(self), "count",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vcount_atom::value, c);
            },
            sum);
      },
      [=](vsearch_atom, const std::string& c, const search_request& req) {
        auto rp = self->make_response_promise<std::vector<search_hit>>();
        if (rejected(self, rp, "search", [&] {
              validate_collection_name(c);
              validate_search(req);
            }))
          return rp;
        using hits = std::vector<search_hit>;
        auto k = req.k;
        return fan_out<hits>(
            self, rp, readers(self), "search",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vsearch_atom::value, c, req);
            },
            [k](std::vector<hits>& parts) { return merge_hits(parts, k); });
      },
      [=](vscan_atom, const std::string& c, const std::string& after,
          std::uint32_t limit) {
        auto rp = self->make_response_promise<scan_page>();
        if (rejected(self, rp, "scan", [&] {
              validate_collection_name(c);
              if (limit == 0)
                throw store_error(errc::invalid_argument,
                                  "scan limit must be positive");
            }))
          return rp;
        return fan_out<scan_page>(
            self, rp, readers(self), "scan",
            [=](const vector_worker_actor& w, std::size_t, auto t) {
              return self->request(w, t, vscan_atom::value, c, after, limit);
            },
            [limit](std::vector<scan_page>& parts) {
              return merge_pages(parts, limit);
            });
      },
      [=](swap_atom, const std::string& uri) {
        return swap_pool<pool_type>(self, uri, spawn_vector_worker,
                                    close_atom::value);
      },
      [=](workers_atom) { return current_workers(self); },
      [=](respawn_atom, std::uint64_t gen, std::uint32_t i) {
        respawn_worker(self, gen, i, spawn_vector_worker);
      },
  };
}

}  // namespace

vector_router_actor spawn_vector_router(caf::actor_system& sys,
                                        pool_factory<vector_backend> make_pool,
                                        const std::string& uri) {
  auto spec = make_pool(uri);
  return sys.spawn(vector_router, std::move(make_pool), std::move(spec));
}

}  // namespace storage
