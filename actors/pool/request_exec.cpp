#include "actors/pool/request_exec.hpp"

#include <unordered_set>

#include "actors/pool/search_bound.hpp"
#include "messages/interfaces.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

template <class... Ts>
bool is(const caf::type_erased_tuple& x) {
  return x.match_elements<Ts...>();
}

template <class T>
const T& arg(const caf::type_erased_tuple& x, std::size_t i) {
  return x.get_as<T>(i);
}

[[noreturn]] void not_an_operation() {
  throw store_error(errc::invalid_argument,
                    "the message is not an operation of this store");
}

maybe_value to_maybe(const std::optional<std::string>& v) {
  return v ? maybe_value{true, *v} : maybe_value{};
}

}  // namespace

caf::message run_vector_request(vector_backend& b,
                                const caf::type_erased_tuple& req) {
  using std::string;
  if (is<vcreate_atom, collection_spec>(req)) {
    auto& spec = arg<collection_spec>(req, 1);
    validate_collection_spec(spec);
    return caf::make_message(b.create_collection(spec));
  }
  if (is<vdrop_atom, string>(req)) {
    auto& name = arg<string>(req, 1);
    validate_collection_name(name);
    return caf::make_message(b.drop_collection(name));
  }
  if (is<vlist_atom>(req)) return caf::make_message(b.list_collections());
  if (is<vupsert_atom, string, records>(req)) {
    auto& c = arg<string>(req, 1);
    auto& rs = arg<records>(req, 2);
    validate_collection_name(c);
    validate_batch(rs);
    return caf::make_message(b.upsert(c, rs));
  }
  if (is<vget_atom, string, ids>(req)) {
    auto& c = arg<string>(req, 1);
    auto& xs = arg<ids>(req, 2);
    validate_collection_name(c);
    validate_ids(xs);
    // An id asked twice is answered once, as sharded stores and Chroma do.
    if (xs.size() > 1) {
      std::unordered_set<std::string> seen;
      ids once;
      for (auto& x : xs)
        if (seen.insert(x).second) once.push_back(x);
      if (once.size() < xs.size()) return caf::make_message(b.get(c, once));
    }
    return caf::make_message(b.get(c, xs));
  }
  if (is<vdelete_atom, string, ids>(req)) {
    auto& c = arg<string>(req, 1);
    auto& xs = arg<ids>(req, 2);
    validate_collection_name(c);
    validate_ids(xs);
    return caf::make_message(b.remove(c, xs));
  }
  if (is<vdelete_atom, string, filter>(req)) {
    auto& c = arg<string>(req, 1);
    validate_collection_name(c);
    filter::check(arg<filter>(req, 2));
    return caf::make_message(b.remove_where(c, arg<filter>(req, 2)));
  }
  if (is<vcount_atom, string>(req)) {
    auto& c = arg<string>(req, 1);
    validate_collection_name(c);
    return caf::make_message(b.count(c));
  }
  // A shard's part of a split search carries the bound its parts share.
  bool part = is<vsearch_atom, string, search_request, search_bound_ptr>(req);
  if (part || is<vsearch_atom, string, search_request>(req)) {
    auto& c = arg<string>(req, 1);
    auto& r = arg<search_request>(req, 2);
    validate_collection_name(c);
    validate_search(r);
    if (part)
      return caf::make_message(
          search_one_shard(b, c, r, *arg<search_bound_ptr>(req, 3)));
    return caf::make_message(b.search(c, r));
  }
  if (is<vsearchb_atom, string, batch_search_request>(req)) {
    auto& c = arg<string>(req, 1);
    auto& r = arg<batch_search_request>(req, 2);
    validate_collection_name(c);
    validate_batch_search(r);
    return caf::make_message(b.search_batch(c, r));
  }
  if (is<vscan_atom, string, string, std::uint32_t>(req)) {
    auto& c = arg<string>(req, 1);
    auto limit = arg<std::uint32_t>(req, 3);
    validate_collection_name(c);
    if (limit == 0)
      throw store_error(errc::invalid_argument, "scan limit must be positive");
    return caf::make_message(b.scan(c, arg<string>(req, 2), limit));
  }
  not_an_operation();
}

std::optional<cache_op> decode_cache_op(const caf::type_erased_tuple& req) {
  using std::string;
  using kind = cache_op_kind;
  cache_op op;
  auto keyed = [&](kind k) {
    op.kind = k;
    op.key = arg<string>(req, 1);
    validate_key(op.key);
  };
  auto entry = [&](kind k) {
    auto& e = arg<cache_entry>(req, 1);
    op.kind = k;
    op.key = e.key;
    op.value = e.value;
    op.ttl = e.ttl;
    validate_entry(e);
  };
  if (is<cget_atom, string>(req)) {
    keyed(kind::get);
  } else if (is<cset_atom, cache_entry>(req)) {
    entry(kind::set);
  } else if (is<cadd_atom, cache_entry>(req)) {
    entry(kind::add);
  } else if (is<cdel_atom, ids>(req) || is<cmget_atom, ids>(req)) {
    op.kind = is<cdel_atom, ids>(req) ? kind::del : kind::mget;
    op.keys = arg<ids>(req, 1);
    validate_keys(op.keys);
  } else if (is<cexists_atom, string>(req)) {
    keyed(kind::exists);
  } else if (is<cmset_atom, std::vector<cache_entry>>(req)) {
    op.kind = kind::mset;
    op.entries = arg<std::vector<cache_entry>>(req, 1);
    validate_entries(op.entries);
  } else if (is<cincr_atom, string, std::int64_t>(req)) {
    keyed(kind::incr);
    op.number = arg<std::int64_t>(req, 2);
  } else if (is<cexpire_atom, string, std::int64_t>(req)) {
    keyed(kind::expire);
    op.number = arg<std::int64_t>(req, 2);
    validate_ttl(ttl_ms{op.number});
  } else if (is<cttl_atom, string>(req)) {
    keyed(kind::ttl);
  } else {
    return std::nullopt;
  }
  return op;
}

caf::message cache_reply(const cache_op& op, cache_op_result& r) {
  switch (op.kind) {
    case cache_op_kind::get:
      return caf::make_message(to_maybe(r.value));
    case cache_op_kind::del:
      return caf::make_message(r.count);
    case cache_op_kind::mget: {
      std::vector<maybe_value> out;
      out.reserve(r.values.size());
      for (auto& v : r.values) out.push_back(to_maybe(v));
      return caf::make_message(std::move(out));
    }
    case cache_op_kind::incr:
      return caf::make_message(r.number);
    case cache_op_kind::ttl:
      return caf::make_message(r.ttl);
    default:  // set, add, exists, mset, expire
      return caf::make_message(r.flag);
  }
}

caf::message run_cache_request(cache_backend& b,
                               const caf::type_erased_tuple& req) {
  if (auto op = decode_cache_op(req)) {
    cache_op_result r;
    b.run_op(*op, r);
    return cache_reply(*op, r);
  }
  if (is<cclear_atom>(req)) return caf::make_message(b.clear());
  if (is<cscan_atom, std::string, std::uint32_t>(req)) {
    auto limit = arg<std::uint32_t>(req, 2);
    if (limit == 0)
      throw store_error(errc::invalid_argument, "scan limit must be positive");
    return caf::make_message(b.scan(arg<std::string>(req, 1), limit));
  }
  not_an_operation();
}

}  // namespace storage
