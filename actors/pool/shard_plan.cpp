#include "actors/pool/shard_plan.hpp"

#include <algorithm>
#include <unordered_map>

#include "actors/pool/hit_merge.hpp"
#include "actors/pool/pool_spec.hpp"
#include "actors/pool/search_bound.hpp"
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

// One shard's items of a keyed batch, and the positions they had in it.
template <class Item>
struct shard_items {
  std::uint32_t shard = 0;
  std::vector<Item> items;
  std::vector<std::size_t> positions;
};

// Moves each of `items` to the shard owning its key (the shard a
// single-key request about it goes to); only shards owning something, in
// shard order.
template <class Item, class KeyOf>
std::vector<shard_items<Item>> split(std::vector<Item>& items,
                                     std::uint32_t shards, KeyOf key_of) {
  std::vector<shard_items<Item>> by_shard(shards);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto s = static_cast<std::uint32_t>(key_hash(key_of(items[i])) % shards);
    by_shard[s].shard = s;
    by_shard[s].items.push_back(std::move(items[i]));
    by_shard[s].positions.push_back(i);
  }
  by_shard.erase(std::remove_if(by_shard.begin(), by_shard.end(),
                                [](auto& x) { return x.items.empty(); }),
                 by_shard.end());
  return by_shard;
}

// One part per shard of `split`, each `make(items)`'s message.
template <class Item, class Make>
std::vector<shard_plan::part> parts_of(std::vector<shard_items<Item>>& split,
                                       Make make) {
  std::vector<shard_plan::part> out;
  for (auto& x : split) out.push_back({x.shard, make(std::move(x.items))});
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

// A vector request about several ids (`Atom`, collection, ids), checked and
// split: one `Atom` per shard owning some of them.
template <class Atom>
std::vector<shard_plan::part> ids_by_shard(caf::message& req, std::uint32_t n) {
  auto c = req.get_as<string>(1);
  validate_collection_name(c);
  validate_ids(req.get_as<ids>(2));
  auto by_shard = split(req.get_mutable_as<ids>(2), n, key_of);
  return parts_of(by_shard, [&](ids xs) {
    return caf::make_message(Atom::value, c, std::move(xs));
  });
}

bool vector_plan(caf::mailbox_element& what, std::uint32_t n, shard_plan& p) {
  auto& x = what.content();
  if (x.match_elements<vsearch_atom, string, search_request>()) {
    auto req = what.move_content_to_message();
    auto k = req.get_as<search_request>(2).k;
    p.parts = to_every_shard(
        caf::make_message(vsearch_atom::value,
                          std::move(req.get_mutable_as<string>(1)),
                          std::move(req.get_mutable_as<search_request>(2)),
                          std::make_shared<search_bound>(k)),
        n);
    p.merge = [k](replies& rs) {
      std::vector<hits> parts;
      for (auto& r : rs) parts.push_back(std::move(reply_as<hits>(r)));
      return caf::make_message(merge_hits(parts, k));
    };
  } else if (x.match_elements<vsearchb_atom, string, batch_search_request>()) {
    auto req = what.move_content_to_message();
    auto& b = req.get_as<batch_search_request>(2);
    auto k = b.k;
    auto queries = b.queries.size();
    p.parts = to_every_shard(req, n);
    p.merge = [k, queries](replies& rs) {
      std::vector<batch_hits> parts;
      for (auto& r : rs) parts.push_back(std::move(reply_as<batch_hits>(r)));
      return caf::make_message(merge_batch_hits(parts, queries, k));
    };
  } else if (x.match_elements<vcount_atom, string>()) {
    p.parts = to_every_shard(what.move_content_to_message(), n);
    p.merge = sum;
  } else if (x.match_elements<vupsert_atom, string, records>()) {
    auto req = what.move_content_to_message();
    auto c = req.get_as<string>(1);
    validate_collection_name(c);
    validate_batch(req.get_as<records>(2));
    auto by_shard = split(req.get_mutable_as<records>(2), n, id_of);
    p.parts = parts_of(by_shard, [&](records rs) {
      return caf::make_message(vupsert_atom::value, c, std::move(rs));
    });
    p.merge = sum;
  } else if (x.match_elements<vdelete_atom, string, ids>()) {
    auto req = what.move_content_to_message();
    p.parts = ids_by_shard<vdelete_atom>(req, n);
    p.merge = sum;
  } else if (x.match_elements<vget_atom, string, ids>()) {
    auto req = what.move_content_to_message();
    // A get answers in the order asked, so it keeps the ids.
    auto asked = std::make_shared<ids>(req.get_as<ids>(2));
    p.parts = ids_by_shard<vget_atom>(req, n);
    p.merge = [asked](replies& rs) {
      std::unordered_map<string, vector_record> by_id;
      for (auto& r : rs)
        for (auto& x : reply_as<records>(r)) by_id.emplace(x.id, std::move(x));
      records out;
      for (auto& id : *asked)
        if (auto it = by_id.find(id); it != by_id.end()) {
          out.push_back(std::move(it->second));
          by_id.erase(it);
        }
      return caf::make_message(std::move(out));
    };
  } else {
    return false;
  }
  return true;
}

bool cache_plan(caf::mailbox_element& what, std::uint32_t n, shard_plan& p) {
  auto& x = what.content();
  if (x.match_elements<cdel_atom, ids>()) {
    auto req = what.move_content_to_message();
    validate_keys(req.get_as<ids>(1));
    auto by_shard = split(req.get_mutable_as<ids>(1), n, key_of);
    p.parts = parts_of(by_shard, [](ids ks) {
      return caf::make_message(cdel_atom::value, std::move(ks));
    });
    p.merge = sum;
  } else if (x.match_elements<cmset_atom, std::vector<cache_entry>>()) {
    auto req = what.move_content_to_message();
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
  } else if (x.match_elements<cmget_atom, ids>()) {
    auto req = what.move_content_to_message();
    validate_keys(req.get_as<ids>(1));
    auto total = req.get_as<ids>(1).size();
    auto by_shard = split(req.get_mutable_as<ids>(1), n, key_of);
    // Where each part's values go, in part order.
    auto positions = std::make_shared<std::vector<std::vector<std::size_t>>>();
    for (auto& s : by_shard) positions->push_back(std::move(s.positions));
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

std::optional<shard_plan> plan_for_shards(caf::mailbox_element& what,
                                          std::uint32_t shards) {
  shard_plan p;
  if (vector_plan(what, shards, p) || cache_plan(what, shards, p)) return p;
  return std::nullopt;
}

}  // namespace storage
