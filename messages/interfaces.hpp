// The typed actor interfaces callers hold. Every operation of the contract is
// one request; each reply is the value or a caf::error in the "storage"
// category (caf_support.hpp turns one back into a store_error).
#pragma once

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/inspect.hpp"

namespace storage {

// Atoms are at most 10 characters in CAF 0.17. The v/c prefix keeps the two
// interfaces apart even when an actor speaks both.
using vcreate_atom = caf::atom_constant<caf::atom("vcreate")>;
using vdrop_atom = caf::atom_constant<caf::atom("vdrop")>;
using vlist_atom = caf::atom_constant<caf::atom("vlist")>;
using vupsert_atom = caf::atom_constant<caf::atom("vupsert")>;
using vget_atom = caf::atom_constant<caf::atom("vget")>;
using vdelete_atom = caf::atom_constant<caf::atom("vdelete")>;
using vcount_atom = caf::atom_constant<caf::atom("vcount")>;
using vsearch_atom = caf::atom_constant<caf::atom("vsearch")>;
using vscan_atom = caf::atom_constant<caf::atom("vscan")>;
using vsearchb_atom = caf::atom_constant<caf::atom("vsearchb")>;

using cget_atom = caf::atom_constant<caf::atom("cget")>;
using cset_atom = caf::atom_constant<caf::atom("cset")>;
using cadd_atom = caf::atom_constant<caf::atom("cadd")>;
using cdel_atom = caf::atom_constant<caf::atom("cdel")>;
using cexists_atom = caf::atom_constant<caf::atom("cexists")>;
using cmget_atom = caf::atom_constant<caf::atom("cmget")>;
using cmset_atom = caf::atom_constant<caf::atom("cmset")>;
using cincr_atom = caf::atom_constant<caf::atom("cincr")>;
using cexpire_atom = caf::atom_constant<caf::atom("cexpire")>;
using cttl_atom = caf::atom_constant<caf::atom("cttl")>;
using cclear_atom = caf::atom_constant<caf::atom("cclear")>;
using cscan_atom = caf::atom_constant<caf::atom("cscan")>;

// A cache lookup's answer on the wire (CAF 0.17 cannot carry std::optional).
struct maybe_value {
  bool found = false;
  std::string value;
};

template <class I>
typename I::result_type inspect(I& f, maybe_value& x) {
  return f(caf::meta::type_name("maybe_value"), x.found, x.value);
}

using ids = std::vector<std::string>;
using records = std::vector<vector_record>;

using vector_store_actor = caf::typed_actor<
    // true: created; false: existed with the same spec.
    caf::replies_to<vcreate_atom, collection_spec>::with<bool>,
    // true: existed.
    caf::replies_to<vdrop_atom, std::string>::with<bool>,
    caf::replies_to<vlist_atom>::with<std::vector<collection_spec>>,
    // (collection, batch) -> records written.
    caf::replies_to<vupsert_atom, std::string, records>::with<std::uint64_t>,
    caf::replies_to<vget_atom, std::string, ids>::with<records>,
    // -> records removed.
    caf::replies_to<vdelete_atom, std::string, ids>::with<std::uint64_t>,
    caf::replies_to<vdelete_atom, std::string, filter>::with<std::uint64_t>,
    caf::replies_to<vcount_atom, std::string>::with<std::uint64_t>,
    caf::replies_to<vsearch_atom, std::string,
                    search_request>::with<std::vector<search_hit>>,
    // One hit list per query, in query order.
    caf::replies_to<vsearchb_atom, std::string, batch_search_request>::with<
        std::vector<std::vector<search_hit>>>,
    // (collection, after id, limit) -> page in id order.
    caf::replies_to<vscan_atom, std::string, std::string,
                    std::uint32_t>::with<scan_page>>;

using cache_store_actor = caf::typed_actor<
    caf::replies_to<cget_atom, std::string>::with<maybe_value>,
    // entry.ttl empty: no expiry. Always true.
    caf::replies_to<cset_atom, cache_entry>::with<bool>,
    // false: the key exists, nothing changed.
    caf::replies_to<cadd_atom, cache_entry>::with<bool>,
    caf::replies_to<cdel_atom, ids>::with<std::uint64_t>,
    caf::replies_to<cexists_atom, std::string>::with<bool>,
    caf::replies_to<cmget_atom, ids>::with<std::vector<maybe_value>>,
    caf::replies_to<cmset_atom, std::vector<cache_entry>>::with<bool>,
    // (key, by) -> new value.
    caf::replies_to<cincr_atom, std::string, std::int64_t>::with<std::int64_t>,
    // (key, ttl ms) -> false: no such key.
    caf::replies_to<cexpire_atom, std::string, std::int64_t>::with<bool>,
    caf::replies_to<cttl_atom, std::string>::with<ttl_info>,
    caf::replies_to<cclear_atom>::with<std::uint64_t>,
    // (cursor, limit) -> page; an empty next_cursor ends the scan.
    caf::replies_to<cscan_atom, std::string,
                    std::uint32_t>::with<cache_scan_page>>;

}  // namespace storage
