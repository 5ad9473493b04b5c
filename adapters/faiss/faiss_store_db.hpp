// The durable half of faiss_store: one SQLite connection in WAL mode with its
// statements prepared once. Private to the faiss_store library.
//
// Every write transaction takes the collection's next sequence number and
// stamps it on the rows it writes; removals are logged with theirs in
// `removed`. A snapshot of the in-memory index records the sequence it
// reflects, so reopening replays only what came after it. A collection's
// incarnation, random at creation, tells a snapshot of a dropped and
// re-created collection from one of the current collection.
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
  // Without `log_removals` (no snapshots kept) the removal log is emptied
  // and stays empty.
  database(const std::string& path, bool full_sync, bool log_removals);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // True after an I/O-class failure: the connection should be reopened.
  bool broken() const { return broken_; }

  struct stored_collection {
    collection_spec spec;
    std::uint64_t incarnation = 0;
  };
  std::vector<stored_collection> collections();
  // Returns the new collection's incarnation.
  std::uint64_t add_collection(const collection_spec& spec);
  // Removes the collection and its records in one transaction.
  void drop_collection(const std::string& name);

  // One transaction for the whole batch; returns its sequence number.
  std::uint64_t upsert(const std::string& collection,
                       const std::vector<vector_record>& records);
  struct removal {
    std::uint64_t removed = 0;  // how many of the ids existed
    std::uint64_t seq = 0;
  };
  // One transaction.
  removal remove(const std::string& collection,
                 const std::vector<std::string>& ids);
  // The sequence number of the collection's last write.
  std::uint64_t last_seq(const std::string& collection);
  std::optional<vector_record> get(const std::string& collection,
                                   const std::string& id);
  std::optional<std::string> document(const std::string& collection,
                                      const std::string& id);
  std::uint64_t count(const std::string& collection);
  // Runs fn's reads in one read transaction (or in the one already open):
  // a WAL reader then takes its snapshot, and the fcntl locks on the -shm
  // file that go with it, once instead of once per statement.
  void reading(const std::function<void()>& fn);
  // Up to `limit` records with id > after, in bytewise id order.
  std::vector<vector_record> scan(const std::string& collection,
                                  const std::string& after, std::int64_t limit);
  // The place a load has reached: the (seq, id) of the last record read.
  struct load_cursor {
    std::uint64_t seq = 0;
    std::string id;  // empty (ids never are): nothing of `seq` read yet
  };
  // Up to `limit` records after `from` in (seq, id) order, without their
  // documents; `from` moves to the last one. In this order a replay of the
  // writes after a snapshot can stop anywhere: everything before is in.
  std::vector<vector_record> load_since(const std::string& collection,
                                        load_cursor& from, std::int64_t limit);
  // Up to `limit` records with ids after `after`, in id order (the table's
  // own: the fastest way to read all of it), without their documents;
  // `after` moves to the last one.
  std::vector<vector_record> load_by_id(const std::string& collection,
                                        std::string& after, std::int64_t limit);
  // The ids removed after `seq` (and not necessarily absent now).
  std::vector<std::string> removed_since(const std::string& collection,
                                         std::uint64_t seq);
  // Forgets removals a snapshot at `seq` already reflects, and remembers
  // that it did: a snapshot older than that can no longer be brought up to
  // date (it would keep records removed since).
  void forget_removals(const std::string& collection, std::uint64_t seq);
  // The sequence up to which removals are forgotten (0: none).
  std::uint64_t forgotten(const std::string& collection);

 private:
  [[noreturn]] void fail(int rc, const std::string& what);
  void exec(const char* sql);
  void step_done(statement& st, const std::string& what);
  // Runs `fn` inside BEGIN IMMEDIATE .. COMMIT, rolling back on failure.
  void transaction(const std::function<void()>& fn);
  // Removals up to `seq` are in no log; inside a transaction.
  void mark_forgotten(const std::string& collection, std::uint64_t seq);
  // Takes the next sequence number; inside a transaction.
  std::uint64_t next_seq(const std::string& collection);
  // Adds the columns and tables of the sequenced schema to an older file.
  void upgrade_schema();

  std::string path_;
  bool log_removals_ = true;
  sqlite3* db_ = nullptr;
  bool broken_ = false;
  statement list_collections_, insert_collection_, delete_collection_,
      delete_records_, delete_removed_, upsert_, remove_, log_removal_, get_,
      document_, count_, scan_, load_since_, load_by_id_, removed_since_,
      forget_removals_, mark_forgotten_, forgotten_, next_seq_, last_seq_,
      begin_read_, end_read_;
};

}  // namespace storage::faiss_detail
