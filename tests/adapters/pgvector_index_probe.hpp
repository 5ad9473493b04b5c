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
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
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

}  // namespace storage::pgtest
