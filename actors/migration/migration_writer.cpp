// The writer: upserts batches into the target and, only once the target
// acknowledged a batch and every one before it, records the checkpoint and
// asks for one more batch. Up to half the `in_flight` batches (at least one)
// are written at once: with one, the target idled for a round trip and two
// actor hops per batch (a Redis migration spent half its time there); with
// all of them, the reader could prefetch none. The store keeps one caller's
// writes in order per key, so overlapping batches land as they would one by
// one; replies may come back out of order (a sharded router), so the
// checkpoint only ever advances over the acknowledged prefix, in source
// order, and a restart replays at most the batches written past it
// (idempotent).
//
// It runs detached: saving a checkpoint is a blocking fsync, which must not
// stall a scheduler thread other actors share.
#include <chrono>
#include <deque>
#include <optional>

#include "actors/migration/checkpoint_file.hpp"
#include "actors/migration/migration_pipeline.hpp"
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
  // Received batches in source order; the first `writing` are being written,
  // and acked[i] holds what the target acknowledged for queue[i].
  std::deque<migration_batch> queue;
  std::deque<std::optional<std::uint64_t>> acked;
  std::size_t writing = 0;
  std::size_t max_writing = 1;
  std::uint64_t front_seq = 0;  // sequence number of queue.front()
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

void advance(self_ptr self);

void acknowledged(self_ptr self, std::uint64_t seq, std::uint64_t written) {
  auto& st = self->state;
  st.acked[seq - st.front_seq] = written;
  advance(self);
}

void fail(self_ptr self, caf::error& e, const char* op) {
  auto& st = self->state;
  self->quit(to_caf_error(from_caf_error(e, op, st.ends.target_name)));
}

// The time each key has left now, from the absolute expiry taken when it
// was read; a key whose time ran out meanwhile is not written at all.
// Moves the entries out of the batch (written once, never again).
std::vector<cache_entry> live_entries(migration_batch& b) {
  std::vector<cache_entry> out;
  out.reserve(b.entries.size());
  auto now = now_unix_ms();
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    auto& e = b.entries[i];
    auto expiry = b.expiry_ms[i];
    if (expiry != 0) {
      if (expiry - now <= 0) continue;
      e.ttl = expiry - now;
    }
    out.push_back(std::move(e));
  }
  b.entries.clear();
  return out;
}

// Sends batch `seq`; false if it has nothing to write.
bool send(self_ptr self, migration_batch& b, std::uint64_t seq) {
  auto& st = self->state;
  if (st.ends.cache) {
    auto entries = live_entries(b);
    if (entries.empty()) return false;
    auto n = static_cast<std::uint64_t>(entries.size());
    self->request(st.ends.ctarget, migration_request_timeout, cmset_atom::value,
                  std::move(entries))
        .then([=](bool) { acknowledged(self, seq, n); },
              [=](caf::error& e) { fail(self, e, "mset"); });
    return true;
  }
  if (b.records.empty()) return false;
  self->request(st.ends.vtarget, migration_request_timeout, vupsert_atom::value,
                st.ends.collection, std::move(b.records))
      .then([=](std::uint64_t n) { acknowledged(self, seq, n); },
            [=](caf::error& e) { fail(self, e, "upsert"); });
  return true;
}

// Checkpoints every batch of the acknowledged prefix, in source order, and
// starts writing the next batches while fewer than max_writing are out.
void advance(self_ptr self) {
  auto& st = self->state;
  for (;;) {
    while (!st.acked.empty() && st.acked.front()) {
      auto n = *st.acked.front();
      auto batch = std::move(st.queue.front());
      st.queue.pop_front();
      st.acked.pop_front();
      ++st.front_seq;
      --st.writing;
      st.done += n;
      // The last batch records that the copy reached the source's end, not
      // that the migration completed: that waits for verification
      // (migration.cpp).
      if (st.checkpoint)
        st.checkpoint->put(
            checkpoint_key(st.ends),
            checkpoint_entry{batch.cursor, st.done, batch.last, false});
      self->send(st.supervisor, macked_atom::value, st.generation, n,
                 batch.cursor);
      if (batch.last) {
        self->send(st.supervisor, mdone_atom::value, st.generation);
        self->quit();
        return;
      }
      self->send(st.upstream, mpull_atom::value, std::uint64_t{1});
    }
    // A batch with nothing to write is acknowledged at once, which may
    // extend the prefix: go round again.
    bool empty_acked = false;
    while (st.writing < st.max_writing && st.writing < st.queue.size()) {
      auto seq = st.front_seq + st.writing;
      if (!send(self, st.queue[st.writing++], seq)) {
        st.acked[seq - st.front_seq] = 0;
        empty_acked = true;
      }
    }
    if (!empty_acked) return;
  }
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
  st.max_writing = std::max<std::uint32_t>(1, st.opts.in_flight / 2);
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
        self->state.acked.emplace_back();
        advance(self);
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
