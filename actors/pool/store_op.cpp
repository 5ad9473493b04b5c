#include "actors/pool/store_op.hpp"

#include <iterator>
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

store_op op_of(cache_op_kind kind) {
  // In cache_op_kind's order.
  static const store_op ops[] = {
      store_op::get,    store_op::set,  store_op::add,  store_op::del,
      store_op::exists, store_op::mget, store_op::mset, store_op::incr,
      store_op::expire, store_op::ttl};
  auto i = static_cast<std::size_t>(kind);
  return i < std::size(ops) ? ops[i] : store_op::other;
}

}  // namespace storage
