// Every test process gets its own empty state directory (the live-migration
// journal lives there, runtime/migration_journal.hpp), unless the
// environment names one: a journal left by another test, or an earlier run,
// would otherwise move a store with a fixed URI to that test's target.
// Child processes (storectl, writers) inherit it through the environment.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

struct fresh_state_dir {
  std::string made;

  fresh_state_dir() {
    if (auto* d = std::getenv("STORAGE_STATE_DIR"); d && *d) return;
    auto base = std::filesystem::temp_directory_path() / "storage-test-XXXXXX";
    std::string path = base.string();
    if (!::mkdtemp(path.data())) std::abort();
    made = path;
    ::setenv("STORAGE_STATE_DIR", made.c_str(), 1);
  }

  ~fresh_state_dir() {
    std::error_code ec;
    if (!made.empty()) std::filesystem::remove_all(made, ec);
  }
};

fresh_state_dir state_dir;

}  // namespace
