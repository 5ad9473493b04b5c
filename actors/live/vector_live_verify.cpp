// The vector router's live verification. Nothing here pauses writes except
// final_check, which runs inside the cutover's pause:
//
//   live_verify   compares one page of each side, read while traffic runs.
//                 A difference on an id no live write touched is real (the
//                 backfill finished before verification began): it is
//                 reported, or repaired through the backfill path on a
//                 rerun. A difference on a touched id goes to `recheck`.
//   live_recheck  compares a chunk of `recheck` (every id written since the
//                 start, and the differences above); ids that still differ
//                 go back (a mirror may be on its way), so the set shrinks
//                 to what traffic keeps rewriting.
//   final_check   with writes paused and every mirror landed, compares what
//                 is left in `recheck`: now both sides must be equal.
#include <map>

#include "actors/migration/migration_digest.hpp"
#include "actors/routing/vector_router_state.hpp"

namespace storage::vector_detail {

namespace {

// A page's read on the target waits on the connection that carries the
// mirrors (pgvector), and callers held by the mirror backlog wait with it:
// pages of 500 made faiss -> pgvector callers' p99 during verification
// 10-16 ms at 4 callers and 39-73 ms at 32; 100, 9.3-10.6 and 30-35 ms
// (BENCHMARKS.md, 2026-12-03).
constexpr std::uint32_t verify_page = 100;
constexpr std::size_t recheck_chunk = 100;

// One page of `c` after `after` from `pool`, merged over its shards.
void read_page(self_ptr self, std::shared_ptr<pool_type> pool,
               const std::string& c, const std::string& after,
               std::function<void(const caf::error&, scan_page&)> done) {
  scatter<scan_page>(
      self, pool, readers(*pool), "verify",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vscan_atom::value, c, after,
                          verify_page);
      },
      [=](const caf::error& e, std::vector<scan_page>& parts) {
        scan_page page;
        if (!e) page = merge_pages(parts, verify_page);
        // A collection dropped live reads as empty on either side.
        done(has_code(e, errc::collection_not_found) ? caf::error{} : e, page);
      });
}

// The records `xs` of `c` on `pool`, by id; a dropped collection has none.
void read_ids(self_ptr self, std::shared_ptr<pool_type> pool,
              const std::string& c, const ids& xs,
              std::function<void(const caf::error&,
                                 std::map<std::string, vector_record>&)>
                  done) {
  scatter<records>(
      self, pool, readers(*pool), "verify",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vget_atom::value, c, xs);
      },
      [=](const caf::error& e, std::vector<records>& parts) {
        std::map<std::string, vector_record> out;
        if (!e)
          for (auto& p : parts)
            for (auto& r : p) out.emplace(r.id, std::move(r));
        done(has_code(e, errc::collection_not_found) ? caf::error{} : e, out);
      });
}

// What offline verification counts as equal (migration_digest.hpp): a
// double Chroma read back an ulp or two off is the same value.
bool same_record(const vector_record& a, const vector_record& b) {
  return a == b || same_up_to_rounding(a, b);
}

// How far a page lets the comparison go: everything up to its last id, or
// everything when it was the last page ("" stands for the end).
const std::string* reach(const scan_page& p) {
  if (p.next_cursor.empty()) return nullptr;
  return p.records.empty() ? &p.next_cursor : &p.records.back().id;
}

// Reads `xs` of `c` from both sides and calls done with the ids that differ.
void compare_ids(self_ptr self, const std::string& c, const ids& xs,
                 std::function<void(const caf::error&, ids&)> done) {
  auto d = self->state.dual;
  auto sides =
      std::make_shared<std::array<std::map<std::string, vector_record>, 2>>();
  auto left = std::make_shared<int>(2);
  auto failed = std::make_shared<bool>(false);
  auto one = [=](std::shared_ptr<pool_type> pool, int side) {
    read_ids(
        self, pool, c, xs,
        [=](const caf::error& e, std::map<std::string, vector_record>& got) {
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
          for (auto& id : xs) {
            auto x = a.find(id), y = b.find(id);
            bool same = (x == a.end()) == (y == b.end()) &&
                        (x == a.end() || same_record(x->second, y->second));
            if (!same) differ.push_back(id);
          }
          done(caf::error{}, differ);
        });
  };
  one(self->state.pool, 0);
  one(d->target, 1);
}

}  // namespace

void live_verify(self_ptr self, verify_reply rp, const std::string& c,
                 const std::string& after, bool repair) {
  auto d = self->state.dual;
  if (!d || d->reversed) return rp.deliver(not_migrating(self)), void();
  auto pages = std::make_shared<std::array<scan_page, 2>>();
  auto left = std::make_shared<int>(2);
  auto failed = std::make_shared<bool>(false);
  auto compare = [=]() mutable {
    auto& a = (*pages)[0];
    auto& b = (*pages)[1];
    auto ra = reach(a), rb = reach(b);
    // Both pages cover every id up to the smaller reach.
    const std::string* bound = !ra ? rb : !rb ? ra : (*ra < *rb ? ra : rb);
    std::string next = bound ? *bound : std::string{};
    std::map<std::string, const vector_record*> src, tgt;
    for (auto& r : a.records)
      if (!bound || r.id <= next) src[r.id] = &r;
    for (auto& r : b.records)
      if (!bound || r.id <= next) tgt[r.id] = &r;
    if (self->state.dual != d)
      return rp.deliver(router_error(errc::backend_unavailable,
                                     "the live migration ended", "verify",
                                     d->target->spec.store)),
             void();
    ids missing, extra, mismatched;
    records copy;
    for (auto& [id, r] : src) {
      auto it = tgt.find(id);
      if (it != tgt.end() && same_record(*it->second, *r)) continue;
      auto* other = it == tgt.end() ? nullptr : &it->second->metadata;
      if (d->stale(c, id, &r->metadata) || (other && d->stale(c, id, other))) {
        d->recheck[c].insert(id);
        continue;
      }
      (it == tgt.end() ? missing : mismatched).push_back(id);
      if (repair) copy.push_back(*r);
    }
    for (auto& [id, r] : tgt) {
      if (src.count(id)) continue;
      if (d->stale(c, id, &r->metadata)) {
        d->recheck[c].insert(id);
        continue;
      }
      extra.push_back(id);
    }
    if (repair) {
      // Through the backfill path, so a live write since wins; checked
      // again before cutover.
      auto& again = d->recheck[c];
      for (auto* xs : {&missing, &mismatched, &extra})
        for (auto& id : *xs) again.insert(id);
      if (!copy.empty())
        backfill_records(self, c, copy, [](const caf::error&, std::uint64_t) {
          // A failed target write fails the migration (target_send).
        });
      unfill_records(self, c, extra);
    }
    rp.deliver(static_cast<std::uint64_t>(src.size()),
               static_cast<std::uint64_t>(tgt.size()), next, missing, extra,
               mismatched);
  };
  auto one = [=](std::shared_ptr<pool_type> pool, int side) mutable {
    read_page(self, pool, c, after,
              [=](const caf::error& e, scan_page& page) mutable {
                if (*failed) return;
                if (e) {
                  *failed = true;
                  return rp.deliver(e), void();
                }
                (*pages)[side] = std::move(page);
                if (--*left == 0) compare();
              });
  };
  one(self->state.pool, 0);
  one(d->target, 1);
}

void live_recheck(
    self_ptr self,
    caf::typed_response_promise<std::uint64_t, std::uint64_t> rp) {
  auto d = self->state.dual;
  if (!d || d->reversed) return rp.deliver(not_migrating(self)), void();
  auto remaining = [d] {
    std::uint64_t n = 0;
    for (auto& [c, xs] : d->recheck) n += xs.size();
    return n;
  };
  auto it = d->recheck.begin();
  while (it != d->recheck.end() && it->second.empty())
    it = d->recheck.erase(it);
  if (it == d->recheck.end())
    return rp.deliver(std::uint64_t{0}, std::uint64_t{0}), void();
  auto c = it->first;
  ids chunk;
  for (auto x = it->second.begin();
       x != it->second.end() && chunk.size() < recheck_chunk;)
    chunk.push_back(*x), x = it->second.erase(x);
  compare_ids(self, c, chunk, [=](const caf::error& e, ids& differ) mutable {
    if (e) return rp.deliver(e), void();
    if (self->state.dual != d) return rp.deliver(not_migrating(self)), void();
    // Still different: maybe a mirror on its way; the final check decides.
    for (auto& id : differ) d->recheck[c].insert(id);
    rp.deliver(static_cast<std::uint64_t>(chunk.size()), remaining());
  });
}

void live_dropped(self_ptr self, caf::typed_response_promise<ids> rp) {
  auto d = self->state.dual;
  if (!d) return rp.deliver(not_migrating(self)), void();
  rp.deliver(ids(d->wiped.begin(), d->wiped.end()));
}

void final_check(self_ptr self, std::function<void(const caf::error&)> then) {
  auto d = self->state.dual;
  // (collection, ids) chunks, compared one after the other.
  auto work = std::make_shared<std::vector<std::pair<std::string, ids>>>();
  for (auto& [c, xs] : d->recheck)
    for (auto& chunk : chunks_of(xs, recheck_chunk))
      work->emplace_back(c, std::move(chunk));
  auto i = std::make_shared<std::size_t>(0);
  one_after_another([=](std::function<void()> again) {
    if (*i == work->size()) return then(caf::error{});
    auto& [c, chunk] = (*work)[(*i)++];
    compare_ids(self, c, chunk, [=, c = c](const caf::error& e, ids& differ) {
      if (e) return then(e);
      if (differ.empty()) return again();
      then(still_differ("collection '" + c + "': ", "records", differ,
                        d->target->spec.store));
    });
  });
}

}  // namespace storage::vector_detail
