// Small helpers every test suite shares: unique names, fresh directories,
// bounded waits on futures, error-code assertions and reading a file.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <stdexcept>
#include <string>

#include "messages/errors.hpp"

namespace storage::test {

// The whole of a file; empty when it cannot be read.
inline std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A token unique to this process and call: pid, then a counter.
inline std::string unique_token() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// A fresh, existing temporary directory.
inline std::string fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("storage-test-" + unique_token());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Appends a query parameter, minding whether the URI already has a '?'.
inline std::string with_param(const std::string& uri, const std::string& kv) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + kv;
}

// Every request has a deadline, so no future may hang: give up after a
// minute and fail instead of blocking the suite forever.
template <class T>
T await(std::future<T> f) {
  if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    throw std::runtime_error("request did not complete within 60 s");
  return f.get();
}

// Runs `fn` and checks it throws store_error with code `want`.
template <class F>
::testing::AssertionResult fails_with(errc want, F&& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    if (e.code() == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected " << to_string(want) << ", got " << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "expected store_error " << to_string(want)
           << ", got another exception: " << e.what();
  }
  return ::testing::AssertionFailure()
         << "expected store_error " << to_string(want) << ", nothing thrown";
}

// The code of the store_error `fn` throws (errc::ok if none); its what()
// into `what` when given.
inline errc code_of(const std::function<void()>& fn,
                    std::string* what = nullptr) {
  try {
    fn();
  } catch (const store_error& e) {
    if (what) *what = e.what();
    return e.code();
  }
  return errc::ok;
}

}  // namespace storage::test
