#include "actors/pool/shard_plan.hpp"

#include <unordered_map>

#include "actors/pool/hit_merge.hpp"
#include "actors/pool/pool_spec.hpp"
#include "messages/interfaces.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

using std::string;
using replies = std::vector<caf::message>;

template <class T>
T& reply_as(caf::message& m) {
  if (!m.match_elements<T>())
    throw store_error(errc::internal, "a shard answered " + to_string(m));
  return m.get_mutable_as<T>(0);
}

caf::message sum(replies& rs) {
  std::uint64_t n = 0;
  for (auto& r : rs) n += reply_as<std::uint64_t>(r);
  return caf::make_message(n);
}

// Moves each of `items` into the part of the shard owning its key; returns
// the parts by shard (empty for shards owning none) and, per shard, the
// positions its items had.
template <class Item, class KeyOf>
std::vector<std::vector<Item>> split(
    std::vector<Item>& items, std::uint32_t shards, KeyOf key_of,
    std::vector<std::vector<std::size_t>>* positions = nullptr) {
  std::vector<std::vector<Item>> out(shards);
  if (positions) positions->assign(shards, {});
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto s = static_cast<std::uint32_t>(key_hash(key_of(items[i])) % shards);
    out[s].push_back(std::move(items[i]));
    if (positions) (*positions)[s].push_back(i);
  }
  return out;
}

// One part per shard that owns something, each `make(items)`'s message.
template <class Item, class Make>
std::vector<shard_plan::part> parts_of(std::vector<std::vector<Item>>& split,
                                       Make make) {
  std::vector<shard_plan::part> out;
  for (std::uint32_t s = 0; s < split.size(); ++s)
    if (!split[s].empty()) out.push_back({s, make(std::move(split[s]))});
  return out;
}

// The same message to every shard.
std::vector<shard_plan::part> to_every_shard(const caf::message& req,
                                             std::uint32_t shards) {
  std::vector<shard_plan::part> out;
  for (std::uint32_t s = 0; s < shards; ++s) out.push_back({s, req});
  return out;
}

const string& id_of(const vector_record& r) {
  return r.id;
}
const string& key_of(const string& k) {
  return k;
}
const string& entry_key(const cache_entry& e) {
  return e.key;
}

bool vector_plan(caf::message& req, std::uint32_t n, shard_plan& p) {
  if (req.match_elements<vsearch_atom, string, search_request>()) {
    auto k = req.get_as<search_request>(2).k;
    p.parts = to_every_shard(req, n);
    p.merge = [k](replies& rs) {
      std::vector<hits> parts;
      for (auto& r : rs) parts.push_back(std::move(reply_as<hits>(r)));
      return caf::make_message(merge_hits(parts, k));
    };
  } else if (req.match_elements<vsearchb_atom, string,
                                batch_search_request>()) {
    auto& b = req.get_as<batch_search_request>(2);
    auto k = b.k;
    auto queries = b.queries.size();
    p.parts = to_every_shard(req, n);
    p.merge = [k, queries](replies& rs) {
      std::vector<batch_hits> parts;
      for (auto& r : rs) parts.push_back(std::move(reply_as<batch_hits>(r)));
      return caf::make_message(merge_batch_hits(parts, queries, k));
    };
  } else if (req.match_elements<vcount_atom, string>()) {
    p.parts = to_every_shard(req, n);
    p.merge = sum;
  } else if (req.match_elements<vupsert_atom, string, records>()) {
    auto c = req.get_as<string>(1);
    validate_collection_name(c);
    validate_batch(req.get_as<records>(2));
    auto by_shard = split(req.get_mutable_as<records>(2), n, id_of);
    p.parts = parts_of(by_shard, [&](records rs) {
      return caf::make_message(vupsert_atom::value, c, std::move(rs));
    });
    p.merge = sum;
  } else if (req.match_elements<vdelete_atom, string, ids>() ||
             req.match_elements<vget_atom, string, ids>()) {
    auto c = req.get_as<string>(1);
    validate_collection_name(c);
    validate_ids(req.get_as<ids>(2));
    bool get = req.match_element<vget_atom>(0);
    // A get answers in the order asked, so it keeps the ids.
    auto asked = get ? std::make_shared<ids>(req.get_as<ids>(2)) : nullptr;
    auto by_shard = split(req.get_mutable_as<ids>(2), n, key_of);
    p.parts = parts_of(by_shard, [&](ids xs) {
      return get ? caf::make_message(vget_atom::value, c, std::move(xs))
                 : caf::make_message(vdelete_atom::value, c, std::move(xs));
    });
    if (!get) {
      p.merge = sum;
    } else {
      p.merge = [asked](replies& rs) {
        std::unordered_map<string, vector_record> by_id;
        for (auto& r : rs)
          for (auto& x : reply_as<records>(r))
            by_id.emplace(x.id, std::move(x));
        records out;
        for (auto& id : *asked)
          if (auto it = by_id.find(id); it != by_id.end()) {
            out.push_back(std::move(it->second));
            by_id.erase(it);
          }
        return caf::make_message(std::move(out));
      };
    }
  } else {
    return false;
  }
  return true;
}

bool cache_plan(caf::message& req, std::uint32_t n, shard_plan& p) {
  if (req.match_elements<cdel_atom, ids>()) {
    validate_keys(req.get_as<ids>(1));
    auto by_shard = split(req.get_mutable_as<ids>(1), n, key_of);
    p.parts = parts_of(by_shard, [](ids ks) {
      return caf::make_message(cdel_atom::value, std::move(ks));
    });
    p.merge = sum;
  } else if (req.match_elements<cmset_atom, std::vector<cache_entry>>()) {
    validate_entries(req.get_as<std::vector<cache_entry>>(1));
    auto by_shard =
        split(req.get_mutable_as<std::vector<cache_entry>>(1), n, entry_key);
    p.parts = parts_of(by_shard, [](std::vector<cache_entry> es) {
      return caf::make_message(cmset_atom::value, std::move(es));
    });
    p.merge = [](replies& rs) {
      for (auto& r : rs) reply_as<bool>(r);
      return caf::make_message(true);
    };
  } else if (req.match_elements<cmget_atom, ids>()) {
    validate_keys(req.get_as<ids>(1));
    auto total = req.get_as<ids>(1).size();
    auto positions = std::make_shared<std::vector<std::vector<std::size_t>>>();
    auto by_shard =
        split(req.get_mutable_as<ids>(1), n, key_of, positions.get());
    // Only the shards with a part keep their positions, in part order.
    std::vector<std::vector<std::size_t>> kept;
    for (std::uint32_t s = 0; s < n; ++s)
      if (!by_shard[s].empty()) kept.push_back(std::move((*positions)[s]));
    *positions = std::move(kept);
    p.parts = parts_of(by_shard, [](ids ks) {
      return caf::make_message(cmget_atom::value, std::move(ks));
    });
    p.merge = [positions, total](replies& rs) {
      std::vector<maybe_value> out(total);
      for (std::size_t i = 0; i < rs.size(); ++i) {
        auto& vs = reply_as<std::vector<maybe_value>>(rs[i]);
        auto& at = (*positions)[i];
        if (vs.size() != at.size())
          throw store_error(errc::internal,
                            "a shard answered " + std::to_string(vs.size()) +
                                " of " + std::to_string(at.size()) + " keys");
        for (std::size_t j = 0; j < vs.size(); ++j)
          out[at[j]] = std::move(vs[j]);
      }
      return caf::make_message(std::move(out));
    };
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool splits_across_shards(const caf::type_erased_tuple& x) {
  return x.match_elements<vsearch_atom, string, search_request>() ||
         x.match_elements<vsearchb_atom, string, batch_search_request>() ||
         x.match_elements<vcount_atom, string>() ||
         x.match_elements<vupsert_atom, string, records>() ||
         x.match_elements<vget_atom, string, ids>() ||
         x.match_elements<vdelete_atom, string, ids>() ||
         x.match_elements<cdel_atom, ids>() ||
         x.match_elements<cmget_atom, ids>() ||
         x.match_elements<cmset_atom, std::vector<cache_entry>>();
}

shard_plan plan_for_shards(caf::message& req, std::uint32_t shards) {
  shard_plan p;
  if (!vector_plan(req, shards, p) && !cache_plan(req, shards, p))
    throw store_error(errc::internal,
                      "not a request the dispatcher splits: " + to_string(req));
  return p;
}

}  // namespace storage
