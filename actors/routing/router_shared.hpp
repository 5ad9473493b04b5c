// What the two routers share beyond router_core.hpp (how a request is sent)
// and router_pool.hpp (their pools): a router's start, the handlers that do
// not depend on the store kind, and how a store -- router, route table,
// dispatcher -- is spawned. Each router's behavior is its own handlers
// followed by shared_handlers(...).
#pragma once

#include <string>
#include <tuple>

#include "actors/live/live_cutover.hpp"
#include "actors/pool/bounced_replies.hpp"
#include "actors/routing/router_core.hpp"
#include "actors/routing/router_pool.hpp"

namespace storage {

// A router's start: its first pool (already counted against `table`'s
// gauge), the supervision of its workers and of a migration's target, its
// workers' close when it exits, and the first route published.
template <class Pool, class Self, class Backend, class SpawnWorker>
void start_router(Self* self, pool_factory<Backend> make,
                  pool_spec<Backend> spec, std::shared_ptr<route_table> table,
                  SpawnWorker spawn_worker) {
  auto& st = self->state;
  // The runtime closed the store before this actor first ran (the table
  // let go of its route): nothing to start, and no pool to leave behind.
  auto first = table->current();
  if (!first) {
    self->quit(caf::exit_reason::user_shutdown);
    return;
  }
  st.table = std::move(table);
  st.make_pool = std::move(make);
  st.set_pool(
      start_pool<Pool>(self, std::move(spec), spawn_worker, first->gauge));
  self->set_down_handler([=](caf::down_msg& dm) {
    if (!on_target_down(self, dm)) on_worker_down(self, dm);
  });
  survive_bounced_replies(self);
  close_workers_on_exit(self, close_atom::value);
  publish(self);
}

// Swap, the pool's supervision, and the end of a live migration (recheck,
// cutover, abort, finalize). `recheck` and `final_check` are the store
// kind's own (see dual_write.hpp).
template <class Pool, class Self, class SpawnWorker, class Recheck,
          class FinalCheck>
auto shared_handlers(Self* self, SpawnWorker spawn_worker, Recheck recheck,
                     FinalCheck final_check) {
  return std::make_tuple(
      [=](swap_atom, const std::string& uri) {
        auto rp = self->template make_response_promise<bool>();
        admit(self, [=]() mutable {
          deliver(rp,
                  swap_pool<Pool>(self, uri, spawn_worker, close_atom::value));
        });
        return rp;
      },
      [=](workers_atom) { return current_workers(self); },
      [=](respawn_atom, std::uint64_t gen, std::uint32_t i) {
        respawn_worker(self, gen, i, spawn_worker);
      },
      [=](live_stall_atom, std::uint64_t episode) {
        check_stall(self, episode);
      },
      [=](live_recheck_atom) {
        auto rp = self->template make_response_promise<std::uint64_t,
                                                       std::uint64_t>();
        admit(self, [=] { recheck(self, rp); });
        return rp;
      },
      [=](live_cut_atom, bool verify) {
        auto rp = self->template make_response_promise<bool>();
        admit(self, [=] { cut_over(self, rp, verify, final_check); });
        return rp;
      },
      [=](live_abort_atom, const live_link& link) {
        auto rp = self->template make_response_promise<bool>();
        admit(self, [=] { abort_migration(self, rp, link); });
        return rp;
      },
      [=](live_final_atom) {
        auto rp = self->template make_response_promise<bool>();
        admit(self, [=] { finalize_migration(self, rp); });
        return rp;
      });
}

// A behavior of `own` handlers followed by the `shared` ones.
template <class Behavior, class Shared, class... Own>
Behavior with_shared(Shared shared, Own... own) {
  return std::apply(
      [&](auto... common) {
        return Behavior{std::move(own)..., common...};
      },
      std::move(shared));
}

// Spawns a store: its router (`router_fn`, given the pool factory, the
// first pool's spec and the route table) and the dispatcher callers hold.
// Throws store_error if make_pool(uri) does.
template <class Handles, class RouterFn, class Backend>
Handles spawn_store(caf::actor_system& sys, RouterFn router_fn,
                    pool_factory<Backend> make_pool, const std::string& uri) {
  auto spec = make_pool(uri);
  auto table = first_table(spec);
  auto router =
      sys.spawn(router_fn, std::move(make_pool), std::move(spec), table);
  table->set_router(caf::actor_cast<caf::strong_actor_ptr>(router));
  using handle_type = decltype(Handles::handle);
  return {caf::actor_cast<handle_type>(spawn_dispatcher(sys, table)),
          std::move(router), std::move(table)};
}

}  // namespace storage
