// Passwords with every character that has a meaning in a URI (@ / : ? # %
// space), raw and percent-encoded, in every scheme: the redacted form never
// shows them, re-parses to the same store, and no parse error, store_error or
// scrubbed text shows them either.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"

namespace storage {
namespace {

// Each password is <head><special><tail>; neither fragment may ever appear.
struct password_case {
  std::string text;  // as written in the URI
  std::string head, tail;
};

std::vector<password_case> passwords() {
  std::vector<password_case> out;
  int n = 0;
  for (std::string special :
       {"@", "/", ":", "?", "#", "%", " ", "%40", "%2F", "%3A", "%3F", "%23",
        "%25", "%20", "@@", "/x@", ":?#"}) {
    ++n;
    auto head = "Kq" + std::to_string(n) + "hd";
    auto tail = "Wz" + std::to_string(n) + "tl";
    out.push_back({head + special + tail, head, tail});
  }
  return out;
}

std::vector<std::string> uris_with(const std::string& pw) {
  return {
      "redis://:" + pw + "@127.0.0.1:6379/0?namespace=a",
      "redis://default:" + pw + "@127.0.0.1:6379/0",
      "pgvector://alice:" + pw + "@127.0.0.1:5432/db?pool=2",
      "chroma://bob:" + pw + "@127.0.0.1:8000?tenant=t",
      "caf://node:" + pw + "@127.0.0.1:4242/vectors",
      "memory://:" + pw + "@x?max_entries=3",
      "sqlite://u:" + pw + "@localhost/tmp/c.db",
      "faiss://u:" + pw + "@localhost/tmp/dir",
      "redis:/:" + pw + "@127.0.0.1:6379/0",  // a slash missing
      "redis//:" + pw + "@127.0.0.1:6379/0",  // a colon missing
      "pgvector://alice:" + pw + "@",         // no host
  };
}

void expect_hidden(const std::string& shown, const password_case& pw,
                   const std::string& uri) {
  EXPECT_EQ(shown.find(pw.head), std::string::npos)
      << "'" << shown << "' from " << uri;
  EXPECT_EQ(shown.find(pw.tail), std::string::npos)
      << "'" << shown << "' from " << uri;
}

TEST(RedactionMatrix, RedactedFormNeverShowsThePassword) {
  int parsed = 0, rejected = 0;
  for (auto& pw : passwords())
    for (auto& uri : uris_with(pw.text)) {
      auto shown = redact_uri(uri);
      expect_hidden(shown, pw, uri);
      try {
        auto u = store_uri::parse(uri);
        ++parsed;
        EXPECT_EQ(u.redacted(), shown);
        // The redacted form names the same store.
        auto again = store_uri::parse(shown);
        EXPECT_EQ(again.scheme(), u.scheme()) << uri;
        EXPECT_EQ(again.user(), u.user()) << uri;
        EXPECT_EQ(again.password(), "***") << uri;
        EXPECT_EQ(again.host(), u.host()) << uri;
        EXPECT_EQ(again.port(), u.port()) << uri;
        EXPECT_EQ(again.path(), u.path()) << uri;
        EXPECT_EQ(again.params(), u.params()) << uri;
        EXPECT_EQ(again.redacted(), shown) << uri;
      } catch (const store_error& e) {
        ++rejected;
        EXPECT_EQ(e.code(), errc::invalid_argument);
        expect_hidden(e.what(), pw, uri);
        expect_hidden(e.message(), pw, uri);
      }
    }
  // Both branches ran: most of these parse, the malformed ones do not.
  EXPECT_GT(parsed, 50);
  EXPECT_GT(rejected, 30);
}

TEST(RedactionMatrix, PercentEncodedPasswordsDecode) {
  auto u = store_uri::parse("redis://:a%40b%2Fc%3Ad%3Fe%23f%25g%20h@h:1/0");
  EXPECT_EQ(u.password(), "a@b/c:d?e#f%g h");
  EXPECT_EQ(u.redacted(), "redis://:***@h:1/0");
  // A raw '@', ':', '#' or space stays in the password (the last '@' of the
  // authority ends it).
  auto raw = store_uri::parse("redis://:a@b:c#d e@h:1/0");
  EXPECT_EQ(raw.password(), "a@b:c#d e");
  EXPECT_EQ(raw.host(), "h");
}

TEST(RedactionMatrix, RawSlashOrQuestionMarkIsRejectedNotMisread) {
  // Read naively, these name host "alice" port "sec", or a path holding
  // the password; they are rejected, naming the fix, and show nothing.
  for (auto uri :
       {"pgvector://alice:sec/ret99@h:5432/db", "redis://:12/34@h:6379/0",
        "redis://:pa?ss@h:6379/0", "caf://h:1/na@me"}) {
    try {
      store_uri::parse(uri);
      ADD_FAILURE() << uri << " parsed";
    } catch (const store_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("percent-encoded"), std::string::npos) << what;
      EXPECT_EQ(what.find("ret99"), std::string::npos) << what;
      EXPECT_EQ(what.find("34@"), std::string::npos) << what;
      EXPECT_EQ(what.find("ss@"), std::string::npos) << what;
    }
  }
  // An '@' in a file path is fine when there is no authority.
  EXPECT_EQ(store_uri::parse("faiss:///tmp/a@b").path(), "/tmp/a@b");
}

TEST(RedactionMatrix, ErrorsAndTextAreScrubbedOfKnownPasswords) {
  for (auto& pw : passwords())
    for (auto& uri : uris_with(pw.text)) {
      redact_uri(uri);  // as every path that takes a URI does
      // A server's message quoting the URI, and the store field.
      store_error e(errc::backend_unavailable,
                    "cannot connect to " + uri + ": refused", "open", uri);
      expect_hidden(e.what(), pw, uri);
      expect_hidden(e.store(), pw, uri);
      expect_hidden(scrub_secrets("log: " + uri + " and again " + uri), pw,
                    uri);
    }
}

TEST(RedactionMatrix, ShortSecretsAreNotScrubbedFromOrdinaryText) {
  store_uri::parse("redis://:ab@h:1/0");
  EXPECT_EQ(scrub_secrets("table ab"), "table ab");
  EXPECT_EQ(store_uri::parse("redis://:ab@h:1/0").redacted(),
            "redis://:***@h:1/0");
}

}  // namespace
}  // namespace storage
