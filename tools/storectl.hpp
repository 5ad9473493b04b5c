// What storectl's command files share. main() owns parsing and exit codes;
// each command file only registers its subcommands and their bodies.
#pragma once

#include <cstdint>
#include <exception>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/runtime.hpp"

namespace storectl {

// A subcommand's parse callback stores its body here and main() runs it after
// parsing, so every command-line error (exit 2) is found before any store is
// opened, and store errors (exit 1) never pass through CLI11.
using action = std::function<void()>;

struct store_options {
  std::string store;
  std::string config;
};

// --store (required) and --config, on every command that touches a store.
void add_store_options(CLI::App& cmd, store_options& opts);

// Starts a runtime, opens the store after checking it is of the right kind
// and runs `body` on it; the runtime stops when this returns or throws.
void with_vector_store(const store_options& opts,
                       const std::function<void(storage::vector_store&)>& body);
void with_cache_store(const store_options& opts,
                      const std::function<void(storage::cache_store&)>& body);
// Starts a runtime for --store/--config and runs `body` with the URI the
// store resolves to, opening nothing.
void with_runtime(
    const store_options& opts,
    const std::function<void(storage::runtime&, const std::string& uri)>& body);

// One JSON object as one line on stdout, its keys in the order CLI.md lists
// them -- or, in table format, a row of the table flush_output() prints.
void print(const nlohmann::ordered_json& j);

enum class output_format { json, table };
void set_output_format(output_format f);
output_format get_output_format();
// Prints what table format collected (nothing for json); before exit.
void flush_output();

// Throws store_error(invalid_argument): the contract rejected an argument.
[[noreturn]] void invalid(const std::string& message);

// A parsed number the contract rejects is invalid_argument, not a syntax error.
std::int64_t require_positive(std::int64_t value, const std::string& what);
// Seconds to wait: positive, finite and at most a day.
double require_seconds(double value, const std::string& what);

// `path` opened for reading (`option` names it in the error): a missing or
// unreadable file, or a directory, is invalid_argument.
std::ifstream open_input_file(const std::string& path,
                              const std::string& option);

// One --ids (a comma-separated list) or --id (one id, commas kept) value.
struct id_argument {
  bool list = false;
  std::string value;
};

// The ids of --ids and --id in the order given, lists split on commas;
// first occurrence order, duplicates dropped, an empty id rejected.
std::vector<std::string> collect_ids(const std::vector<id_argument>& args);

// --where's JSON as a filter; invalid_argument naming --where otherwise.
storage::filter parse_where(const std::string& text);

// One JSON line of `vector upsert`'s input as a valid record; errors
// name line `n` (invalid_argument for JSON that does not parse).
storage::vector_record parse_record_line(const std::string& line,
                                         std::size_t n);

// Every integer option of `app` and its subcommands takes decimal digits
// only, and a value that fits in 64 bits; anything else is a syntax error
// (exit 2) quoting what was typed.
void strict_integers(CLI::App& app);

// A mistyped command, which CLI11 reports only as "A subcommand is
// required": the message naming the word and the commands expected there,
// and the command it came after (null when argv holds no such word) with
// its words (path: "storectl cache").
struct unknown_word {
  std::string message;
  CLI::App* under = nullptr;
  std::string path;
};
unknown_word find_unknown_command(CLI::App& app, int argc, char** argv);

// Throws invalid_argument naming `what` unless `text` is valid UTF-8
// (CLI.md: keys, values and ids are UTF-8 strings).
void require_utf8(const std::string& text, const std::string& what);

// Prints the one error line and returns the exit code for a failed command.
int report_error(const std::exception& e);

// Keeps "storectl: warning: ..." for print_warnings() if `config` is
// readable by other users and holds a password (config_file.hpp).
void warn_if_exposed(const std::string& config);
// Prints the warnings kept so far on stderr: after a command succeeded (or
// once `serve` listens), so a failed command's stderr is its error line.
void print_warnings();

// Throws store_error(internal) if stdout could not take what was printed
// (a full disk, a closed pipe): a command whose output is lost has failed.
void check_stdout();

void add_vector_commands(CLI::App& app, action& selected);
void add_upsert_command(CLI::App& vector, action& selected);
void add_search_command(CLI::App& vector, action& selected);
void add_transfer_commands(CLI::App& vector, action& selected);
void add_cache_commands(CLI::App& app, action& selected);
void add_migrate_command(CLI::App& app, action& selected);
void add_verify_command(CLI::App& app, action& selected);
void add_serve_command(CLI::App& app, action& selected);
void add_doctor_command(CLI::App& app, action& selected);
void add_completion_command(CLI::App& app, action& selected);
void add_stats_command(CLI::App& app, action& selected);

}  // namespace storectl
