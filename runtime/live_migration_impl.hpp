// Internal to the runtime: the coordinator behind a live_migration handle,
// a thread that drives the router through the steps live_migration.hpp
// describes and records each one in the journal.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/live/live_backfill.hpp"
#include "adapters/storage_log.hpp"
#include "messages/caf_support.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/live_coordinator.hpp"
#include "runtime/live_verification.hpp"

namespace storage {

struct live_migration::impl {
  impl(caf::actor_system& s) : sys(s) {}

  caf::actor_system& sys;
  bool cache = false;
  vector_router_actor vrouter;
  cache_router_actor crouter;
  std::string source_name, target_name, target_uri;
  live_options opts;
  live_link link{std::make_shared<live_status>(), {}};
  mutable std::mutex mtx;
  live_progress prog;
  std::chrono::steady_clock::time_point began =
      std::chrono::steady_clock::now();
  // Nanoseconds from `began` to the end (done, failed or aborted); 0 while
  // running. Frozen so a rate computed from progress() stops falling.
  std::atomic<std::int64_t> ended_ns{0};
  std::promise<migration_result> promise;
  std::shared_future<migration_result> fut = promise.get_future().share();
  std::atomic<bool> abort_requested{false};
  // The target holds a partial copy from an earlier run of this migration:
  // verification repairs what differs instead of failing on it.
  bool repair = false;
  // Set once the router accepted this migration: only then may a failure
  // here tell the router to abort (another migration may be running).
  std::atomic<bool> accepted{false};
  // The adapter build_indexes builds on, while it does (under build_mtx):
  // abort() interrupts it rather than wait for the build to end.
  std::mutex build_mtx;
  vector_backend* building = nullptr;
  std::thread thread;

  // After abort_requested is set: a build in progress fails soon (its
  // adapter cancels it on the server); build_indexes checks the flag under
  // the same lock before it starts, so no build starts after this.
  void interrupt_build() {
    std::lock_guard<std::mutex> guard(build_mtx);
    if (building) building->interrupt();
  }

  caf::actor router() const {
    return cache ? caf::actor_cast<caf::actor>(crouter)
                 : caf::actor_cast<caf::actor>(vrouter);
  }

  // Each phase is logged once, as it begins (and the end, failed or not).
  void set_state(live_state s) {
    {
      std::lock_guard<std::mutex> guard(mtx);
      if (prog.state == s) return;
      prog.state = s;
    }
    if (s == live_state::done || s == live_state::failed ||
        s == live_state::aborted) {
      std::int64_t none = 0;
      ended_ns.compare_exchange_strong(
          none, std::max<std::int64_t>(1, since_began().count()));
    }
    auto line = fmt::format("store '{}': live migration to {}: {}", source_name,
                            target_name, to_string(s));
    if (s == live_state::failed)
      storage_log()->warn("{}", line);
    else
      storage_log()->info("{}", line);
  }

  template <class Fn>
  void update(Fn&& fn) {
    std::lock_guard<std::mutex> guard(mtx);
    fn(prog);
  }

  void check_abort() const {
    if (abort_requested)
      throw store_error(errc::conflict, "the live migration was aborted",
                        "migrate", source_name);
  }

  // Routers answer within their own deadlines; this only guards against one
  // that vanished, and leaves room for a verification pause.
  static constexpr std::chrono::minutes backstop{5};

  template <class Reply, class Handle, class... Ts>
  Reply ask(caf::scoped_actor& self, const Handle& dest, const char* op,
            Ts&&... xs) const {
    Reply out{};
    caf::error failure;
    self->request(dest, backstop, std::forward<Ts>(xs)...)
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { failure = std::move(e); });
    if (failure) throw from_caf_error(failure, op, source_name);
    return out;
  }

  // One verification page; adds its differences to `diffs`, its counts to
  // `sum`, and returns the next cursor ("" = done).
  template <class Handle, class... Ts>
  std::string verify_page(caf::scoped_actor& self, const Handle& dest,
                          migration_result& sum, live_differences& diffs,
                          Ts&&... xs) {
    std::string next;
    caf::error failure;
    self->request(dest, backstop, live_verify_atom::value,
                  std::forward<Ts>(xs)..., repair)
        .receive(
            [&](std::uint64_t ns, std::uint64_t nt, std::string& cursor,
                ids& missing, ids& extra, ids& mismatched) {
              sum.source_count += ns;
              // A repairing page leaves the target without its extras and
              // with what it missed: count what the target holds now.
              sum.target_count +=
                  repair ? nt + missing.size() -
                               std::min<std::uint64_t>(nt, extra.size())
                         : nt;
              diffs.add(missing, extra, mismatched);
              update([&](live_progress& g) { g.verified += ns + nt; });
              next = std::move(cursor);
            },
            [&](caf::error& e) { failure = std::move(e); });
    if (failure) throw from_caf_error(failure, "verify", target_name);
    return next;
  }

  // What the pages found: an error, unless this run repairs (then they were
  // repaired, and the final check confirms it).
  void judge(const live_differences& diffs, migration_result& sum,
             const std::string& what) const {
    if (repair) {
      sum.repaired += diffs.total();
      return;
    }
    if (diffs.any())
      throw store_error(errc::verification_failed,
                        what + ": " + diffs.describe(), "verify", target_name);
  }

  // Compares again the ids written since the start, until what traffic
  // keeps rewriting is small enough for the final check's pause.
  void recheck(caf::scoped_actor& self) {
    constexpr std::uint64_t small_enough = 250;
    for (int round = 0; round < 100; ++round) {
      std::uint64_t checked = 0, left = 0;
      caf::error failure;
      self->request(router(), backstop, live_recheck_atom::value)
          .receive(
              [&](std::uint64_t c, std::uint64_t l) {
                checked = c;
                left = l;
              },
              [&](caf::error& e) { failure = std::move(e); });
      if (failure) throw from_caf_error(failure, "verify", target_name);
      if (checked == 0 || left <= small_enough) return;
      check_abort();
    }
  }

  migration_options pipeline_options(std::uint64_t base) {
    migration_options o;
    o.batch = opts.batch;
    // Our own verification runs with writes held per page; the pipeline's
    // would compare two sides that live traffic is changing.
    o.verify = false;
    // A failed target ends the migration; retrying would only delay that.
    o.max_attempts = 1;
    o.build_index = false;  // build_indexes, after every collection's copy
    o.source_name = source_name;
    o.target_name = target_name;
    auto* me = this;
    o.on_progress = [me, base](const migration_progress& p) {
      me->update([&](live_progress& g) {
        g.collection = p.collection;
        g.copied = base + p.done;
      });
    };
    return o;
  }

  // A collection dropped live (the drop went to both sides) needs no copy.
  template <class Fn>
  static void skip_dropped(Fn&& fn) {
    try {
      fn();
    } catch (const store_error& e) {
      if (e.code() != errc::collection_not_found) throw;
    }
  }

  // live_begin created the target's collections without their approximate
  // index, so the backfill and the mirrors wrote at the table's speed
  // (pgvector: ~1 ms a row into a growing HNSW graph). It is built now, on
  // an adapter of this thread's own, while the mirrors go on through the
  // target's pool (vector_backend::build_index). In-process targets grow
  // their index as they go and defer nothing. A build is the migration's
  // own work, not a caller's request: it gets at least an hour (a million
  // rows take minutes), not the store's timeout_ms. An abort meanwhile
  // interrupts it (abort() must not wait for an hour); the collection keeps
  // its rows without the index, as after a crash.
  void build_indexes(const std::vector<collection_spec>& cols) {
    auto spec = vector_pool_for(target_uri);
    if (spec.sharded) return;
    auto time = index_build_time(spec.timeout);
    auto backend =
        spec.make_backend(0, std::chrono::steady_clock::now() + time);
    {
      // Checked under the lock interrupt_build takes: an abort either sees
      // the adapter or is seen here.
      std::lock_guard<std::mutex> guard(build_mtx);
      check_abort();
      building = backend.get();
    }
    auto done = caf::detail::make_scope_guard([&] {
      std::lock_guard<std::mutex> guard(build_mtx);
      building = nullptr;
    });
    for (auto& c : cols) {
      backend->set_deadline(std::chrono::steady_clock::now() + time);
      // An interrupted build throws; fail() reports the abort instead.
      skip_dropped([&] { backend->build_index(c.name); });
      check_abort();
    }
  }

  void run_vector(caf::scoped_actor& self, migration_result& sum) {
    using specs = std::vector<collection_spec>;
    record(live_step::started);
    auto cols = ask<specs>(self, vrouter, "migrate", live_begin_atom::value,
                           target_uri, link);
    accepted = true;
    check_abort();
    set_state(live_state::backfill);
    std::uint64_t total = 0;
    for (auto& c : cols)
      skip_dropped([&] {
        total += ask<std::uint64_t>(self, vrouter, "count", vcount_atom::value,
                                    c.name);
      });
    update([&](live_progress& g) { g.total = total; });
    auto backfill = spawn_vector_backfill(sys, vrouter);
    auto stop = caf::detail::make_scope_guard([&] {
      caf::anon_send_exit(backfill, caf::exit_reason::user_shutdown);
    });
    auto source = caf::actor_cast<vector_store_actor>(vrouter);
    for (auto& c : cols) {
      skip_dropped([&] {
        auto r = migrate_collection(sys, source, backfill, c.name,
                                    pipeline_options(sum.copied));
        sum.copied += r.copied;
      });
      update([&](live_progress& g) { g.copied = sum.copied; });
      check_abort();
    }
    build_indexes(cols);
    record(live_step::backfilled);
    set_state(live_state::verify);
    if (!opts.verify) {
      for (auto& c : ask<specs>(self, vrouter, "list", vlist_atom::value))
        skip_dropped([&] {
          sum.source_count += ask<std::uint64_t>(self, vrouter, "count",
                                                 vcount_atom::value, c.name);
          sum.target_count += ask<std::uint64_t>(self, vrouter, "count",
                                                 live_target_atom::value,
                                                 vcount_atom::value, c.name);
        });
      return;
    }
    // Both lists as they are now, including collections created live; a
    // collection missing on the target is a failure unless the router saw
    // the source drop it.
    auto lists = compare_collections(
        ask<specs>(self, vrouter, "list", vlist_atom::value),
        ask<specs>(self, vrouter, "list", live_target_atom::value,
                   vlist_atom::value),
        ask<ids>(self, vrouter, "verify", live_verify_atom::value,
                 vlist_atom::value));
    if (!lists.problems.empty()) {
      std::string what;
      for (auto& p : lists.problems) what += (what.empty() ? "" : "; ") + p;
      throw store_error(errc::verification_failed, what, "verify", target_name);
    }
    if (!lists.target_only.empty())
      storage_log()->warn(
          "live migration of '{}': {} also holds {} collection(s) the source "
          "does not have (first: '{}'); the store shows them after cutover",
          source_name, target_name, lists.target_only.size(),
          lists.target_only.front());
    for (auto& c : lists.both) {
      update([&](live_progress& g) { g.collection = c; });
      live_differences diffs;
      std::string after;
      do {
        after = verify_page(self, vrouter, sum, diffs, c, after);
        check_abort();
      } while (!after.empty());
      judge(diffs, sum, "collection '" + c + "'");
    }
    recheck(self);
    sum.verified = true;
  }

  void run_cache(caf::scoped_actor& self, migration_result& sum) {
    record(live_step::started);
    ask<bool>(self, crouter, "migrate", live_begin_atom::value, target_uri,
              link);
    accepted = true;
    check_abort();
    set_state(live_state::backfill);
    auto backfill = spawn_cache_backfill(sys, crouter);
    auto stop = caf::detail::make_scope_guard([&] {
      caf::anon_send_exit(backfill, caf::exit_reason::user_shutdown);
    });
    auto r = migrate_cache(sys, caf::actor_cast<cache_store_actor>(crouter),
                           backfill, pipeline_options(0));
    sum.copied = r.copied;
    update([&](live_progress& g) { g.copied = r.copied; });
    check_abort();
    record(live_step::backfilled);
    set_state(live_state::verify);
    if (!opts.verify) {
      sum.source_count = r.source_count;
      sum.target_count = r.target_count;
      return;
    }
    // Both directions: every source key on the target, and every target key
    // on the source.
    live_differences diffs;
    for (bool from_target : {false, true}) {
      std::string cursor;
      do {
        cursor = verify_page(self, crouter, sum, diffs, from_target, cursor);
        check_abort();
      } while (!cursor.empty());
    }
    judge(diffs, sum, "the cache");
    recheck(self);
    sum.verified = true;
  }

  void run() {
    migration_result sum;
    try {
      caf::scoped_actor self{sys};
      if (cache)
        run_cache(self, sum);
      else
        run_vector(self, sum);
      if (opts.verify) record(live_step::verified);
      set_state(live_state::cutover);
      auto pause = std::chrono::steady_clock::now();
      ask<bool>(self, router(), "cutover", live_cut_atom::value, opts.verify);
      auto waited = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - pause)
                        .count();
      update([&](live_progress& g) { g.cutover_ms = waited; });
      set_state(live_state::done);
      sum.seconds = seconds();
    } catch (const std::exception& e) {
      return fail(e);
    }
    promise.set_value(sum);
    if (!opts.finalize || abort_requested) return;
    try {
      caf::scoped_actor self{sys};
      ask<bool>(self, router(), "finalize", live_final_atom::value);
      update([](live_progress& g) { g.finalized = true; });
    } catch (const std::exception&) {
      // The store runs on the target either way; finalize() can retry.
    }
  }

  void record(live_step step) const {
    if (link.record) link.record(step);
  }

  // Leaves the source authoritative (the router may have done so already)
  // and reports the root cause: the router's, if the target failed there.
  void fail(const std::exception& e) {
    auto cause = link.status->failure();
    if (accepted) {
      caf::scoped_actor self{sys};
      self->request(router(), backstop, live_abort_atom::value, link)
          .receive([](bool) {}, [](caf::error&) {});
    }
    try {
      record(abort_requested ? live_step::aborted : live_step::failed);
    } catch (const store_error&) {
      // The journal still names a step before cutover: the source serves
      // after a restart either way.
    }
    set_state(abort_requested ? live_state::aborted : live_state::failed);
    if (abort_requested)
      promise.set_exception(std::make_exception_ptr(
          store_error(errc::conflict, "the live migration was aborted",
                      "migrate", source_name)));
    else if (cause)
      promise.set_exception(std::make_exception_ptr(*cause));
    else if (auto* se = dynamic_cast<const store_error*>(&e))
      promise.set_exception(std::make_exception_ptr(*se));
    else
      promise.set_exception(std::make_exception_ptr(
          store_error(errc::internal, e.what(), "migrate", source_name)));
  }

  std::chrono::nanoseconds since_began() const {
    return std::chrono::steady_clock::now() - began;
  }

  // From the start to the end, or to now while the migration runs.
  double seconds() const {
    auto end = ended_ns.load();
    auto ns = end ? std::chrono::nanoseconds(end) : since_began();
    return std::chrono::duration<double>(ns).count();
  }
};

}  // namespace storage
