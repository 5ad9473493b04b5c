// pgvector_store: search, one query or a batch. Both decide index vs. exact
// scan the same way and order by the same expressions, so a batch answers
// each query exactly as search() would. A batch sends its index statements
// (one per query, as search() sends them: the planner picks the index only
// for that shape) in one pipeline, and all its exact scans as one statement
// that evaluates the filter once; an exact scan is a total order (distance,
// then id), so sharing the statement cannot change its rows.
#include <algorithm>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "messages/distance.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

// Extra rows fetched beyond k so that ties and float32-vs-double rounding at
// the boundary are resolved by the exact re-sort, not by the server.
constexpr std::uint64_t extra_rows = 10;

// pgvector's HNSW search list cannot exceed this.
constexpr int max_ef_search = 1000;

const char* order_operator(metric m) {
  switch (m) {
    case metric::l2:
      return "<->";
    case metric::ip:
      return "<#>";
    default:
      return "<=>";
  }
}

bool is_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0; });
}

// The exact scan's order for the query vector `v` (an SQL expression).
std::string exact_order(metric m, const std::string& v) {
  if (m == metric::cosine)
    // pgvector's cosine distance of a zero vector is NaN; the contract
    // says 1. Any expression here also keeps the index out: a full scan.
    return "COALESCE(NULLIF(embedding <=> " + v + ", 'NaN'::float8), 1), id";
  return "(embedding " + std::string(order_operator(m)) + " " + v + ") + 0, id";
}

// The statement searching for `query`: through the HNSW index, or exact, by
// a full scan. Up to `fetch` rows.
pgv::statement search_statement(const std::string& table, metric m,
                                const std::vector<float>& query,
                                const std::optional<filter>& where,
                                std::uint64_t fetch, bool exact) {
  pgv::statement s;
  auto& p = s.args;
  auto qv = p.add(pgv::vector_text(query)) + "::vector";
  std::string cond = where ? " WHERE " + pgv::where_sql(*where, p) : "";
  // Without an expression around it: the only shape the planner answers
  // from the HNSW index.
  std::string order =
      exact ? exact_order(m, qv)
            : "embedding " + std::string(order_operator(m)) + " " + qv;
  s.sql = "SELECT " + std::string(pgv::record_columns) + " FROM " + table +
          cond + " ORDER BY " + order + " LIMIT " +
          p.add(std::to_string(fetch)) + "::bigint";
  return s;
}

// One statement scanning exactly for queries[i], i in `which`: the filter
// runs once over the table, then each query takes its top `fetch` of the
// matching rows in the order search_statement's exact form uses. The query
// index comes back as a fifth column.
pgv::statement scan_statement(const std::string& table, metric m,
                              const std::vector<std::vector<float>>& queries,
                              const std::vector<std::size_t>& which,
                              const std::optional<filter>& where,
                              std::uint64_t fetch) {
  std::vector<std::optional<std::string>> index, vectors;
  for (auto i : which) {
    index.emplace_back(std::to_string(i));
    vectors.emplace_back(pgv::vector_text(queries[i]));
  }
  pgv::statement s;
  auto& p = s.args;
  auto ip = p.add(pgv::array_literal(index));
  auto vp = p.add(pgv::array_literal(vectors));
  std::string cond = where ? " WHERE " + pgv::where_sql(*where, p) : "";
  s.sql = "WITH q AS (SELECT * FROM unnest(" + ip + "::int[], " + vp +
          "::vector[]) AS u(i, v)), m AS MATERIALIZED (SELECT id, embedding "
          "FROM " +
          table + cond +
          ") SELECT s.id, s.embedding, r.metadata, r.document, q.i FROM q "
          "CROSS JOIN LATERAL (SELECT id, embedding FROM m ORDER BY " +
          exact_order(m, "q.v") + " LIMIT " + p.add(std::to_string(fetch)) +
          "::bigint) s JOIN " + table + " r ON r.id = s.id";
  return s;
}

std::vector<vector_record> records_of(const pgv::result& rows) {
  std::vector<vector_record> out;
  out.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i)
    out.push_back(pgv::read_record(rows, i));
  return out;
}

// A scan_statement's rows, to the queries they belong to.
void take_scan(const pgv::result& rows,
               std::vector<std::vector<vector_record>>& found) {
  for (int i = 0; i < rows.rows(); ++i)
    found.at(std::stoul(rows.text(i, 4))).push_back(pgv::read_record(rows, i));
}

pgv::statement set_ef_search(int ef) {
  pgv::statement s;
  s.sql = "SELECT set_config('hnsw.ef_search', " +
          s.args.add(std::to_string(ef)) + ", false)";
  return s;
}

// The rows as hits: distances recomputed exactly, ties by id, all of them.
std::vector<search_hit> to_hits(std::vector<vector_record> rows, metric m,
                                const std::vector<float>& query,
                                const include_fields& inc) {
  std::vector<search_hit> hits;
  hits.reserve(rows.size());
  for (auto& rec : rows) {
    search_hit h;
    h.distance = distance(m, query, rec.embedding);
    h.id = std::move(rec.id);
    if (inc.metadata) h.metadata = std::move(rec.metadata);
    if (inc.document) h.document = std::move(rec.document);
    if (inc.embedding) h.embedding = std::move(rec.embedding);
    hits.push_back(std::move(h));
  }
  std::sort(hits.begin(), hits.end(),
            [](const search_hit& a, const search_hit& b) {
              return closer(a.distance, a.id, b.distance, b.id);
            });
  return hits;
}

// Whether the index's `fetch` rows may have cut a tie the k-th hit is in:
// the last row fetched is as far as the k-th, so rows of that distance may
// have been left out in the server's order, not by id. Only a scan tells.
// (fetch is k + extra_rows, so a full fetch holds the k-th hit.)
bool tie_past_fetch(const std::vector<search_hit>& hits, std::uint32_t k,
                    std::uint64_t fetch) {
  return k > 0 && hits.size() >= fetch &&
         hits[k - 1].distance == hits.back().distance;
}

std::vector<search_hit> first_k(std::vector<search_hit> hits, std::uint32_t k) {
  if (hits.size() > k) hits.resize(k);
  return hits;
}

}  // namespace

std::vector<search_hit> pgvector_store::search(const std::string& collection,
                                               const search_request& req) {
  return run("search", [&] {
    validate_search(req);
    auto c = lookup(collection);
    if (req.query.size() != c.spec.dimension)
      throw store_error(errc::dimension_mismatch,
                        "query has " + std::to_string(req.query.size()) +
                            " dimensions, collection '" + collection +
                            "' has " + std::to_string(c.spec.dimension));
    return search_rows(c, req);
  });
}

std::vector<std::vector<search_hit>> pgvector_store::search_batch(
    const std::string& collection, const batch_search_request& req) {
  return run("search", [&] {
    validate_batch_search(req);
    auto c = lookup(collection);
    // The queries all have one length (validated): query 0 speaks for all.
    if (req.queries.front().size() != c.spec.dimension)
      throw store_error(errc::dimension_mismatch,
                        "query 0: query has " +
                            std::to_string(req.queries.front().size()) +
                            " dimensions, collection '" + collection +
                            "' has " + std::to_string(c.spec.dimension));
    return search_rows_batch(c, req);
  });
}

bool pgvector_store::small_collection(const collection_info& c) {
  pgv::params p;
  auto size =
      conn_->exec("SELECT pg_table_size(" + p.add(c.table) + "::regclass)", p);
  auto bytes = std::stoll(size.text(0, 0));
  return bytes / (4 * static_cast<std::int64_t>(c.spec.dimension) + 64) <
         opt_.exact_below;
}

int pgvector_store::ef_for(std::uint64_t fetch) const {
  return static_cast<int>(std::min<std::uint64_t>(
      max_ef_search, std::max<std::uint64_t>(opt_.ef_search, fetch)));
}

std::vector<search_hit> pgvector_store::search_rows(const collection_info& c,
                                                    const search_request& req) {
  const std::uint64_t fetch = req.k + extra_rows;
  const auto m = c.spec.metric;
  bool exact = !opt_.hnsw || c.spec.dimension > 2000 ||
               (m == metric::cosine && is_zero(req.query));
  if (!exact) exact = small_collection(c);
  std::optional<pgv::result> rows;
  if (!exact) {
    warn_if_unindexed(c.spec.name);
    int ef = ef_for(fetch);
    if (ef > session_ef_) {
      auto s = set_ef_search(ef);
      conn_->exec(s.sql, s.args);
      session_ef_ = ef;
    }
    auto s = search_statement(c.table, m, req.query, req.where, fetch, false);
    rows = conn_->exec(s.sql, s.args);
    // Fewer rows than asked means either fewer matches or an index that gave
    // up early (filtered search); only a full scan tells which.
    if (static_cast<std::uint64_t>(rows->rows()) < fetch) exact = true;
  }
  if (!exact) {
    auto hits = to_hits(records_of(*rows), m, req.query, req.include);
    if (!tie_past_fetch(hits, req.k, fetch))
      return first_k(std::move(hits), req.k);
  }
  auto s = search_statement(c.table, m, req.query, req.where, fetch, true);
  rows = conn_->exec(s.sql, s.args);
  return first_k(to_hits(records_of(*rows), m, req.query, req.include), req.k);
}

std::vector<std::vector<search_hit>> pgvector_store::search_rows_batch(
    const collection_info& c, const batch_search_request& req) {
  const std::uint64_t fetch = req.k + extra_rows;
  const auto m = c.spec.metric;
  const auto& qs = req.queries;
  // Per query, as search_rows decides it; the size estimate is the
  // collection's, so one serves every query.
  std::vector<char> exact(qs.size());
  bool any_index = false;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    exact[i] = !opt_.hnsw || c.spec.dimension > 2000 ||
               (m == metric::cosine && is_zero(qs[i]));
    any_index = any_index || !exact[i];
  }
  if (any_index && small_collection(c)) {
    std::fill(exact.begin(), exact.end(), 1);
    any_index = false;
  }
  if (any_index) warn_if_unindexed(c.spec.name);
  std::vector<std::size_t> by_index, by_scan;
  for (std::size_t i = 0; i < qs.size(); ++i)
    (exact[i] ? by_scan : by_index).push_back(i);
  std::vector<pgv::statement> stmts;
  int ef = any_index ? ef_for(fetch) : 0;
  // The setting goes first in the same pipeline; it only counts once the
  // pipeline (one transaction) succeeded.
  const std::size_t first = ef > session_ef_ ? 1 : 0;
  if (first) stmts.push_back(set_ef_search(ef));
  for (auto i : by_index)
    stmts.push_back(
        search_statement(c.table, m, qs[i], req.where, fetch, false));
  if (!by_scan.empty())
    stmts.push_back(scan_statement(c.table, m, qs, by_scan, req.where, fetch));
  auto rows = conn_->exec_pipeline(stmts);
  if (first) session_ef_ = ef;
  std::vector<std::vector<vector_record>> found(qs.size());
  for (std::size_t j = 0; j < by_index.size(); ++j)
    found[by_index[j]] = records_of(rows[first + j]);
  if (!by_scan.empty()) take_scan(rows.back(), found);
  std::vector<std::vector<search_hit>> out(qs.size());
  for (std::size_t i = 0; i < qs.size(); ++i)
    out[i] = to_hits(std::move(found[i]), m, qs[i], req.include);
  // Fewer rows than asked from the index (fewer matches, or an index that
  // gave up early) or a tie the fetch may have cut: a full scan tells, as
  // in search_rows.
  std::vector<std::size_t> redo;
  for (auto i : by_index)
    if (out[i].size() < fetch || tie_past_fetch(out[i], req.k, fetch))
      redo.push_back(i);
  if (!redo.empty()) {
    std::vector<std::vector<vector_record>> again(qs.size());
    auto s = scan_statement(c.table, m, qs, redo, req.where, fetch);
    take_scan(conn_->exec(s.sql, s.args), again);
    for (auto i : redo)
      out[i] = to_hits(std::move(again[i]), m, qs[i], req.include);
  }
  for (std::size_t i = 0; i < qs.size(); ++i)
    out[i] = first_k(std::move(out[i]), req.k);
  return out;
}

}  // namespace storage
