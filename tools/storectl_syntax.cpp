// What CLI11 accepts or words loosely that CLI.md does not: numbers in other
// bases or too large for 64 bits, and a mistyped command reported without
// the word that was mistyped.
#include <charconv>
#include <cstdint>

#include "tools/storectl.hpp"

namespace storectl {

namespace {

// Decimal digits with an optional sign, fitting in 64 bits. CLI11 would read
// 0x10 as 16 and 99999999999999999999 as INT64_MAX, writing a value that
// was never typed.
std::string check_decimal(std::string& text) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (last - first > 1 && *first == '+' && first[1] != '-') ++first;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range)
    return "'" + text + "' does not fit in a 64-bit integer";
  if (ec != std::errc() || end != last || first == last)
    return "'" + text + "' is not a decimal integer";
  return {};
}

std::vector<CLI::App*> subcommands_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

}  // namespace

void strict_integers(CLI::App& app) {
  for (auto* opt : app.get_options([](CLI::Option*) { return true; }))
    if (opt->get_type_name() == "INT")
      opt->check(CLI::Validator(check_decimal, "", "decimal"));
  for (auto* sub : subcommands_of(app)) strict_integers(*sub);
}

unknown_word find_unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = "storectl";  // CLI11 renames the app to argv[0]
  auto names_under = [&] {
    std::string names;
    for (auto* s : subcommands_of(*at))
      names += (names.empty() ? "" : ", ") + s->get_name();
    return names;
  };
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    auto subs = subcommands_of(*at);
    if (subs.empty()) return {};
    CLI::App* next = nullptr;
    for (auto* s : subs)
      if (s->check_name(word)) next = s;
    if (next) {
      at = next;
      path += " " + word;
      continue;
    }
    // storectl's own options (--output, --log-level) may come before the
    // command; written as --output=json, no value follows.
    auto option = word.substr(0, word.find('='));
    if (at == &app && word.rfind("--", 0) == 0 &&
        app.get_option_no_throw(option)) {
      if (option == word) ++i;
      continue;
    }
    if (word.rfind("-", 0) == 0)
      return {"'" + path + "' needs a command before its options ('" + word +
                  "'): one of " + names_under(),
              at, path};
    return {"unknown command '" + word + "' after '" + path +
                "': expected one of " + names_under(),
            at, path};
  }
  if (subcommands_of(*at).empty()) return {};
  return {"'" + path + "' needs a command: one of " + names_under(), at, path};
}

}  // namespace storectl
