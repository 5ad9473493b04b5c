#include "actors/live/live_backfill.hpp"

#include <caf/all.hpp>

#include "messages/caf_support.hpp"

namespace storage {

namespace {

// The pipeline only creates, counts, scans and writes; anything else would
// bypass the router's bookkeeping.
caf::error unsupported(const char* op) {
  return to_caf_error(store_error(
      errc::unsupported, "not available on a live migration's backfill path",
      op, "backfill"));
}

vector_store_actor::behavior_type vector_backfill(
    vector_store_actor::pointer self, vector_router_actor router) {
  auto target = live_target_atom::value;
  return {
      [=](vcreate_atom a, const collection_spec& spec) {
        return self->delegate(router, target, a, spec);
      },
      [=](vdrop_atom, const std::string&) -> caf::result<bool> {
        return unsupported("drop");
      },
      [=](vlist_atom a) { return self->delegate(router, target, a); },
      [=](vupsert_atom, const std::string& c, const records& rs) {
        return self->delegate(router, live_fill_atom::value, c, rs);
      },
      [=](vget_atom a, const std::string& c, const ids& xs) {
        return self->delegate(router, target, a, c, xs);
      },
      [=](vdelete_atom, const std::string&, const ids&)
          -> caf::result<std::uint64_t> { return unsupported("delete"); },
      [=](vdelete_atom, const std::string&, const filter&)
          -> caf::result<std::uint64_t> { return unsupported("delete"); },
      [=](vcount_atom a, const std::string& c) {
        return self->delegate(router, target, a, c);
      },
      [=](vsearch_atom, const std::string&,
          const search_request&) -> caf::result<std::vector<search_hit>> {
        return unsupported("search");
      },
      [=](vsearchb_atom, const std::string&, const batch_search_request&)
          -> caf::result<std::vector<std::vector<search_hit>>> {
        return unsupported("search");
      },
      [=](vscan_atom a, const std::string& c, const std::string& after,
          std::uint32_t limit) {
        return self->delegate(router, target, a, c, after, limit);
      },
  };
}

// The backfill path answers with a count; set and mset with true.
caf::typed_response_promise<bool> write(cache_store_actor::pointer self,
                                        const cache_router_actor& router,
                                        std::vector<cache_entry> es) {
  auto rp = self->make_response_promise<bool>();
  self->request(router, caf::infinite, live_fill_atom::value, std::move(es))
      .then([=](std::uint64_t) mutable { rp.deliver(true); },
            [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

cache_store_actor::behavior_type cache_backfill(cache_store_actor::pointer self,
                                                cache_router_actor router) {
  auto target = live_target_atom::value;
  return {
      [=](cget_atom a, const std::string& k) {
        return self->delegate(router, target, a, k);
      },
      [=](cset_atom, const cache_entry& e) -> caf::result<bool> {
        return write(self, router, {e});
      },
      [=](cadd_atom, const cache_entry&) -> caf::result<bool> {
        return unsupported("add");
      },
      [=](cdel_atom, const ids&) -> caf::result<std::uint64_t> {
        return unsupported("del");
      },
      [=](cexists_atom a, const std::string& k) {
        return self->delegate(router, target, a, k);
      },
      [=](cmget_atom a, const ids& keys) {
        return self->delegate(router, target, a, keys);
      },
      [=](cmset_atom, const std::vector<cache_entry>& es) -> caf::result<bool> {
        return write(self, router, es);
      },
      [=](cincr_atom, const std::string&, std::int64_t)
          -> caf::result<std::int64_t> { return unsupported("incr"); },
      [=](cexpire_atom, const std::string&, std::int64_t) -> caf::result<bool> {
        return unsupported("expire");
      },
      [=](cttl_atom a, const std::string& k) {
        return self->delegate(router, target, a, k);
      },
      [=](cclear_atom) -> caf::result<std::uint64_t> {
        return unsupported("clear");
      },
      [=](cscan_atom a, const std::string& cursor, std::uint32_t limit) {
        return self->delegate(router, target, a, cursor, limit);
      },
  };
}

}  // namespace

vector_store_actor spawn_vector_backfill(caf::actor_system& sys,
                                         const vector_router_actor& router) {
  return sys.spawn(vector_backfill, router);
}

cache_store_actor spawn_cache_backfill(caf::actor_system& sys,
                                       const cache_router_actor& router) {
  return sys.spawn(cache_backfill, router);
}

}  // namespace storage
