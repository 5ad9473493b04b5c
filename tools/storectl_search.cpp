// `storectl vector search`: one query (--vector), or a file of queries
// (--file) sent as batch searches. Every argument and every line is checked
// before the store is opened, so a bad line searches nothing.
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

using json = nlohmann::ordered_json;

struct search_args {
  store_options store;
  std::string collection;
  std::string vector;
  std::string file;
  std::int64_t k = 10;
  std::string where;
  CLI::Option* vector_opt = nullptr;
  CLI::Option* file_opt = nullptr;
  CLI::Option* where_opt = nullptr;
};

std::string excerpt(const std::string& text) {
  return text.size() <= 60 ? text : text.substr(0, 57) + "...";
}

std::vector<float> parse_query(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty())
    invalid("--vector must be a non-empty JSON array of numbers, got '" +
            excerpt(text) + "'");
  std::vector<float> v;
  v.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number())
      invalid("--vector must hold numbers only, got " + x.dump());
    v.push_back(x.get<float>());
  }
  return v;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

// One line of --file: [numbers] or {"vector": [numbers]}. `where` names the
// file and line for errors.
std::vector<float> parse_line(const std::string& line,
                              const std::string& where) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    std::string why = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag.
    if (auto pos = why.find("] "); pos != std::string::npos)
      why = why.substr(pos + 2);
    invalid(where + ": not valid JSON: " + why);
  }
  if (j.is_object() && j.size() == 1 && j.contains("vector"))
    j = std::move(j["vector"]);
  if (!j.is_array() || j.empty())
    invalid(where +
            ": expected a non-empty JSON array of numbers or "
            "{\"vector\": [...]}, got '" +
            excerpt(line) + "'");
  std::vector<float> v;
  v.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number())
      invalid(where + ": the query must hold numbers only, got " + x.dump());
    v.push_back(x.get<float>());
    if (!std::isfinite(v.back()))
      invalid(where + ": " + x.dump() + " is not a finite 32-bit float");
  }
  return v;
}

// Every query of the file, all of one length.
std::vector<std::vector<float>> read_queries(const std::string& file) {
  auto in = open_input_file(file, "--file");
  std::vector<std::vector<float>> out;
  std::size_t first_line = 0;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    auto where = file + ", line " + std::to_string(n);
    auto q = parse_line(line, where);
    if (out.empty()) {
      first_line = n;
    } else if (q.size() != out.front().size()) {
      throw storage::store_error(
          storage::errc::dimension_mismatch,
          where + ": the query has " + std::to_string(q.size()) +
              " values, the one on line " + std::to_string(first_line) +
              " has " + std::to_string(out.front().size()));
    }
    out.push_back(std::move(q));
  }
  if (in.bad()) invalid("cannot read --file '" + file + "'");
  if (out.empty()) invalid("--file '" + file + "' holds no queries");
  return out;
}

json hit_line(const storage::search_hit& hit) {
  return {{"id", hit.id},
          {"distance", hit.distance},
          {"metadata", json(storage::metadata_to_json(hit.metadata))},
          {"document", hit.document ? json(*hit.document) : json(nullptr)}};
}

// One line per query, in file order; a file larger than one batch goes as
// several.
void search_file(const search_args& a, storage::vector_store& vs,
                 std::vector<std::vector<float>>& queries,
                 const std::optional<storage::filter>& where) {
  for (std::size_t start = 0; start < queries.size();
       start += storage::max_batch_queries) {
    auto end = std::min(queries.size(), start + storage::max_batch_queries);
    storage::batch_search_request req;
    req.queries.assign(std::make_move_iterator(queries.begin() + start),
                       std::make_move_iterator(queries.begin() + end));
    req.k = static_cast<std::uint32_t>(a.k);
    req.where = where;
    auto lists = vs.search_batch(a.collection, std::move(req)).get();
    for (std::size_t i = 0; i < lists.size(); ++i) {
      json hits = json::array();
      for (const auto& hit : lists[i]) hits.push_back(hit_line(hit));
      print({{"query", start + i}, {"hits", std::move(hits)}});
    }
  }
}

void search(const search_args& a) {
  storage::validate_collection_name(a.collection);
  require_positive(a.k, "-k");
  if (a.k > std::numeric_limits<std::uint32_t>::max())
    invalid("-k is too large: " + std::to_string(a.k));
  bool from_file = a.file_opt->count() > 0;
  std::vector<std::vector<float>> queries;
  if (from_file)
    queries = read_queries(a.file);
  else
    queries.push_back(parse_query(a.vector));
  std::optional<storage::filter> where;
  if (a.where_opt->count() > 0) where = parse_where(a.where);
  with_vector_store(a.store, [&](storage::vector_store& vs) {
    if (from_file) return search_file(a, vs, queries, where);
    storage::search_request req;
    req.query = std::move(queries.front());
    req.k = static_cast<std::uint32_t>(a.k);
    req.where = where;
    for (const auto& hit : vs.search(a.collection, std::move(req)).get())
      print(hit_line(hit));
  });
}

}  // namespace

void add_search_command(CLI::App& vector, action& selected) {
  auto a = std::make_shared<search_args>();
  auto* cmd = vector.add_subcommand(
      "search",
      "nearest records, closest first; with --file, one line of hits per "
      "query");
  add_store_options(*cmd, a->store);
  cmd->add_option("--collection", a->collection, "collection name")->required();
  a->vector_opt = cmd->add_option("--vector", a->vector,
                                  "query as a JSON array of numbers");
  a->file_opt =
      cmd->add_option("--file", a->file,
                      "queries, one per line: a JSON array of numbers or "
                      "{\"vector\": [...]}")
          ->excludes(a->vector_opt);
  cmd->add_option("-k", a->k, "number of hits per query (default 10)");
  a->where_opt = cmd->add_option("--where", a->where, "JSON where filter");
  cmd->callback([&selected, a] {
    if (a->vector_opt->count() + a->file_opt->count() == 0)
      throw CLI::RequiredError("--vector or --file");
    selected = [a] { search(*a); };
  });
}

}  // namespace storectl
