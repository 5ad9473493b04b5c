// `storectl doctor --store S`: checks a store end to end and says what is
// wrong in plain words. One JSON line per check on stdout,
//   {"check":C,"ok":bool,"ms":T,"detail":..}   (and "problem" when not ok)
// then {"doctor":"ok"|"failed","store":S}. The checks: the URI parses; the
// server answers, with its version and, for pgvector, the extension's
// (asked directly through the adapter's own connection code); the runtime
// opens the store; a write, read and delete round trip through it; and the
// latency of 20 small reads. A failed check skips the ones that need it and
// the command exits 1 with the usual error line.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include <faiss/Index.h>
#include <hiredis/hiredis.h>

#include "adapters/chroma/chroma_store_http.hpp"
#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "adapters/redis/redis_cache_conn.hpp"
#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

using json = nlohmann::ordered_json;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::round(
             std::chrono::duration<double, std::milli>(clock_type::now() - t0)
                 .count() *
             100) /
         100;
}

// What an error code usually means, for someone reading the report.
std::string plain_words(const storage::store_error& e) {
  using storage::errc;
  switch (e.code()) {
    case errc::backend_unavailable:
      return "the server cannot be reached: is it running, and are host and "
             "port right?";
    case errc::timeout:
      return "the server accepted the connection but did not answer in "
             "time: is it overloaded or paused?";
    case errc::invalid_argument:
      return "the store was refused as given: check the URI, the user and "
             "the password";
    default:
      return "the store answered with an error";
  }
}

struct report {
  bool failed = false;

  // Runs `check`; prints its line; false (and remembers the error) if it
  // threw.
  template <class F>
  bool run(const char* name, F check) {
    auto t0 = clock_type::now();
    json line = {{"check", name}};
    try {
      auto detail = check();
      line["ok"] = true;
      line["ms"] = ms_since(t0);
      line["detail"] = detail;
      print(line);
      return true;
    } catch (const storage::store_error& e) {
      line["ok"] = false;
      line["ms"] = ms_since(t0);
      line["problem"] = plain_words(e);
      line["detail"] = std::string(e.what());
      print(line);
      if (!first_error) first_error = e;
    } catch (const std::exception& e) {
      line["ok"] = false;
      line["ms"] = ms_since(t0);
      line["problem"] = "unexpected failure";
      line["detail"] = e.what();
      print(line);
      if (!first_error)
        first_error = storage::store_error(storage::errc::internal, e.what());
    }
    failed = true;
    return false;
  }
  std::optional<storage::store_error> first_error;
};

// The server's version (and pgvector's), asked the way the adapter
// connects.
json server_versions(const storage::store_uri& u) {
  const auto& s = u.scheme();
  if (s == "pgvector") {
    storage::pgv::connection c(u, {});
    c.ensure();
    auto r = c.exec(
        "SELECT current_setting('server_version'), (SELECT extversion FROM "
        "pg_extension WHERE extname = 'vector')");
    json out = {{"postgresql", r.text(0, 0)}};
    out["pgvector"] = r.is_null(0, 1) ? json(nullptr) : json(r.text(0, 1));
    return out;
  }
  if (s == "redis") {
    storage::redis_connection c(storage::redis_options_of(u));
    auto reply = c.command({"INFO", "server"}, "doctor");
    c.check(*reply, "doctor");
    std::string info(reply->str ? reply->str : "", reply->len);
    auto at = info.find("redis_version:");
    if (at == std::string::npos) return {{"redis", nullptr}};
    auto end = info.find_first_of("\r\n", at);
    return {{"redis", info.substr(at + 14, end - at - 14)}};
  }
  if (s == "chroma") {
    storage::chroma_http c(u.host(), u.port() ? u.port() : 8000, 10000);
    auto r = c.send("GET", "/api/v2/version");
    if (r.status != 200)
      throw storage::store_error(
          storage::chroma_error_code(r.status, r.message),
          "GET /api/v2/version answered " + std::to_string(r.status) + ": " +
              r.message);
    return {{"chroma",
             r.body.is_string() ? r.body.get<std::string>() : r.body.dump()}};
  }
  if (s == "sqlite") return {{"sqlite", sqlite3_libversion()}};
  if (s == "faiss")
    return {{"faiss", std::to_string(FAISS_VERSION_MAJOR) + "." +
                          std::to_string(FAISS_VERSION_MINOR) + "." +
                          std::to_string(FAISS_VERSION_PATCH)},
            {"sqlite", sqlite3_libversion()}};
  if (s == "memory") return {{"memory", "in this process"}};
  return {{"node", u.host() + ":" + std::to_string(u.port()) +
                       " (run doctor on that node for its backend)"}};
}

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd() % 1000000000u);
}

json latency_of(const std::function<void()>& read) {
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    auto t0 = clock_type::now();
    read();
    ms.push_back(ms_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  return {{"reads", ms.size()},
          {"p50_ms", ms[ms.size() / 2]},
          {"max_ms", ms.back()}};
}

void vector_round_trip(report& r, storage::vector_store& vs) {
  auto c = "storectl_doctor_" + random_suffix();
  if (!r.run("round_trip", [&] {
        vs.create_collection({c, 2, storage::metric::l2}).get();
        struct drop_after {
          storage::vector_store& vs;
          std::string c;
          ~drop_after() {
            try {
              vs.drop_collection(c).get();
            } catch (...) {
            }
          }
        } cleanup{vs, c};
        vs.upsert(c, {{"probe", {1, 0}, {}, std::nullopt}}).get();
        auto got = vs.get(c, {"probe"}).get();
        if (got.size() != 1 || got[0].embedding != std::vector<float>{1, 0})
          throw storage::store_error(storage::errc::internal,
                                     "a record written was not read back");
        if (vs.remove(c, {"probe"}).get() != 1)
          throw storage::store_error(storage::errc::internal,
                                     "a record written could not be deleted");
        return json("collection " + c + ": create, upsert, get, delete, drop");
      }))
    return;
  r.run("latency",
        [&] { return latency_of([&] { vs.list_collections().get(); }); });
}

void cache_round_trip(report& r, storage::cache_store& cs) {
  auto key = "storectl-doctor-" + random_suffix();
  if (!r.run("round_trip", [&] {
        cs.set(key, "probe", std::int64_t{60000}).get();
        auto v = cs.get(key).get();
        if (!v || *v != "probe")
          throw storage::store_error(storage::errc::internal,
                                     "a value written was not read back");
        if (cs.del({key}).get() != 1)
          throw storage::store_error(storage::errc::internal,
                                     "a key written could not be deleted");
        return json("key " + key + ": set, get, del");
      }))
    return;
  r.run("latency", [&] { return latency_of([&] { cs.exists(key).get(); }); });
}

// caf://: the node says which kind it serves under that name.
bool served_as_vector(const store_options& opts) {
  try {
    with_vector_store(
        opts, [](storage::vector_store& vs) { vs.list_collections().get(); });
    return true;
  } catch (const storage::store_error& e) {
    if (e.code() == storage::errc::invalid_argument &&
        std::string(e.what()).find("not a vector store") != std::string::npos)
      return false;
    throw;
  }
}

void doctor(const store_options& opts) {
  report r;
  std::optional<storage::store_uri> uri;
  std::string shown = storage::redact_uri(opts.store);
  r.run("uri", [&] {
    storage::runtime_options ro;
    ro.config_file = opts.config;
    storage::runtime rt(ro);
    uri = storage::store_uri::parse(rt.resolve(opts.store));
    shown = uri->redacted();
    static const std::vector<std::string> known = {
        "faiss", "chroma", "pgvector", "memory", "sqlite", "redis", "caf"};
    if (std::find(known.begin(), known.end(), uri->scheme()) == known.end()) {
      auto s = uri->scheme();
      uri.reset();
      throw storage::store_error(
          storage::errc::invalid_argument,
          "unknown scheme '" + s +
              "' (faiss, chroma, pgvector, memory, sqlite, redis, caf)");
    }
    return json(shown);
  });
  bool vector = false;
  if (uri && r.run("server", [&] {
        auto versions = server_versions(*uri);
        auto s = uri->scheme();
        vector = s == "caf" ? served_as_vector(opts)
                            : s == "faiss" || s == "chroma" || s == "pgvector";
        versions["kind"] = vector ? "vector" : "cache";
        return versions;
      })) {
    // Opening runs outside r.run so the round trip's lines follow "open";
    // a failure to open is reported as that check.
    try {
      if (vector)
        with_vector_store(opts, [&](storage::vector_store& vs) {
          if (r.run("open", [&] {
                return json(std::to_string(vs.list_collections().get().size()) +
                            " collections");
              }))
            vector_round_trip(r, vs);
        });
      else
        with_cache_store(opts, [&](storage::cache_store& cs) {
          if (r.run("open", [&] {
                cs.exists("storectl-doctor-probe").get();
                return json("the cache answers");
              }))
            cache_round_trip(r, cs);
        });
    } catch (const storage::store_error& e) {
      r.run("open", [&]() -> json { throw e; });
    }
  }
  // scrub_secrets: a URI that did not parse may hold a password the parse
  // found and remembered (redis://:pw, its '@' missing).
  print({{"doctor", r.failed ? "failed" : "ok"},
         {"store", storage::scrub_secrets(shown)}});
  if (r.failed) throw *r.first_error;
}

}  // namespace

void add_doctor_command(CLI::App& app, action& selected) {
  auto opts = std::make_shared<store_options>();
  auto* cmd = app.add_subcommand(
      "doctor",
      "check a store end to end: URI, server and version, a write/read/delete "
      "round trip, latency; says what is wrong in plain words");
  add_store_options(*cmd, *opts);
  cmd->callback([&selected, opts] { selected = [opts] { doctor(*opts); }; });
}

}  // namespace storectl
