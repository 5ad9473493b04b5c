// A password holding every character a URI gives a meaning to, and the
// stores that accept it: scripts/services.sh creates the PostgreSQL role
// storage_odd with it; odd_redis_uri() creates the Redis ACL user. Used by
// the tests that check no path ever prints a password.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "messages/store_uri.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"

namespace storage::test {

inline const std::string odd_password = "Kq7x@/:?#% Wz8y";
inline const std::string odd_encoded = "Kq7x%40%2F%3A%3F%23%25%20Wz8y";

// Fails the calling test when `text` shows any part of a password the tests
// use (the odd one, or the services' own).
inline void expect_hidden(const std::string& text, const std::string& where) {
  for (auto* fragment : {"Kq7x", "Wz8y", "storage-secret"})
    EXPECT_EQ(text.find(fragment), std::string::npos)
        << where << " shows a password: " << text;
}

inline void expect_hidden(const storectl_result& r, const std::string& where) {
  expect_hidden(r.out, where + " (stdout)");
  expect_hidden(r.err, where + " (stderr)");
}

// The test PostgreSQL as role storage_odd, password percent-encoded.
inline std::string odd_pgvector_uri() {
  auto pg = store_uri::parse(pgvector_uri());
  return "pgvector://storage_odd:" + odd_encoded + "@" + pg.host() + ":" +
         std::to_string(pg.port()) + pg.path();
}

// The test Redis as ACL user storage_odd (created here, idempotently), in
// namespace `ns`. An empty string, and a failed test, when Redis refuses.
inline std::string odd_redis_uri(const std::string& ns) {
  auto rd = store_uri::parse(redis_uri());
  auto* c = redisConnect(rd.host().c_str(), rd.port());
  if (!c || c->err) {
    ADD_FAILURE() << "redis at " << rd.redacted() << " is not reachable";
    if (c) redisFree(c);
    return "";
  }
  auto pw = ">" + odd_password;
  const char* argv[] = {"ACL",      "SETUSER", "storage_odd", "on",
                        pw.c_str(), "~*",      "&*",          "+@all"};
  auto* reply = static_cast<redisReply*>(redisCommandArgv(c, 8, argv, nullptr));
  bool ok = reply && reply->type == REDIS_REPLY_STATUS;
  if (!ok)
    ADD_FAILURE() << "ACL SETUSER: "
                  << (reply && reply->str ? reply->str : "no reply");
  if (reply) freeReplyObject(reply);
  redisFree(c);
  if (!ok) return "";
  return "redis://storage_odd:" + odd_encoded + "@" + rd.host() + ":" +
         std::to_string(rd.port()) + "/0?namespace=" + ns;
}

}  // namespace storage::test
