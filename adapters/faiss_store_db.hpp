// The durable half of faiss_store: one SQLite connection in WAL mode with its
// statements prepared once. Private to the faiss_store library.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "messages/records.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace storage::faiss_detail {

// A prepared statement, reset and unbound whenever a use ends.
class statement {
 public:
  statement() = default;
  statement(sqlite3* db, const char* sql);
  ~statement();
  statement(statement&& other) noexcept : stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class database {
 public:
  // Throws backend_unavailable naming `path` when it cannot be opened.
  database(const std::string& path, bool full_sync);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // True after an I/O-class failure: the connection should be reopened.
  bool broken() const { return broken_; }

  std::vector<collection_spec> collections();
  void add_collection(const collection_spec& spec);
  // Removes the collection and its records in one transaction.
  void drop_collection(const std::string& name);

  // One transaction for the whole batch.
  void upsert(const std::string& collection,
              const std::vector<vector_record>& records);
  // One transaction; returns how many of `ids` existed.
  std::uint64_t remove(const std::string& collection,
                       const std::vector<std::string>& ids);
  std::optional<vector_record> get(const std::string& collection,
                                   const std::string& id);
  std::optional<std::string> document(const std::string& collection,
                                      const std::string& id);
  std::uint64_t count(const std::string& collection);
  // Up to `limit` records with id > after, in bytewise id order.
  std::vector<vector_record> scan(const std::string& collection,
                                  const std::string& after, std::int64_t limit);
  // Every record of a collection without its document, in id order.
  void load(const std::string& collection,
            const std::function<void(vector_record&&)>& sink);

 private:
  [[noreturn]] void fail(int rc, const std::string& what);
  void exec(const char* sql);
  void step_done(statement& st, const std::string& what);
  // Runs `fn` inside BEGIN IMMEDIATE .. COMMIT, rolling back on failure.
  void transaction(const std::function<void()>& fn);

  std::string path_;
  sqlite3* db_ = nullptr;
  bool broken_ = false;
  statement list_collections_, insert_collection_, delete_collection_,
      delete_records_, upsert_, remove_, get_, document_, count_, scan_, load_;
};

}  // namespace storage::faiss_detail
