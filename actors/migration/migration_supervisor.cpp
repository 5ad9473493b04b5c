// The supervisor: starts reader, transformer and writer, monitors them, and
// when one fails (a request error such as backend_unavailable or timeout, or
// an exception) stops the others and starts a new pipeline at the last
// checkpoint after a backoff that doubles. It gives up after
// opts.max_attempts restarts in a row that made no progress, and at once on
// an error no restart mends (invalid_argument, unsupported).
//
// A restart waits until every stage of the old pipeline is down: a stage's
// messages reach the supervisor before its down message, so by then every
// acknowledged batch has been counted and no old writer can still save a
// checkpoint behind the new one's back.
#include <algorithm>
#include <atomic>
#include <future>
#include <memory>

#include "actors/migration/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

// The blocking caller's end; set exactly once, by success, by failure, or by
// the supervisor vanishing.
struct outcome_slot {
  std::promise<pipeline_outcome> promise;
  std::atomic<bool> set{false};

  bool claim() { return !set.exchange(true); }
};

struct supervisor_state {
  pipeline_ends ends;
  migration_options opts;
  std::uint64_t total = 0;
  std::shared_ptr<outcome_slot> slot;
  std::uint64_t generation = 0;
  caf::actor reader, transformer, writer;
  std::size_t alive = 0;
  bool failing = false;
  std::string cursor;
  std::uint64_t done = 0;
  std::uint64_t copied = 0;
  unsigned failures = 0;  // in a row, without progress between them
  caf::error last_error;
  std::chrono::steady_clock::time_point began;
};

using self_ptr = caf::stateful_actor<supervisor_state>*;

void report(self_ptr self) {
  auto& st = self->state;
  if (!st.opts.on_progress) return;
  migration_progress p;
  p.collection = st.ends.collection;
  p.done = st.done;
  p.total = std::max(st.total, st.done);
  p.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - st.began)
          .count();
  st.opts.on_progress(p);
}

void start_generation(self_ptr self) {
  auto& st = self->state;
  auto& sys = self->system();
  ++st.generation;
  st.reader = spawn_migration_reader(sys, st.ends, st.opts, st.cursor);
  st.transformer = spawn_migration_transformer(sys, st.reader, st.opts);
  st.writer = spawn_migration_writer(sys, st.ends, st.opts, st.transformer,
                                     caf::actor_cast<caf::actor>(self),
                                     st.generation, st.done);
  for (auto* a : {&st.reader, &st.transformer, &st.writer}) self->monitor(*a);
  st.alive = 3;
  st.failing = false;
}

bool is_current(self_ptr self, const caf::actor_addr& who) {
  auto& st = self->state;
  return who == st.reader.address() || who == st.transformer.address() ||
         who == st.writer.address();
}

void stop_stages(self_ptr self) {
  auto& st = self->state;
  for (auto* a : {&st.reader, &st.transformer, &st.writer})
    if (*a) self->send_exit(*a, caf::exit_reason::kill);
}

// An error a restart cannot mend: the request itself was wrong (a target
// URI with an empty namespace). Not conflict or dimension_mismatch: a
// collection dropped and created again during a live migration gives those
// once, and the restart reads the new one.
bool permanent(const caf::error& e) {
  if (e.category() != error_category) return false;
  auto code = static_cast<errc>(e.code());
  return code == errc::invalid_argument || code == errc::unsupported;
}

void give_up(self_ptr self) {
  auto& st = self->state;
  auto cause = from_caf_error(st.last_error, "migrate", st.ends.target_name);
  std::string what = st.ends.cache ? std::string("the cache")
                                   : "collection '" + st.ends.collection + "'";
  store_error e(cause.code(),
                "migrating " + what + " from '" + st.ends.source_name +
                    "' to '" + st.ends.target_name + "' failed" +
                    (st.failures > 1
                         ? " after " + std::to_string(st.failures) + " attempts"
                         : std::string()) +
                    ": " + cause.message(),
                cause.operation(), cause.store());
  if (st.slot->claim())
    st.slot->promise.set_exception(std::make_exception_ptr(e));
  self->quit();
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (!is_current(self, dm.source)) return;
  --st.alive;
  if (!st.failing) {
    st.failing = true;
    st.last_error =
        dm.reason ? dm.reason
                  : to_caf_error(store_error(
                        errc::internal, "a pipeline stage stopped unexpectedly",
                        "migrate", st.ends.target_name));
    stop_stages(self);
  }
  if (st.alive > 0) return;
  ++st.failures;
  if (st.failures > st.opts.max_attempts || permanent(st.last_error))
    return give_up(self);
  auto shift = std::min(st.failures - 1, 8u);
  auto delay = st.opts.backoff * (1u << shift);
  self->delayed_send(self, delay, mrestart_atom::value, st.generation);
}

caf::behavior migration_supervisor(self_ptr self, pipeline_ends ends,
                                   migration_options opts, pipeline_start start,
                                   std::shared_ptr<outcome_slot> slot) {
  auto& st = self->state;
  st.ends = std::move(ends);
  st.opts = std::move(opts);
  st.total = start.total;
  st.cursor = start.cursor;
  st.done = start.done;
  st.slot = slot;
  st.began = std::chrono::steady_clock::now();
  self->attach_functor([slot] {
    if (slot->claim())
      slot->promise.set_exception(std::make_exception_ptr(store_error(
          errc::internal, "the migration supervisor stopped", "migrate")));
  });
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  report(self);
  start_generation(self);
  self->delayed_send(self, std::chrono::seconds(1), mtick_atom::value);
  return {
      [=](macked_atom, std::uint64_t gen, std::uint64_t n, std::string& cur) {
        auto& st = self->state;
        if (gen != st.generation) return;
        st.done += n;
        st.copied += n;
        st.cursor = std::move(cur);
        st.failures = 0;
      },
      [=](mdone_atom, std::uint64_t gen) {
        auto& st = self->state;
        if (gen != st.generation || st.failing) return;
        st.failing = true;  // the stages' down messages are no failure now
        stop_stages(self);
        report(self);
        if (st.slot->claim())
          st.slot->promise.set_value(pipeline_outcome{st.copied, st.done});
        self->quit();
      },
      [=](mrestart_atom, std::uint64_t gen) {
        if (gen == self->state.generation) start_generation(self);
      },
      [=](mtick_atom) {
        report(self);
        self->delayed_send(self, std::chrono::seconds(1), mtick_atom::value);
      },
  };
}

}  // namespace

pipeline_outcome run_migration_pipeline(caf::actor_system& sys,
                                        const pipeline_ends& ends,
                                        const migration_options& opts,
                                        const pipeline_start& start) {
  auto slot = std::make_shared<outcome_slot>();
  auto result = slot->promise.get_future();
  sys.spawn(migration_supervisor, ends, opts, start, slot);
  return result.get();
}

}  // namespace storage
