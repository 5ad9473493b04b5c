// The vector router's live migration: mirroring each write to the target,
// the backfill path and the target's reads (see dual_write.hpp; verification
// is in vector_live_verify.cpp).
#include <map>
#include <unordered_set>

#include "actors/routing/vector_router_state.hpp"

namespace storage::vector_detail {

namespace {

// Errors after which the source certainly changed nothing.
bool unchanged(const caf::error& e) {
  if (e.category() != error_category) return false;
  switch (static_cast<errc>(e.code())) {
    case errc::invalid_argument:
    case errc::dimension_mismatch:
    case errc::collection_not_found:
    case errc::conflict:
    case errc::overloaded:
      return true;
    default:
      return false;
  }
}

// Collects a keyed mirror into the pending batch: a run of the same kind
// and collection merges, anything else sends the run first.
bool collected(self_ptr self, decltype(mirror_batch::kind) kind,
               const std::string& c) {
  auto& d = self->state.dual;
  if (!d || !d->collecting) return false;
  auto& b = self->state.pending;
  if (b.kind != kind || b.collection != c) flush_mirrors(self);
  b.kind = kind;
  b.collection = c;
  return true;
}

void send_upsert(self_ptr self, const std::string& c, const records& rs) {
  if (collected(self, mirror_batch::upsert, c)) {
    auto& to = self->state.pending.upserts;
    to.insert(to.end(), rs.begin(), rs.end());
    return;
  }
  to_target_owners(
      self, rs, [](const vector_record& r) { return r.id; },
      [=](std::uint32_t i, records part) {
        target_send<std::uint64_t>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), vupsert_atom::value, c,
                            part);
        });
      });
}

void send_delete(self_ptr self, const std::string& c, const ids& xs) {
  if (collected(self, mirror_batch::remove, c)) {
    auto& to = self->state.pending.removals;
    to.insert(to.end(), xs.begin(), xs.end());
    return;
  }
  to_target_owners(
      self, xs, [](const std::string& id) { return id; },
      [=](std::uint32_t i, ids part) {
        target_send<std::uint64_t>(self, i, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), vdelete_atom::value, c,
                            part);
        });
      });
}

// Whole-collection operations reach every target shard, or one worker,
// after the keyed mirrors before them.
template <class Reply, class MakeReq>
void send_everyone(self_ptr self, MakeReq make_req) {
  auto& d = self->state.dual;
  if (!d) return;
  flush_mirrors(self);
  for (auto i : everyone_or_one(*d->target))
    target_send<Reply>(self, i, make_req);
}

// The source failed a keyed write, maybe after applying it: mirror what the
// source now holds for those ids, read from the same worker so the read
// follows the write.
void copy_records(self_ptr self, const mirror_slot<worker>& slot,
                  const std::string& c, const ids& xs) {
  auto d = self->state.dual;
  auto e = slot.entry;
  self->request(slot.source, self->state.pool->spec.timeout, vget_atom::value,
                c, xs)
      .then(
          [=](records& found) {
            std::unordered_set<std::string> seen;
            for (auto& r : found) seen.insert(r.id);
            ids missing;
            for (auto& id : xs)
              if (!seen.count(id)) missing.push_back(id);
            fill(self, e, [=] {
              if (!found.empty()) send_upsert(self, c, found);
              if (!missing.empty()) send_delete(self, c, missing);
            });
          },
          [=](caf::error& err) {
            fill(self, e, {});
            bool gone = has_code(err, errc::collection_not_found);
            if (!gone && self->state.dual == d) fail_migration(self, err);
          });
}

// A whole-collection write finished on the source: mirror it, skip it if
// the source certainly did nothing, or fail the migration if unsure.
void whole_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                const caf::error* err, bool may_skip,
                std::function<void()> send) {
  if (!e) return;
  if (!err) return fill(self, e, std::move(send));
  fill(self, e, {});
  if (!(may_skip && unchanged(*err))) fail_migration(self, *err);
}

}  // namespace

void flush_mirrors(self_ptr self) {
  auto b = std::move(self->state.pending);
  self->state.pending = {};
  auto& d = self->state.dual;
  if (!d || b.kind == mirror_batch::none) return;
  auto c = b.collection;
  if (b.kind == mirror_batch::upsert) {
    auto last = last_per_key(std::move(b.upserts),
                             [](const vector_record& r) { return r.id; });
    target_send<std::uint64_t>(
        self, pool_type::by_caller, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), vupsert_atom::value, c,
                            last);
        });
  } else {
    auto xs = last_per_key(std::move(b.removals),
                           [](const std::string& id) { return id; });
    target_send<std::uint64_t>(
        self, pool_type::by_caller, [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), vdelete_atom::value, c, xs);
        });
  }
}

std::shared_ptr<mirror_entry> keyed_sent(self_ptr self, const std::string& c,
                                         const ids& xs) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  if (!d->reversed) {
    auto& touched = d->touched[c];
    auto& recheck = d->recheck[c];
    for (auto& id : xs) {
      touched.insert(id);
      recheck.insert(id);
    }
  }
  return reserve(self);
}

void upsert_done(self_ptr self, const mirror_slot<worker>& slot,
                 const std::string& c, const records& rs, bool ok) {
  if (!slot.entry) return;
  if (ok) return fill(self, slot.entry, [=] { send_upsert(self, c, rs); });
  ids xs;
  for (auto& r : rs) xs.push_back(r.id);
  copy_records(self, slot, c, xs);
}

void delete_done(self_ptr self, const mirror_slot<worker>& slot,
                 const std::string& c, const ids& xs, bool ok) {
  if (!slot.entry) return;
  if (ok) return fill(self, slot.entry, [=] { send_delete(self, c, xs); });
  copy_records(self, slot, c, xs);
}

std::shared_ptr<mirror_entry> delete_where_sent(self_ptr self,
                                                const std::string& c,
                                                const filter& where) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  // The backfill may hold records read before this delete: drop matches.
  if (!d->reversed) d->deleted_where[c].push_back(where);
  return reserve(self);
}

void delete_where_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                       const std::string& c, const filter& where,
                       const caf::error* err) {
  bool gone = err && has_code(*err, errc::collection_not_found);
  whole_done(self, e, err, gone, [=] {
    send_everyone<std::uint64_t>(self, [=](const worker& w, job_ticket t) {
      return ask_worker(self, w, std::move(t), vdelete_atom::value, c, where);
    });
  });
}

void create_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                 const collection_spec& spec, const caf::error* err) {
  whole_done(self, e, err, true, [=] {
    send_everyone<bool>(self, [=](const worker& w, job_ticket t) {
      return ask_worker(self, w, std::move(t), vcreate_atom::value, spec);
    });
  });
}

std::shared_ptr<mirror_entry> drop_sent(self_ptr self, const std::string& c) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  // Whatever the backfill read of this collection is gone now.
  if (!d->reversed) d->wiped.insert(c);
  return reserve(self);
}

void drop_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
               const std::string& c, const caf::error* err) {
  whole_done(self, e, err, false, [=] {
    send_everyone<bool>(self, [=](const worker& w, job_ticket t) {
      return ask_worker(self, w, std::move(t), vdrop_atom::value, c);
    });
  });
}

void live_begin(self_ptr self, caf::typed_response_promise<specs> rp,
                const std::string& uri, live_link link) {
  if (auto err = start_dual<pool_type>(self, uri, std::move(link),
                                       spawn_vector_worker))
    return rp.deliver(err), void();
  auto d = self->state.dual;
  d->flush = [self] { flush_mirrors(self); };
  auto src = self->state.pool;
  auto ended = [=](const caf::error& e) mutable {
    if (self->state.dual == d) fail_migration(self, e);
    rp.deliver(e ? e : not_migrating(self));
  };
  // A barrier: each source worker answers this list only after the writes
  // dispatched before dual-writing began, so the backfill reads them.
  scatter<specs>(
      self, src, all_workers(src->size()), "migrate",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vlist_atom::value);
      },
      [=](const caf::error& e, std::vector<specs>& parts) mutable {
        if (e || self->state.dual != d) return ended(e);
        // Every worker's list, not one: each answered after its own earlier
        // writes, so a collection another worker created just before dual
        // writing began is in that worker's list only.
        std::map<std::string, collection_spec> by_name;
        for (auto& part : parts)
          for (auto& spec : part) by_name.emplace(spec.name, spec);
        specs cols;
        for (auto& named : by_name) cols.push_back(named.second);
        // Mirrors wait until the target holds every collection. One it
        // creates gets its approximate index only after the backfill (the
        // coordinator builds it beside the mirrors): rows then load at the
        // table's speed, not the index's.
        std::vector<std::pair<std::uint32_t, collection_spec>> creates;
        for (auto spec : cols) {
          spec.defer_index = true;
          for (auto i : everyone_or_one(*d->target))
            creates.emplace_back(i, spec);
        }
        auto left = std::make_shared<std::size_t>(creates.size());
        auto ready = [=]() mutable {
          d->target_ready = true;
          pump(self);
          rp.deliver(cols);
        };
        if (creates.empty()) return ready();
        for (auto& [i, spec] : creates)
          target_send<bool>(
              self, i,
              [=, spec = spec](const worker& w, job_ticket t) {
                return ask_worker(self, w, std::move(t), vcreate_atom::value,
                                  spec);
              },
              [=](const caf::error& err, bool*) mutable {
                if (*left == 0) return;
                if (err || self->state.dual != d) {
                  *left = 0;
                  return ended(err);
                }
                if (--*left == 0) ready();
              });
      });
}

void backfill_records(
    self_ptr self, const std::string& c, const records& rs,
    std::function<void(const caf::error&, std::uint64_t)> done) {
  auto d = self->state.dual;
  if (!d) return done(not_migrating(self), 0);
  if (!d->target->spec.sharded)
    return send_in_chunks(
        self, std::make_shared<const records>(rs),
        [=](const vector_record& r) { return !d->stale(c, r.id, &r.metadata); },
        [=](records chunk,
            std::function<void(const caf::error&, std::uint64_t)> reply) {
          target_send<std::uint64_t>(
              self, pool_type::by_caller,
              [=](const worker& w, job_ticket t) {
                return ask_worker(self, w, std::move(t), vupsert_atom::value, c,
                                  chunk);
              },
              [=](const caf::error& err, std::uint64_t* n) {
                reply(err, n ? *n : 0);
              });
        },
        std::move(done));
  // In-process shards: every owner at once (they are fast, and each owner's
  // mirrors queue behind its own part only).
  records keep;
  for (auto& r : rs)
    if (!d->stale(c, r.id, &r.metadata)) keep.push_back(r);
  auto parts =
      partition(*d->target, keep, [](const vector_record& r) { return r.id; });
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
    target_send<std::uint64_t>(
        self, part_target(*d->target, i),
        [=](const worker& w, job_ticket t) {
          return ask_worker(self, w, std::move(t), vupsert_atom::value, c,
                            batch);
        },
        [=](const caf::error& err, std::uint64_t* n) mutable {
          if (t->failed) return;
          if (err) {
            t->failed = true;
            return done(err, 0);
          }
          t->written += *n;
          if (--t->left == 0) done(caf::error{}, t->written);
        });
  }
}

void unfill_records(self_ptr self, const std::string& c, const ids& xs) {
  auto d = self->state.dual;
  if (!d) return;
  ids keep;
  for (auto& id : xs)
    if (!d->stale(c, id, nullptr)) keep.push_back(id);
  if (!keep.empty()) send_delete(self, c, keep);
}

void live_backfill(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                   const std::string& c, const records& rs) {
  backfill_records(self, c, rs,
                   [rp](const caf::error& e, std::uint64_t n) mutable {
                     if (e)
                       rp.deliver(e);
                     else
                       rp.deliver(n);
                   });
}

void target_create(self_ptr self, caf::typed_response_promise<bool> rp,
                   const collection_spec& spec) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  // Dropped live since: creating it would resurrect it on the target.
  if (d->wiped.count(spec.name)) return rp.deliver(false), void();
  ask_pool<bool>(
      self, d->target, rp, everyone_or_one(*d->target), "create",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vcreate_atom::value, spec);
      },
      first<bool>);
}

void target_list(self_ptr self, caf::typed_response_promise<specs> rp) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  ask_pool<specs>(
      self, d->target, rp,
      {d->target->spec.sharded ? 0u : pool_type::by_caller}, "list",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vlist_atom::value);
      },
      first<specs>);
}

void target_count(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                  const std::string& c) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  ask_pool<std::uint64_t>(
      self, d->target, rp, readers(*d->target), "count",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vcount_atom::value, c);
      },
      sum);
}

void target_get(self_ptr self, caf::typed_response_promise<records> rp,
                const std::string& c, const ids& xs) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  ask_pool<records>(
      self, d->target, rp, readers(*d->target), "get",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vget_atom::value, c, xs);
      },
      [](std::vector<records>& parts) {
        records out;
        for (auto& p : parts)
          for (auto& r : p) out.push_back(std::move(r));
        return out;
      });
}

void target_scan(self_ptr self, caf::typed_response_promise<scan_page> rp,
                 const std::string& c, const std::string& after,
                 std::uint32_t limit) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  ask_pool<scan_page>(
      self, d->target, rp, readers(*d->target), "scan",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vscan_atom::value, c, after,
                          limit);
      },
      [limit](std::vector<scan_page>& parts) {
        return merge_pages(parts, limit);
      });
}

}  // namespace storage::vector_detail
