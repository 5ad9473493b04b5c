// `storectl serve`: publishes the config's stores to other nodes
// (node_server.hpp) until SIGINT or SIGTERM. Prints one line on stdout once
// the port is open -- {"serving":"ADDR:PORT","tls":..,"stores":[{"name",
// "kind","uri","backend"},..]}, with
// "metrics":"http://HOST:PORT/metrics" under --metrics -- and
// {"stopped":true} after a clean stop; logs one line per store on stderr.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "messages/store_uri.hpp"
#include "runtime/log_config.hpp"
#include "runtime/metrics_endpoint.hpp"
#include "runtime/node_server.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

struct serve_args {
  std::string config;
  std::string bind = "127.0.0.1";
  std::int64_t port = 4242;
  bool insecure = false;
  std::string metrics;  // HOST:PORT of the Prometheus endpoint, if any
};

void run(const serve_args& a) {
  if (a.port < 0 || a.port > 65535)
    invalid("--port must be in 0..65535, got " + std::to_string(a.port));
  // Before the runtime starts its threads, so they inherit the mask and the
  // signals wait for sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // On stderr whatever the log's level or place, once the node listens.
  warn_if_exposed(a.config);
  if (!storage::log_level_pinned()) spdlog::set_level(spdlog::level::info);
  storage::runtime_options ro;
  ro.config_file = a.config;
  storage::runtime rt(ro);
  storage::serve_options so;
  so.bind = a.bind;
  so.port = static_cast<std::uint16_t>(a.port);
  so.insecure = a.insecure;
  storage::node_server server(rt, so);
  std::unique_ptr<storage::metrics_endpoint> metrics;
  if (!a.metrics.empty())
    metrics = std::make_unique<storage::metrics_endpoint>(rt, a.metrics);
  // Lines a supervisor waits for as they happen, never a table at exit.
  set_output_format(output_format::json);
  auto stores = nlohmann::ordered_json::array();
  // "backend": where the store's data is now, which differs from "uri"
  // once a live migration of it cut over (the journal).
  for (auto& s : server.stores())
    stores.push_back(
        {{"name", s.name},
         {"kind", s.kind},
         {"uri", s.uri},
         {"backend", storage::redact_uri(rt.serves_from(s.name))}});
  nlohmann::ordered_json line = {
      {"serving", storage::uri_host(storage::bare_host(a.bind)) + ":" +
                      std::to_string(server.port())},
      {"tls", server.tls()},
      {"stores", stores}};
  if (metrics)
    line["metrics"] = "http://" + metrics->host() + ":" +
                      std::to_string(metrics->port()) + "/metrics";
  // The node is up: the warning goes out before the line a supervisor waits
  // for, so whoever reads that line has the warning too.
  print_warnings();
  print(line);
  check_stdout();
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("{}: stopping; requests in flight finish first",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  metrics.reset();
  server.stop();
  print({{"stopped", true}});
  std::cout.flush();
  // Every request has been answered and every write is durable. The actor
  // system's shutdown then waits for every detached worker to be
  // destroyed; a store handle sent to a client that stayed connected kept
  // its workers alive until the store's handle let go of them on exit
  // (store_dispatcher.cpp; before, every SIGTERM with a client connected
  // ended here). Should anything else hold one, SIGTERM must end the
  // process all the same.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    spdlog::warn("shutdown still waits for a connected client; exiting");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }).detach();
}

}  // namespace

void add_serve_command(CLI::App& app, action& selected) {
  auto args = std::make_shared<serve_args>();
  auto* cmd = app.add_subcommand(
      "serve",
      "publish the config's stores to other nodes as caf://HOST:PORT/NAME "
      "until SIGINT or SIGTERM");
  cmd->add_option("--config", args->config,
                  "CAF-style config file: [stores] to serve, [openssl] for "
                  "TLS")
      ->required();
  cmd->add_option("--bind", args->bind,
                  "address to listen on (default 127.0.0.1; any other needs "
                  "TLS or --insecure)");
  cmd->add_option("--port", args->port, "port (default 4242; 0: any free)");
  cmd->add_flag("--insecure", args->insecure,
                "allow a non-loopback --bind without TLS");
  cmd->add_option("--metrics", args->metrics,
                  "serve Prometheus metrics on HOST:PORT (PORT alone: "
                  "127.0.0.1:PORT; 0: any free port) at /metrics");
  cmd->callback([&selected, args] { selected = [args] { run(*args); }; });
}

}  // namespace storectl
