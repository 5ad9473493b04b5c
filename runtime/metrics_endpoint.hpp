// An HTTP endpoint a Prometheus server scrapes: GET /metrics answers the
// text exposition (prometheus_text in messages/store_stats.hpp) of every
// store open in the runtime, read at scrape time. `storectl serve
// --metrics ADDR` starts one; an application can too:
//
//   storage::metrics_endpoint metrics(rt, "127.0.0.1:9464");
//
// It listens on loopback unless told otherwise: the figures name stores
// and backends (redacted), which is nothing to publish by accident.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace storage {

class runtime;

class metrics_endpoint {
 public:
  // `address`: HOST:PORT, or PORT alone for 127.0.0.1:PORT; port 0 picks a
  // free one (see port()). Throws store_error: invalid_argument for an
  // address that does not parse, backend_unavailable when it cannot bind.
  // `rt` must outlive the endpoint.
  metrics_endpoint(runtime& rt, const std::string& address);
  // Stops listening; a scrape in progress finishes first.
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

  const std::string& host() const;
  std::uint16_t port() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace storage
