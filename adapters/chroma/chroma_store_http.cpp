#include "adapters/chroma/chroma_store_http.hpp"

#include <algorithm>

#include <curl/curl.h>

#include <mutex>

#include "messages/errors.hpp"

namespace storage {

namespace {

// curl_global_init is not thread-safe; pool workers construct adapters on
// several threads at once.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

CURL* handle(void* p) {
  return static_cast<CURL*>(p);
}

}  // namespace

errc chroma_error_code(long status, const std::string& message) {
  switch (status) {
    case 400:
    case 422:
      return message.find("dimension") != std::string::npos
                 ? errc::dimension_mismatch
                 : errc::invalid_argument;
    case 404:
      return errc::collection_not_found;
    case 409:
      return errc::conflict;
    case 502:
    case 503:
    case 504:
      return errc::backend_unavailable;
    default:
      return errc::internal;
  }
}

chroma_http::chroma_http(std::string host, std::uint16_t port, long timeout_ms)
    : curl_(nullptr),
      headers_(nullptr),
      timeout_ms_(timeout_ms),
      request_timeout_ms_(timeout_ms) {
  global_init();
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  endpoint_ = h + ":" + std::to_string(port);
  base_url_ = "http://" + endpoint_;
  curl_ = curl_easy_init();
  if (!curl_)
    throw store_error(errc::internal,
                      "curl_easy_init failed for Chroma at " + endpoint_);
  curl_slist* hs = nullptr;
  hs = curl_slist_append(hs, "Content-Type: application/json");
  // Without this curl waits for "100 Continue" before sending large bodies.
  hs = curl_slist_append(hs, "Expect:");
  headers_ = hs;
}

chroma_http::~chroma_http() {
  if (curl_) curl_easy_cleanup(handle(curl_));
  if (headers_) curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

std::string chroma_http::escape(const std::string& segment) const {
  char* e = curl_easy_escape(handle(curl_), segment.data(),
                             static_cast<int>(segment.size()));
  std::string out = e ? e : segment;
  curl_free(e);
  return out;
}

void chroma_http::set_deadline(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  request_timeout_ms_ =
      std::clamp<long>(static_cast<long>(left), 1, timeout_ms_);
}

chroma_response chroma_http::send(const char* method, const std::string& path,
                                  const nlohmann::json* body) {
  CURL* c = handle(curl_);
  std::string url = base_url_ + path, payload, received;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request_timeout_ms_);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &received);
  if (body) {
    payload = body->dump();
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(payload.size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  // The handle is reused, so a previous DELETE must not stick.
  bool plain = std::string(method) == (body ? "POST" : "GET");
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, plain ? nullptr : method);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    double connect_time = 0;
    long sent = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connect_time);
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
    std::string what =
        std::string(method) + " " + path + ": " + curl_easy_strerror(rc);
    // A timeout after the connection stood is a slow server, not a
    // missing one. A kept-alive connection has no connect time of this
    // transfer; that the request went out says it stood.
    if (rc == CURLE_OPERATION_TIMEDOUT && (connect_time > 0 || sent > 0))
      throw store_error(errc::timeout, "Chroma at " + endpoint_ +
                                           " did not answer within " +
                                           std::to_string(request_timeout_ms_) +
                                           " ms (" + what + ")");
    throw store_error(
        errc::backend_unavailable,
        "Chroma at " + endpoint_ + " is unreachable (" + what + ")");
  }
  chroma_response r;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = nlohmann::json::parse(received, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  if (r.body.is_object() && r.body.contains("message") &&
      r.body["message"].is_string())
    r.message = r.body["message"].get<std::string>();
  else
    r.message = received.substr(0, 300);
  return r;
}

}  // namespace storage
