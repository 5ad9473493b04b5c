// What migrate_stores ("migrate") or verify_stores ("verify") from `from`
// to `to` throws, for tests of the pairs both must refuse.
#pragma once

#include <optional>
#include <string>

#include "runtime/migrate.hpp"
#include "runtime/runtime.hpp"

namespace storage::test {

inline std::optional<store_error> migration_refusal(runtime& rt,
                                                    const std::string& op,
                                                    const std::string& from,
                                                    const std::string& to) {
  try {
    if (op == "migrate")
      migrate_stores(rt, from, to, {}, {});
    else
      verify_stores(rt, from, to, {}, {});
  } catch (const store_error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace storage::test
