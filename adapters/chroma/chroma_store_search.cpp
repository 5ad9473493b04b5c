// search and scan: the parts where Chroma's answer is only a starting point.
// A batch search is one /query for every query; each answer then gets the
// same checks a single search's does.
#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "adapters/chroma/chroma_store.hpp"
#include "adapters/chroma/chroma_store_where.hpp"
#include "messages/distance.hpp"
#include "messages/validation.hpp"

namespace storage {

using nlohmann::json;

namespace {

// Candidates fetched beyond k, so a tie at the k-th distance shows.
constexpr std::size_t tie_margin = 10;
// Ids per /get page when listing a whole collection.
constexpr std::size_t id_page = 10000;

struct scored {
  double distance;
  vector_record record;
};

void order(std::vector<scored>& c) {
  std::sort(c.begin(), c.end(), [](const scored& a, const scored& b) {
    return closer(a.distance, a.record.id, b.distance, b.record.id);
  });
}

std::vector<search_hit> hits(std::vector<scored>& c, std::size_t k,
                             const include_fields& inc) {
  std::vector<search_hit> out;
  for (std::size_t i = 0; i < c.size() && i < k; ++i) {
    auto& r = c[i].record;
    search_hit h;
    h.id = std::move(r.id);
    h.distance = c[i].distance;
    if (inc.metadata) h.metadata = std::move(r.metadata);
    if (inc.document) h.document = std::move(r.document);
    if (inc.embedding) h.embedding = std::move(r.embedding);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

// Chroma 1.0.1 here answers a /get that races a delete of ids it reads with
// 500 "Error finding id" (seen under concurrent deletes, not otherwise); the
// read itself is fine to repeat.
template <class Fn>
auto retry_racing_delete(Fn fn) {
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const store_error& e) {
      if (attempt >= 5 || e.code() != errc::internal ||
          std::string(e.what()).find("Error finding id") == std::string::npos)
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
    }
  }
}

// Chroma lists a collection by offset, in insertion order. A delete before
// the offset between two pages shifts every later id down, so a plain
// offset walk would skip ids that were there all along. Each page after the
// first starts `overlap` ids early: when its first id is one already
// listed, the pages join without a gap; otherwise more ids than that were
// deleted meanwhile, and the page is read again from twice as far back
// (from 0 at worst, which joins by definition).
std::vector<std::string> chroma_store::all_ids(const std::string& path,
                                               const json* where) {
  constexpr std::size_t overlap = 1000;
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  std::size_t offset = 0, back = overlap;
  for (;;) {
    auto start = offset > back ? offset - back : 0;
    json q{{"include", json::array()}, {"limit", id_page}, {"offset", start}};
    if (where) q["where"] = *where;
    json page = retry_racing_delete(
        [&] { return call("POST", path + "/get", &q).at("ids"); });
    if (start > 0 &&
        (page.empty() || !seen.count(page.front().get<std::string>()))) {
      back *= 2;
      continue;
    }
    for (auto& id : page) {
      auto s = id.get<std::string>();
      if (seen.insert(s).second) ids.push_back(std::move(s));
    }
    if (page.size() < id_page) return ids;
    offset = start + page.size();
    back = overlap;
  }
}

namespace {

void check_length(const std::vector<float>& query, std::uint32_t dimension,
                  const std::string& collection, const std::string& which) {
  if (dimension && query.size() != dimension)
    throw store_error(errc::dimension_mismatch,
                      which + "has " + std::to_string(query.size()) +
                          " values, collection '" + collection +
                          "' has dimension " + std::to_string(dimension));
}

}  // namespace

std::vector<search_hit> chroma_store::search(const std::string& collection,
                                             const search_request& req) {
  return guarded("search", [&] {
    validate_search(req);
    return with_collection(
        collection, [&](const collection_info& info, const std::string& path) {
          check_length(req.query, info.dimension, collection, "query ");
          auto lists = query_many(info, path, {req.query}, req.k, req.where,
                                  req.include);
          return std::move(lists.front());
        });
  });
}

std::vector<std::vector<search_hit>> chroma_store::search_batch(
    const std::string& collection, const batch_search_request& req) {
  return guarded("search", [&] {
    validate_batch_search(req);
    return with_collection(collection, [&](const collection_info& info,
                                           const std::string& path) {
      // One length for all (validated): query 0 speaks for every query.
      check_length(req.queries.front(), info.dimension, collection,
                   "query 0: query ");
      return query_many(info, path, req.queries, req.k, req.where, req.include);
    });
  });
}

std::vector<std::vector<search_hit>> chroma_store::query_many(
    const collection_info& info, const std::string& path,
    const std::vector<std::vector<float>>& queries, std::uint32_t top_k,
    const std::optional<filter>& where, const include_fields& inc) {
  std::optional<json> chroma_filter;
  if (where)
    if (auto w = chroma_where(*where); !w.is_null()) chroma_filter = w;
  const std::size_t k = top_k, n = k + tie_margin;
  auto include = chroma_record_columns();
  json body{
      {"query_embeddings", queries}, {"n_results", n}, {"include", include}};
  if (chroma_filter) body["where"] = *chroma_filter;
  json r = call("POST", path + "/query", &body);
  // What a short answer needs is the same for every query: asked once.
  std::optional<std::uint64_t> matches;
  std::optional<std::vector<vector_record>> everything;
  std::vector<std::vector<search_hit>> out;
  out.reserve(queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto& query = queries[q];
    json cols = chroma_query_columns(r, q);
    std::size_t raw = cols.contains("ids") ? cols["ids"].size() : 0;
    // Not 0: inner-product distances go below zero.
    double farthest = -std::numeric_limits<double>::infinity();
    std::vector<scored> cand;
    for (std::size_t i = 0; i < raw; ++i) {
      auto rec = chroma_record(cols, i);
      double d = distance(info.metric, rec.embedding, query);
      farthest = std::max(farthest, d);
      if (where && !where->matches(rec.metadata)) continue;
      cand.push_back({d, std::move(rec)});
    }
    order(cand);
    bool complete;
    if (raw < n) {
      // Fewer than asked: either that is every match, or the index
      // pruned some. Only a count tells which.
      if (!matches)
        matches = chroma_filter ? all_ids(path, &*chroma_filter).size()
                                : chroma_count(call("GET", path + "/count"));
      complete = *matches <= raw;
    } else {
      // A record not fetched is at least as far as the farthest fetched;
      // the k-th must be strictly closer for the top k to be settled.
      complete = cand.size() >= k && cand[k - 1].distance < farthest;
    }
    if (!complete) {
      if (!everything) {
        json all{{"include", include}};
        if (chroma_filter) all["where"] = *chroma_filter;
        everything = fetch(path, all);
      }
      cand.clear();
      for (auto& rec : *everything) {
        if (where && !where->matches(rec.metadata)) continue;
        double d = distance(info.metric, rec.embedding, query);
        cand.push_back({d, rec});
      }
      order(cand);
    }
    out.push_back(hits(cand, k, inc));
  }
  return out;
}

scan_page chroma_store::scan(const std::string& collection,
                             const std::string& after, std::uint32_t limit) {
  return guarded("scan", [&] {
    if (limit == 0)
      throw store_error(errc::invalid_argument, "scan limit must be positive");
    return with_collection(
        collection, [&](const collection_info&, const std::string& path) {
          // Chroma lists records in insertion order only: sort every id.
          auto ids = all_ids(path, nullptr);
          std::sort(ids.begin(), ids.end());
          auto first = std::upper_bound(ids.begin(), ids.end(), after);
          auto take = std::min<std::size_t>(
              limit, static_cast<std::size_t>(ids.end() - first));
          std::vector<std::string> wanted(
              first, first + static_cast<std::ptrdiff_t>(take));
          scan_page page;
          if (wanted.empty()) return page;
          json q{{"ids", wanted}, {"include", chroma_record_columns()}};
          std::unordered_map<std::string, vector_record> found;
          for (auto& r : retry_racing_delete([&] { return fetch(path, q); }))
            found[r.id] = std::move(r);
          for (auto& id : wanted) {
            auto it = found.find(id);
            // Deleted since the ids were listed: simply absent.
            if (it != found.end())
              page.records.push_back(std::move(it->second));
          }
          if (first + static_cast<std::ptrdiff_t>(take) != ids.end())
            page.next_cursor = wanted.back();
          return page;
        });
  });
}

}  // namespace storage
