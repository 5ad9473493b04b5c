// The cache router's live migration: mirroring each write to the target
// and the backfill path (see dual_write.hpp; verification is in
// cache_live_verify.cpp).
#include <map>

#include "actors/routing/cache_router_state.hpp"

namespace storage::cache_detail {

namespace {

// Collects a keyed mirror into the pending batch: a run of the same kind
// merges, anything else sends the run first.
bool collected(self_ptr self, decltype(mirror_batch::kind) kind) {
  auto& d = self->state.dual;
  if (!d || !d->collecting) return false;
  if (self->state.pending.kind != kind) flush_mirrors(self);
  self->state.pending.kind = kind;
  return true;
}

// `es` with each TTL fixed to end at `from` + TTL.
std::vector<timed_entry> timed(const std::vector<cache_entry>& es,
                               std::chrono::steady_clock::time_point from) {
  std::vector<timed_entry> out;
  out.reserve(es.size());
  for (auto& e : es) {
    out.push_back({e, std::nullopt});
    if (e.ttl) out.back().expires = from + ms(*e.ttl);
  }
  return out;
}

// The entries as they go out now: each TTL what is left of it, at least 1 ms
// (an entry whose time ran out while it waited expires on the target at
// once, after replacing whatever older value was there).
std::vector<cache_entry> as_of_now(const std::vector<timed_entry>& es) {
  auto now = std::chrono::steady_clock::now();
  std::vector<cache_entry> out;
  out.reserve(es.size());
  for (auto& t : es) {
    out.push_back(t.entry);
    if (t.expires)
      out.back().ttl = std::max<std::int64_t>(
          1, std::chrono::duration_cast<ms>(*t.expires - now).count());
  }
  return out;
}

void send_mset(self_ptr self, const std::vector<timed_entry>& es) {
  if (collected(self, mirror_batch::mset)) {
    auto& to = self->state.pending.entries;
    to.insert(to.end(), es.begin(), es.end());
    return;
  }
  to_target_owners(
      self, es, [](const timed_entry& e) { return e.entry.key; },
      [=](std::uint32_t i, std::vector<timed_entry> part) {
        target_send<bool>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cmset_atom::value,
                            as_of_now(part));
        });
      });
}

void send_del(self_ptr self, const ids& keys) {
  if (collected(self, mirror_batch::del)) {
    auto& to = self->state.pending.keys;
    to.insert(to.end(), keys.begin(), keys.end());
    return;
  }
  to_target_owners(
      self, keys, [](const std::string& k) { return k; },
      [=](std::uint32_t i, ids part) {
        target_send<std::uint64_t>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cdel_atom::value, part);
        });
      });
}

}  // namespace

void flush_mirrors(self_ptr self) {
  auto b = std::move(self->state.pending);
  self->state.pending = {};
  auto& d = self->state.dual;
  if (!d || b.kind == mirror_batch::none) return;
  if (b.kind == mirror_batch::mset) {
    auto last = last_per_key(std::move(b.entries),
                             [](const timed_entry& e) { return e.entry.key; });
    target_send<bool>(self, pool_type::by_caller,
                      [=](const worker& w, job_ticket t) {
                        return ask_worker(self, w, std::move(t),
                                          cmset_atom::value, as_of_now(last));
                      });
  } else {
    auto keys =
        last_per_key(std::move(b.keys), [](const std::string& k) { return k; });
    target_send<std::uint64_t>(
        self, pool_type::by_caller, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cdel_atom::value, keys);
        });
  }
}

std::shared_ptr<mirror_entry> keyed_sent(self_ptr self, const ids& keys) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  if (!d->reversed) {
    auto& touched = d->touched[""];
    auto& recheck = d->recheck[""];
    for (auto& k : keys) {
      touched.insert(k);
      recheck.insert(k);
    }
  }
  return reserve(self);
}

void set_done(self_ptr self, const mirror_slot<worker>& slot,
              const cache_entry& e, bool ok) {
  if (!slot.entry) return;
  if (ok)
    return fill(self, slot.entry,
                [=, es = timed({e}, slot.sent)] { send_mset(self, es); });
  copy_keys(self, slot, {e.key});
}

void del_done(self_ptr self, const mirror_slot<worker>& slot, const ids& keys,
              bool ok) {
  if (!slot.entry) return;
  if (ok) return fill(self, slot.entry, [=] { send_del(self, keys); });
  copy_keys(self, slot, keys);
}

void mset_done(self_ptr self, const mirror_slot<worker>& slot,
               const std::vector<cache_entry>& es, bool ok) {
  if (!slot.entry) return;
  if (ok)
    return fill(self, slot.entry,
                [=, ts = timed(es, slot.sent)] { send_mset(self, ts); });
  ids keys;
  for (auto& e : es) keys.push_back(e.key);
  copy_keys(self, slot, keys);
}

void copy_keys(self_ptr self, const mirror_slot<worker>& slot,
               const ids& keys) {
  struct snapshot {
    values found;
    std::vector<ttl_info> ttls;
    std::size_t left;
    bool failed = false;
  };
  auto d = self->state.dual;
  auto e = slot.entry;
  auto s = std::make_shared<snapshot>();
  auto read_at = std::chrono::steady_clock::now();  // the reads go out below
  s->ttls.resize(keys.size());
  s->left = keys.size() + 1;
  auto failed = [=](caf::error& err) {
    if (s->failed) return;
    s->failed = true;
    fill(self, e, {});
    if (self->state.dual == d) fail_migration(self, err);
  };
  auto step = [=] {
    if (s->failed || --s->left > 0) return;
    // The TTLs read are what was left when the reads went out.
    std::vector<cache_entry> present;
    ids gone;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto& t = s->ttls[i];
      bool live = s->found[i].found && t.exists && (!t.ttl || *t.ttl > 0);
      if (live)
        present.push_back({keys[i], s->found[i].value, t.ttl});
      else
        gone.push_back(keys[i]);
    }
    fill(self, e, [=, ts = timed(present, read_at)] {
      if (!present.empty()) send_mset(self, ts);
      if (!gone.empty()) send_del(self, gone);
    });
  };
  // Sent back to back to the worker that just got the write: nothing else
  // can reach that key in between.
  auto t = self->state.pool->spec.timeout;
  self->request(slot.source, t, cmget_atom::value, keys)
      .then(
          [=](values& v) {
            s->found = std::move(v);
            step();
          },
          failed);
  for (std::size_t i = 0; i < keys.size(); ++i)
    self->request(slot.source, t, cttl_atom::value, keys[i])
        .then(
            [=](ttl_info& info) {
              s->ttls[i] = info;
              step();
            },
            failed);
}

std::shared_ptr<mirror_entry> clear_sent(self_ptr self) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  // Whatever the backfill read before this clear is gone now.
  if (!d->reversed) d->wiped.insert("");
  return reserve(self);
}

void clear_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                const caf::error* err) {
  if (!e) return;
  if (err) {
    fill(self, e, {});
    return fail_migration(self, *err);
  }
  fill(self, e, [=] {
    auto& d = self->state.dual;
    if (!d) return;
    flush_mirrors(self);  // the keyed mirrors before the clear go first
    for (auto i : everyone_or_one(*d->target))
      target_send<std::uint64_t>(self, i, [=](const worker& w, job_ticket t) {
        return ask_worker(self, w, std::move(t), cclear_atom::value);
      });
  });
}

void live_begin(self_ptr self, caf::typed_response_promise<bool> rp,
                const std::string& uri, live_link link) {
  if (auto err =
          start_dual<pool_type>(self, uri, std::move(link), spawn_cache_worker))
    return rp.deliver(err), void();
  auto d = self->state.dual;
  d->flush = [self] { flush_mirrors(self); };
  auto src = self->state.pool;
  // A barrier: each source worker answers only after the writes dispatched
  // before dual-writing began, so the backfill reads them. A cache needs no
  // preparation on the target, so mirrors may flow at once.
  d->target_ready = true;
  scatter<bool>(
      self, src, all_workers(src->size()), "migrate",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), cexists_atom::value,
                          std::string("live-migration-barrier"));
      },
      [=](const caf::error& e, std::vector<bool>&) mutable {
        if (self->state.dual != d)
          return rp.deliver(e ? e : not_migrating(self)), void();
        if (e) {
          fail_migration(self, e);
          return rp.deliver(e), void();
        }
        rp.deliver(true);
      });
}

void backfill_entries(
    self_ptr self, const std::vector<cache_entry>& es,
    std::function<void(const caf::error&, std::uint64_t)> done) {
  auto d = self->state.dual;
  if (!d) return done(not_migrating(self), 0);
  if (!d->target->spec.sharded)
    return send_in_chunks(
        self, std::make_shared<const std::vector<cache_entry>>(es),
        [=](const cache_entry& e) { return !d->stale("", e.key, nullptr); },
        [=](std::vector<cache_entry> chunk,
            std::function<void(const caf::error&, std::uint64_t)> reply) {
          auto n = static_cast<std::uint64_t>(chunk.size());
          target_send<bool>(
              self, pool_type::by_caller,
              [=](const worker& w, job_ticket t) {
                return ask_worker(self, w, std::move(t), cmset_atom::value,
                                  chunk);
              },
              [=](const caf::error& err, bool*) { reply(err, err ? 0 : n); });
        },
        std::move(done));
  // In-process shards: every owner at once.
  std::vector<cache_entry> keep;
  for (auto& e : es)
    if (!d->stale("", e.key, nullptr)) keep.push_back(e);
  auto parts =
      partition(*d->target, keep, [](const cache_entry& e) { return e.key; });
  struct tally {
    std::size_t left = 0;
    std::uint64_t written = 0;
    bool failed = false;
  };
  auto t = std::make_shared<tally>();
  for (auto& p : parts) t->left += p.empty() ? 0 : 1;
  if (t->left == 0) return done(caf::error{}, 0);
  for (std::uint32_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    auto batch = pick(keep, parts[i]);
    target_send<bool>(
        self, part_target(*d->target, i),
        [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cmset_atom::value, batch);
        },
        [=](const caf::error& err, bool*) mutable {
          if (t->failed) return;
          if (err) {
            t->failed = true;
            return done(err, 0);
          }
          t->written += batch.size();
          if (--t->left == 0) done(caf::error{}, t->written);
        });
  }
}

void unfill_keys(self_ptr self, const ids& keys) {
  auto d = self->state.dual;
  if (!d) return;
  ids keep;
  for (auto& k : keys)
    if (!d->stale("", k, nullptr)) keep.push_back(k);
  if (!keep.empty()) send_del(self, keep);
}

void live_backfill(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                   const std::vector<cache_entry>& es) {
  backfill_entries(self, es,
                   [rp](const caf::error& e, std::uint64_t n) mutable {
                     if (e)
                       rp.deliver(e);
                     else
                       rp.deliver(n);
                   });
}

}  // namespace storage::cache_detail
