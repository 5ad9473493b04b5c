// The deadline an adapter is made by (adapters/factories.hpp): that of the
// request it is made for, or none.
#pragma once

#include <chrono>

namespace storage {

using open_deadline = std::chrono::steady_clock::time_point;
constexpr open_deadline no_deadline = open_deadline::max();

}  // namespace storage
