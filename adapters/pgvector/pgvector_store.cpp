// pgvector_store: options, connection bootstrap and the collection catalogue.
// Each collection is one table named from a catalogue-assigned number:
// collection names are case-sensitive and up to 63 characters, which no
// derived PostgreSQL identifier (63 bytes, often case-folded) holds safely.
#include "adapters/pgvector/pgvector_store.hpp"

#include "adapters/factories.hpp"
#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

// Serializes catalogue DDL across every connection to the database: two
// workers creating one collection must not both build its table.
constexpr const char* catalogue_lock =
    "SELECT pg_advisory_xact_lock(7074457352)";

// pgvector's limit: the vector type holds 16000 dimensions (HNSW 2000:
// pgvector_store_index.cpp).
constexpr std::uint32_t pgvector_max_dimension = 16000;

pgvector_store::options parse_options(const store_uri& uri) {
  uri.check_params({STORAGE_RUNTIME_PARAMS, "index", "m", "ef_construction",
                    "ef_search", "exact_below", "build_memory_mb"});
  auto bad = [&](const std::string& what) {
    throw store_error(errc::invalid_argument, what, "open", uri.redacted());
  };
  if (uri.scheme() != "pgvector")
    bad("expected a pgvector:// URI, got scheme '" + uri.scheme() + "'");
  pgvector_store::options o;
  auto index = uri.param_or("index", "hnsw");
  if (index != "hnsw" && index != "none")
    bad("parameter index='" + index + "' must be hnsw or none");
  o.hnsw = index == "hnsw";
  o.m = static_cast<int>(uri.int_param("m", 16, 2, 100));
  o.ef_construction =
      static_cast<int>(uri.int_param("ef_construction", 64, 4, 1000));
  if (o.ef_construction < 2 * o.m)
    bad("parameter ef_construction must be at least twice m");
  o.ef_search = static_cast<int>(uri.int_param("ef_search", 200, 1, 1000));
  o.exact_below = uri.int_param("exact_below", 10000, 0, 1'000'000'000);
  o.timeout_ms =
      static_cast<int>(uri.int_param("timeout_ms", 10000, 1, 3'600'000));
  o.build_memory_mb = uri.int_param("build_memory_mb", 1024, 64, 1 << 20);
  return o;
}

}  // namespace

void check_pgvector_uri(const store_uri& uri) {
  parse_options(uri);
}

std::unique_ptr<vector_backend> make_pgvector_store(const store_uri& uri,
                                                    std::uint32_t,
                                                    std::uint32_t,
                                                    open_deadline deadline) {
  return std::make_unique<pgvector_store>(uri, deadline);
}

pgvector_store::pgvector_store(const store_uri& uri, open_deadline deadline)
    : uri_(uri), opt_(parse_options(uri)) {
  try {
    conn_ = std::make_unique<pgv::connection>(uri_, opt_);
    if (deadline != no_deadline) conn_->set_deadline(deadline);
    connect();
  } catch (const store_error& e) {
    // A server that is down now may be up at the first request.
    if (e.code() != errc::backend_unavailable)
      throw e.with_context("open", uri_.redacted());
  }
}

pgvector_store::~pgvector_store() = default;

vector_capabilities pgvector_store::capabilities() const {
  return {false, opt_.hnsw};
}

void pgvector_store::set_deadline(std::chrono::steady_clock::time_point d) {
  if (conn_) conn_->set_deadline(d);
}

void pgvector_store::connect() {
  conn_->ensure();
  if (bootstrapped_generation_ == conn_->generation()) return;
  session_ef_ = opt_.ef_search;
  bootstrap();
  bootstrapped_generation_ = conn_->generation();
}

void pgvector_store::bootstrap() {
  auto r = conn_->exec(
      "SELECT to_regclass('storage_collections') IS NOT NULL, "
      "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')");
  if (r.text(0, 0) == "t" && r.text(0, 1) == "t") return;
  if (r.text(0, 1) != "t") {
    try {
      conn_->exec("CREATE EXTENSION IF NOT EXISTS vector");
    } catch (const store_error& e) {
      // Another connection may have created it concurrently.
      auto again =
          conn_->exec("SELECT 1 FROM pg_extension WHERE extname = 'vector'");
      if (again.rows() == 0)
        throw store_error(errc::unsupported,
                          "the pgvector extension is not installed in this "
                          "database and cannot be created: " +
                              e.message());
    }
  }
  pgv::transaction tx(*conn_);
  conn_->exec(catalogue_lock);
  conn_->exec(
      "CREATE TABLE IF NOT EXISTS storage_collections ("
      "name text COLLATE \"C\" PRIMARY KEY, dimension int NOT NULL, "
      "metric text NOT NULL, "
      "id bigint GENERATED ALWAYS AS IDENTITY UNIQUE)");
  tx.commit();
}

pgvector_store::collection_info pgvector_store::lookup(
    const std::string& name) {
  if (auto it = catalogue_.find(name); it != catalogue_.end())
    return it->second;
  validate_collection_name(name);
  pgv::params p;
  auto r = conn_->exec(
      "SELECT id, dimension, metric, " + std::string(pgv::has_hnsw_sql) +
          " FROM storage_collections WHERE name = " + p.add(name),
      p);
  if (r.rows() == 0)
    throw store_error(errc::collection_not_found,
                      "collection '" + name + "' does not exist");
  collection_info info;
  info.spec.name = name;
  info.spec.dimension = static_cast<std::uint32_t>(std::stoul(r.text(0, 1)));
  info.spec.metric = parse_metric(r.text(0, 2));
  info.table = pgv::quote_ident("storage_vs_" + r.text(0, 0));
  info.index_missing = wants_index(info.spec) && r.text(0, 3) != "t";
  return catalogue_[name] = info;
}

bool pgvector_store::create_collection(const collection_spec& spec) {
  try {
    validate_collection_spec(spec);
    if (spec.dimension > pgvector_max_dimension)
      throw store_error(errc::unsupported,
                        "pgvector holds at most 16000 dimensions, got " +
                            std::to_string(spec.dimension));
  } catch (const store_error& e) {
    throw e.with_context("create_collection", uri_.redacted());
  }
  // Set when the collection exists without the index it should have.
  bool build_missing = false;
  bool created = run("create_collection", [&] {
    pgv::transaction tx(*conn_);
    conn_->exec(catalogue_lock);
    pgv::params p;
    auto r = conn_->exec(
        "SELECT dimension, metric, " + std::string(pgv::has_hnsw_sql) +
            " FROM storage_collections WHERE name = " + p.add(spec.name),
        p);
    if (r.rows() > 0) {
      collection_spec have{spec.name,
                           static_cast<std::uint32_t>(std::stoul(r.text(0, 0))),
                           parse_metric(r.text(0, 1))};
      build_missing =
          !spec.defer_index && wants_index(have) && r.text(0, 2) != "t";
      if (have == spec) return false;
      throw store_error(errc::conflict,
                        "collection '" + spec.name +
                            "' exists with dimension " +
                            std::to_string(have.dimension) + " and metric " +
                            to_string(have.metric) + ", not dimension " +
                            std::to_string(spec.dimension) + " and metric " +
                            to_string(spec.metric));
    }
    pgv::params ins;
    auto n = ins.add(spec.name), d = ins.add(std::to_string(spec.dimension)),
         m = ins.add(to_string(spec.metric));
    auto id = conn_->exec(
        "INSERT INTO storage_collections (name, dimension, "
        "metric) VALUES (" +
            n + ", " + d + "::int, " + m + ") RETURNING id",
        ins);
    collection_info info{spec, pgv::quote_ident("storage_vs_" + id.text(0, 0))};
    // DDL takes no parameters; the dimension is a validated integer.
    conn_->exec("CREATE TABLE " + info.table +
                " (id text COLLATE \"C\" PRIMARY KEY, embedding vector(" +
                std::to_string(spec.dimension) +
                ") NOT NULL, metadata jsonb NOT NULL DEFAULT '{}', "
                "document text)");
    // Deferred: the bulk load comes first, the index after it (a later
    // create_collection without the flag).
    info.index_missing = wants_index(spec) && spec.defer_index;
    if (wants_index(spec) && !spec.defer_index)
      conn_->exec(index_sql(info, false));  // an empty table: instant
    tx.commit();
    catalogue_[spec.name] = info;
    return true;
  });
  if (build_missing)
    run("create_collection", [&] {
      catalogue_.erase(spec.name);  // the table as it is now
      ensure_index(lookup(spec.name));
    });
  return created;
}

bool pgvector_store::build_index(const std::string& collection) {
  try {
    return run("build_index", [&] {
      catalogue_.erase(collection);  // the table as it is now
      auto c = lookup(collection);
      return wants_index(c.spec) && ensure_index(c);
    });
  } catch (const store_error&) {
    // A drop of the table while it was built fails the build (PostgreSQL
    // may break their wait for each other as a deadlock): then the
    // collection is gone, and the build had nothing to do. Any other
    // failure of that check (a build that used up the deadline leaves none
    // for it) must not hide the build's own error.
    catalogue_.erase(collection);
    try {
      run("build_index", [&] { lookup(collection); });
    } catch (const store_error& check) {
      if (check.code() == errc::collection_not_found) throw;
    }
    throw;
  }
}

void pgvector_store::interrupt() {
  conn_->interrupt();  // conn_ is set once, by the constructor
}

bool pgvector_store::drop_collection(const std::string& name) {
  try {
    validate_collection_name(name);
  } catch (const store_error& e) {
    throw e.with_context("drop_collection", uri_.redacted());
  }
  return run("drop_collection", [&] {
    catalogue_.erase(name);
    // Waits for a concurrent index build of it to end (pgv::build_lock).
    pgv::build_lock lock(*conn_, name,
                         std::chrono::milliseconds(opt_.timeout_ms));
    pgv::transaction tx(*conn_);
    conn_->exec(catalogue_lock);
    pgv::params p;
    auto r = conn_->exec("DELETE FROM storage_collections WHERE name = " +
                             p.add(name) + " RETURNING id",
                         p);
    if (r.rows() > 0)
      conn_->exec("DROP TABLE IF EXISTS " +
                  pgv::quote_ident("storage_vs_" + r.text(0, 0)));
    tx.commit();
    return r.rows() > 0;
  });
}

std::vector<collection_spec> pgvector_store::list_collections() {
  return run("list_collections", [&] {
    auto r = conn_->exec(
        "SELECT name, dimension, metric FROM storage_collections ORDER BY "
        "name");
    std::vector<collection_spec> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.text(i, 0),
                     static_cast<std::uint32_t>(std::stoul(r.text(i, 1))),
                     parse_metric(r.text(i, 2))});
    return out;
  });
}

}  // namespace storage
