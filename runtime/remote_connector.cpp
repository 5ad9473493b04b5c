// The handle of a caf:// store and the actor that keeps it connected: it
// connects to the node (through CAF's OpenSSL module when TLS is
// configured), asks the node's directory for the store, monitors the
// store's proxy and, when the connection dies, reports it and reconnects
// with backoff.
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "messages/caf_support.hpp"
#include "messages/node_protocol.hpp"
#include "messages/store_uri.hpp"
#include "runtime/node_server.hpp"
#include "runtime/remote_link.hpp"
#include "runtime/tls_probe.hpp"

namespace storage {

namespace {

using nconnect_atom = caf::atom_constant<caf::atom("nconnect")>;
using nprobe_atom = caf::atom_constant<caf::atom("nprobe")>;

constexpr auto first_backoff = std::chrono::milliseconds(50);
constexpr auto max_backoff = std::chrono::milliseconds(1000);
// A node that accepts the TCP connection but never finishes the BASP
// handshake (frozen) costs a connection attempt at most this long.
constexpr auto max_connect_wait = std::chrono::milliseconds(3000);

// The handle callers hold: forwards in the caller's context (see
// remote_store.hpp).
class remote_handle final : public caf::monitorable_actor {
 public:
  remote_handle(caf::actor_config& cfg,
                std::shared_ptr<remote_link_state> state)
      : caf::monitorable_actor(cfg), state_(std::move(state)) {}

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    auto& content = what->content();
    if (content.match_elements<caf::exit_msg>()) {
      cleanup(std::move(content.get_mutable_as<caf::exit_msg>(0).reason), eu);
      return;
    }
    state_->dispatch(std::move(what), eu);
  }

  const char* name() const override { return "remote_store"; }

 private:
  std::shared_ptr<remote_link_state> state_;
};

// Probes a TLS node on a thread of its own (tls_probe.hpp: it blocks up to
// its wait), answers why it is silent ("" if it is not), and ends. The node
// comes as spawn arguments: CAF 0.17.6 dereferences a null argument tuple
// when a function actor is spawned with none (UBSan reports it).
caf::behavior tls_prober(caf::event_based_actor* self, std::string host,
                         std::uint16_t port, std::int64_t wait_ms) {
  return {[=](nprobe_atom) {
    self->quit();
    return silent_tls_peer(host, port, std::chrono::milliseconds(wait_ms))
        .value_or("");
  }};
}

struct connector_state {
  caf::strong_actor_ptr remote;
  std::chrono::milliseconds backoff = first_backoff;
  bool attempting = false;
};

caf::behavior connector(caf::stateful_actor<connector_state>* self,
                        std::shared_ptr<remote_link_state> link,
                        caf::io::middleman_actor mm) {
  auto& spec = link->spec();
  auto where = spec.host + ":" + std::to_string(spec.port);
  auto unavailable = [&spec](std::string what) {
    return store_error(errc::backend_unavailable, std::move(what), "",
                       spec.display);
  };
  auto retry_later = [self] {
    self->delayed_send(self, self->state.backoff, nconnect_atom::value);
    self->state.backoff = std::min(self->state.backoff * 2, max_backoff);
  };
  auto failed = [=](const store_error& why) {
    self->state.attempting = false;
    link->down(why, false);
    retry_later();
  };
  auto unreachable = [=](const std::string& why) {
    failed(unavailable("cannot reach node " + where + ": " + why));
  };
  self->set_down_handler([=](caf::down_msg& dm) {
    if (!self->state.remote || dm.source != self->state.remote) return;
    self->state.remote = nullptr;
    link->down(unavailable("lost the connection to node " + where + " (" +
                           caf::to_string(dm.reason) + ")"),
               false);
    self->state.backoff = first_backoff;
    retry_later();
  });
  auto lookup = [=](node_directory_actor d) {
    self->request(d, spec.timeout, nlookup_atom::value, spec.name)
        .then(
            [=](caf::strong_actor_ptr& h, served_store& s) {
              self->state.attempting = false;
              if (!h)
                return failed(unavailable("node " + where +
                                          " answered without a handle"));
              if (s.kind != to_string(spec.kind))
                return link->down(
                    store_error(errc::invalid_argument,
                                "store '" + spec.name + "' on node " + where +
                                    " is a " + s.kind + " store, not a " +
                                    to_string(spec.kind) + " store",
                                "", spec.display),
                    true);
              self->monitor(h);
              self->state.remote = h;
              self->state.backoff = first_backoff;
              link->connected(std::move(h));
            },
            [=](caf::error& e) {
              auto why = from_caf_error(e, "", spec.display);
              // The node answered: no such store there is for good.
              if (why.code() == errc::invalid_argument) {
                self->state.attempting = false;
                return link->down(why, true);
              }
              failed(why);
            });
  };
  // A node of another version fails each attempt with `unsupported`; it
  // may be upgraded in place, so the connector keeps trying.
  auto greet = [=](caf::strong_actor_ptr dir) {
    if (!dir)
      return failed(
          unavailable("node " + where + " publishes no store directory"));
    auto d = caf::actor_cast<node_directory_actor>(dir);
    self->request(d, spec.timeout, nhello_atom::value, node_protocol_version)
        .then(
            [=](std::uint32_t theirs) {
              if (theirs != node_protocol_version)
                return failed(protocol_mismatch(theirs, spec, "open"));
              lookup(d);
            },
            [=](caf::error& e) { failed(greeting_error(e, spec, "open")); });
  };
  auto connect = [=](std::chrono::milliseconds wait) {
    self->request(mm, wait, caf::connect_atom::value, spec.host, spec.port)
        .then([=](caf::node_id&, caf::strong_actor_ptr& dir,
                  std::set<std::string>&) { greet(std::move(dir)); },
              [=](caf::error& e) {
                auto why = self->system().render(e);
                if (e == caf::sec::disconnect_during_handshake)
                  why +=
                      " (does one side use TLS and the other not, or "
                      "are their certificates from different CAs?)";
                unreachable(why);
              });
  };
  return {
      [=](nconnect_atom) {
        if (self->state.attempting || self->state.remote) return;
        self->state.attempting = true;
        link->connecting();
        auto wait =
            std::min<std::chrono::milliseconds>(spec.timeout, max_connect_wait);
        if (!spec.tls) return connect(wait);
        // A silent TLS node would leave CAF a handshake without a timeout,
        // which the actor system's shutdown waits for (tls_probe.hpp).
        auto prober =
            self->spawn<caf::detached>(tls_prober, spec.host, spec.port,
                                       static_cast<std::int64_t>(wait.count()));
        self->request(prober, wait + std::chrono::seconds(1),
                      nprobe_atom::value)
            .then(
                [=](const std::string& silent) {
                  if (!silent.empty()) return unreachable("it " + silent);
                  connect(wait);
                },
                [=](caf::error& e) { unreachable(self->system().render(e)); });
      },
  };
}

}  // namespace

store_error protocol_mismatch(std::uint32_t theirs,
                              const remote_store_spec& spec,
                              const std::string& op) {
  return store_error(errc::unsupported,
                     "node " + spec.host + ":" + std::to_string(spec.port) +
                         " speaks node protocol " + std::to_string(theirs) +
                         ", this client " +
                         std::to_string(node_protocol_version) +
                         "; run the same storage_runtime version on both "
                         "sides",
                     op, spec.display);
}

store_error greeting_error(const caf::error& e, const remote_store_spec& spec,
                           const std::string& op) {
  // A node from before the handshake has no nhello: CAF answers so.
  if (e == caf::sec::unexpected_message)
    return store_error(
        errc::unsupported,
        "node " + spec.host + ":" + std::to_string(spec.port) +
            " does not greet: it runs a storage_runtime older than this "
            "client (node protocol " +
            std::to_string(node_protocol_version) +
            "); run the same version on both sides",
        op, spec.display);
  return from_caf_error(e, op, spec.display);
}

remote_store_spec remote_spec_for(const std::string& uri, store_kind kind) {
  auto u = store_uri::parse(uri);
  auto bad = [&](const std::string& what) {
    return store_error(errc::invalid_argument, what, "open", u.redacted());
  };
  if (u.scheme() != "caf") throw bad("not a caf:// URI");
  if (u.host().empty() || u.port() == 0)
    throw bad("caf:// needs host:port of the serving node");
  if (!u.password().empty())
    throw bad(
        "caf:// takes no password; nodes authenticate with TLS "
        "certificates ([openssl] in the config file)");
  auto name = u.path();
  while (!name.empty() && name.front() == '/') name.erase(0, 1);
  if (name.empty() || name.find('/') != std::string::npos)
    throw bad(
        "caf:// needs the served store's name as its path "
        "(caf://host:port/name)");
  u.check_params({"timeout_ms"});
  remote_store_spec s;
  s.host = bare_host(u.host());  // caf://[::1]:port/name
  s.port = u.port();
  s.name = name;
  s.kind = kind;
  s.timeout = deadline_of(u);
  s.display = u.redacted();
  return s;
}

caf::io::middleman_actor connection_manager(caf::actor_system& sys, bool tls) {
  return tls ? sys.openssl_manager().actor_handle()
             : sys.middleman().actor_handle();
}

remote_store_handles spawn_remote_store(caf::actor_system& sys,
                                        const remote_store_spec& spec) {
  auto state = std::make_shared<remote_link_state>(sys, spec);
  caf::actor_config cfg;
  auto handle = caf::make_actor<remote_handle, caf::strong_actor_ptr>(
      sys.next_actor_id(), sys.node(), &sys, cfg, state);
  state->set_handle(handle);
  auto c = sys.spawn(connector, state, connection_manager(sys, spec.tls));
  state->set_connector(c);
  caf::anon_send(c, nconnect_atom::value);
  return {std::move(handle), std::move(state)};
}

void stop_remote_store(remote_store_handles& h) {
  if (h.state) h.state->stop();
}

}  // namespace storage
