// Argument rules the contract makes beyond syntax: these fail with
// invalid_argument (exit 1), never with a parse error (exit 2).
#include <cstdint>
#include <unordered_set>

#include "messages/errors.hpp"
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

void require_utf8(const std::string& text, const std::string& what) {
  auto bad = [&] {
    invalid(what +
            " is not valid UTF-8 (CLI.md: keys, values and ids are "
            "UTF-8 strings)");
  };
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned c = *p++;
    if (c < 0x80) continue;
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (more < 0 || c > 0xF4 || end - p < more) bad();
    std::uint32_t cp = c & (0x3F >> more);
    for (int i = 0; i < more; ++i, ++p) {
      if ((*p & 0xC0) != 0x80) bad();
      cp = (cp << 6) | (*p & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF.
    static const std::uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[more] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      bad();
  }
}

std::vector<std::string> collect_ids(const std::vector<std::string>& lists,
                                     const std::vector<std::string>& single) {
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  auto take = [&](const std::string& id, const char* from) {
    if (id.empty()) invalid(std::string("empty id in ") + from);
    require_utf8(id, std::string("an id in ") + from);
    if (seen.insert(id).second) ids.push_back(id);
  };
  for (const auto& list : lists) {
    std::size_t start = 0;
    for (;;) {
      auto comma = list.find(',', start);
      take(list.substr(start, comma - start), "--ids");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  for (const auto& id : single) take(id, "--id");
  return ids;
}

}  // namespace storectl
