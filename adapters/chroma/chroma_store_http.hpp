// The one HTTP connection a chroma_store talks through: a libcurl easy
// handle kept open between calls (keep-alive), JSON in and out.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace storage {

struct chroma_response {
  long status = 0;
  nlohmann::json body;  // null when the body was empty or not JSON
  std::string message;  // Chroma's "message" on an error, else the raw body
};

// The store_error code for a Chroma error answer.
errc chroma_error_code(long status, const std::string& message);

class chroma_http {
 public:
  chroma_http(std::string host, std::uint16_t port, long timeout_ms);
  ~chroma_http();
  chroma_http(const chroma_http&) = delete;
  chroma_http& operator=(const chroma_http&) = delete;

  // Sends one request and returns whatever status the server answered. A
  // server that cannot be reached is backend_unavailable naming host:port; a
  // server that accepted the connection but did not answer in time is
  // timeout. curl reconnects on the next call by itself.
  chroma_response send(const char* method, const std::string& path,
                       const nlohmann::json* body = nullptr);

  // Percent-encodes one path segment.
  std::string escape(const std::string& segment) const;

  const std::string& endpoint() const { return endpoint_; }
  // Later requests give up at `deadline` (at most timeout_ms).
  void set_deadline(std::chrono::steady_clock::time_point deadline);

 private:
  void* curl_;            // CURL*, kept out of this header
  void* headers_;         // curl_slist*
  std::string endpoint_;  // host:port, for messages
  std::string base_url_;
  long timeout_ms_;
  long request_timeout_ms_;  // this request's share of timeout_ms_
};

}  // namespace storage
