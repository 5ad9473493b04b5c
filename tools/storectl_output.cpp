// The two channels of the contract: JSON lines on stdout, one error line on
// stderr.
#include <iostream>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "runtime/config_file.hpp"
#include "tools/storectl.hpp"

namespace storectl {

void print(const nlohmann::ordered_json& j) {
  // A backend may hold bytes that are not UTF-8; printing them replaced
  // beats failing a command whose work is already done.
  std::cout << j.dump(-1, ' ', false,
                      nlohmann::ordered_json::error_handler_t::replace)
            << '\n';
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
    std::cerr << "storectl: warning: " << *w << std::endl;
}

}  // namespace storectl
