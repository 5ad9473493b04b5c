#include "actors/pool/store_op.hpp"

#include <cstring>
#include <utility>

#include <caf/all.hpp>

#include "messages/interfaces.hpp"

namespace storage {

const char* to_string(store_op op) {
  static const char* const names[store_op_count] = {
      "create", "drop", "list",   "upsert", "get",   "delete", "count",
      "search", "scan", "set",    "add",    "del",   "exists", "mget",
      "mset",   "incr", "expire", "ttl",    "clear", "request"};
  return names[static_cast<std::size_t>(op)];
}

store_op op_of(const caf::type_erased_tuple& req) {
  if (req.empty() || !req.match_element<caf::atom_value>(0))
    return store_op::other;
  static const std::pair<caf::atom_value, store_op> ops[] = {
      {vcreate_atom::value, store_op::create},
      {vdrop_atom::value, store_op::drop},
      {vlist_atom::value, store_op::list},
      {vupsert_atom::value, store_op::upsert},
      {vget_atom::value, store_op::get},
      {vdelete_atom::value, store_op::remove},
      {vcount_atom::value, store_op::count},
      {vsearch_atom::value, store_op::search},
      {vsearchb_atom::value, store_op::search},
      {vscan_atom::value, store_op::scan},
      {cget_atom::value, store_op::get},
      {cset_atom::value, store_op::set},
      {cadd_atom::value, store_op::add},
      {cdel_atom::value, store_op::del},
      {cexists_atom::value, store_op::exists},
      {cmget_atom::value, store_op::mget},
      {cmset_atom::value, store_op::mset},
      {cincr_atom::value, store_op::incr},
      {cexpire_atom::value, store_op::expire},
      {cttl_atom::value, store_op::ttl},
      {cclear_atom::value, store_op::clear},
      {cscan_atom::value, store_op::scan}};
  auto a = req.get_as<caf::atom_value>(0);
  for (auto& [atom, op] : ops)
    if (atom == a) return op;
  return store_op::other;
}

store_op store_op_named(const char* name) {
  for (std::size_t i = 0; i < store_op_count; ++i)
    if (std::strcmp(name, to_string(static_cast<store_op>(i))) == 0)
      return static_cast<store_op>(i);
  return store_op::other;
}

store_op op_of(cache_op_kind kind) {
  switch (kind) {
    case cache_op_kind::get:
      return store_op::get;
    case cache_op_kind::set:
      return store_op::set;
    case cache_op_kind::add:
      return store_op::add;
    case cache_op_kind::del:
      return store_op::del;
    case cache_op_kind::exists:
      return store_op::exists;
    case cache_op_kind::mget:
      return store_op::mget;
    case cache_op_kind::mset:
      return store_op::mset;
    case cache_op_kind::incr:
      return store_op::incr;
    case cache_op_kind::expire:
      return store_op::expire;
    case cache_op_kind::ttl:
      return store_op::ttl;
  }
  return store_op::other;
}

}  // namespace storage
