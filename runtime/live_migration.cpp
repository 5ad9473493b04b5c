#include "runtime/live_migration.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/live_backfill.hpp"
#include "messages/caf_support.hpp"
#include "runtime/live_coordinator.hpp"

namespace storage {

const char* to_string(live_state s) {
  switch (s) {
    case live_state::dual_write:
      return "dual_write";
    case live_state::backfill:
      return "backfill";
    case live_state::verify:
      return "verify";
    case live_state::cutover:
      return "cutover";
    case live_state::done:
      return "done";
    case live_state::failed:
      return "failed";
    default:
      return "aborted";
  }
}

struct live_migration::impl {
  impl(caf::actor_system& s) : sys(s) {}

  caf::actor_system& sys;
  bool cache = false;
  vector_router_actor vrouter;
  cache_router_actor crouter;
  std::string source_name, target_name, target_uri;
  live_options opts;
  live_link link{std::make_shared<live_status>()};
  mutable std::mutex mtx;
  live_progress prog;
  std::chrono::steady_clock::time_point began =
      std::chrono::steady_clock::now();
  std::promise<migration_result> promise;
  std::shared_future<migration_result> fut = promise.get_future().share();
  std::atomic<bool> abort_requested{false};
  // Set once the router accepted this migration: only then may a failure
  // here tell the router to abort (another migration may be running).
  std::atomic<bool> accepted{false};
  std::thread thread;

  caf::actor router() const {
    return cache ? caf::actor_cast<caf::actor>(crouter)
                 : caf::actor_cast<caf::actor>(vrouter);
  }

  void set_state(live_state s) {
    std::lock_guard<std::mutex> guard(mtx);
    prog.state = s;
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

  // One verification page: (records compared, next cursor).
  template <class Handle, class... Ts>
  std::pair<std::uint64_t, std::string> verify_page(caf::scoped_actor& self,
                                                    const Handle& dest,
                                                    Ts&&... xs) const {
    std::pair<std::uint64_t, std::string> out;
    caf::error failure;
    self->request(dest, backstop, live_verify_atom::value,
                  std::forward<Ts>(xs)...)
        .receive(
            [&](std::uint64_t n, std::string& next) {
              out = {n, std::move(next)};
            },
            [&](caf::error& e) { failure = std::move(e); });
    if (failure) throw from_caf_error(failure, "verify", target_name);
    return out;
  }

  migration_options pipeline_options(std::uint64_t base) {
    migration_options o;
    o.batch = opts.batch;
    // Our own verification runs with writes held per page; the pipeline's
    // would compare two sides that live traffic is changing.
    o.verify = false;
    // A failed target ends the migration; retrying would only delay that.
    o.max_attempts = 1;
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

  void run_vector(caf::scoped_actor& self, migration_result& sum) {
    using specs = std::vector<collection_spec>;
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
    set_state(live_state::verify);
    // Every collection the source has now, including ones created live.
    for (auto& c : ask<specs>(self, vrouter, "list", vlist_atom::value)) {
      update([&](live_progress& g) { g.collection = c.name; });
      if (!opts.verify) {
        sum.source_count += ask<std::uint64_t>(self, vrouter, "count",
                                               vcount_atom::value, c.name);
        sum.target_count +=
            ask<std::uint64_t>(self, vrouter, "count", live_target_atom::value,
                               vcount_atom::value, c.name);
        continue;
      }
      skip_dropped([&] {
        std::string after;
        do {
          auto [n, next] = verify_page(self, vrouter, c.name, after);
          sum.source_count += n;
          sum.target_count += n;
          update([&, n = n](live_progress& g) { g.verified += n; });
          after = next;
          check_abort();
        } while (!after.empty());
      });
    }
    sum.verified = opts.verify;
  }

  void run_cache(caf::scoped_actor& self, migration_result& sum) {
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
    set_state(live_state::verify);
    if (!opts.verify) {
      sum.source_count = r.source_count;
      sum.target_count = r.target_count;
      return;
    }
    // Both directions: every source key on the target, and every target key
    // on the source.
    for (bool from_target : {false, true}) {
      std::string cursor;
      do {
        auto [n, next] = verify_page(self, crouter, from_target, cursor);
        (from_target ? sum.target_count : sum.source_count) += n;
        update([&, n = n](live_progress& g) { g.verified += n; });
        cursor = next;
        check_abort();
      } while (!cursor.empty());
    }
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
      set_state(live_state::cutover);
      ask<bool>(self, router(), "cutover", live_cut_atom::value);
      sum.seconds = seconds();
      set_state(live_state::done);
    } catch (const std::exception& e) {
      return fail(e);
    }
    promise.set_value(sum);
    if (!opts.finalize) return;
    try {
      caf::scoped_actor self{sys};
      ask<bool>(self, router(), "finalize", live_final_atom::value);
      update([](live_progress& g) { g.finalized = true; });
    } catch (const std::exception&) {
      // The store runs on the target either way; finalize() can retry.
    }
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

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         began)
        .count();
  }
};

live_migration::live_migration(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

live_state live_migration::state() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  return impl_->prog.state;
}

live_progress live_migration::progress() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto p = impl_->prog;
  p.seconds = impl_->seconds();
  return p;
}

std::shared_future<migration_result> live_migration::result() const {
  return impl_->fut;
}

migration_result live_migration::wait() const {
  return impl_->fut.get();
}

void live_migration::finalize() {
  if (state() != live_state::done)
    throw store_error(errc::conflict,
                      std::string("the migration is ") + to_string(state()) +
                          ", not done: nothing to finalize",
                      "finalize", impl_->source_name);
  if (progress().finalized) return;
  caf::scoped_actor self{impl_->sys};
  impl_->ask<bool>(self, impl_->router(), "finalize", live_final_atom::value);
  impl_->update([](live_progress& g) { g.finalized = true; });
}

void live_migration::abort() {
  impl_->abort_requested = true;
  caf::error failure;
  {
    caf::scoped_actor self{impl_->sys};
    self->request(impl_->router(), impl::backstop, live_abort_atom::value,
                  impl_->link)
        .receive([](bool) {}, [&](caf::error& e) { failure = std::move(e); });
  }
  if (failure) {
    // Refused: the store already cut over. The migration completes.
    impl_->abort_requested = false;
    throw from_caf_error(failure, "abort", impl_->source_name);
  }
  impl_->fut.wait();
}

void live_migration::shutdown() {
  if (!impl_->thread.joinable()) return;
  if (impl_->fut.wait_for(std::chrono::seconds(0)) !=
      std::future_status::ready) {
    try {
      abort();
    } catch (...) {
      // Cutting over right now: it completes on its own.
    }
  }
  impl_->thread.join();
}

namespace {

live_migration start(std::shared_ptr<live_migration::impl> m,
                     std::string source_name, std::string target_uri,
                     live_options opts) {
  m->source_name = std::move(source_name);
  m->target_name = redact(target_uri);
  m->target_uri = std::move(target_uri);
  m->opts = opts;
  m->thread = std::thread([m] { m->run(); });
  return live_migration(m);
}

}  // namespace

live_migration start_live_migration(caf::actor_system& sys,
                                    const vector_router_actor& router,
                                    std::string source_name,
                                    std::string target_uri, live_options opts) {
  auto m = std::make_shared<live_migration::impl>(sys);
  m->vrouter = router;
  return start(m, std::move(source_name), std::move(target_uri), opts);
}

live_migration start_live_migration(caf::actor_system& sys,
                                    const cache_router_actor& router,
                                    std::string source_name,
                                    std::string target_uri, live_options opts) {
  auto m = std::make_shared<live_migration::impl>(sys);
  m->cache = true;
  m->crouter = router;
  return start(m, std::move(source_name), std::move(target_uri), opts);
}

}  // namespace storage
