// A strict reader of the Prometheus text exposition format (0.0.4) for
// tests: every line is a HELP or TYPE comment or a sample whose family was
// typed before it, no series twice; label values unescaped. A line it cannot
// read throws, naming the line, so a test fails on malformed output rather than
// on a missing number.
#pragma once

#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace storage::test {

struct prom_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct prom_exposition {
  std::map<std::string, std::string> types;  // family -> counter, gauge, ...
  std::vector<prom_sample> samples;

  // The samples named `name` whose labels include all of `want`.
  std::vector<prom_sample> find(
      const std::string& name,
      const std::map<std::string, std::string>& want = {}) const {
    std::vector<prom_sample> out;
    for (auto& s : samples) {
      if (s.name != name) continue;
      bool all = true;
      for (auto& [k, v] : want) {
        auto it = s.labels.find(k);
        all = all && it != s.labels.end() && it->second == v;
      }
      if (all) out.push_back(s);
    }
    return out;
  }
  // The one sample; throws if there is not exactly one.
  double value(const std::string& name,
               const std::map<std::string, std::string>& want = {}) const {
    auto xs = find(name, want);
    if (xs.size() != 1)
      throw std::runtime_error(std::to_string(xs.size()) + " samples of " +
                               name);
    return xs[0].value;
  }
};

inline bool prom_name_ok(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':')
      return false;
  return true;
}

// The family a sample belongs to: a histogram's _bucket/_sum/_count name
// its family without the suffix.
inline std::string prom_family(const std::string& name,
                               const std::map<std::string, std::string>& t) {
  if (t.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() &&
        name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = name.substr(0, name.size() - s.size());
      auto it = t.find(base);
      if (it != t.end() && it->second == "histogram") return base;
    }
  }
  return {};
}

inline prom_exposition parse_prometheus(const std::string& text) {
  prom_exposition out;
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  std::set<std::string> seen;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("exposition line " + std::to_string(n) + " (" +
                             line + "): " + why);
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream c(line);
      std::string hash, what, name, rest;
      c >> hash >> what >> name;
      std::getline(c, rest);
      if (!prom_name_ok(name)) fail("bad metric name");
      if (what == "TYPE") {
        rest.erase(0, rest.find_first_not_of(' '));
        if (rest != "counter" && rest != "gauge" && rest != "histogram" &&
            rest != "summary" && rest != "untyped")
          fail("unknown type");
        if (out.types.count(name)) fail("family typed twice");
        out.types[name] = rest;
      } else if (what != "HELP") {
        fail("a comment that is neither HELP nor TYPE");
      }
      continue;
    }
    prom_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!prom_name_ok(s.name)) fail("bad sample name");
    if (prom_family(s.name, out.types).empty())
      fail("sample before its family's TYPE");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string::npos || line[eq + 1] != '"') fail("bad label");
        auto key = line.substr(i, eq - i);
        if (!prom_name_ok(key)) fail("bad label name");
        std::string v;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            if (++i >= line.size()) fail("dangling escape");
            v += line[i] == 'n' ? '\n' : line[i];
          } else {
            v += line[i];
          }
        }
        if (i >= line.size()) fail("unterminated label value");
        s.labels[key] = v;
        ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) fail("unterminated labels");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') fail("no value");
    auto v = line.substr(i + 1);
    if (v == "+Inf")
      s.value = std::numeric_limits<double>::infinity();
    else {
      char* end = nullptr;
      s.value = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') fail("value is not a number");
    }
    // A scraper rejects the whole exposition for one repeated series.
    auto series = s.name;
    for (auto& [k, v] : s.labels) series += '\0' + k + '=' + v;
    if (!seen.insert(series).second) fail("a series given twice");
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace storage::test
