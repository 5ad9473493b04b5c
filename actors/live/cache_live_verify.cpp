// The cache router's live verification; the same three steps as the vector
// router's (see vector_live_verify.cpp), over keys: live_verify compares a
// page of one side with the other side's values while traffic runs,
// live_recheck compares chunks of the keys written since the start, and
// final_check, inside the cutover's pause, compares what is left.
#include <map>

#include "actors/routing/cache_router_state.hpp"

namespace storage::cache_detail {

namespace {

// Each read of a page or chunk holds a source worker that callers' requests
// also wait for: 500 keys from SQLite made callers' p99 during verification
// 2.1-3.7 ms (0.5 ms before the migration), 100 keys 1.0-1.5 ms, 50 no
// better, with twice the migration's time (BENCHMARKS.md, 2026-12-03).
constexpr std::uint32_t verify_page = 100;
constexpr std::size_t recheck_chunk = 100;
// A key this close to expiry may be gone on one side and not yet on the
// other (the copy landed a little later): verification lets it pass.
constexpr std::int64_t expiry_slack_ms = 2000;

using values_done = std::function<void(const caf::error&, values&)>;

// The values of `keys` on `pool`, each at its key's position.
void read_keys(self_ptr self, std::shared_ptr<pool_type> pool, const ids& keys,
               values_done done) {
  auto positions =
      partition(*pool, keys, [](const std::string& k) { return k; });
  auto targets = pool->spec.sharded
                     ? all_workers(pool->size())
                     : std::vector<std::uint32_t>{pool_type::by_caller};
  scatter<values>(
      self, pool, targets, "verify",
      [=](const worker& w, std::size_t part, job_ticket t) {
        return ask_worker(
            self, w, std::move(t), cmget_atom::value,
            pool->spec.sharded ? pick(keys, positions[part]) : keys);
      },
      [=](const caf::error& e, std::vector<values>& got) {
        values found(keys.size());
        if (!e && pool->spec.sharded) {
          for (std::size_t s = 0; s < got.size(); ++s)
            for (std::size_t j = 0; j < got[s].size(); ++j)
              found[positions[s][j]] = std::move(got[s][j]);
        } else if (!e) {
          found = std::move(got.front());
        }
        done(e, found);
      });
}

// Reads `keys` on both sides; done(error, keys that differ).
void compare_keys(self_ptr self, const ids& keys,
                  std::function<void(const caf::error&, ids&)> done) {
  auto d = self->state.dual;
  auto sides = std::make_shared<std::array<values, 2>>();
  auto left = std::make_shared<int>(2);
  auto failed = std::make_shared<bool>(false);
  auto one = [=](std::shared_ptr<pool_type> pool, int side) {
    read_keys(self, pool, keys, [=](const caf::error& e, values& got) {
      if (*failed) return;
      ids differ;
      if (e) {
        *failed = true;
        return done(e, differ);
      }
      (*sides)[side] = std::move(got);
      if (--*left > 0) return;
      auto& a = (*sides)[0];
      auto& b = (*sides)[1];
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (a[i].found != b[i].found ||
            (a[i].found && a[i].value != b[i].value))
          differ.push_back(keys[i]);
      done(caf::error{}, differ);
    });
  };
  one(self->state.pool, 0);
  one(d->target, 1);
}

// Of `keys`, those neither side expires within the slack and one side still
// holds; done(error, rest).
void drop_expiring(self_ptr self, const ids& keys,
                   std::function<void(const caf::error&, ids&)> done) {
  auto d = self->state.dual;
  auto keep = std::make_shared<std::vector<bool>>(keys.size(), true);
  // Gone from both sides by now: it expired between the two reads of
  // compare_keys (found on one, not the other), and is equal now.
  auto absent = std::make_shared<std::vector<int>>(keys.size(), 0);
  auto left = std::make_shared<std::size_t>(keys.size() * 2);
  auto failed = std::make_shared<bool>(false);
  if (keys.empty()) {
    ids none;
    return done(caf::error{}, none);
  }
  for (auto pool : {self->state.pool, d->target})
    for (std::size_t i = 0; i < keys.size(); ++i)
      scatter<ttl_info>(
          self, pool, {pool->for_key(keys[i])}, "verify",
          [=](const worker& w, std::size_t, job_ticket t) {
            return ask_worker(self, w, std::move(t), cttl_atom::value, keys[i]);
          },
          [=](const caf::error& e, std::vector<ttl_info>& got) {
            if (*failed) return;
            ids rest;
            if (e) {
              *failed = true;
              return done(e, rest);
            }
            auto& t = got.front();
            if (t.exists && t.ttl && *t.ttl <= expiry_slack_ms)
              (*keep)[i] = false;
            if (!t.exists) ++(*absent)[i];
            if (--*left > 0) return;
            for (std::size_t k = 0; k < keys.size(); ++k)
              if ((*keep)[k] && (*absent)[k] < 2) rest.push_back(keys[k]);
            done(caf::error{}, rest);
          });
}

}  // namespace

void live_verify(self_ptr self, verify_reply rp, bool from_target,
                 const std::string& cursor, bool repair) {
  auto d = self->state.dual;
  if (!d || d->reversed) return rp.deliver(not_migrating(self)), void();
  auto a = from_target ? d->target : self->state.pool;
  auto b = from_target ? self->state.pool : d->target;
  scatter<cache_scan_page>(
      self, a, everyone_or_one(*a), "verify",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), cscan_atom::value, cursor,
                          verify_page);
      },
      [=](const caf::error& err, std::vector<cache_scan_page>& parts) mutable {
        if (err) return rp.deliver(err), void();
        auto page = merge_pages(parts, verify_page);
        ids keys;
        for (auto& x : page.entries) keys.push_back(x.key);
        read_keys(
            self, b, keys, [=](const caf::error& e, values& found) mutable {
              if (e) return rp.deliver(e), void();
              if (self->state.dual != d)
                return rp.deliver(not_migrating(self)), void();
              ids missing, extra, mismatched;
              std::vector<cache_entry> copy;
              for (std::size_t i = 0; i < keys.size(); ++i) {
                auto& x = page.entries[i];
                if (found[i].found &&
                    (from_target || found[i].value == x.value))
                  continue;
                if (x.ttl && *x.ttl <= expiry_slack_ms) continue;
                if (d->stale("", x.key, nullptr)) {
                  d->recheck[""].insert(x.key);
                  continue;
                }
                if (from_target) {
                  extra.push_back(x.key);
                } else {
                  (found[i].found ? mismatched : missing).push_back(x.key);
                  copy.push_back(x);
                }
              }
              if (repair) {
                // Through the backfill path, so a live write since wins;
                // checked again before cutover.
                auto& again = d->recheck[""];
                for (auto* xs : {&missing, &mismatched, &extra})
                  for (auto& k : *xs) again.insert(k);
                if (!copy.empty())
                  backfill_entries(self, copy,
                                   [](const caf::error&, std::uint64_t) {
                                     // A failed target write fails the
                                     // migration.
                                   });
                unfill_keys(self, extra);
              }
              auto n = static_cast<std::uint64_t>(keys.size());
              rp.deliver(from_target ? 0 : n, from_target ? n : 0,
                         page.next_cursor, missing, extra, mismatched);
            });
      });
}

void live_recheck(
    self_ptr self,
    caf::typed_response_promise<std::uint64_t, std::uint64_t> rp) {
  auto d = self->state.dual;
  if (!d || d->reversed) return rp.deliver(not_migrating(self)), void();
  auto& set = d->recheck[""];
  ids chunk;
  for (auto x = set.begin(); x != set.end() && chunk.size() < recheck_chunk;)
    chunk.push_back(*x), x = set.erase(x);
  if (chunk.empty())
    return rp.deliver(std::uint64_t{0}, std::uint64_t{0}), void();
  compare_keys(self, chunk, [=](const caf::error& e, ids& differ) mutable {
    if (e) return rp.deliver(e), void();
    if (self->state.dual != d) return rp.deliver(not_migrating(self)), void();
    // Still different: maybe a mirror on its way; the final check decides.
    auto& again = d->recheck[""];
    for (auto& k : differ) again.insert(k);
    rp.deliver(static_cast<std::uint64_t>(chunk.size()),
               static_cast<std::uint64_t>(again.size()));
  });
}

void final_check(self_ptr self, std::function<void(const caf::error&)> then) {
  auto d = self->state.dual;
  auto work = std::make_shared<std::vector<ids>>(
      chunks_of(d->recheck[""], recheck_chunk));
  auto i = std::make_shared<std::size_t>(0);
  one_after_another([=](std::function<void()> again) {
    if (*i == work->size()) return then(caf::error{});
    compare_keys(self, (*work)[(*i)++], [=](const caf::error& e, ids& differ) {
      if (e) return then(e);
      drop_expiring(self, differ, [=](const caf::error& e2, ids& real) {
        if (e2) return then(e2);
        if (real.empty()) return again();
        then(still_differ("", "keys", real, d->target->spec.store));
      });
    });
  });
}

}  // namespace storage::cache_detail
