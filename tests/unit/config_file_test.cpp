// The config file reader against CAF 0.17.6's INI grammar
// (caf/detail/parser/read_ini.hpp): whatever CAF accepts in the sections the
// runtime reads is read the same way, so a CAF application and storectl can
// share one file; what it rejects names the file, the line and the problem.
#include <gtest/gtest.h>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "messages/errors.hpp"
#include "runtime/config_file.hpp"
#include "runtime/log_config.hpp"
#include "support/storectl_process.hpp"

namespace storage {
namespace {

using entries = std::map<std::string, std::string>;

entries section(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  return read_section(in, "cfg.ini", name);
}

// The message of the store_error reading [stores] of `text` throws.
std::string error_of(const std::string& text) {
  try {
    section(text, "stores");
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    return e.message();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(ConfigFile, TrailingCommentAfterAValue) {
  EXPECT_EQ(section("[stores]\n"
                    "fv = \"faiss:///tmp/x/src\"   ; trailing comment\n",
                    "stores"),
            (entries{{"fv", "faiss:///tmp/x/src"}}));
}

TEST(ConfigFile, SemicolonInQuotesIsPartOfTheString) {
  EXPECT_EQ(section("[stores]\n"
                    "fv=\"redis://h:6379/0?namespace=a;b\" ; not ; this\n"
                    "g=\";\"\n",
                    "stores"),
            (entries{{"fv", "redis://h:6379/0?namespace=a;b"}, {"g", ";"}}));
}

TEST(ConfigFile, CommentsAndWhitespaceWhereCafAllowsThem) {
  const std::string text =
      "; a comment line\n"
      "\n"
      "  ; an indented one\n"
      "[ stores ]  ; after a header\n"
      "\ta\t=\t\"1\"\t;\ttabs\n"
      "b =\"2\";no space before the comment\n"
      "   c= \"3\"   \n"
      "[other]d=\"4\"\n"  // CAF reads a key on the header's line
      "[stores]\n"
      "e=\"5\"";  // no newline at the end
  EXPECT_EQ(section(text, "stores"),
            (entries{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"e", "5"}}));
  EXPECT_EQ(section(text, "other"), (entries{{"d", "4"}}));
}

TEST(ConfigFile, StringEscapesAsCafReadsThem) {
  EXPECT_EQ(section(R"([stores]
fv="a\"b\\c\td\ne\rf" ; "not a string"
)",
                    "stores"),
            (entries{{"fv", "a\"b\\c\td\ne\rf"}}));
}

TEST(ConfigFile, ScalarsOtherThanStringsReadAsTheirText) {
  EXPECT_EQ(section("[log]\nlevel='debug' ; an atom\n", "log"),
            (entries{{"level", "debug"}}));
  EXPECT_EQ(
      section("[x]\nn=-42 ; c\nt=10s\nb=true;c\nu=< http://h/p >\n", "x"),
      (entries{
          {"b", "true"}, {"n", "-42"}, {"t", "10s"}, {"u", "http://h/p"}}));
}

TEST(ConfigFile, ListsAndMapsOfOtherSectionsAreSkippedWhole) {
  // A CAF application's own settings: a '[' or '[stores]' inside a list or
  // a string is no section header.
  const std::string text =
      "[middleman]\n"
      "app-identifiers=[\n"
      "  [1, 2], ; a comment in a list\n"
      "  \"[stores]\",\n"
      "]\n"
      "m = {a=1\n"
      "  b=\"}\" ; c\n"
      "  nested {x=[]}, }\n"
      "[stores]\n"
      "fv=\"faiss:///a\"\n";
  EXPECT_EQ(section(text, "stores"), (entries{{"fv", "faiss:///a"}}));
  EXPECT_EQ(error_of("[stores]\nfv=[\"faiss:///a\"]\n"),
            "cfg.ini:2: 'fv' in [stores] is a list, not a string");
}

TEST(ConfigFile, ReadsWhatItReadBefore) {
  // Beyond CAF's grammar, kept for files written for earlier versions:
  // '#' comment lines, CRLF line ends, unquoted values, dotted keys.
  EXPECT_EQ(
      section("# comment\r\n[stores]\r\nfv=faiss:///a ; c\r\n"
              "g = redis://h:6379/0?namespace=x\r\n",
              "stores"),
      (entries{{"fv", "faiss:///a"}, {"g", "redis://h:6379/0?namespace=x"}}));
  std::istringstream in(
      "openssl.cafile=\"/ca.pem\" ; c\n"
      "[openssl]\ncertificate=\"/c.pem\" ; c\nkey = \"/k.pem\"\n");
  auto tls = read_tls_options(in, "cfg.ini");
  EXPECT_EQ(tls.certificate, "/c.pem");
  EXPECT_EQ(tls.key, "/k.pem");
  EXPECT_EQ(tls.cafile, "/ca.pem");
}

TEST(ConfigFile, ErrorsNameTheFileTheLineAndTheProblem) {
  EXPECT_EQ(error_of("[stores]\n\nfv=\"a\" \"b\"\n"),
            "cfg.ini:3: unexpected '\"' after the value of 'fv' (a comment "
            "starts with ';')");
  EXPECT_EQ(error_of("[stores]\nfv=\"abc\n\"\n"),
            "cfg.ini:2: unterminated string (a string ends on its line)");
  EXPECT_EQ(error_of("[stores]\nfv=\"a\\qb\"\n"),
            "cfg.ini:2: illegal escape sequence '\\q' in a string (CAF reads "
            "\\n \\r \\t \\\\ \\\")");
  EXPECT_EQ(error_of("[stores]\nfv= ; c\n"), "cfg.ini:2: no value for 'fv'");
  EXPECT_EQ(error_of("[stores]\nfv\n"), "cfg.ini:2: expected '=' after 'fv'");
  EXPECT_EQ(error_of("[stores ; c\n"),
            "cfg.ini:1: malformed section header: expected ']'");
  EXPECT_EQ(error_of("[stores]\nfv=\"\"\n"),
            "cfg.ini:2: empty value for 'fv' in [stores]");
  EXPECT_EQ(error_of("[x]\nl=[1,\n2\n"),
            "cfg.ini:4: unterminated list (opened on line 2)");
  // An error elsewhere in the file is one too: CAF rejects the whole file.
  EXPECT_EQ(error_of("[stores]\nfv=\"a\"\n[x]\n=1\n"),
            "cfg.ini:4: unexpected '=' (expected a key, a [section] or a ; "
            "comment)");
}

// Which of two URIs a store named twice was meant to have, nothing says:
// refused (even across two [stores] sections), where other sections keep
// CAF's rule that the last one wins.
TEST(ConfigFile, AStoreNamedTwiceIsRefused) {
  EXPECT_EQ(error_of("[stores]\nfv=\"faiss:///a\"\nkv=\"memory://\"\n"
                     "fv=\"faiss:///b\"\n"),
            "cfg.ini:4: store 'fv' is named twice in [stores] (first at line "
            "2)");
  EXPECT_EQ(error_of("[stores]\nfv=\"faiss:///a\"\n[x]\ny=1\n[stores]\n"
                     "fv=\"faiss:///a\"\n"),
            "cfg.ini:6: store 'fv' is named twice in [stores] (first at line "
            "2)");
  EXPECT_EQ(section("[x]\ny=\"1\"\ny=\"2\"\n", "x"), (entries{{"y", "2"}}));
}

TEST(ConfigFile, ErrorsNeverShowAValue) {
  auto e = error_of("[stores]\nfv=\"pgvector://u:hunter2@h/db\" x\n");
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = error_of("[stores]\nfv=\"pgvector://u:hunter2@h/db\\x\"\n");
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
}

TEST(ConfigFile, LogSectionFromAFile) {
  test::temp_dir dir;
  auto path = dir.path() + "/app.ini";
  std::ofstream(path) << "[log]\nlevel = 'info' ; an atom, as CAF writes it\n"
                      << "file=\"" << dir.path() << "/a;b.log\" ; c\n";
  auto opts = read_log_options(path);
  EXPECT_EQ(opts.level, "info");
  EXPECT_EQ(opts.file, dir.path() + "/a;b.log");
}

// A path that is not a readable file is invalid_argument naming it, never
// the stream library's exception (a directory opens, then fails to read).
TEST(ConfigFile, AFileThatCannotBeReadIsNamed) {
  test::temp_dir dir;
  for (auto path : {dir.path(), dir.path() + "/missing.ini"}) {
    try {
      read_store_names(path);
      ADD_FAILURE() << "read " << path;
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument);
      EXPECT_NE(e.message().find("cannot read config file '" + path + "'"),
                std::string::npos)
          << e.message();
    }
  }
}

// Every file above that is within CAF's grammar: CAF's parser reads the
// same strings from it.
TEST(ConfigFile, CafReadsTheSameFile) {
  for (const std::string text :
       {"[stores]\nfv = \"faiss:///tmp/x/src\"   ; trailing comment\n",
        "; c\n[ stores ] ; c\n\tfv\t=\t\"a;b\\\"c\\\\d\\te\" ; c\n",
        "[middleman]\nx=[\n[1,2], ; c\n\"[stores]\",\n]\n"
        "m={a=1\nb=\"}\" ; c\nn {x=[]}, }\n[stores]\nfv=\"q\"\n"}) {
    std::istringstream in(text);
    auto caf_read = caf::actor_system_config::parse_config(in);
    ASSERT_TRUE(caf_read) << text;
    for (auto& [key, value] : section(text, "stores")) {
      auto got = caf::get_if<std::string>(&*caf_read, "stores." + key);
      ASSERT_TRUE(got) << key << " in " << text;
      EXPECT_EQ(*got, value) << text;
    }
  }
}

}  // namespace
}  // namespace storage
