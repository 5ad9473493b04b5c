// What PostgreSQL itself says about a pgvector collection's table, read over
// a libpq connection of the test's own (the adapter has no call for it): the
// HNSW indexes in pg_indexes. Link PostgreSQL::PostgreSQL.
#pragma once

#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>

#include <string>

#include "messages/store_uri.hpp"
#include "support/servers.hpp"

namespace storage::pgtest {

// Runs `sql` with the one parameter `arg`; the first column of the first row,
// or "" if there is none. Fails the test on an error.
inline std::string pg_scalar(const std::string& sql, const std::string& arg) {
  auto uri = store_uri::parse(test::pgvector_uri());
  std::string conninfo =
      "host=" + uri.host() + " port=" + std::to_string(uri.port()) +
      " dbname=" + uri.path().substr(1) + " user=" + uri.user() +
      " password=" + uri.password() + " connect_timeout=3";
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(c);
  } else {
    const char* values[] = {arg.c_str()};
    PGresult* r =
        PQexecParams(c, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0);
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    // 42P01: a fresh database, whose catalogue no store has made yet,
    // holds no collection (the answer stays empty).
    bool no_catalogue = state && std::string(state) == "42P01";
    if (PQresultStatus(r) != PGRES_TUPLES_OK && !no_catalogue)
      ADD_FAILURE() << PQresultErrorMessage(r);
    else if (PQntuples(r) > 0)
      out = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

// HNSW indexes on the table of `collection` (-1: no such collection).
inline int hnsw_indexes(const std::string& collection) {
  auto n = pg_scalar(
      "SELECT (SELECT count(*) FROM pg_indexes i WHERE i.tablename = "
      "'storage_vs_' || c.id AND i.indexdef LIKE '%USING hnsw%') "
      "FROM storage_collections c WHERE c.name = $1",
      collection);
  return n.empty() ? -1 : std::stoi(n);
}

// The valid ones among them (an interrupted concurrent build leaves an
// invalid one).
inline int valid_hnsw_indexes(const std::string& collection) {
  auto n = pg_scalar(
      "SELECT (SELECT count(*) FROM pg_index x JOIN pg_class xc ON xc.oid = "
      "x.indexrelid JOIN pg_am xa ON xa.oid = xc.relam WHERE x.indrelid = "
      "to_regclass('storage_vs_' || c.id) AND xa.amname = 'hnsw' AND "
      "x.indisvalid) FROM storage_collections c WHERE c.name = $1",
      collection);
  return n.empty() ? -1 : std::stoi(n);
}

// Whether an index of the collection's table is being built right now
// (pg_stat_progress_create_index, any connection).
inline bool index_build_running(const std::string& collection) {
  return pg_scalar(
             "SELECT count(*) FROM pg_stat_progress_create_index p JOIN "
             "storage_collections c ON p.relid = to_regclass('storage_vs_' || "
             "c.id) WHERE c.name = $1",
             collection) == "1";
}

// Starts a CREATE INDEX CONCURRENTLY of the collection's HNSW index under a
// statement timeout of `timeout_ms`, which must cancel it (the test fails if
// the build finished): what a build killed midway leaves.
inline void interrupted_hnsw_build(const std::string& collection,
                                   int timeout_ms) {
  auto id = pg_scalar("SELECT id FROM storage_collections WHERE name = $1",
                      collection);
  ASSERT_FALSE(id.empty());
  auto uri = store_uri::parse(test::pgvector_uri());
  std::string conninfo = "host=" + uri.host() +
                         " port=" + std::to_string(uri.port()) +
                         " dbname=" + uri.path().substr(1) +
                         " user=" + uri.user() + " password=" + uri.password() +
                         " connect_timeout=3 options='-c statement_timeout=" +
                         std::to_string(timeout_ms) + "'";
  PGconn* c = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  auto sql = "CREATE INDEX CONCURRENTLY ON storage_vs_" + id +
             " USING hnsw (embedding vector_l2_ops)";
  PGresult* r = PQexec(c, sql.c_str());
  EXPECT_NE(PQresultStatus(r), PGRES_COMMAND_OK)
      << "the build finished within " << timeout_ms << " ms";
  PQclear(r);
  PQfinish(c);
}

}  // namespace storage::pgtest
