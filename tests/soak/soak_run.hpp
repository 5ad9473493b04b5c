// One soak slot: N callers of random operations against one store while a
// fault thread works through the store's fault schedule; every answer is
// checked against the model (soak_model.hpp), and every request must be
// answered within its deadline plus a margin.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "runtime/runtime.hpp"
#include "soak_model.hpp"

namespace storage::soak {

// A fault: what it is called in the summary, and what it does (blocking
// until the fault is over, e.g. the server restarted).
struct fault {
  std::string name;
  std::function<void()> inject;
};

struct slot {
  std::string backend;  // for the summary
  std::string uri;      // the store, with timeout_ms set
  bool vector = false;
  std::vector<fault> faults;  // spread evenly over the slot
  std::chrono::seconds length{20};
  unsigned callers = 8;
  unsigned keys_per_caller = 40;
  std::chrono::milliseconds deadline{2000};  // the URI's timeout_ms
};

// Runs the slot and the final read of every key; returns what it found.
tally run_slot(runtime& rt, const slot& s);

// The resident set of this process, in MiB.
double rss_mib();

}  // namespace storage::soak
