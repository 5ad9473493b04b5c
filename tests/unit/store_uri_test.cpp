// Store URIs: every scheme of the architecture's table, ports, parameters,
// percent-decoding, malformed URIs, and password redaction everywhere.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "runtime/runtime.hpp"

namespace storage {
namespace {

store_error parse_failure(const std::string& text) {
  try {
    store_uri::parse(text);
  } catch (const store_error& e) {
    return e;
  }
  return store_error(errc::ok, "parsed");
}

TEST(StoreUri, Memory) {
  auto u = store_uri::parse("memory://?max_entries=100&namespace=app");
  EXPECT_EQ(u.scheme(), "memory");
  EXPECT_EQ(u.host(), "");
  EXPECT_EQ(u.port(), 0);
  EXPECT_EQ(u.path(), "");
  EXPECT_EQ(u.param("namespace"), std::optional<std::string>("app"));
  EXPECT_EQ(u.int_param("max_entries", 5, 1, 1000), 100);
  EXPECT_EQ(store_uri::parse("memory://").params().size(), 0u);
}

// Schemes are case-insensitive; the parse and its display are lower case,
// so every check of a scheme holds for MEMORY:// as for memory://.
TEST(StoreUri, SchemesAreCaseInsensitive) {
  EXPECT_EQ(store_uri::parse("MEMORY://?namespace=X").scheme(), "memory");
  EXPECT_EQ(store_uri::parse("Redis://:pw@h:1/0").redacted(),
            "redis://:***@h:1/0");
  EXPECT_EQ(store_uri::parse("FAISS:///Dir").path(), "/Dir");
  // A failed parse shows the URI with its scheme in lower case too.
  EXPECT_NE(std::string(parse_failure("Redis://h/?a=1&a=2").what())
                .find("'redis://h/?a=1&a=2'"),
            std::string::npos);
}

// A "port" that is not one may be a password whose '@' is missing,
// digits or not, short or long: neither the message nor the URI shows it.
TEST(StoreUri, ABadPortIsNeverShown) {
  for (std::string p : {"12345678", "abc", "0", "Kq7xWz8y"}) {
    std::string what = parse_failure("redis://:" + p).what();
    EXPECT_EQ(what.find(p), std::string::npos) << what;
    EXPECT_NE(what.find("'redis://:***'"), std::string::npos) << what;
    EXPECT_NE(what.find("the port is not a number"), std::string::npos);
  }
  std::string what = parse_failure("pgvector://u@h:99999/db").what();
  EXPECT_NE(what.find("'pgvector://u@h:***/db'"), std::string::npos) << what;
}

// A bracket is only for an IPv6 host, closed before the port; anything
// else is a bad URI, not a server that cannot be reached.
TEST(StoreUri, AStrayBracketIsAMalformedHost) {
  for (std::string t : {"redis://[::1:56379/0", "redis://::1]:56379/0",
                        "pgvector://u:pw@[::1:5432/db", "chroma://[::1]x:8000",
                        "redis://[[::1]]:1/0", "chroma://h[1]:8000"}) {
    auto e = parse_failure(t);
    EXPECT_EQ(e.code(), errc::invalid_argument) << t;
    EXPECT_NE(std::string(e.what()).find("malformed host"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find(":pw@"), std::string::npos)
        << e.what();
  }
  auto u = store_uri::parse("chroma://[::1]:8000");
  EXPECT_EQ(u.host(), "[::1]");
  EXPECT_EQ(u.port(), 8000);
  EXPECT_EQ(store_uri::parse("redis://[::1]/0").host(), "[::1]");
  EXPECT_EQ(store_uri::parse("redis://[::1]/0").port(), 0);
}

TEST(StoreUri, Sqlite) {
  auto u = store_uri::parse("sqlite:///var/lib/app/cache.db?namespace=ns1");
  EXPECT_EQ(u.scheme(), "sqlite");
  EXPECT_EQ(u.host(), "");
  EXPECT_EQ(u.path(), "/var/lib/app/cache.db");
  EXPECT_EQ(u.param_or("namespace", "x"), "ns1");
  EXPECT_EQ(u.param_or("other", "dflt"), "dflt");
}

TEST(StoreUri, RedisWithPasswordOnly) {
  auto u =
      store_uri::parse("redis://:s3cret@127.0.0.1:6379/2?pool=4&namespace=n");
  EXPECT_EQ(u.scheme(), "redis");
  EXPECT_EQ(u.user(), "");
  EXPECT_EQ(u.password(), "s3cret");
  EXPECT_EQ(u.host(), "127.0.0.1");
  EXPECT_EQ(u.port(), 6379);
  EXPECT_EQ(u.path(), "/2");
  EXPECT_EQ(u.int_param("pool", 1, 1, 64), 4);
  EXPECT_EQ(u.param("namespace"), std::optional<std::string>("n"));
  EXPECT_EQ(u.redacted().find("s3cret"), std::string::npos);
  EXPECT_NE(u.redacted().find("127.0.0.1:6379"), std::string::npos);
}

TEST(StoreUri, Faiss) {
  auto u = store_uri::parse("faiss:///data/vectors?index=hnsw");
  EXPECT_EQ(u.scheme(), "faiss");
  EXPECT_EQ(u.path(), "/data/vectors");
  EXPECT_EQ(u.param("index"), std::optional<std::string>("hnsw"));
  auto flat = store_uri::parse("faiss:///tmp/x");
  EXPECT_EQ(flat.param("index"), std::nullopt);
}

TEST(StoreUri, Chroma) {
  auto u =
      store_uri::parse("chroma://localhost:8000?tenant=t1&database=d1&pool=2");
  EXPECT_EQ(u.scheme(), "chroma");
  EXPECT_EQ(u.host(), "localhost");
  EXPECT_EQ(u.port(), 8000);
  EXPECT_EQ(u.path(), "");
  EXPECT_EQ(u.param("tenant"), std::optional<std::string>("t1"));
  EXPECT_EQ(u.param("database"), std::optional<std::string>("d1"));
}

TEST(StoreUri, Pgvector) {
  auto u = store_uri::parse(
      "pgvector://alice:pa%40ss%2Fw0rd@db.local:5432/vecs?pool=3&index=hnsw");
  EXPECT_EQ(u.scheme(), "pgvector");
  EXPECT_EQ(u.user(), "alice");
  EXPECT_EQ(u.password(), "pa@ss/w0rd");
  EXPECT_EQ(u.host(), "db.local");
  EXPECT_EQ(u.port(), 5432);
  EXPECT_EQ(u.path(), "/vecs");
  EXPECT_EQ(u.param("index"), std::optional<std::string>("hnsw"));
  auto r = u.redacted();
  EXPECT_EQ(r.find("pa%40ss"), std::string::npos) << r;
  EXPECT_EQ(r.find("w0rd"), std::string::npos) << r;
  EXPECT_NE(r.find("alice"), std::string::npos) << r;
  auto nopw = store_uri::parse("pgvector://bob@h:1/db");
  EXPECT_EQ(nopw.user(), "bob");
  EXPECT_EQ(nopw.password(), "");
  EXPECT_EQ(nopw.redacted(), "pgvector://bob@h:1/db");
}

TEST(StoreUri, Caf) {
  auto u = store_uri::parse("caf://10.0.0.5:4242/vectors");
  EXPECT_EQ(u.scheme(), "caf");
  EXPECT_EQ(u.host(), "10.0.0.5");
  EXPECT_EQ(u.port(), 4242);
  EXPECT_EQ(u.path(), "/vectors");
}

TEST(StoreUri, PercentDecoding) {
  auto u = store_uri::parse(
      "sqlite:///tmp/my%20dir/c%2Bd.db?namespace=a%26b&k%3D=v%3Dw");
  EXPECT_EQ(u.path(), "/tmp/my dir/c+d.db");
  EXPECT_EQ(u.param("namespace"), std::optional<std::string>("a&b"));
  EXPECT_EQ(u.param("k="), std::optional<std::string>("v=w"));
  EXPECT_EQ(u.params().size(), 2u);
}

TEST(StoreUri, Ports) {
  EXPECT_EQ(store_uri::parse("redis://h:1").port(), 1);
  EXPECT_EQ(store_uri::parse("redis://h:65535").port(), 65535);
  EXPECT_EQ(store_uri::parse("redis://h").port(), 0);
  for (const char* bad :
       {"redis://h:0", "redis://h:65536", "redis://h:99999", "redis://h:abc",
        "redis://h:", "redis://h:-1", "redis://h:12a", "redis://h:1234567"}) {
    EXPECT_EQ(parse_failure(bad).code(), errc::invalid_argument) << bad;
  }
}

TEST(StoreUri, MalformedUris) {
  for (const char* bad :
       {"", "memory", "://x", "no-scheme-here", "mem ory://x",
        "redis://h?pool=1&pool=2", "redis://h?=v", "redis://h?novalue",
        "sqlite:///tmp/a%zz.db", "sqlite:///tmp/a%2", "redis://h?k=%g1"}) {
    EXPECT_EQ(parse_failure(bad).code(), errc::invalid_argument) << bad;
  }
  auto dup = parse_failure("redis://h?pool=1&pool=2");
  EXPECT_NE(std::string(dup.what()).find("pool"), std::string::npos);
}

TEST(StoreUri, IntParamAndCheckParams) {
  auto u = store_uri::parse("redis://h:1/0?pool=8&timeout_ms=x&other=1");
  EXPECT_EQ(u.int_param("pool", 1, 1, 64), 8);
  EXPECT_EQ(u.int_param("missing", 7, 1, 64), 7);
  EXPECT_EQ(parse_failure("x://h").code(), errc::ok);  // any scheme parses
  auto int_fails = [&](const char* key, std::int64_t lo, std::int64_t hi) {
    try {
      u.int_param(key, 1, lo, hi);
    } catch (const store_error& e) {
      return e.code() == errc::invalid_argument;
    }
    return false;
  };
  EXPECT_TRUE(int_fails("pool", 1, 4));        // out of range
  EXPECT_TRUE(int_fails("timeout_ms", 1, 9));  // not a number
  EXPECT_NO_THROW(u.check_params({"pool", "timeout_ms", "other"}));
  try {
    u.check_params({"pool", "timeout_ms"});
    ADD_FAILURE() << "unknown parameter accepted";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("other"), std::string::npos);
  }
}

// ---- redaction --------------------------------------------------------------

TEST(Redaction, PasswordNeverShown) {
  EXPECT_EQ(redact_uri("redis://:hunter2@h:6379/0"), "redis://:***@h:6379/0");
  EXPECT_EQ(redact_uri("pgvector://u:hunter2@h:5432/db"),
            "pgvector://u:***@h:5432/db");
  EXPECT_EQ(redact_uri("pgvector://u@h/db"), "pgvector://u@h/db");
  EXPECT_EQ(redact_uri("faiss:///tmp/a@b/x"), "faiss:///tmp/a@b/x");
  EXPECT_EQ(redact_uri("no secrets here"), "no secrets here");
  // The issue's cases: a raw '@', '/' or a missing slash in the password.
  EXPECT_EQ(redact_uri("redis://:hunt@er2@127.0.0.1:6379/0?bogus=1"),
            "redis://:***@127.0.0.1:6379/0?bogus=1");
  EXPECT_EQ(redact_uri("pgvector://alice:sec/ret99@h:5432/db"),
            "pgvector://***@h:5432/db");
  EXPECT_EQ(redact_uri("redis:/:topsecret@host"), "redis:/***@host");
}

// A "port" that is no port is hidden wherever the URI is shown, in the
// error's store as in its message (the password that lost its '@').
TEST(Redaction, ABadPortIsHiddenInTheErrorsStore) {
  EXPECT_EQ(redact_uri("redis://127.0.0.1:Secret99/0"),
            "redis://127.0.0.1:***/0");
  EXPECT_EQ(redact_uri("caf://h:Secret99/name?x=1"), "caf://h:***/name?x=1");
  EXPECT_EQ(redact_uri("redis://:pw@h:Secret99/0"), "redis://***@h:***/0");
  EXPECT_EQ(redact_uri("redis://h:6379/0?namespace=a:b"),
            "redis://h:6379/0?namespace=a:b");
  store_error e(errc::invalid_argument, "bad", "open",
                "redis://127.0.0.1:Secret99/0");
  EXPECT_EQ(e.store(), "redis://127.0.0.1:***/0");
  EXPECT_EQ(std::string(e.what()).find("Secret99"), std::string::npos)
      << e.what();
}

TEST(Redaction, MalformedUriMessageHasNoPassword) {
  auto e = parse_failure("pgvector://u:hunter2@h:99999/db");
  EXPECT_EQ(e.code(), errc::invalid_argument);
  EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos)
      << e.what();
  EXPECT_EQ(e.message().find("hunter2"), std::string::npos);
  auto dup = parse_failure("redis://:hunter2@h:1/0?pool=1&pool=2");
  EXPECT_EQ(std::string(dup.what()).find("hunter2"), std::string::npos);
  auto u = store_uri::parse("redis://:hunter2@h:1/0?pool=x");
  try {
    u.int_param("pool", 1, 1, 8);
    ADD_FAILURE() << "bad pool accepted";
  } catch (const store_error& err) {
    EXPECT_EQ(std::string(err.what()).find("hunter2"), std::string::npos);
  }
}

TEST(Redaction, StoreErrorRedactsStoreAndMessage) {
  store_error e(
      errc::backend_unavailable,
      "connect to pgvector://u:hunter2@h:5432/db failed (password=hunter2)",
      "upsert", "pgvector://u:hunter2@h:5432/db");
  EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos)
      << e.what();
  EXPECT_EQ(e.message().find("hunter2"), std::string::npos);
  EXPECT_EQ(e.store(), "pgvector://u:***@h:5432/db");
  auto ctx = store_error(errc::timeout, "slow")
                 .with_context("search", "redis://:hunter2@h:1/0");
  EXPECT_EQ(std::string(ctx.what()).find("hunter2"), std::string::npos);
  EXPECT_EQ(ctx.store(), "redis://:***@h:1/0");
  EXPECT_EQ(ctx.operation(), "search");
}

// ---- the runtime's handling of URIs -----------------------------------------

errc open_error(runtime& rt, bool vector, const std::string& uri) {
  try {
    if (vector)
      rt.open_vector(uri);
    else
      rt.open_cache(uri);
  } catch (const store_error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos)
        << e.what();
    return e.code();
  }
  return errc::ok;
}

TEST(RuntimeUri, UnknownOrWrongSchemeIsInvalidArgument) {
  runtime rt;
  EXPECT_EQ(open_error(rt, true, "mongodb://u:hunter2@h:1/db"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "memcached://h:11211"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, true, "not a uri"), errc::invalid_argument);
  // A cache scheme is not a vector store and the other way round.
  EXPECT_EQ(open_error(rt, true, "memory://"), errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "faiss:///tmp/x"), errc::invalid_argument);
  EXPECT_EQ(open_error(rt, true, "pgvector://u:hunter2@h:99999/db"),
            errc::invalid_argument);
  // An adapter's unknown or out-of-range parameter fails the open itself
  // (runtime.hpp), not the first request; nothing is connected to check it.
  EXPECT_EQ(open_error(rt, false, "memory://?bogus=1"), errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "memory://?max_entries=0"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "redis://:hunter2@127.0.0.1:1/0?bogus=1"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "sqlite:///tmp/x.db?busy_timeout_ms=0"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, true, "faiss:///tmp/uri-test-x?index=bogus"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, true, "pgvector://u:hunter2@127.0.0.1:1/db?m=1"),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, true, "chroma://127.0.0.1:1?tenant="),
            errc::invalid_argument);
  EXPECT_EQ(open_error(rt, false, "memory://?namespace=u1&pool=2"), errc::ok);
  // The error names the operation and the store, the pool's own
  // parameters' too.
  for (auto* uri : {"sqlite:///tmp/x.db?pool=0", "memory://?bogus=1"}) {
    try {
      rt.open_cache(uri);
      ADD_FAILURE() << uri << " opened";
    } catch (const store_error& e) {
      EXPECT_EQ(e.operation(), "open") << e.what();
      EXPECT_EQ(e.store(), uri) << e.what();
    }
  }
  // So does one that does not parse, its password still hidden.
  for (auto* uri : {"redis://:Zq9@rd:Pw@127.0.0.1:99999/4",
                    "pgvector://storage:sec/ret@127.0.0.1:1/db"}) {
    try {
      if (std::string(uri).rfind("redis", 0) == 0)
        rt.open_cache(uri);
      else
        rt.open_vector(uri);
      ADD_FAILURE() << uri << " opened";
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
      EXPECT_EQ(e.operation(), "open") << e.what();
      EXPECT_FALSE(e.store().empty()) << e.what();
      for (auto* secret : {"Zq9", "Pw@", "sec/ret"})
        EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos)
            << e.what();
    }
  }
}

}  // namespace
}  // namespace storage
