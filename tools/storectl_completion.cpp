// `storectl completion bash`: a bash completion script generated from the
// parser itself, so it always knows every command and option there is.
//   source <(storectl completion bash)
// Its output is a script, not JSON: the one command whose stdout is not
// JSON lines (it is meant for `source`).
#include <iostream>
#include <map>
#include <memory>

#include "tools/storectl.hpp"

namespace storectl {

namespace {

// Each command path (" vector create") and the words that may follow it:
// its subcommands and its options.
void collect(const CLI::App& app, const std::string& path,
             std::map<std::string, std::string>& out) {
  std::string words;
  for (const auto* sub : app.get_subcommands({})) {
    words += sub->get_name() + " ";
    collect(*sub, path + " " + sub->get_name(), out);
  }
  for (const auto* opt : app.get_options({})) {
    for (const auto& l : opt->get_lnames()) words += "--" + l + " ";
    for (const auto& s : opt->get_snames()) words += "-" + s + " ";
  }
  if (!words.empty()) words.pop_back();
  out[path] = words;
}

void print_bash(const CLI::App& root) {
  std::map<std::string, std::string> paths;
  collect(root, "", paths);
  std::cout << "# bash completion for storectl (storectl completion bash)\n"
               "_storectl_words() {\n  case \"$1\" in\n";
  for (const auto& [path, words] : paths)
    std::cout << "    \"" << path << "\") echo \"" << words << "\" ;;\n";
  std::cout << "  esac\n}\n"
               "_storectl() {\n"
               "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" i w\n"
               "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
               "    w=${COMP_WORDS[i]}\n"
               "    [[ $w == -* ]] && continue\n"
               "    [[ \" $(_storectl_words \"$path\") \" == *\" $w \"* ]] && "
               "path=\"$path $w\"\n"
               "  done\n"
               "  COMPREPLY=($(compgen -W \"$(_storectl_words \"$path\")\" -- "
               "\"$cur\"))\n"
               "}\n"
               "complete -o default -F _storectl storectl\n";
}

}  // namespace

void add_completion_command(CLI::App& app, action& selected) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "completion",
      "print a shell completion script: source <(storectl completion bash)");
  cmd->add_option("shell", *shell, "the shell (bash)")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  const CLI::App* root = &app;
  // The callback holds `shell`, which CLI11 writes into while parsing
  // (ThreadSanitizer caught it freed when only the option referred to it).
  cmd->callback(
      [&selected, root, shell] { selected = [root] { print_bash(*root); }; });
}

}  // namespace storectl
