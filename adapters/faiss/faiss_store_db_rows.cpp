// faiss_store's SQLite reads and writes of collections and records.
#include <sqlite3.h>

#include <random>

#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_db_use.hpp"
#include "messages/errors.hpp"

namespace storage::faiss_detail {

std::vector<database::stored_collection> database::collections() {
  std::vector<stored_collection> out;
  use u(list_collections_);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    stored_collection c;
    c.spec.name = u.column_text(0);
    c.spec.dimension = static_cast<std::uint32_t>(u.column_int(1));
    c.spec.metric = parse_metric(u.column_text(2));
    c.incarnation = static_cast<std::uint64_t>(u.column_int(3));
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) fail(rc, "listing collections");
  return out;
}

std::uint64_t database::add_collection(const collection_spec& spec) {
  std::string m = to_string(spec.metric);
  std::random_device rd;
  // Positive and non-zero: 0 marks a collection from before incarnations.
  auto incarnation =
      ((std::uint64_t{rd()} << 32 | rd()) & 0x7fffffffffffffffULL) | 1;
  use u(insert_collection_);
  u.text(1, spec.name)
      .integer(2, spec.dimension)
      .text(3, m)
      .integer(4, static_cast<std::int64_t>(incarnation));
  if (int rc = u.step(); rc != SQLITE_DONE)
    fail(rc, "creating collection '" + spec.name + "'");
  return incarnation;
}

void database::drop_collection(const std::string& name) {
  transaction([&] {
    {
      use u(delete_records_);
      u.text(1, name);
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "dropping the records of '" + name + "'");
    }
    {
      use u(delete_removed_);
      u.text(1, name);
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "dropping the removal log of '" + name + "'");
    }
    use u(delete_collection_);
    u.text(1, name);
    if (int rc = u.step(); rc != SQLITE_DONE)
      fail(rc, "dropping collection '" + name + "'");
  });
}

std::uint64_t database::next_seq(const std::string& collection) {
  use u(next_seq_);
  u.text(1, collection);
  int rc = u.step();
  if (rc != SQLITE_ROW) fail(rc, "numbering a write to '" + collection + "'");
  return static_cast<std::uint64_t>(u.column_int(0));
}

std::uint64_t database::last_seq(const std::string& collection) {
  use u(last_seq_);
  u.text(1, collection);
  int rc = u.step();
  if (rc == SQLITE_ROW) return static_cast<std::uint64_t>(u.column_int(0));
  if (rc != SQLITE_DONE)
    fail(rc, "reading the sequence of '" + collection + "'");
  return 0;
}

std::uint64_t database::upsert(const std::string& collection,
                               const std::vector<vector_record>& records) {
  std::uint64_t seq = 0;
  transaction([&] {
    seq = next_seq(collection);
    for (auto& r : records) {
      std::string meta = metadata_to_json(normalized(r.metadata)).dump();
      use u(upsert_);
      u.text(1, collection)
          .text(2, r.id)
          .blob(3, r.embedding.data(), r.embedding.size() * sizeof(float))
          .text(4, meta);
      if (r.document)
        u.text(5, *r.document);
      else
        u.null(5);
      u.integer(6, static_cast<std::int64_t>(seq));
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "writing record '" + r.id + "'");
    }
  });
  return seq;
}

database::removal database::remove(const std::string& collection,
                                   const std::vector<std::string>& ids) {
  removal out;
  transaction([&] {
    out.seq = next_seq(collection);
    for (auto& id : ids) {
      {
        use u(remove_);
        u.text(1, collection).text(2, id);
        if (int rc = u.step(); rc != SQLITE_DONE)
          fail(rc, "deleting record '" + id + "'");
      }
      if (sqlite3_changes(db_) == 0) continue;
      ++out.removed;
      if (!log_removals_) continue;
      use u(log_removal_);
      u.text(1, collection)
          .text(2, id)
          .integer(3, static_cast<std::int64_t>(out.seq));
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "logging the removal of '" + id + "'");
    }
    if (out.removed > 0 && !log_removals_) mark_forgotten(collection, out.seq);
  });
  return out;
}

std::optional<vector_record> database::get(const std::string& collection,
                                           const std::string& id) {
  use u(get_);
  u.text(1, collection).text(2, id);
  int rc = u.step();
  if (rc == SQLITE_ROW) return read_record(u, true);
  if (rc != SQLITE_DONE) fail(rc, "reading record '" + id + "'");
  return std::nullopt;
}

std::optional<std::string> database::document(const std::string& collection,
                                              const std::string& id) {
  use u(document_);
  u.text(1, collection).text(2, id);
  int rc = u.step();
  if (rc == SQLITE_ROW)
    return u.column_null(0) ? std::nullopt
                            : std::optional<std::string>(u.column_text(0));
  if (rc != SQLITE_DONE) fail(rc, "reading the document of '" + id + "'");
  return std::nullopt;
}

std::uint64_t database::count(const std::string& collection) {
  use u(count_);
  u.text(1, collection);
  int rc = u.step();
  if (rc != SQLITE_ROW) fail(rc, "counting '" + collection + "'");
  return static_cast<std::uint64_t>(u.column_int(0));
}

std::vector<vector_record> database::scan(const std::string& collection,
                                          const std::string& after,
                                          std::int64_t limit) {
  std::vector<vector_record> out;
  use u(scan_);
  u.text(1, collection).text(2, after).integer(3, limit);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(read_record(u, true));
  if (rc != SQLITE_DONE) fail(rc, "scanning '" + collection + "'");
  return out;
}

std::vector<vector_record> database::load_since(const std::string& collection,
                                                load_cursor& from,
                                                std::int64_t limit) {
  std::vector<vector_record> out;
  out.reserve(static_cast<std::size_t>(limit));
  use u(load_since_);
  u.text(1, collection)
      .integer(2, static_cast<std::int64_t>(from.seq))
      .text(3, from.id)
      .integer(4, limit);
  int rc;
  std::int64_t seq = 0;
  while ((rc = u.step()) == SQLITE_ROW) {
    out.push_back(read_record(u, false));
    seq = u.column_int(3);
  }
  if (rc != SQLITE_DONE) fail(rc, "loading '" + collection + "'");
  if (!out.empty()) from = {static_cast<std::uint64_t>(seq), out.back().id};
  return out;
}

std::vector<vector_record> database::load_by_id(const std::string& collection,
                                                std::string& after,
                                                std::int64_t limit) {
  std::vector<vector_record> out;
  out.reserve(static_cast<std::size_t>(limit));
  use u(load_by_id_);
  u.text(1, collection).text(2, after).integer(3, limit);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(read_record(u, false));
  if (rc != SQLITE_DONE) fail(rc, "loading '" + collection + "'");
  if (!out.empty()) after = out.back().id;
  return out;
}

std::vector<std::string> database::removed_since(const std::string& collection,
                                                 std::uint64_t seq) {
  std::vector<std::string> out;
  use u(removed_since_);
  u.text(1, collection).integer(2, static_cast<std::int64_t>(seq));
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(u.column_text(0));
  if (rc != SQLITE_DONE)
    fail(rc, "reading the removals of '" + collection + "'");
  return out;
}

void database::forget_removals(const std::string& collection,
                               std::uint64_t seq) {
  transaction([&] {
    {
      use u(forget_removals_);
      u.text(1, collection).integer(2, static_cast<std::int64_t>(seq));
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "trimming the removal log of '" + collection + "'");
    }
    mark_forgotten(collection, seq);
  });
}

void database::mark_forgotten(const std::string& collection,
                              std::uint64_t seq) {
  use u(mark_forgotten_);
  u.integer(1, static_cast<std::int64_t>(seq)).text(2, collection);
  if (int rc = u.step(); rc != SQLITE_DONE)
    fail(rc, "recording the trimmed removal log of '" + collection + "'");
}

std::uint64_t database::forgotten(const std::string& collection) {
  use u(forgotten_);
  u.text(1, collection);
  int rc = u.step();
  if (rc == SQLITE_ROW) return static_cast<std::uint64_t>(u.column_int(0));
  if (rc != SQLITE_DONE)
    fail(rc, "reading the removal log's start of '" + collection + "'");
  return 0;
}

}  // namespace storage::faiss_detail
