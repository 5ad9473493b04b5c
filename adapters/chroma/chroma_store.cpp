#include "adapters/chroma/chroma_store.hpp"

#include <algorithm>
#include <unordered_map>

#include "adapters/chroma/chroma_store_where.hpp"
#include "adapters/factories.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"

namespace storage {

using nlohmann::json;

namespace {

// Chroma's max_batch_size (pre-flight-checks) is 5461 in 1.0.1.
constexpr std::size_t batch_limit = 5000;

void check_keys(const std::vector<vector_record>& records) {
  for (auto& r : records)
    for (auto& [k, v] : r.metadata)
      if (k.rfind("chroma:", 0) == 0)
        throw store_error(errc::invalid_argument,
                          "record '" + r.id + "': metadata key '" + k +
                              "' is reserved by Chroma");
}

// The body of an /upsert: each record's columns, its metadata as `md`
// gives it, and on a cosine collection its exact copy (chroma_store.hpp).
class upsert_body {
 public:
  explicit upsert_body(const chroma_collection& info)
      : exact_copies_(info.metric == metric::cosine) {}

  // `replaces`: the id is stored already. Chroma keeps a stored document
  // when an upsert gives none, so such a record without a document is
  // written as "" with the no-document mark in its uri (chroma_record
  // reads it back as none): one request, nothing deleted first. Every
  // record gets a uri, so a mark from before goes when a document comes.
  void add(const vector_record& r, const json& md, bool replaces) {
    bool mark = !r.document && replaces;
    body_["ids"].push_back(r.id);
    body_["embeddings"].push_back(r.embedding);
    body_["metadatas"].push_back(md.empty() ? json(nullptr) : md);
    body_["documents"].push_back(r.document ? json(*r.document)
                                 : mark     ? json("")
                                            : json(nullptr));
    auto uri = exact_copies_ ? chroma_exact_copy(r.embedding) : std::string();
    if (mark) uri += chroma_no_document;
    body_["uris"].push_back(std::move(uri));
  }

  json& get() { return body_; }

 private:
  bool exact_copies_;
  json body_ = json::object();
};

}  // namespace

chroma_store::chroma_store(chroma_options opts)
    : opts_(std::move(opts)), http_(opts_.host, opts_.port, opts_.timeout_ms) {}

vector_capabilities chroma_store::capabilities() const {
  vector_capabilities c;
  c.in_process = false;
  c.approximate = true;
  return c;
}

json chroma_store::call(const char* method, const std::string& path,
                        const json* body) {
  chroma_response r = http_.send(method, path, body);
  if (r.status >= 200 && r.status < 300) return std::move(r.body);
  throw store_error(chroma_error_code(r.status, r.message),
                    "Chroma at " + http_.endpoint() + " answered " +
                        std::to_string(r.status) + " to " + method + " " +
                        path + ": " + r.message);
}

std::vector<vector_record> chroma_store::fetch(const std::string& path,
                                               const json& request) {
  return chroma_records(call("POST", path + "/get", &request));
}

std::uint64_t chroma_store::upsert(const std::string& collection,
                                   const std::vector<vector_record>& records) {
  return guarded("upsert", [&] {
    validate_batch(records);
    check_keys(records);
    return with_collection(
        collection, [&](const collection_info& info, const std::string& path) {
          if (info.dimension) validate_dimension(records, info.dimension);
          for (std::size_t s = 0; s < records.size(); s += batch_limit) {
            std::size_t e = std::min(records.size(), s + batch_limit);
            json ids = json::array();
            for (std::size_t i = s; i < e; ++i) ids.push_back(records[i].id);
            json q{{"ids", ids}, {"include", json::array({"metadatas"})}};
            std::unordered_map<std::string, vector_record> old;
            for (auto& r : fetch(path, q)) old[r.id] = std::move(r);
            // One request per chunk, nothing deleted first: a record is
            // written whole or not at all.
            upsert_body body(info);
            for (std::size_t i = s; i < e; ++i) {
              auto& r = records[i];
              json md = metadata_to_json(normalized(r.metadata));
              auto o = old.find(r.id);
              if (o != old.end())
                for (auto& [k, v] : o->second.metadata)
                  if (!md.contains(k)) md[k] = nullptr;
              body.add(r, md, o != old.end());
            }
            call("POST", path + "/upsert", &body.get());
          }
          return static_cast<std::uint64_t>(records.size());
        });
  });
}

std::vector<vector_record> chroma_store::get(
    const std::string& collection, const std::vector<std::string>& ids) {
  return guarded("get", [&] {
    validate_ids(ids);
    return with_collection(
        collection, [&](const collection_info&, const std::string& path) {
          std::vector<vector_record> out;
          // An id that is not text cannot be stored (nor sent as JSON).
          auto wanted = text_ids(ids);
          if (wanted.empty()) return out;
          json q{{"ids", wanted}, {"include", chroma_record_columns()}};
          std::unordered_map<std::string, vector_record> found;
          for (auto& r : fetch(path, q)) found[r.id] = std::move(r);
          for (auto& id : ids) {
            auto it = found.find(id);
            if (it == found.end()) continue;
            out.push_back(std::move(it->second));
            found.erase(it);  // a repeated id comes back once
          }
          return out;
        });
  });
}

std::uint64_t chroma_store::remove(const std::string& collection,
                                   const std::vector<std::string>& ids) {
  return guarded("remove", [&] {
    validate_ids(ids);
    return with_collection(
        collection, [&](const collection_info&, const std::string& path) {
          auto wanted = text_ids(ids);  // as in get
          if (wanted.empty()) return std::uint64_t{0};
          // Chroma's /delete does not say how many it removed.
          json q{{"ids", wanted}, {"include", json::array()}};
          json present = call("POST", path + "/get", &q).at("ids");
          if (present.empty()) return std::uint64_t{0};
          json d{{"ids", present}};
          call("POST", path + "/delete", &d);
          return static_cast<std::uint64_t>(present.size());
        });
  });
}

std::uint64_t chroma_store::remove_where(const std::string& collection,
                                         const filter& where) {
  return guarded("remove_where", [&] {
    return with_collection(
        collection, [&](const collection_info&, const std::string& path) {
          json q{{"include", json::array({"metadatas"})}};
          if (auto w = chroma_where(where); !w.is_null()) q["where"] = w;
          std::vector<std::string> ids;
          for (auto& r : fetch(path, q))
            if (where.matches(r.metadata)) ids.push_back(std::move(r.id));
          for (std::size_t s = 0; s < ids.size(); s += batch_limit) {
            auto first = ids.begin() + static_cast<std::ptrdiff_t>(s);
            auto last = ids.begin() + static_cast<std::ptrdiff_t>(std::min(
                                          ids.size(), s + batch_limit));
            json d{{"ids", std::vector<std::string>(first, last)}};
            call("POST", path + "/delete", &d);
          }
          return static_cast<std::uint64_t>(ids.size());
        });
  });
}

std::uint64_t chroma_store::count(const std::string& collection) {
  return guarded("count", [&] {
    return with_collection(
        collection, [&](const collection_info&, const std::string& path) {
          return chroma_count(call("GET", path + "/count"));
        });
  });
}

namespace {

chroma_options chroma_options_of(const store_uri& uri) {
  uri.check_params({STORAGE_RUNTIME_PARAMS, "tenant", "database", "m",
                    "ef_construction", "ef_search"});
  chroma_options o;
  o.store = uri.redacted();
  auto bad = [&](const std::string& what) {
    return store_error(errc::invalid_argument, what, "open", o.store);
  };
  if (uri.scheme() != "chroma")
    throw bad("not a chroma:// URI: scheme '" + uri.scheme() + "'");
  if (uri.host().empty()) throw bad("chroma URI needs a host");
  if (!uri.path().empty() && uri.path() != "/")
    throw bad("chroma URI takes no path, got '" + uri.path() + "'");
  o.host = uri.host();
  o.port = uri.port() ? uri.port() : 8000;
  o.tenant = uri.param_or("tenant", o.tenant);
  o.database = uri.param_or("database", o.database);
  if (o.tenant.empty() || o.database.empty())
    throw bad("tenant and database must not be empty");
  try {
    o.m = uri.int_param("m", o.m, 2, 512);
    o.ef_construction =
        uri.int_param("ef_construction", o.ef_construction, 1, 100000);
    o.ef_search = uri.int_param("ef_search", o.ef_search, 1, 100000);
    o.timeout_ms = static_cast<long>(
        uri.int_param("timeout_ms", o.timeout_ms, 1, 3600000));
  } catch (const store_error& e) {
    throw e.with_context("open", o.store);
  }
  return o;
}

}  // namespace

void check_chroma_uri(const store_uri& uri) {
  chroma_options_of(uri);
}

std::unique_ptr<vector_backend> make_chroma_store(const store_uri& uri,
                                                  std::uint32_t /*shard*/,
                                                  std::uint32_t /*shards*/,
                                                  open_deadline) {
  // The state is in the server: every worker is an interchangeable
  // connection, so shard and shards do not matter. Made without I/O: the
  // first request reaches the server, under its own deadline.
  return std::make_unique<chroma_store>(chroma_options_of(uri));
}

}  // namespace storage
