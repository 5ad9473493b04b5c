// The writer: upserts one batch at a time into the target and, only once the
// target acknowledged it, records the checkpoint and asks for one more batch.
// One write at a time keeps the checkpoints in source order; the reader
// prefetches up to `in_flight` batches meanwhile, so the target stays busy.
//
// It runs detached: saving a checkpoint is a blocking fsync, which must not
// stall a scheduler thread other actors share.
#include <chrono>
#include <deque>
#include <optional>

#include "actors/checkpoint_file.hpp"
#include "actors/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

struct writer_state {
  pipeline_ends ends;
  migration_options opts;
  caf::actor upstream;
  caf::actor supervisor;
  std::uint64_t generation = 0;
  std::uint64_t done = 0;  // acknowledged, all runs
  std::optional<checkpoint_file> checkpoint;
  std::deque<migration_batch> queue;
  bool writing = false;
};

using self_ptr = caf::stateful_actor<writer_state>*;

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::string> checkpoint_key(const pipeline_ends& ends) {
  if (ends.cache) return std::nullopt;
  return ends.collection;
}

void write_next(self_ptr self);

void acknowledged(self_ptr self, std::uint64_t written) {
  auto& st = self->state;
  auto batch = std::move(st.queue.front());
  st.queue.pop_front();
  st.done += written;
  // The last batch records that the copy reached the source's end, not that
  // the migration completed: that waits for verification (migration.cpp).
  if (st.checkpoint)
    st.checkpoint->put(
        checkpoint_key(st.ends),
        checkpoint_entry{batch.cursor, st.done, batch.last, false});
  self->send(st.supervisor, macked_atom::value, st.generation, written,
             batch.cursor);
  st.writing = false;
  if (batch.last) {
    self->send(st.supervisor, mdone_atom::value, st.generation);
    self->quit();
    return;
  }
  self->send(st.upstream, mpull_atom::value, std::uint64_t{1});
  write_next(self);
}

void fail(self_ptr self, caf::error& e, const char* op) {
  auto& st = self->state;
  self->quit(to_caf_error(from_caf_error(e, op, st.ends.target_name)));
}

// The time each key has left now, from the absolute expiry taken when it
// was read; a key whose time ran out meanwhile is not written at all.
std::vector<cache_entry> live_entries(migration_batch& b) {
  std::vector<cache_entry> out;
  auto now = now_unix_ms();
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    auto& e = b.entries[i];
    auto expiry = b.expiry_ms[i];
    if (expiry != 0) {
      if (expiry - now <= 0) continue;
      e.ttl = expiry - now;
    }
    out.push_back(e);
  }
  return out;
}

void write_next(self_ptr self) {
  auto& st = self->state;
  if (st.writing || st.queue.empty()) return;
  st.writing = true;
  auto& b = st.queue.front();
  if (st.ends.cache) {
    auto entries = live_entries(b);
    if (entries.empty()) return acknowledged(self, 0);
    auto n = static_cast<std::uint64_t>(entries.size());
    self->request(st.ends.ctarget, migration_request_timeout, cmset_atom::value,
                  std::move(entries))
        .then([=](bool) { acknowledged(self, n); },
              [=](caf::error& e) { fail(self, e, "mset"); });
    return;
  }
  if (b.records.empty()) return acknowledged(self, 0);
  self->request(st.ends.vtarget, migration_request_timeout, vupsert_atom::value,
                st.ends.collection, std::move(b.records))
      .then([=](std::uint64_t n) { acknowledged(self, n); },
            [=](caf::error& e) { fail(self, e, "upsert"); });
}

caf::behavior migration_writer(self_ptr self, pipeline_ends ends,
                               migration_options opts, caf::actor upstream,
                               caf::actor supervisor, std::uint64_t generation,
                               std::uint64_t done_before) {
  auto& st = self->state;
  st.ends = std::move(ends);
  st.opts = std::move(opts);
  st.upstream = std::move(upstream);
  st.supervisor = std::move(supervisor);
  st.generation = generation;
  st.done = done_before;
  auto store = st.ends.target_name;
  self->set_exception_handler(
      [store](caf::scheduled_actor*, std::exception_ptr& eptr) {
        return stage_exception(eptr, "write", store);
      });
  if (!st.opts.checkpoint_file.empty())
    st.checkpoint = checkpoint_file::open(
        st.opts.checkpoint_file, st.ends.source_name, st.ends.target_name);
  // The whole window of credit at once; afterwards one per acknowledgement.
  self->send(st.upstream, mpull_atom::value,
             std::uint64_t{std::max<std::uint32_t>(1, st.opts.in_flight)});
  return {
      [=](migration_batch& b) {
        self->state.queue.push_back(std::move(b));
        write_next(self);
      },
  };
}

}  // namespace

caf::actor spawn_migration_writer(caf::actor_system& sys,
                                  const pipeline_ends& ends,
                                  const migration_options& opts,
                                  caf::actor upstream, caf::actor supervisor,
                                  std::uint64_t generation,
                                  std::uint64_t done_before) {
  return sys.spawn<caf::detached>(migration_writer, ends, opts,
                                  std::move(upstream), std::move(supervisor),
                                  generation, done_before);
}

}  // namespace storage
