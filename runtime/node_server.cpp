#include "runtime/node_server.hpp"

#include <arpa/inet.h>

#include <thread>

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "adapters/storage_log.hpp"
#include "messages/caf_support.hpp"
#include "messages/store_uri.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/caf_thread_guard.hpp"
#include "runtime/node_directory.hpp"
#include "runtime/node_inbox.hpp"
#include "runtime/remote_store.hpp"
#include "runtime/runtime.hpp"
#include "runtime/runtime_internals.hpp"

namespace storage {

bool is_loopback(const std::string& address) {
  if (address == "localhost" || address == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

std::string uri_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '['
             ? "[" + host + "]"
             : host;
}

std::string bare_host(const std::string& host) {
  return host.size() > 2 && host.front() == '[' && host.back() == ']'
             ? host.substr(1, host.size() - 2)
             : host;
}

namespace {

// A node announces only stores it holds. A faiss:// directory is taken at
// its first request, one lock per shard (faiss_dir_lock.hpp); a count
// reaches every shard, so another holder is found now (conflict), not by
// the node's first client. Which collection is counted does not matter, and
// the count is the node's own: the store's stats leave it out.
void hold_faiss_directory(runtime& rt, const std::string& name,
                          std::chrono::milliseconds timeout) {
  try {
    runtime_internals::open_backend(rt, name, "storage-serve-probe", timeout);
  } catch (const store_error& e) {
    throw store_error(e.code(), e.message(), "serve", e.store());
  }
}

// The store's URI, and where its data is when a live migration moved it.
std::string served_from(runtime& rt, const served_store& s) {
  auto backend = redact_uri(rt.serves_from(s.name));
  return backend == s.uri ? s.uri : s.uri + ", served from " + backend;
}

}  // namespace

struct node_server::impl {
  impl(runtime& r, serve_options o) : rt(r), opts(std::move(o)) {}
  runtime& rt;
  serve_options opts;
  std::uint16_t port = 0;
  bool tls = false;
  bool stopped = false;
  std::vector<served_store> stores;
  std::chrono::milliseconds longest_deadline{0};
  node_directory_actor directory;
};

node_server::node_server(runtime& rt, serve_options opts)
    : impl_(std::make_unique<impl>(rt, std::move(opts))) {
  caf_thread_guard caf_thread;
  auto& d = *impl_;
  d.opts.bind = bare_host(d.opts.bind);
  d.tls = rt.node().tls.enabled();
  auto names = rt.store_names();
  if (names.empty())
    throw store_error(errc::invalid_argument,
                      "nothing to serve: the config file has no [stores] "
                      "section with a store in it",
                      "serve");
  if (!is_loopback(d.opts.bind) && !d.tls && !d.opts.insecure)
    throw store_error(
        errc::invalid_argument,
        "serving on '" + d.opts.bind +
            "' (not loopback) needs TLS: set certificate, key and cafile in "
            "the config's [openssl] section, or pass --insecure to serve "
            "without it",
        "serve");
  std::vector<std::pair<caf::strong_actor_ptr, served_store>> handles;
  for (auto& name : names) {
    auto uri = rt.resolve(name);
    auto parsed = store_uri::parse(uri);
    if (parsed.scheme() == "caf")
      throw store_error(errc::invalid_argument,
                        "store '" + name +
                            "' is itself served by another node; serve it "
                            "there",
                        "serve");
    auto kind = kind_of(uri);
    served_store s{name, to_string(kind), redact_uri(uri)};
    caf::strong_actor_ptr h;
    if (kind == store_kind::vector) {
      auto vs = rt.open_vector(name);
      if (parsed.scheme() == "faiss")
        hold_faiss_directory(rt, name, deadline_of(parsed));
      h = caf::actor_cast<caf::strong_actor_ptr>(vs.actor());
    } else {
      h = caf::actor_cast<caf::strong_actor_ptr>(rt.open_cache(name).actor());
    }
    d.longest_deadline = std::max(d.longest_deadline, deadline_of(parsed));
    handles.emplace_back(spawn_node_inbox(rt.system(), std::move(h), s.uri), s);
    d.stores.push_back(s);
  }
  d.directory = spawn_node_directory(rt, std::move(handles));
  auto* in = d.opts.bind.empty() ? nullptr : d.opts.bind.c_str();
  auto bound = d.tls ? caf::openssl::publish(d.directory, d.opts.port, in, true)
                     : rt.system().middleman().publish(d.directory, d.opts.port,
                                                       in, true);
  if (!bound) {
    caf::anon_send_exit(d.directory, caf::exit_reason::user_shutdown);
    throw store_error(errc::backend_unavailable,
                      "cannot serve on " + d.opts.bind + ":" +
                          std::to_string(d.opts.port) + ": " +
                          rt.system().render(bound.error()),
                      "serve");
  }
  d.port = *bound;
  for (auto& s : d.stores)
    storage_log()->info("serving {} store '{}' ({}) as caf://{}:{}/{}{}",
                        s.kind, s.name, served_from(rt, s),
                        uri_host(d.opts.bind), d.port, s.name,
                        d.tls ? " over TLS" : "");
  if (!d.tls && !is_loopback(d.opts.bind))
    storage_log()->warn(
        "serving on {} without TLS (--insecure): anyone who reaches this "
        "port can read and write every store",
        d.opts.bind);
}

node_server::~node_server() {
  stop();
}

std::uint16_t node_server::port() const {
  return impl_->port;
}

bool node_server::tls() const {
  return impl_->tls;
}

const std::vector<served_store>& node_server::stores() const {
  return impl_->stores;
}

void node_server::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  caf::anon_send(connection_manager(d.rt.system(), d.tls),
                 caf::close_atom::value, d.port);
  // Requests already admitted finish within their deadlines.
  auto until = std::chrono::steady_clock::now() + d.longest_deadline;
  while (d.rt.requests_in_flight() > 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  caf::anon_send_exit(d.directory, caf::exit_reason::user_shutdown);
}

}  // namespace storage
