// Argument rules the contract makes beyond syntax: these fail with
// invalid_argument (exit 1), never with a parse error (exit 2).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <unordered_set>

#include "messages/errors.hpp"
#include "messages/validation.hpp"
#include "tools/storectl.hpp"

namespace storectl {

void add_store_options(CLI::App& cmd, store_options& opts) {
  cmd.add_option("--store", opts.store,
                 "store URI, or a store name from the --config file")
      ->required();
  cmd.add_option("--config", opts.config,
                 "CAF-style config file whose [stores] section names URIs");
}

void invalid(const std::string& message) {
  throw storage::store_error(storage::errc::invalid_argument, message);
}

std::int64_t require_positive(std::int64_t value, const std::string& what) {
  if (value <= 0)
    invalid(what + " must be positive, got " + std::to_string(value));
  return value;
}

double require_seconds(double value, const std::string& what) {
  if (!(value > 0) || !std::isfinite(value) || value > 86400)
    invalid(what + " must be a positive number of seconds, at most 86400");
  return value;
}

std::ifstream open_input_file(const std::string& path,
                              const std::string& option) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    invalid("cannot read " + option + " '" + path + "': it is a directory");
  std::ifstream in(path);
  if (!in) invalid("cannot open " + option + " '" + path + "'");
  return in;
}

void require_utf8(const std::string& text, const std::string& what) {
  // An argument cannot hold NUL, so is_text's one extra rule never fires.
  if (!storage::is_text(text))
    invalid(what +
            " is not valid UTF-8 (CLI.md: keys, values and ids are "
            "UTF-8 strings)");
}

std::vector<std::string> collect_ids(const std::vector<id_argument>& args) {
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  auto take = [&](const std::string& id, const char* from) {
    if (id.empty()) invalid(std::string("empty id in ") + from);
    require_utf8(id, std::string("an id in ") + from);
    if (seen.insert(id).second) ids.push_back(id);
  };
  for (const auto& a : args) {
    if (!a.list) {
      take(a.value, "--id");
      continue;
    }
    std::size_t start = 0;
    for (;;) {
      auto comma = a.value.find(',', start);
      take(a.value.substr(start, comma - start), "--ids");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return ids;
}

}  // namespace storectl
