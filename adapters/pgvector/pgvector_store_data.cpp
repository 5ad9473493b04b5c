// pgvector_store: records — upsert, get, delete, count and scan (search is
// in pgvector_store_search.cpp).
#include <algorithm>
#include <array>
#include <unordered_map>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

// Below this many records one INSERT ... unnest statement (one round trip)
// beats COPY (five); above it COPY parses the vectors faster.
constexpr std::size_t copy_threshold = 32;

constexpr const char* columns = pgv::record_columns;

// The ids to look up. One that is not text (validation.hpp) cannot be a
// row's: left out, so it is simply absent.
std::string id_array(const std::vector<std::string>& ids) {
  std::vector<std::optional<std::string>> v;
  for (auto& id : ids)
    if (is_text(id)) v.emplace_back(id);
  return pgv::array_literal(v);
}

// Deletes the rows of `table` matching `cond`, locking them in id order
// first, as upserts lock theirs: concurrent writes of shared ids then wait
// for each other. A plain DELETE locks in its scan's order (a bitmap or
// sequential scan goes by the rows' places in the table), and two
// statements locking shared rows in different orders deadlock -- one
// fails with SQLSTATE 40P01, a `conflict` for its caller.
std::string delete_in_id_order(const std::string& table,
                               const std::string& cond) {
  return "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table +
         " WHERE " + cond + " ORDER BY id FOR UPDATE)";
}

}  // namespace

vector_record pgv::read_record(const pgv::result& r, int row) {
  vector_record rec;
  rec.id = r.text(row, 0);
  rec.embedding = pgv::parse_vector(r.c_str(row, 1));
  rec.metadata = pgv::parse_metadata(r.c_str(row, 2));
  if (!r.is_null(row, 3)) rec.document = r.text(row, 3);
  return rec;
}

std::uint64_t pgvector_store::upsert(
    const std::string& collection, const std::vector<vector_record>& records) {
  using field = std::optional<std::string>;
  std::vector<std::array<field, 4>> rows;
  try {
    // Duplicate ids would make ON CONFLICT fail mid-statement, and text
    // PostgreSQL cannot hold (NUL) fails here, before any row is built.
    validate_batch(records);
    for (auto& r : records) {
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
      conn_->exec_write(
          insert + "unnest(" + p.add(pgv::array_literal(cols[0])) +
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
      auto rec = pgv::read_record(r, i);
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
        ->exec_write(
            delete_in_id_order(
                c.table, "id = ANY(" + p.add(id_array(ids)) + "::text[])"),
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
    return conn_->exec_write(delete_in_id_order(c.table, cond), p).affected();
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
    // The id column is COLLATE "C": comparison and order are bytewise. One
    // row past the page tells whether there is another: a collection that
    // fills its last page exactly ends there, as on every backend.
    auto r = conn_->exec(
        "SELECT " + std::string(columns) + " FROM " + c.table + " WHERE id > " +
            p.add(after) + " ORDER BY id LIMIT " +
            p.add(std::to_string(std::uint64_t{limit} + 1)) + "::bigint",
        p);
    scan_page page;
    const auto rows = static_cast<std::uint64_t>(r.rows());
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(rows, limit); ++i)
      page.records.push_back(pgv::read_record(r, static_cast<int>(i)));
    if (rows > limit) page.next_cursor = page.records.back().id;
    return page;
  });
}

}  // namespace storage
