// pgvector_store: records — upsert, get, delete, count, scan and search.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "adapters/pgvector_store_detail.hpp"
#include "messages/distance.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

// Extra rows fetched beyond k so that ties and float32-vs-double rounding at
// the boundary are resolved by the exact re-sort, not by the server.
constexpr std::uint64_t extra_rows = 10;

// Below this many records one INSERT ... unnest statement (one round trip)
// beats COPY (five); above it COPY parses the vectors faster.
constexpr std::size_t copy_threshold = 32;

// pgvector's HNSW search list cannot exceed this.
constexpr int max_ef_search = 1000;

constexpr const char* columns = "id, embedding::text, metadata::text, document";

vector_record read_record(const pgv::result& r, int row) {
  vector_record rec;
  rec.id = r.text(row, 0);
  rec.embedding = pgv::parse_vector(r.c_str(row, 1));
  rec.metadata = pgv::parse_metadata(r.c_str(row, 2));
  if (!r.is_null(row, 3)) rec.document = r.text(row, 3);
  return rec;
}

std::string id_array(const std::vector<std::string>& ids) {
  std::vector<std::optional<std::string>> v;
  for (auto& id : ids) {
    pgv::check_text(id, "id");
    v.emplace_back(id);
  }
  return pgv::array_literal(v);
}

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

}  // namespace

std::uint64_t pgvector_store::upsert(
    const std::string& collection, const std::vector<vector_record>& records) {
  using field = std::optional<std::string>;
  std::vector<std::array<field, 4>> rows;
  try {
    // Duplicate ids would make ON CONFLICT fail mid-statement.
    validate_batch(records);
    for (auto& r : records) {
      pgv::check_text(r.id, "id");
      if (r.document)
        pgv::check_text(*r.document, "document of '" + r.id + "'");
      rows.push_back({r.id, pgv::vector_text(r.embedding),
                      pgv::metadata_json(r.metadata), r.document});
    }
  } catch (const store_error& e) {
    throw e.with_context("upsert", uri_.redacted());
  }
  // Rows go in id order so concurrent batches lock shared ids in the same
  // order instead of deadlocking.
  const std::string merge =
      " ORDER BY i COLLATE \"C\" ON CONFLICT (id) DO UPDATE SET "
      "embedding = excluded.embedding, metadata = excluded.metadata, "
      "document = excluded.document";
  return run("upsert", [&]() -> std::uint64_t {
    auto c = lookup(collection);
    validate_dimension(records, c.spec.dimension);
    if (records.empty()) return 0;
    auto insert =
        "INSERT INTO " + c.table +
        " (id, embedding, metadata, document) SELECT i, e, m, d FROM ";
    if (records.size() < copy_threshold) {
      // One statement is one transaction: the whole batch or nothing.
      std::array<std::vector<field>, 4> cols;
      for (auto& r : rows)
        for (std::size_t k = 0; k < 4; ++k) cols[k].push_back(r[k]);
      pgv::params p;
      conn_->exec(insert + "unnest(" + p.add(pgv::array_literal(cols[0])) +
                      "::text[], " + p.add(pgv::array_literal(cols[1])) +
                      "::vector[], " + p.add(pgv::array_literal(cols[2])) +
                      "::jsonb[], " + p.add(pgv::array_literal(cols[3])) +
                      "::text[]) AS u(i, e, m, d)" + merge,
                  p);
      return records.size();
    }
    // Large batches: COPY into a session-private stage, then one merge.
    std::string data;
    for (auto& r : rows) {
      for (std::size_t k = 0; k < 4; ++k) {
        if (k) data += '\t';
        pgv::copy_field(data, r[k]);
      }
      data += '\n';
    }
    pgv::transaction tx(*conn_);
    bool fresh_stage = stage_generation_ != conn_->generation();
    if (fresh_stage)
      conn_->exec(
          "CREATE TEMP TABLE IF NOT EXISTS storage_stage (i text, e vector, "
          "m jsonb, d text) ON COMMIT DELETE ROWS");
    conn_->copy_in("COPY pg_temp.storage_stage (i, e, m, d) FROM STDIN", data);
    conn_->exec(insert + "pg_temp.storage_stage" + merge);
    tx.commit();
    // Only now: a rolled-back transaction takes the new stage table with it.
    if (fresh_stage) stage_generation_ = conn_->generation();
    return records.size();
  });
}

std::vector<vector_record> pgvector_store::get(
    const std::string& collection, const std::vector<std::string>& ids) {
  return run("get", [&] {
    validate_ids(ids);
    auto c = lookup(collection);
    std::vector<vector_record> out;
    if (ids.empty()) return out;
    pgv::params p;
    auto r =
        conn_->exec("SELECT " + std::string(columns) + " FROM " + c.table +
                        " WHERE id = ANY(" + p.add(id_array(ids)) + "::text[])",
                    p);
    std::unordered_map<std::string, vector_record> found;
    for (int i = 0; i < r.rows(); ++i) {
      auto rec = read_record(r, i);
      auto id = rec.id;
      found.emplace(std::move(id), std::move(rec));
    }
    for (auto& id : ids)
      if (auto it = found.find(id); it != found.end())
        out.push_back(it->second);
    return out;
  });
}

std::uint64_t pgvector_store::remove(const std::string& collection,
                                     const std::vector<std::string>& ids) {
  return run("remove", [&]() -> std::uint64_t {
    validate_ids(ids);
    auto c = lookup(collection);
    if (ids.empty()) return 0;
    pgv::params p;
    return conn_
        ->exec("DELETE FROM " + c.table + " WHERE id = ANY(" +
                   p.add(id_array(ids)) + "::text[])",
               p)
        .affected();
  });
}

std::uint64_t pgvector_store::remove_where(const std::string& collection,
                                           const filter& where) {
  return run("remove_where", [&] {
    auto c = lookup(collection);
    pgv::params p;
    auto cond = pgv::where_sql(where, p);
    return conn_->exec("DELETE FROM " + c.table + " WHERE " + cond, p)
        .affected();
  });
}

std::uint64_t pgvector_store::count(const std::string& collection) {
  return run("count", [&]() -> std::uint64_t {
    auto c = lookup(collection);
    return std::stoull(
        conn_->exec("SELECT count(*) FROM " + c.table).text(0, 0));
  });
}

scan_page pgvector_store::scan(const std::string& collection,
                               const std::string& after, std::uint32_t limit) {
  return run("scan", [&] {
    if (limit == 0)
      throw store_error(errc::invalid_argument, "scan limit must be positive");
    pgv::check_text(after, "cursor");
    auto c = lookup(collection);
    pgv::params p;
    // The id column is COLLATE "C": comparison and order are bytewise.
    auto r =
        conn_->exec("SELECT " + std::string(columns) + " FROM " + c.table +
                        " WHERE id > " + p.add(after) + " ORDER BY id LIMIT " +
                        p.add(std::to_string(limit)) + "::bigint",
                    p);
    scan_page page;
    for (int i = 0; i < r.rows(); ++i)
      page.records.push_back(read_record(r, i));
    if (page.records.size() == limit) page.next_cursor = page.records.back().id;
    return page;
  });
}

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

std::vector<search_hit> pgvector_store::search_rows(const collection_info& c,
                                                    const search_request& req) {
  const std::uint64_t fetch = req.k + extra_rows;
  const auto q = pgv::vector_text(req.query);
  const char* op = order_operator(c.spec.metric);
  auto query = [&](bool exact) {
    pgv::params p;
    auto qp = p.add(q);
    std::string where =
        req.where ? " WHERE " + pgv::where_sql(*req.where, p) : "";
    std::string order;
    if (!exact)
      // The only shape the planner answers from the HNSW index.
      order = "embedding " + std::string(op) + " " + qp + "::vector";
    else if (c.spec.metric == metric::cosine)
      // pgvector's cosine distance of a zero vector is NaN; the contract
      // says 1. Any expression here also keeps the index out: a full scan.
      order = "COALESCE(NULLIF(embedding <=> " + qp +
              "::vector, 'NaN'::float8), 1), id";
    else
      order = "(embedding " + std::string(op) + " " + qp + "::vector) + 0, id";
    return conn_->exec("SELECT " + std::string(columns) + " FROM " + c.table +
                           where + " ORDER BY " + order + " LIMIT " +
                           p.add(std::to_string(fetch)) + "::bigint",
                       p);
  };

  bool exact = !opt_.hnsw || c.spec.dimension > 2000 ||
               (c.spec.metric == metric::cosine && is_zero(req.query));
  if (!exact) {
    // A cheap size estimate (no row count): small collections are scanned
    // exactly, so they never get approximate answers.
    pgv::params p;
    auto size = conn_->exec(
        "SELECT pg_table_size(" + p.add(c.table) + "::regclass)", p);
    auto bytes = std::stoll(size.text(0, 0));
    exact = bytes / (4 * static_cast<std::int64_t>(c.spec.dimension) + 64) <
            opt_.exact_below;
  }
  std::optional<pgv::result> rows;
  if (!exact) {
    int ef = static_cast<int>(std::min<std::uint64_t>(
        max_ef_search, std::max<std::uint64_t>(opt_.ef_search, fetch)));
    if (ef > session_ef_) {
      pgv::params p;
      conn_->exec("SELECT set_config('hnsw.ef_search', " +
                      p.add(std::to_string(ef)) + ", false)",
                  p);
      session_ef_ = ef;
    }
    rows = query(false);
    // Fewer rows than asked means either fewer matches or an index that gave
    // up early (filtered search); only a full scan tells which.
    if (static_cast<std::uint64_t>(rows->rows()) < fetch) exact = true;
  }
  if (exact) rows = query(true);

  std::vector<search_hit> hits;
  for (int i = 0; i < rows->rows(); ++i) {
    auto rec = read_record(*rows, i);
    search_hit h;
    h.distance = distance(c.spec.metric, req.query, rec.embedding);
    h.id = std::move(rec.id);
    if (req.include.metadata) h.metadata = std::move(rec.metadata);
    if (req.include.document) h.document = std::move(rec.document);
    if (req.include.embedding) h.embedding = std::move(rec.embedding);
    hits.push_back(std::move(h));
  }
  std::sort(hits.begin(), hits.end(),
            [](const search_hit& a, const search_hit& b) {
              return closer(a.distance, a.id, b.distance, b.id);
            });
  if (hits.size() > req.k) hits.resize(req.k);
  return hits;
}

}  // namespace storage
