// The libpq connection: keyword/value connect (the password is never spliced
// into a string), asynchronous execution polled against a deadline (a frozen
// server cannot hang a worker), and SQLSTATE -> errc mapping.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "messages/secrets.hpp"

namespace storage::pgv {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// However long a store's deadline, a connect that has not completed by
// then will not (libpq's connect_timeout here was 3 s an attempt, too).
constexpr int max_connect_ms = 3000;

bool contains(const std::string& s, const char* what) {
  return s.find(what) != std::string::npos;
}

errc code_for_sqlstate(const std::string& state) {
  if (state == "42P01") return errc::collection_not_found;  // dropped table
  if (state == "57014") return errc::timeout;               // statement_timeout
  if (state.rfind("08", 0) == 0 || state.rfind("53", 0) == 0 ||
      state.rfind("57P", 0) == 0)
    return errc::backend_unavailable;
  if (state.rfind("22", 0) == 0) return errc::invalid_argument;
  if (state == "23505" || state.rfind("40", 0) == 0) return errc::conflict;
  return errc::internal;
}

}  // namespace

std::string params::add(std::string value) {
  values_.emplace_back(std::move(value));
  return "$" + std::to_string(values_.size());
}

std::string params::add_null() {
  values_.emplace_back(std::nullopt);
  return "$" + std::to_string(values_.size());
}

std::uint64_t result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::stoull(n) : 0;
}

connection::connection(const store_uri& uri, const pgvector_store::options& opt)
    : password_(uri.password()),
      deadline_ms_(opt.timeout_ms + 2000),
      connect_ms_(std::min(opt.timeout_ms, max_connect_ms)) {
  std::string host = uri.host().empty() ? "localhost" : uri.host();
  std::string port = std::to_string(uri.port() ? uri.port() : 5432);
  std::string db = uri.path();
  if (!db.empty() && db.front() == '/') db.erase(0, 1);
  if (db.empty())
    throw store_error(errc::invalid_argument,
                      "pgvector URI names no database: expected "
                      "pgvector://user[:password]@host:port/database");
  endpoint_ = host + ":" + port;
  login_ = "user '" + uri.user() + "', database '" + db + "'";
  auto set = [&](const char* k, std::string v) {
    keys_.push_back(k);
    vals_.push_back(std::move(v));
  };
  set("host", host);
  set("port", port);
  set("dbname", db);
  if (!uri.user().empty()) set("user", uri.user());
  if (!uri.password().empty()) set("password", uri.password());
  set("connect_timeout", "3");
  // The pid tells an operator (and the tests) whose sessions these are.
  set("application_name", "storage-runtime/" + std::to_string(::getpid()));
  set("client_encoding", "UTF8");
  // Keepalives and tcp_user_timeout notice a vanished peer; the poll
  // deadline in exec covers a peer that is there but never answers.
  set("keepalives", "1");
  set("keepalives_idle", "5");
  set("keepalives_interval", "2");
  set("keepalives_count", "3");
  set("tcp_user_timeout", "10000");
  // Session settings travel in the startup packet, so a reconnect restores
  // them without extra round trips. iterative_scan keeps filtered HNSW
  // searches going until enough rows match (pgvector >= 0.8).
  set("options", "-c statement_timeout=" + std::to_string(opt.timeout_ms) +
                     " -c hnsw.ef_search=" + std::to_string(opt.ef_search) +
                     " -c hnsw.iterative_scan=strict_order");
}

connection::~connection() {
  close();
}

void connection::set_deadline(std::chrono::steady_clock::time_point d) {
  request_deadline_ =
      now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(
                     d - std::chrono::steady_clock::now())
                     .count();
}

std::int64_t connection::deadline() const {
  auto own = now_ms() + deadline_ms_;
  return request_deadline_ > 0 ? std::min(own, request_deadline_) : own;
}

void connection::close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

std::string connection::sanitize(std::string msg) const {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  for (auto& c : msg)
    if (c == '\n' || c == '\t') c = ' ';
  // libpq may echo connection details; the password must never leave.
  if (!password_.empty())
    for (auto pos = msg.find(password_); pos != std::string::npos;
         pos = msg.find(password_, pos + 3))
      msg.replace(pos, password_.size(), "***");
  return scrub_secrets(msg);
}

void connection::ensure() {
  check_interrupted();
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return;
  close();
  lost_ = false;
  // A request whose deadline passed while it waited (behind one that hung)
  // does not start a connection either.
  if (request_deadline_ > 0 && now_ms() >= request_deadline_)
    throw store_error(errc::timeout,
                      "the deadline passed before the connection to "
                      "PostgreSQL at " +
                          endpoint_ + " was made");
  std::vector<const char*> k, v;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    k.push_back(keys_[i].c_str());
    v.push_back(vals_[i].c_str());
  }
  k.push_back(nullptr);
  v.push_back(nullptr);
  // expand_dbname=0: the database name is a name, never a conninfo string.
  // Started without blocking and polled against the request's deadline:
  // libpq's own connect_timeout counts whole seconds per attempt, and a
  // silent server took two attempts (6 s at timeout_ms=2000).
  conn_ = PQconnectStartParams(k.data(), v.data(), 0);
  if (!conn_)
    throw store_error(
        errc::backend_unavailable,
        "cannot connect to PostgreSQL at " + endpoint_ + ": out of memory");
  // The statement deadline's 2 s of slack let the server's own
  // statement_timeout arrive first; a connect has no such answer to wait for.
  auto cap = now_ms() + connect_ms_;
  auto until = std::min(deadline(), cap);
  auto polling = PGRES_POLLING_WRITING;  // libpq: as if PQconnectPoll said so
  while (PQstatus(conn_) != CONNECTION_BAD && polling != PGRES_POLLING_OK &&
         polling != PGRES_POLLING_FAILED) {
    auto left = until - now_ms();
    if (left <= 0) {
      close();
      // Out of the request's time: timeout, as for a statement; out of
      // the connect's own: the server is not there.
      if (until < cap)
        throw store_error(errc::timeout, "no connection to PostgreSQL at " +
                                             endpoint_ +
                                             " within the request's deadline");
      throw store_error(errc::backend_unavailable,
                        "cannot connect to PostgreSQL at " + endpoint_ +
                            ": no answer within " +
                            std::to_string(connect_ms_) + " ms");
    }
    int fd = PQsocket(conn_);
    if (fd < 0) break;  // PQconnectPoll left no socket: its message says why
    pollfd p{
        fd,
        static_cast<short>(polling == PGRES_POLLING_READING ? POLLIN : POLLOUT),
        0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) break;  // PQconnectPoll reports why
    if (n != 0) polling = PQconnectPoll(conn_);
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = sanitize(PQerrorMessage(conn_));
    close();
    // The server answered and refused this login: retrying cannot help.
    if (contains(msg, "authentication failed") ||
        contains(msg, "does not exist") || contains(msg, "pg_hba.conf") ||
        contains(msg, "no password supplied"))
      throw store_error(
          errc::invalid_argument,
          "PostgreSQL at " + endpoint_ + " refused " + login_ + ": " + msg);
    throw store_error(
        errc::backend_unavailable,
        "cannot connect to PostgreSQL at " + endpoint_ + ": " + msg);
  }
  // Server notices ("already exists, skipping") are not errors; libpq's
  // default would print them to stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(conn_, 1) != 0) {
    close();
    throw store_error(errc::backend_unavailable,
                      "cannot switch the connection to " + endpoint_ +
                          " to non-blocking mode");
  }
  // The server's clock, against which writes check their deadline.
  auto before = now_ms();
  auto clock = exec(
      "SELECT (extract(epoch FROM clock_timestamp()) * 1000)"
      "::bigint");
  server_offset_ms_ = std::stoll(clock.text(0, 0)) - (before + now_ms()) / 2;
  ++generation_;
}

std::optional<std::string> connection::deadline_guard() const {
  if (request_deadline_ <= 0) return std::nullopt;
  // A number of ours, not user input: safe to write into the statement.
  auto at = std::to_string(request_deadline_ + server_offset_ms_);
  return "DO $storage$BEGIN IF clock_timestamp() > to_timestamp(" + at +
         " / 1000.0) THEN RAISE EXCEPTION 'the request reached the server "
         "after its deadline; nothing was written' USING ERRCODE = '57014'; "
         "END IF; END$storage$";
}

result connection::exec_write(const std::string& sql, const params& p) {
  auto guard = deadline_guard();
  if (!guard) return exec(sql, p);
  // One implicit transaction: the write is skipped when the guard fails.
  auto out = exec_pipeline({{*guard, {}}, {sql, p}});
  return std::move(out.back());
}

void connection::fail_connection(const std::string& what) {
  std::string msg = conn_ ? sanitize(PQerrorMessage(conn_)) : "";
  close();
  lost_ = true;
  throw store_error(errc::backend_unavailable,
                    "lost the connection to PostgreSQL at " + endpoint_ +
                        " while " + what + (msg.empty() ? "" : ": " + msg));
}

void connection::check_interrupted() {
  if (!interrupted_) return;
  close();        // the session's locks and settings end with it
  lost_ = false;  // not a lost connection: run() must not retry
  throw store_error(errc::conflict, "the request to PostgreSQL at " +
                                        endpoint_ + " was interrupted");
}

void connection::ready_to_send() {
  check_interrupted();
  if (!conn_) fail_connection("running a statement");
}

void connection::cancel_on_server() {
  constexpr std::int64_t again_ms = 200;
  if (!conn_ || now_ms() - cancel_sent_ < again_ms) return;
  cancel_sent_ = now_ms();
  if (PGcancel* c = PQgetCancel(conn_)) {
    char why[256];
    PQcancel(c, why, sizeof why);  // its failure: the next round retries
    PQfreeCancel(c);
  }
}

void connection::wait_socket(bool for_write, std::int64_t deadline_ms) {
  // Waits in slices so that an interrupt() from another thread is seen
  // while a long statement (an index build) runs.
  constexpr std::int64_t slice_ms = 100;
  for (;;) {
    if (interrupted_) cancel_on_server();
    auto left = deadline_ms - now_ms();
    if (left <= 0) {
      close();
      lost_ = false;
      throw store_error(errc::timeout, "PostgreSQL at " + endpoint_ +
                                           " did not answer before the "
                                           "request's deadline");
    }
    pollfd p{PQsocket(conn_),
             static_cast<short>(POLLIN | (for_write ? POLLOUT : 0)), 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min(left, slice_ms)));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) fail_connection("waiting for an answer");
  }
}

void connection::send(const std::string& sql, const params& p) {
  std::vector<const char*> vals;
  for (auto& v : p.values()) vals.push_back(v ? v->c_str() : nullptr);
  std::vector<Oid> types(vals.size(), 25);  // text
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(vals.size()),
                         types.data(), vals.data(), nullptr, nullptr, 0))
    fail_connection("sending a statement");
}

result connection::exec(const std::string& sql, const params& p) {
  // Never reconnects here: statements of a transaction must not silently
  // continue on a new session. run() reconnects before a whole operation.
  ready_to_send();
  send(sql, p);
  auto deadline = this->deadline();
  flush(deadline);
  return finish(nullptr, deadline);
}

result connection::exec_long(const std::string& sql) {
  // Margin as for every statement: the server's cancel arrives before the
  // client gives up.
  constexpr std::int64_t margin_ms = 2000;
  auto left = request_deadline_ > 0 ? request_deadline_ - now_ms() : 0;
  if (left <= deadline_ms_) return exec(sql);
  session_setting timeout(*this, "statement_timeout",
                          std::to_string(left - margin_ms));
  // Restored before the RESET runs (declared after `timeout`).
  struct restore {
    int& ms;
    int was;
    ~restore() { ms = was; }
  } own{deadline_ms_, deadline_ms_};
  deadline_ms_ = static_cast<int>(
      std::min<std::int64_t>(left, std::numeric_limits<int>::max()));
  return exec(sql);
}

session_setting::session_setting(connection& c, std::string name,
                                 const std::string& value)
    : c_(c) {
  if (value.empty()) return;
  c_.exec("SET " + name + " = " + value);
  name_ = std::move(name);
}

session_setting::~session_setting() {
  if (name_.empty()) return;
  try {
    c_.exec("RESET " + name_);
  } catch (const std::exception&) {
  }
}

result connection::copy_in(const std::string& sql, const std::string& data) {
  ready_to_send();
  if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr,
                         nullptr, 0))
    fail_connection("sending a statement");
  auto deadline = this->deadline();
  flush(deadline);
  PGresult* r = next_result(deadline);
  if (!r) fail_connection("starting COPY");
  if (PQresultStatus(r) != PGRES_COPY_IN) return finish(r, deadline);
  PQclear(r);
  constexpr std::size_t chunk = 1 << 16;
  for (std::size_t pos = 0; pos < data.size();) {
    auto n = std::min(chunk, data.size() - pos);
    int put = PQputCopyData(conn_, data.data() + pos, static_cast<int>(n));
    if (put < 0) fail_connection("sending COPY data");
    if (put == 0)
      wait_socket(true, deadline);
    else
      pos += n;
  }
  for (int end; (end = PQputCopyEnd(conn_, nullptr)) != 1;) {
    if (end < 0) fail_connection("ending COPY");
    wait_socket(true, deadline);
  }
  flush(deadline);
  return finish(nullptr, deadline);
}

void connection::flush(std::int64_t deadline) {
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) return;
    if (f < 0) fail_connection("sending a statement");
    wait_socket(true, deadline);
    if (!PQconsumeInput(conn_)) fail_connection("sending a statement");
  }
}

PGresult* connection::next_result(std::int64_t deadline) {
  while (PQisBusy(conn_)) {
    wait_socket(false, deadline);
    if (!PQconsumeInput(conn_)) fail_connection("reading an answer");
  }
  return PQgetResult(conn_);
}

result connection::finish(PGresult* first, std::int64_t deadline) {
  result last(first);
  // The last result of the statement carries its outcome.
  while (PGresult* r = next_result(deadline)) last = result(r);
  if (!last.get()) fail_connection("reading an answer");
  auto status = PQresultStatus(last.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return last;
  fail_statement(last);
}

void connection::fail_statement(const result& r) {
  if (PQstatus(conn_) == CONNECTION_BAD) fail_connection("running a statement");
  check_interrupted();  // the cancel's "57014" is not a timeout
  const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
  std::string sqlstate = state ? state : "";
  std::string msg = sanitize(primary ? primary : PQresultErrorMessage(r.get()));
  throw store_error(
      code_for_sqlstate(sqlstate),
      "PostgreSQL: " + msg +
          (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"));
}

transaction::transaction(connection& c) : c_(c) {
  c_.exec("BEGIN");
}

transaction::~transaction() {
  if (done_ || !c_.open()) return;
  try {
    c_.exec("ROLLBACK");
  } catch (...) {
    // The connection is gone or broken; the server rolls back on its own.
    c_.close();
  }
}

void transaction::commit() {
  // A refused COMMIT leaves the transaction aborted: the destructor's
  // ROLLBACK ends it.
  if (auto guard = c_.deadline_guard())
    c_.exec_pipeline({{*guard, {}}, {"COMMIT", {}}});
  else
    c_.exec("COMMIT");
  done_ = true;
}

}  // namespace storage::pgv
