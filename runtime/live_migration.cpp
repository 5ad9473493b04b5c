#include "runtime/live_migration.hpp"

#include "messages/store_uri.hpp"
#include "runtime/caf_thread_guard.hpp"
#include "runtime/live_migration_impl.hpp"

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

live_migration::live_migration(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

live_state live_migration::state() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  return impl_->prog.state;
}

live_progress live_migration::progress() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  auto p = impl_->prog;
  p.seconds = impl_->seconds();
  p.mirroring_back = p.state == live_state::done && !p.finalized &&
                     !impl_->link.status->failure();
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
                          ", not cut over: nothing to finalize",
                      "finalize", impl_->source_name);
  if (progress().finalized) return;
  if (impl_->link.status->failure()) {
    // Reverse replication already ended (the source failed) and closed the
    // source's pool; only the journal is left to settle.
    impl_->record(live_step::finalized);
  } else {
    caf_thread_guard caf_thread;
    caf::scoped_actor self{impl_->sys};
    impl_->ask<bool>(self, impl_->router(), "finalize", live_final_atom::value);
  }
  impl_->update([](live_progress& g) { g.finalized = true; });
}

void live_migration::abort() {
  auto s = state();
  if (s == live_state::failed || s == live_state::aborted) return;
  if (progress().finalized)
    throw store_error(errc::conflict,
                      "the migration was finalized: the source no longer "
                      "receives writes, so switching back would lose them",
                      "abort", impl_->source_name);
  impl_->abort_requested = true;
  impl_->interrupt_build();
  bool stopped = false;
  caf::error failure;
  {
    caf_thread_guard caf_thread;
    caf::scoped_actor self{impl_->sys};
    self->request(impl_->router(), impl::backstop, live_abort_atom::value,
                  impl_->link)
        .receive([&](bool b) { stopped = b; },
                 [&](caf::error& e) { failure = std::move(e); });
  }
  if (failure) {
    // The switch back could not be made safely (the journal could not be
    // written, or the source failed while catching up): the store stays on
    // the target.
    impl_->abort_requested = false;
    throw from_caf_error(failure, "abort", impl_->source_name);
  }
  impl_->fut.wait();
  if (stopped) return impl_->set_state(live_state::aborted);
  if (state() == live_state::done) {
    impl_->abort_requested = false;
    auto cause = impl_->link.status->failure();
    throw store_error(
        errc::conflict,
        "reverse replication to the source stopped" +
            (cause ? " (" + std::string(cause->what()) + ")" : std::string{}) +
            ": the source misses writes made since, so switching back would "
            "lose them",
        "abort", impl_->source_name);
  }
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

live_migration start(std::shared_ptr<live_migration::impl> m, live_start how) {
  m->source_name = std::move(how.source_name);
  m->target_name = redact_uri(how.target_uri);
  m->target_uri = std::move(how.target_uri);
  m->opts = how.opts;
  m->link.record = std::move(how.record);
  m->repair = how.repair;
  m->thread = std::thread([m] { m->run(); });
  return live_migration(m);
}

}  // namespace

live_migration start_live_migration(caf::actor_system& sys,
                                    const vector_router_actor& router,
                                    live_start how) {
  auto m = std::make_shared<live_migration::impl>(sys);
  m->vrouter = router;
  return start(m, std::move(how));
}

live_migration start_live_migration(caf::actor_system& sys,
                                    const cache_router_actor& router,
                                    live_start how) {
  auto m = std::make_shared<live_migration::impl>(sys);
  m->cache = true;
  m->crouter = router;
  return start(m, std::move(how));
}

}  // namespace storage
