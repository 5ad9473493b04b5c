// The cache router's live migration: mirroring each write to the target,
// the backfill path, paged verification and cutover (see dual_write.hpp).
#include <map>

#include "actors/cache_router_state.hpp"

namespace storage::cache_detail {

namespace {

constexpr std::uint32_t verify_page = 200;
// A key this close to expiry may be gone on one side and not yet on the
// other (the copy landed a little later): verification lets it pass.
constexpr std::int64_t expiry_slack_ms = 2000;

void send_mset(self_ptr self, const std::vector<cache_entry>& es) {
  to_target_owners(
      self, es, [](const cache_entry& e) { return e.key; },
      [=](std::uint32_t i, std::vector<cache_entry> part) {
        target_send<bool>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cmset_atom::value, part);
        });
      });
}

void send_del(self_ptr self, const ids& keys) {
  to_target_owners(
      self, keys, [](const std::string& k) { return k; },
      [=](std::uint32_t i, ids part) {
        target_send<std::uint64_t>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), cdel_atom::value, part);
        });
      });
}

}  // namespace

std::shared_ptr<mirror_entry> keyed_sent(self_ptr self, const ids& keys) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  auto& touched = d->touched[""];
  for (auto& k : keys) touched.insert(k);
  return reserve(self);
}

void set_done(self_ptr self, const mirror_slot<worker>& slot,
              const cache_entry& e, bool ok) {
  if (!slot.entry) return;
  if (ok) return fill(self, slot.entry, [=] { send_mset(self, {e}); });
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
  if (ok) return fill(self, slot.entry, [=] { send_mset(self, es); });
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
    fill(self, e, [=] {
      if (!present.empty()) send_mset(self, present);
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
  d->wiped.insert("");
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

void live_backfill(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                   const std::vector<cache_entry>& es) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
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
  if (t->left == 0) return rp.deliver(std::uint64_t{0}), void();
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
            return rp.deliver(err), void();
          }
          t->written += batch.size();
          if (--t->left == 0) rp.deliver(t->written);
        });
  }
}

void live_verify(self_ptr self,
                 caf::typed_response_promise<std::uint64_t, std::string> rp,
                 bool from_target, const std::string& cursor) {
  // Writes wait while one page of one side is read and looked up on the
  // other after every mirror landed: the pause lasts one page.
  pause_until_drained(self, [=](const caf::error& e) mutable {
    if (e) return rp.deliver(e), resume(self);
    auto a = from_target ? self->state.dual->target : self->state.pool;
    auto b = from_target ? self->state.pool : self->state.dual->target;
    auto store = self->state.dual->target->spec.store;
    auto finish = [=](const caf::error& err) mutable {
      rp.deliver(err);
      resume(self);
    };
    scatter<cache_scan_page>(
        self, a, everyone_or_one(*a), "verify",
        [=](const worker& w, std::size_t, job_ticket t) {
          return ask_worker(self, w, std::move(t), cscan_atom::value, cursor,
                            verify_page);
        },
        [=](const caf::error& err,
            std::vector<cache_scan_page>& parts) mutable {
          if (err) return finish(err);
          auto page = merge_pages(parts, verify_page);
          ids keys;
          for (auto& x : page.entries) keys.push_back(x.key);
          auto n = static_cast<std::uint64_t>(keys.size());
          auto positions =
              partition(*b, keys, [](const std::string& k) { return k; });
          auto targets = b->spec.sharded
                             ? all_workers(b->size())
                             : std::vector<std::uint32_t>{pool_type::by_caller};
          scatter<values>(
              self, b, targets, "verify",
              [=](const worker& w, std::size_t part, job_ticket t) {
                return ask_worker(
                    self, w, std::move(t), cmget_atom::value,
                    b->spec.sharded ? pick(keys, positions[part]) : keys);
              },
              [=](const caf::error& err2, std::vector<values>& got) mutable {
                if (err2) return finish(err2);
                values found(keys.size());
                if (b->spec.sharded) {
                  for (std::size_t s = 0; s < got.size(); ++s)
                    for (std::size_t j = 0; j < got[s].size(); ++j)
                      found[positions[s][j]] = std::move(got[s][j]);
                } else {
                  found = std::move(got.front());
                }
                std::string bad;
                int count = 0;
                for (std::size_t i = 0; i < keys.size(); ++i) {
                  auto& x = page.entries[i];
                  if (found[i].found && found[i].value == x.value) continue;
                  if (x.ttl && *x.ttl <= expiry_slack_ms) continue;
                  if (count++ < 10) bad += (bad.empty() ? "" : ", ") + x.key;
                }
                if (!bad.empty())
                  return finish(router_error(
                      errc::verification_failed,
                      std::string(from_target ? "target" : "source") +
                          " keys missing or different on the other side: " +
                          bad,
                      "verify", store));
                rp.deliver(n, page.next_cursor);
                resume(self);
              });
        });
  });
}

void live_cutover(self_ptr self, caf::typed_response_promise<bool> rp) {
  pause_until_drained(self, [=](const caf::error& e) mutable {
    if (e) return rp.deliver(e), resume(self);
    switch_to_target(self);
    rp.deliver(true);
    resume(self);
  });
}

}  // namespace storage::cache_detail
