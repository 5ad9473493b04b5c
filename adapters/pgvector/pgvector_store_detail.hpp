// Internals of pgvector_store shared by its parts: the libpq connection with
// deadlines, statement parameters, and the SQL encodings.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/pgvector/pgvector_store.hpp"
#include "messages/errors.hpp"
#include "messages/records.hpp"

namespace storage::pgv {

// Positional parameters, all sent as text: every SQL use casts explicitly,
// so nothing the user supplies is ever spliced into the statement.
class params {
 public:
  // Returns the placeholder ("$3") for the appended value.
  std::string add(std::string value);
  std::string add_null();
  const std::vector<std::optional<std::string>>& values() const {
    return values_;
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

class result {
 public:
  explicit result(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool is_null(int row, int col) const {
    return PQgetisnull(r_.get(), row, col) != 0;
  }
  std::string text(int row, int col) const {
    return std::string(
        PQgetvalue(r_.get(), row, col),
        static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
  }
  const char* c_str(int row, int col) const {
    return PQgetvalue(r_.get(), row, col);
  }
  std::uint64_t affected() const;
  PGresult* get() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

// One statement of a pipeline (connection::exec_pipeline).
struct statement {
  std::string sql;
  params args;
};

class connection {
 public:
  connection(const store_uri& uri, const pgvector_store::options& opt);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Connects when not connected (or the connection went bad), giving up at
  // the deadline and after min(timeout_ms, 3 s) at most. Throws
  // backend_unavailable (unreachable or silent) or invalid_argument (login
  // refused).
  void ensure();
  // Statements give up at `deadline` (and after timeout_ms + 2 s at most).
  void set_deadline(std::chrono::steady_clock::time_point deadline);
  // Runs one statement within the deadline; throws store_error mapped from
  // the SQLSTATE. A lost connection or a missed deadline closes it.
  result exec(const std::string& sql, const params& p = {});
  // Runs one statement that may take the whole deadline set by
  // set_deadline rather than timeout_ms (an index build): the session's
  // statement_timeout is raised for it alone.
  result exec_long(const std::string& sql);
  // Runs the statements in one round trip (libpq's pipeline mode), as one
  // implicit transaction, and returns their results in order. The first
  // failure aborts the rest and is thrown as exec() would throw it.
  std::vector<result> exec_pipeline(const std::vector<statement>& stmts);
  // Runs one write as exec() does, but only while the server's clock is
  // before the request's deadline: with a deadline set it goes out in one
  // round trip behind deadline_guard(), so a write that waited in a frozen
  // server's socket past its deadline is refused (timeout), not applied
  // after its caller was told it timed out.
  result exec_write(const std::string& sql, const params& p = {});
  // The statement that fails with timeout (SQLSTATE 57014) once the
  // server's clock passed the request's deadline; nullopt without one.
  std::optional<std::string> deadline_guard() const;
  // Runs a COPY ... FROM STDIN statement feeding it `data` (text format).
  result copy_in(const std::string& sql, const std::string& data);
  void close();
  // From any thread: the statement in progress is cancelled on the server
  // (PQcancel, repeated until it ends: a cancel that arrives before the
  // statement does is ignored) and fails with conflict, as does every later
  // statement and connect; the connection closes (releasing the session's
  // advisory locks) when the first of them fails.
  void interrupt() { interrupted_ = true; }
  bool open() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

  // Increments on every successful connect: session state (SET) is per
  // generation.
  std::uint64_t generation() const { return generation_; }
  // True when the last failure lost a connection that had been working.
  bool lost() const { return lost_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  [[noreturn]] void fail_connection(const std::string& what);
  void flush(std::int64_t deadline_ms);
  PGresult* next_result(std::int64_t deadline_ms);
  // Collects the statement's results (starting with `first`, may be null)
  // and throws the mapped error unless it succeeded.
  result finish(PGresult* first, std::int64_t deadline_ms);
  // Throws the store_error a failed statement's result maps to.
  [[noreturn]] void fail_statement(const result& r);
  // Hands the statement to libpq without waiting for anything.
  void send(const std::string& sql, const params& p);
  void wait_socket(bool for_write, std::int64_t deadline_ms);
  std::string sanitize(std::string msg) const;

  PGconn* conn_ = nullptr;
  std::vector<std::string> keys_, vals_;
  std::string password_, endpoint_, login_;
  int deadline_ms_;  // a statement's: timeout_ms + 2 s
  int connect_ms_;   // a connect's: min(timeout_ms, 3 s)
  // The current request's deadline on now_ms()'s clock; 0: none.
  std::int64_t request_deadline_ = 0;
  // The server's clock (ms since the epoch) minus now_ms(), read when
  // connecting (off by at most the round trip).
  std::int64_t server_offset_ms_ = 0;
  std::int64_t deadline() const;
  std::uint64_t generation_ = 0;
  bool lost_ = false;
  std::atomic<bool> interrupted_{false};
  std::int64_t cancel_sent_ = 0;  // now_ms() of the last PQcancel
  // Throws conflict once interrupt() was called.
  void check_interrupted();
  // Before a statement goes out: not interrupted, and connected.
  void ready_to_send();
  // Asks the server to cancel the statement running (interrupted_ only).
  void cancel_on_server();
};

// Transaction scope: rolls back unless committed (if the connection lives).
// The COMMIT goes out behind the connection's deadline_guard().
class transaction {
 public:
  explicit transaction(connection& c);
  ~transaction();
  void commit();

 private:
  connection& c_;
  bool done_ = false;
};

// A session setting for a scope: SET on construction (nothing when `value`,
// an SQL literal, is empty), RESET to the startup packet's value when the
// scope ends, however it ends. A connection lost meanwhile is replaced, so a
// RESET that fails is dropped, as build_lock's unlock is.
class session_setting {
 public:
  session_setting(connection& c, std::string name, const std::string& value);
  ~session_setting();
  session_setting(const session_setting&) = delete;
  session_setting& operator=(const session_setting&) = delete;

 private:
  connection& c_;
  std::string name_;  // empty: nothing was set
};

// Held (a session-level advisory lock) by whoever builds a collection's
// index concurrently or drops it, taken before any transaction of its own:
// CREATE INDEX CONCURRENTLY waits for every transaction older than its
// snapshots, so a drop whose transaction then waited for the build's table
// lock, or a builder blocked in pg_advisory_lock (a statement holds a
// snapshot), would be a deadlock PostgreSQL breaks by failing one. Hence
// polling; timeout after `wait` (pgvector_store_index.cpp).
class build_lock {
 public:
  build_lock(connection& c, const std::string& collection,
             std::chrono::milliseconds wait);
  ~build_lock();
  build_lock(const build_lock&) = delete;
  build_lock& operator=(const build_lock&) = delete;

 private:
  connection& c_;
  params key_;
  std::string sql_key_;
};

// The columns every read selects, and one row of them as a record. Results
// come back as text, so no cast is needed: an explicit ::text would be
// computed for every row a search scans and sorts (6 of its 7 ms on 2000
// rows of 64 dimensions), the output conversion only for the rows returned.
constexpr const char* record_columns = "id, embedding, metadata, document";
vector_record read_record(const result& r, int row);

// A boolean SQL expression, inside a query over storage_collections: whether
// that row's table has a valid HNSW index (an interrupted concurrent build
// leaves an invalid one, which no search uses).
constexpr const char* has_hnsw_sql =
    "EXISTS (SELECT 1 FROM pg_index x JOIN pg_class xc ON xc.oid = "
    "x.indexrelid JOIN pg_am xa ON xa.oid = xc.relam WHERE x.indrelid = "
    "to_regclass('storage_vs_' || storage_collections.id) AND xa.amname = "
    "'hnsw' AND x.indisvalid)";
// The same, for the name of an invalid HNSW index of that table (NULL, read
// as "", if there is none).
constexpr const char* invalid_hnsw_sql =
    "(SELECT xc.relname FROM pg_index x JOIN pg_class xc ON xc.oid = "
    "x.indexrelid JOIN pg_am xa ON xa.oid = xc.relam WHERE x.indrelid = "
    "to_regclass('storage_vs_' || storage_collections.id) AND xa.amname = "
    "'hnsw' AND NOT x.indisvalid LIMIT 1)";

// Encodings (pgvector_store_sql.cpp).
std::string quote_ident(const std::string& name);
std::string vector_text(const std::vector<float>& v);
std::vector<float> parse_vector(const char* text);
// Doubles always carry a '.' so their type survives the jsonb round trip.
std::string metadata_json(const metadata& m);
metadata parse_metadata(const char* text);
// One field of COPY's text format; nullopt becomes \N.
void copy_field(std::string& out, const std::optional<std::string>& v);
// A PostgreSQL array literal of quoted elements; nullopt becomes NULL.
std::string array_literal(const std::vector<std::optional<std::string>>& v);
// SQL boolean expression over the `metadata` column with the contract's
// `where` semantics (messages/filter.cpp is the reference).
std::string where_sql(const filter& f, params& p);
// Rejects text PostgreSQL cannot hold in a text value.
void check_text(const std::string& s, const std::string& what);

}  // namespace storage::pgv

namespace storage {

template <class F>
auto pgvector_store::run(const char* op, F&& fn) -> decltype(fn()) {
  bool retried_connection = false, retried_catalogue = false;
  for (;;) {
    try {
      connect();
      return fn();
    } catch (const store_error& e) {
      if (e.code() == errc::backend_unavailable && conn_->lost() &&
          !retried_connection) {
        retried_connection = true;
        continue;
      }
      // Another connection may have dropped and re-created the collection
      // (a new table, maybe another dimension): refresh and try once more.
      if ((e.code() == errc::collection_not_found ||
           e.code() == errc::dimension_mismatch) &&
          !retried_catalogue && !catalogue_.empty()) {
        retried_catalogue = true;
        catalogue_.clear();
        continue;
      }
      throw e.with_context(op, uri_.redacted());
    }
  }
}

}  // namespace storage
