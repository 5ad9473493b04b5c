#include "runtime/remote_migration.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/caf_support.hpp"
#include "runtime/remote_store.hpp"
#include "runtime/runtime.hpp"

namespace storage {

namespace {

// Switching a store back or closing its source waits for mirrors to land.
constexpr auto completion_wait = std::chrono::minutes(10);

}  // namespace

remote_migration::remote_migration(runtime& rt, const std::string& caf_uri)
    : rt_(rt) {
  auto spec = remote_spec_for(caf_uri, store_kind::vector);
  display_ = spec.display;
  name_ = spec.name;
  timeout_ = spec.timeout;
  auto& sys = rt.system();
  caf::scoped_actor self{sys};
  self->request(connection_manager(sys, rt.node().tls.enabled()), timeout_,
                caf::connect_atom::value, spec.host, spec.port)
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& dir,
              std::set<std::string>&) {
            directory_ = caf::actor_cast<node_directory_actor>(dir);
          },
          [&](caf::error& e) {
            throw store_error(errc::backend_unavailable,
                              "cannot reach node " + spec.host + ":" +
                                  std::to_string(spec.port) + ": " +
                                  sys.render(e),
                              "migrate", display_);
          });
  if (!directory_)
    throw store_error(errc::backend_unavailable,
                      "the node publishes no store directory", "migrate",
                      display_);
}

template <class Atom, class... Ts>
live_report remote_migration::ask(const char* op,
                                  std::chrono::milliseconds wait, Atom atom,
                                  Ts... xs) {
  caf::scoped_actor self{rt_.system()};
  live_report out;
  self->request(directory_, wait, atom, std::move(xs)...)
      .receive([&](live_report& r) { out = std::move(r); },
               [&](caf::error& e) { throw from_caf_error(e, op, display_); });
  return out;
}

live_report remote_migration::start(const live_request& req) {
  return ask("migrate", timeout_, nmigrate_atom::value, name_, req);
}

live_report remote_migration::progress() {
  return ask("migrate", timeout_, nprogress_atom::value, name_);
}

live_report remote_migration::abort() {
  return ask("abort", completion_wait, nabort_atom::value, name_);
}

live_report remote_migration::finalize() {
  return ask("finalize", completion_wait, nfinalize_atom::value, name_);
}

}  // namespace storage
