// One line of `storectl vector upsert` input, read as tools/storectl_upsert.cpp
// reads it: nlohmann::json::parse, then record_from_json and validate_batch
// (the input is split into lines and blank lines skipped, as there).
// Properties: only nlohmann's parse_error (storectl's "not valid JSON") and
// store_error escape; a record that is accepted comes back equal from
// record_to_json, both as a JSON value and through its text.
#include <cstdint>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"

namespace {

using nlohmann::json;
using storage::store_error;
using storage::vector_record;

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

void check_round_trip(const vector_record& r, const std::string& line) {
  const json j = storage::record_to_json(r);
  const std::string text = j.dump();
  const std::string at = " for line " + fuzz::shown(line);
  try {
    fuzz::check(storage::record_from_json(j) == r,
                "record_from_json(record_to_json(r)) != r" + at);
    fuzz::check(
        storage::record_from_json(json::parse(text)) == r,
        "the record differs after its JSON text " + fuzz::shown(text) + at);
  } catch (const std::exception& e) {
    fuzz::fail("record_to_json's output is refused: " + fuzz::shown(text) +
               ": " + e.what() + at);
  }
}

void read_line(const std::string& line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception&) {
    return;  // storectl: "line N: not valid JSON" (parse_error, out_of_range)
  }
  vector_record r;
  try {
    r = storage::record_from_json(j);
    storage::validate_batch({r});
  } catch (const store_error&) {
    return;  // storectl: "line N: ..." with the error's code
  }
  check_round_trip(r, line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string line;
  while (std::getline(in, line))
    if (!blank(line)) read_line(line);
  return 0;
}
