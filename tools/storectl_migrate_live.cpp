// `storectl migrate --live --from caf://HOST:PORT/NAME`: the serving node
// moves its store while its clients keep working (remote_migration.hpp).
//
//   --to URI [--batch N] [--no-verify]  starts it, prints progress on stderr
//       as migrate does and, once the node cut over, one summary:
//       {"collection":null,"copied":N,"source_count":N,"target_count":N,
//        "verified":B,"seconds":S,"state":"done","mirroring_back":true,
//        "cutover_ms":MS}
//   --abort     the source serves again (before or after cutover):
//       {"aborted":true,"state":"aborted"}
//   --finalize  ends reverse replication: {"finalized":true,"state":"done"}
// A failed migration is a failed command (storectl: error: CODE: ...).
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "messages/errors.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/migrate_progress.hpp"
#include "runtime/remote_migration.hpp"
#include "tools/storectl.hpp"
#include "tools/storectl_migrate.hpp"

namespace storectl {

namespace {

bool ended(const storage::live_report& r) {
  return r.state == "failed" || r.state == "aborted" ||
         (r.state == "done" && r.has_result);
}

[[noreturn]] void fail_with(const storage::live_report& r,
                            const std::string& store) {
  auto code = r.error_code != 0 ? static_cast<storage::errc>(r.error_code)
                                : storage::errc::internal;
  throw storage::store_error(
      code, r.error.empty() ? "the live migration " + r.state : r.error,
      "migrate", store);
}

nlohmann::ordered_json summary(const storage::live_report& r) {
  return {{"collection", nullptr},
          {"copied", r.copied},
          {"source_count", r.source_count},
          {"target_count", r.target_count},
          {"verified", r.result_verified},
          {"seconds", summary_seconds(r.seconds)},
          {"state", r.state},
          {"mirroring_back", r.mirroring_back},
          {"cutover_ms", r.cutover_ms}};
}

}  // namespace

void run_live_migration(const live_args& a) {
  if (!storage::is_remote(a.from))
    invalid(
        "--live moves a store another node serves: --from must be "
        "caf://HOST:PORT/NAME (use migrate without --live otherwise)");
  if (a.abort && a.finalize)
    invalid("--abort and --finalize exclude each other");
  if ((a.abort || a.finalize) != a.to.empty())
    invalid(a.to.empty() ? "--live needs --to URI (or --abort / --finalize)"
                         : "--abort and --finalize take no --to");
  storage::runtime rt(migration_runtime_options(a.from, a.from, a.config));
  storage::remote_migration m(rt, rt.resolve(a.from));
  if (a.abort) {
    auto r = m.abort();
    print({{"aborted", r.state == "aborted"}, {"state", r.state}});
    return;
  }
  if (a.finalize) {
    auto r = m.finalize();
    print({{"finalized", r.finalized}, {"state", r.state}});
    return;
  }
  storage::live_request req;
  req.target = a.to;
  req.batch = static_cast<std::uint32_t>(a.batch);
  req.verify = a.verify;
  auto r = m.start(req);
  bool terminal = ::isatty(STDERR_FILENO) == 1;
  storage::progress_renderer progress(std::cerr, terminal);
  auto last_shown = std::chrono::steady_clock::now();
  // The phase only moves forward: the last line, printed once the node is
  // done (or cut over), still says "verify" when verification ran.
  auto phase = storage::migration_phase::copy;
  auto show = [&] {
    if (r.state == "verify" || r.state == "cutover" ||
        (r.state == "done" && r.result_verified))
      phase = storage::migration_phase::verify;
    progress({r.collection, r.copied, r.total, r.seconds, phase});
  };
  show();
  while (!ended(r)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = m.progress();
    auto now = std::chrono::steady_clock::now();
    if (terminal || now - last_shown >= std::chrono::seconds(1)) {
      show();
      last_shown = now;
    }
  }
  show();
  progress.finish();
  if (r.state != "done") fail_with(r, m.store());
  print(summary(r));
}

}  // namespace storectl
