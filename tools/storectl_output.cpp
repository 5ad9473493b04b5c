// The two channels of the contract: JSON lines on stdout, one error line on
// stderr.
#include <algorithm>
#include <iostream>
#include <vector>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "runtime/config_file.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

output_format format = output_format::json;
std::vector<nlohmann::ordered_json> rows;
// Shown once the command has succeeded: a failed one prints its error line
// alone (CLI.md).
std::vector<std::string> pending_warnings;

std::string dumped(const nlohmann::ordered_json& j) {
  // A backend may hold bytes that are not UTF-8; printing them replaced
  // beats failing a command whose work is already done.
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

// A table cell: strings as they are, everything else as JSON, long ones
// cut.
std::string cell(const nlohmann::ordered_json* v) {
  constexpr std::size_t widest = 60;
  std::string s = !v ? "" : v->is_string() ? v->get<std::string>() : dumped(*v);
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  if (s.size() > widest) s = s.substr(0, widest - 3) + "...";
  return s;
}

void print_table() {
  std::vector<std::string> columns;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.items())
      if (std::find(columns.begin(), columns.end(), k) == columns.end())
        columns.push_back(k);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const auto& r : rows) {
    auto& line = cells.emplace_back();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      auto it = r.find(columns[c]);
      line.push_back(cell(it == r.end() ? nullptr : &*it));
      width[c] = std::max(width[c], line.back().size());
    }
  }
  auto row = [&](const std::vector<std::string>& xs) {
    std::string out;
    for (std::size_t c = 0; c < xs.size(); ++c) {
      out += xs[c];
      if (c + 1 < xs.size())
        out += std::string(width[c] - xs[c].size() + 2, ' ');
    }
    out.erase(out.find_last_not_of(' ') + 1);
    std::cout << out << '\n';
  };
  row(columns);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  row(rule);
  for (const auto& line : cells) row(line);
}

}  // namespace

void set_output_format(output_format f) {
  format = f;
}

output_format get_output_format() {
  return format;
}

void print(const nlohmann::ordered_json& j) {
  if (format == output_format::table && j.is_object())
    rows.push_back(j);
  else
    std::cout << dumped(j) << '\n';
}

void flush_output() {
  if (!rows.empty()) print_table();
  rows.clear();
  std::cout.flush();
}

int report_error(const std::exception& e) {
  std::string line;
  if (auto* se = dynamic_cast<const storage::store_error*>(&e))
    line = se->what();  // "code: message (operation .., store ..)"
  else
    line = std::string(storage::to_string(storage::errc::internal)) + ": " +
           e.what();
  // Redacted again: a message may quote a URI the runtime never parsed.
  line = storage::scrub_secrets(line);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "storectl: error: " << line << std::endl;
  return 1;
}

void warn_if_exposed(const std::string& config) {
  if (config.empty()) return;
  if (auto w = storage::exposed_secrets_warning(config))
    pending_warnings.push_back(std::move(*w));
}

void print_warnings() {
  for (const auto& w : pending_warnings)
    std::cerr << "storectl: warning: " << w << std::endl;
  pending_warnings.clear();
}

void check_stdout() {
  std::cout.flush();
  if (std::cout) return;
  std::cout.clear();
  throw storage::store_error(
      storage::errc::internal,
      "cannot write standard output (a full disk or a closed file?)");
}

}  // namespace storectl
