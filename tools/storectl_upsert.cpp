// `storectl vector upsert`: JSON lines in, one summary out. The whole input is
// read and validated before the first write, so a bad line or a wrong
// dimension anywhere leaves the collection untouched; only then is it sent
// in chunks, keeping each request to the backend bounded.
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_map>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

constexpr std::size_t chunk_size = 500;

struct upsert_args {
  store_options store;
  std::string collection;
  std::string file;
};

struct input {
  std::vector<storage::vector_record> records;
  std::vector<std::size_t> lines;  // the input line of each record
};

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string at_line(std::size_t n) {
  return "line " + std::to_string(n);
}

// Prefixes an error with the line it came from, keeping its code.
[[noreturn]] void fail_at(std::size_t n, const storage::store_error& e) {
  throw storage::store_error(e.code(), at_line(n) + ": " + e.message());
}

}  // namespace

storage::vector_record parse_record_line(const std::string& line,
                                         std::size_t n) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number beyond double (1e999).
    std::string why = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag.
    if (auto pos = why.find("] "); pos != std::string::npos)
      why = why.substr(pos + 2);
    invalid(at_line(n) + ": not valid JSON: " + why);
  }
  try {
    auto r = storage::record_from_json(j);
    storage::validate_batch({r});  // empty id, empty or non-finite embedding
    return r;
  } catch (const storage::store_error& e) {
    fail_at(n, e);
  }
}

namespace {

input read_input(std::istream& in) {
  input out;
  std::unordered_map<std::string, std::size_t> first_line;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    auto r = parse_record_line(line, n);
    auto [it, fresh] = first_line.emplace(r.id, n);
    if (!fresh)
      invalid(at_line(n) + ": duplicate id '" + r.id + "' (first on line " +
              std::to_string(it->second) + ")");
    out.records.push_back(std::move(r));
    out.lines.push_back(n);
  }
  if (in.bad()) invalid("cannot read the input");
  return out;
}

input read_input(const std::string& file) {
  if (file.empty()) return read_input(std::cin);
  auto in = open_input_file(file, "--file");
  return read_input(in);
}

std::uint32_t dimension_of(storage::vector_store& vs,
                           const std::string& collection) {
  for (const auto& spec : vs.list_collections().get())
    if (spec.name == collection) return spec.dimension;
  throw storage::store_error(storage::errc::collection_not_found,
                             "collection '" + collection + "' does not exist",
                             "upsert", vs.name());
}

void check_dimension(const input& in, std::uint32_t dim) {
  for (std::size_t i = 0; i < in.records.size(); ++i) try {
      storage::validate_dimension({in.records[i]}, dim);
    } catch (const storage::store_error& e) {
      fail_at(in.lines[i], e);
    }
}

void upsert(const upsert_args& a) {
  storage::validate_collection_name(a.collection);
  auto in = read_input(a.file);
  with_vector_store(a.store, [&](storage::vector_store& vs) {
    // Against the collection first, so a wrong length names its line.
    check_dimension(in, dimension_of(vs, a.collection));
    storage::validate_batch(in.records);
    std::uint64_t written = 0;
    for (std::size_t i = 0; i < in.records.size(); i += chunk_size) {
      auto end = std::min(in.records.size(), i + chunk_size);
      std::vector<storage::vector_record> chunk(
          std::make_move_iterator(in.records.begin() + i),
          std::make_move_iterator(in.records.begin() + end));
      written += vs.upsert(a.collection, std::move(chunk)).get();
    }
    print({{"upserted", written}});
  });
}

}  // namespace

void add_upsert_command(CLI::App& vector, action& selected) {
  auto args = std::make_shared<upsert_args>();
  auto* cmd = vector.add_subcommand(
      "upsert",
      "insert or replace records read as JSON lines from --file or stdin");
  add_store_options(*cmd, args->store);
  cmd->add_option("--collection", args->collection, "collection name")
      ->required();
  cmd->add_option("--file", args->file,
                  "JSON lines {\"id\",\"embedding\",\"metadata\"?,"
                  "\"document\"?} (default: stdin)");
  cmd->callback([&selected, args] { selected = [args] { upsert(*args); }; });
}

}  // namespace storectl
