// storectl's conveniences (issue 11) against real stores: --version, bash
// completion generated from the parser, --output table, --log-level and a
// config file's [log] section, vector import/export in JSON lines, and
// doctor's end-to-end check with its plain-words report.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/version.hpp"
#include "support/odd_password.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

std::string records_jsonl(int n, int dim, int first = 0) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    nlohmann::json r = {{"id", "r" + std::to_string(i)},
                        {"metadata", {{"n", i}}},
                        {"document", "doc " + std::to_string(i)}};
    std::vector<float> e(dim);
    for (int d = 0; d < dim; ++d) e[d] = static_cast<float>(i * dim + d + 1);
    r["embedding"] = e;
    out += r.dump() + "\n";
  }
  return out;
}

TEST(StorectlTools, VersionMatchesTheLibrary) {
  auto r = storectl({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("storectl ") + version_string + "\n");
}

TEST(StorectlTools, BashCompletionKnowsEveryCommand) {
  temp_dir dir;
  auto script = storectl({"completion", "bash"});
  ASSERT_EQ(script.code, 0) << script.err;
  std::ofstream(dir.path() + "/c.sh") << script.out;
  auto complete = [&](const std::string& words, int cword) {
    auto cmd = "bash -c 'source " + dir.path() + "/c.sh; COMP_WORDS=(" + words +
               "); COMP_CWORD=" + std::to_string(cword) +
               "; _storectl; echo \"${COMPREPLY[*]}\"'";
    std::string out;
    if (auto* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
      pclose(p);
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  EXPECT_EQ(complete("storectl vector im", 2), "import");
  EXPECT_EQ(complete("storectl vector export --col", 3), "--collection");
  EXPECT_EQ(complete("storectl do", 1), "doctor");
  EXPECT_EQ(complete("storectl cache ex", 2), "exists expire");
  EXPECT_EQ(storectl({"completion", "zsh"}).code, 2);
}

TEST(StorectlTools, TableOutputAndLogLevels) {
  temp_dir dir;
  auto store = "sqlite://" + dir.path() + "/c.db";
  ASSERT_EQ(storectl({"cache", "set", "--store", store, "a", "1"}).code, 0);
  ASSERT_EQ(storectl({"cache", "set", "--store", store, "b", "2"}).code, 0);
  auto t = storectl(
      {"cache", "mget", "--store", store, "a", "b", "--output", "table"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out, "key  value\n---  -----\na    1\nb    2\n");
  EXPECT_EQ(storectl({"cache", "get", "--store", store, "a"}).line()["value"],
            "1");
  // On a terminal too, JSON lines unless asked (CLI.md: "Every command
  // prints JSON on stdout"). script(1) gives storectl a pseudo-terminal.
  std::string cmd = std::string("script -qec '") + STORECTL_PATH +
                    " cache get --store " + store + " a' /dev/null";
  auto* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string tty_out;
  char buf[256];
  while (auto n = std::fread(buf, 1, sizeof buf, pipe)) tty_out.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0);
  EXPECT_EQ(tty_out, "{\"key\":\"a\",\"value\":\"1\"}\r\n");
  EXPECT_EQ(
      storectl({"cache", "get", "--store", store, "a", "--output", "xml"}).code,
      2);

  // --log-level puts the runtime's log on stderr; the default is quiet.
  auto quiet = storectl({"cache", "get", "--store", store, "a"});
  EXPECT_EQ(quiet.err, "");
  auto loud =
      storectl({"cache", "get", "--store", store, "a", "--log-level", "debug"});
  EXPECT_EQ(loud.code, 0);
  EXPECT_NE(loud.err.find("[debug] opened store '" + store + "'"),
            std::string::npos)
      << loud.err;

  setenv("STORECTL_LOG", "chatty", 1);
  auto bad_env = storectl({"cache", "get", "--store", store, "a"});
  unsetenv("STORECTL_LOG");
  EXPECT_EQ(bad_env.code, 1);
  EXPECT_NE(bad_env.err.find("unknown log level 'chatty'"), std::string::npos)
      << bad_env.err;

  // A config file's [log] section: level and file; --log-level beats it.
  auto cfg = dir.path() + "/app.ini";
  auto log = dir.path() + "/storage.log";
  std::ofstream(cfg) << "[stores]\nc=\"" << store << "\"\n[log]\nlevel="
                     << "\"debug\"\nfile=\"" << log << "\"\n";
  auto r = storectl({"cache", "get", "--store", "c", "--config", cfg, "a"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(file_text(log).find("[debug]"), std::string::npos)
      << file_text(log);
  std::ofstream(log, std::ios::trunc).close();
  r = storectl({"cache", "get", "--store", "c", "--config", cfg, "a",
                "--log-level", "off"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(file_text(log), "");
  // A level on the command line puts the log on stderr, not in the file.
  r = storectl({"cache", "get", "--store", "c", "--config", cfg, "a",
                "--log-level", "debug"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("[debug]"), std::string::npos) << r.err;
  EXPECT_EQ(file_text(log), "");
  std::ofstream(cfg) << "[stores]\nc=\"" << store << "\"\n[log]\nlevel="
                     << "\"chatty\"\n";
  r = storectl({"cache", "get", "--store", "c", "--config", cfg, "a"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown log level 'chatty'"), std::string::npos)
      << r.err;
}

class StorectlTransfer : public ::testing::TestWithParam<std::string> {
 protected:
  std::string store() {
    if (GetParam() == "faiss") return "faiss://" + dir_.path() + "/v";
    if (GetParam() == "pgvector") return pgvector_uri();
    return chroma_uri();
  }
  temp_dir dir_;
};

TEST_P(StorectlTransfer, ImportExportRoundTrip) {
  auto c = unique_name("imp");
  auto s = store();
  auto in = dir_.path() + "/in.jsonl";
  std::ofstream(in) << records_jsonl(1200, 3) << "\n";
  auto r = storectl({"vector", "import", "--store", s, "--collection", c,
                     "--file", in, "--metric", "l2", "--batch", "250"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line()["imported"], 1200);
  EXPECT_EQ(r.line()["created"], true);
  EXPECT_NE(r.err.find("\"progress\""), std::string::npos) << r.err;
  auto list = storectl({"vector", "list", "--store", s});
  bool found = false;
  for (auto& l : list.lines())
    if (l["name"] == c) {
      found = true;
      EXPECT_EQ(l["dimension"], 3);
      EXPECT_EQ(l["metric"], "l2");
    }
  EXPECT_TRUE(found) << list.out;

  auto out = dir_.path() + "/out.jsonl";
  r = storectl({"vector", "export", "--store", s, "--collection", c, "--file",
                out, "--batch", "100"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line()["exported"], 1200);
  std::map<std::string, nlohmann::json> exported;
  std::istringstream lines(file_text(out));
  for (std::string l; std::getline(lines, l);) {
    auto j = nlohmann::json::parse(l);
    exported[j["id"]] = j;
  }
  ASSERT_EQ(exported.size(), 1200u);
  auto& r7 = exported.at("r7");
  EXPECT_EQ(r7["metadata"]["n"], 7);
  EXPECT_EQ(r7["document"], "doc 7");
  EXPECT_EQ(r7["embedding"], nlohmann::json::parse("[22.0,23.0,24.0]"));
  // To stdout: the records themselves, importable again.
  auto piped = storectl({"vector", "export", "--store", s, "--collection", c});
  EXPECT_EQ(piped.lines().size(), 1200u);
  // Through a symlink the file it points to is replaced and the link stays;
  // a FIFO is written in place, not renamed over (found by an outside
  // audit: --file /dev/full replaced the device node).
  auto target = dir_.path() + "/target.jsonl", link = dir_.path() + "/link";
  std::ofstream(target) << "old\n";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  r = storectl(
      {"vector", "export", "--store", s, "--collection", c, "--file", link});
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat lst {};
  ASSERT_EQ(::lstat(link.c_str(), &lst), 0);
  EXPECT_TRUE(S_ISLNK(lst.st_mode));
  auto replaced = file_text(target);
  EXPECT_EQ(std::count(replaced.begin(), replaced.end(), '\n'), 1200);
  auto fifo = dir_.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string from_fifo;
  std::thread reader([&] { from_fifo = file_text(fifo); });
  r = storectl(
      {"vector", "export", "--store", s, "--collection", c, "--file", fifo});
  // Should export fail before opening the FIFO, this lets the reader go.
  if (int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK); fd >= 0)
    ::close(fd);
  reader.join();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(from_fifo.begin(), from_fifo.end(), '\n'), 1200);
  ASSERT_EQ(::lstat(fifo.c_str(), &lst), 0);
  EXPECT_TRUE(S_ISFIFO(lst.st_mode));

  // A bad line anywhere writes nothing: not even the collection.
  auto c2 = unique_name("imp");
  std::ofstream(in, std::ios::trunc)
      << records_jsonl(5, 3) << "{\"id\":\"x\"}\n";
  r = storectl(
      {"vector", "import", "--store", s, "--collection", c2, "--file", in});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("line 6"), std::string::npos) << r.err;
  EXPECT_EQ(
      storectl({"vector", "count", "--store", s, "--collection", c2}).code, 1);
  // Into an existing collection of another dimension: refused whole.
  std::ofstream(in, std::ios::trunc) << records_jsonl(3, 4, 5000);
  r = storectl(
      {"vector", "import", "--store", s, "--collection", c, "--file", in});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("dimension_mismatch"), std::string::npos) << r.err;
  EXPECT_EQ(storectl({"vector", "count", "--store", s, "--collection", c})
                .line()["count"],
            1200);
  // Exporting what does not exist leaves no file behind.
  auto none = dir_.path() + "/none.jsonl";
  r = storectl({"vector", "export", "--store", s, "--collection",
                unique_name("none"), "--file", none});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("collection_not_found"), std::string::npos) << r.err;
  struct stat st {};
  EXPECT_NE(::stat(none.c_str(), &st), 0);
  EXPECT_NE(::stat((none + ".partial").c_str(), &st), 0);
  storectl({"vector", "drop", "--store", s, "--collection", c});
}

INSTANTIATE_TEST_SUITE_P(Backends, StorectlTransfer,
                         ::testing::Values("faiss", "pgvector", "chroma"));

TEST(StorectlDoctor, HealthyStoresOfEveryKind) {
  temp_dir dir;
  for (auto s :
       {"faiss://" + dir.path() + "/v", "sqlite://" + dir.path() + "/c.db",
        std::string("memory://"), redis_uri(), pgvector_uri(), chroma_uri()}) {
    auto r = storectl({"doctor", "--store", s});
    ASSERT_EQ(r.code, 0) << s << ": " << r.out << r.err;
    auto lines = r.lines();
    std::vector<std::string> checks;
    for (auto& l : lines)
      if (l.contains("check")) {
        checks.push_back(l["check"]);
        EXPECT_EQ(l["ok"], true) << l;
      }
    EXPECT_EQ(checks, (std::vector<std::string>{"uri", "server", "open",
                                                "round_trip", "latency"}))
        << r.out;
    EXPECT_EQ(lines.back()["doctor"], "ok");
    expect_hidden(r, "doctor " + s);
  }
  auto pg = storectl({"doctor", "--store", pgvector_uri()}).lines();
  EXPECT_TRUE(pg[1]["detail"]["pgvector"].is_string()) << pg[1];
  EXPECT_TRUE(pg[1]["detail"]["postgresql"].is_string()) << pg[1];
  auto rd = storectl({"doctor", "--store", redis_uri()}).lines();
  EXPECT_TRUE(rd[1]["detail"]["redis"].is_string()) << rd[1];
}

TEST(StorectlDoctor, SaysWhatIsWrongInPlainWords) {
  auto down = storectl({"doctor", "--store", "redis://127.0.0.1:1/0"});
  EXPECT_EQ(down.code, 1);
  auto lines = down.lines();
  ASSERT_EQ(lines.size(), 3u) << down.out;
  EXPECT_EQ(lines[1]["check"], "server");
  EXPECT_EQ(lines[1]["ok"], false);
  EXPECT_NE(lines[1]["problem"].get<std::string>().find("cannot be reached"),
            std::string::npos);
  EXPECT_EQ(lines[2]["doctor"], "failed");
  EXPECT_NE(down.err.find("storectl: error: backend_unavailable"),
            std::string::npos)
      << down.err;

  // A wrong password: refused, and the report never shows it.
  auto wrong = odd_pgvector_uri();
  wrong.replace(wrong.find("Kq7x"), 4, "Xq7x");
  auto r = storectl({"doctor", "--store", wrong});
  EXPECT_EQ(r.code, 1);
  expect_hidden(r, "doctor with a wrong password");
  EXPECT_NE(r.out.find("\"ok\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("password"), std::string::npos) << r.out;

  auto bad = storectl({"doctor", "--store", "faiss://"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.lines().at(2)["check"], "open");
  EXPECT_NE(bad.lines().at(2)["detail"].get<std::string>().find(
                "no directory in the URI"),
            std::string::npos)
      << bad.out;
  auto unparsed = storectl({"doctor", "--store", "nosuch://x"});
  EXPECT_EQ(unparsed.code, 1);
  EXPECT_EQ(unparsed.lines().at(0)["check"], "uri");
  EXPECT_EQ(unparsed.lines().at(0)["ok"], false);
}

}  // namespace
}  // namespace storage::test
