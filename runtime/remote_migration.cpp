#include "runtime/remote_migration.hpp"

#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/caf_support.hpp"
#include "runtime/caf_thread_guard.hpp"
#include "runtime/remote_store.hpp"
#include "runtime/runtime.hpp"

namespace storage {

namespace {

// Switching a store back or closing its source waits for mirrors to land.
constexpr auto completion_wait = std::chrono::minutes(10);

}  // namespace

node_directory_actor connect_directory(runtime& rt,
                                       const remote_store_spec& spec,
                                       const char* op) {
  auto& sys = rt.system();
  caf_thread_guard caf_thread;
  caf::scoped_actor self{sys};
  node_directory_actor dir;
  self->request(connection_manager(sys, rt.node().tls.enabled()), spec.timeout,
                caf::connect_atom::value, spec.host, spec.port)
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& d, std::set<std::string>&) {
            dir = caf::actor_cast<node_directory_actor>(d);
          },
          [&](caf::error& e) {
            throw store_error(errc::backend_unavailable,
                              "cannot reach node " + spec.host + ":" +
                                  std::to_string(spec.port) + ": " +
                                  sys.render(e),
                              op, spec.display);
          });
  if (!dir)
    throw store_error(errc::backend_unavailable,
                      "the node publishes no store directory", op,
                      spec.display);
  self->request(dir, spec.timeout, nhello_atom::value, node_protocol_version)
      .receive(
          [&](std::uint32_t theirs) {
            if (theirs != node_protocol_version)
              throw protocol_mismatch(theirs, spec, op);
          },
          [&](caf::error& e) { throw greeting_error(e, spec, op); });
  return dir;
}

store_stats remote_stats(runtime& rt, const std::string& caf_uri) {
  auto spec = remote_spec_for(caf_uri, store_kind::vector);
  auto dir = connect_directory(rt, spec, "stats");
  caf_thread_guard caf_thread;
  caf::scoped_actor self{rt.system()};
  store_stats out;
  self->request(dir, spec.timeout, nstats_atom::value, spec.name)
      .receive([&](std::string& text) { out = store_stats_from_json(text); },
               [&](caf::error& e) {
                 throw from_caf_error(e, "stats", spec.display);
               });
  return out;
}

remote_migration::remote_migration(runtime& rt, const std::string& caf_uri)
    : rt_(rt) {
  auto spec = remote_spec_for(caf_uri, store_kind::vector);
  display_ = spec.display;
  name_ = spec.name;
  timeout_ = spec.timeout;
  directory_ = connect_directory(rt, spec, "migrate");
}

template <class Atom, class... Ts>
live_report remote_migration::ask(const char* op,
                                  std::chrono::milliseconds wait, Atom atom,
                                  Ts... xs) {
  caf_thread_guard caf_thread;
  caf::scoped_actor self{rt_.system()};
  self->monitor(directory_);
  live_report out;
  std::optional<caf::error> failure;
  self->request(directory_, wait, atom, std::move(xs)...)
      .receive([&](live_report& r) { out = std::move(r); },
               [&](caf::error& e) { failure = std::move(e); });
  if (!failure) return out;
  // CAF drops a message to the proxy of a node whose connection was lost
  // without a bounce; the proxy's down message says that is what happened.
  bool gone = *failure == caf::sec::request_receiver_down;
  self->receive([&](caf::down_msg&) { gone = true; },
                caf::after(std::chrono::milliseconds(0)) >> [] {});
  if (gone)
    throw store_error(errc::backend_unavailable,
                      "the node went away (its connection was lost)", op,
                      display_);
  throw from_caf_error(*failure, op, display_);
}

live_report remote_migration::start(const live_request& req) {
  return ask("migrate", timeout_, nmigrate_atom::value, name_, req);
}

// Asked in short waits until the deadline: a request already on its way
// when the node died is never answered, while the next one, to the node's
// dead proxy, fails at once. So a node killed while a caller polls is
// backend_unavailable within about a second, not a timeout at the deadline.
live_report remote_migration::progress() {
  auto until = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    try {
      return ask("migrate",
                 std::max(std::chrono::milliseconds(1),
                          std::min(left, std::chrono::milliseconds(1000))),
                 nprogress_atom::value, name_);
    } catch (const store_error& e) {
      if (e.code() != errc::timeout ||
          std::chrono::steady_clock::now() >= until)
        throw;
    }
  }
}

live_report remote_migration::abort() {
  return ask("abort", completion_wait, nabort_atom::value, name_);
}

live_report remote_migration::finalize() {
  return ask("finalize", completion_wait, nfinalize_atom::value, name_);
}

}  // namespace storage
