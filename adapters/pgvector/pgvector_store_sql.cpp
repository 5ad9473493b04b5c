// Text encodings between the contract and PostgreSQL, and the `where` filter
// translated to SQL over the jsonb metadata column. Every value becomes a
// parameter; only fixed SQL text and our own placeholders are concatenated.
#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "messages/json.hpp"

namespace storage::pgv {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw store_error(errc::invalid_argument, what);
}

std::string json_string(const std::string& s, const std::string& what) {
  check_text(s, what);
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    invalid(what + " is not valid UTF-8");
  }
}

// Shortest text that reads back as the same double.
std::string double_text(double d, std::chars_format fmt) {
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, d, fmt);
  return std::string(buf, r.ptr);
}

std::string positive(const std::string& key, const metadata_value& v,
                     const char* cmp, params& p) {
  std::string field = "(metadata->" + key + ")";
  std::string text = "(metadata->>" + key + ")";
  std::string type = "jsonb_typeof" + field;
  // CASE, not AND: SQL does not promise to test the type before the cast.
  if (auto* s = std::get_if<std::string>(&v))
    return "(CASE WHEN " + type + " = 'string' THEN " + text + " = " +
           p.add(*s) + " ELSE false END)";
  if (auto* b = std::get_if<bool>(&v))
    return "COALESCE(" + field + " = " + p.add(*b ? "true" : "false") +
           "::jsonb, false)";
  if (auto* i = std::get_if<std::int64_t>(&v)) {
    // Two integers compare exactly (numeric); an integer against a stored
    // double compares as doubles, as compare_numbers does. Stored doubles
    // always contain a '.', stored integers never do.
    auto n = p.add(std::to_string(*i));
    return "(CASE WHEN " + type +
           " IS DISTINCT FROM 'number' THEN false WHEN strpos(" + text +
           ", '.') = 0 THEN " + text + "::numeric " + cmp + " " + n +
           "::numeric ELSE " + text + "::float8 " + cmp + " " + n +
           "::float8 END)";
  }
  auto d = p.add(double_text(std::get<double>(v), std::chars_format::general));
  return "(CASE WHEN " + type + " = 'number' THEN " + text + "::float8 " + cmp +
         " " + d + "::float8 ELSE false END)";
}

const char* comparison(filter::op o) {
  switch (o) {
    case filter::op::gt:
      return ">";
    case filter::op::gte:
      return ">=";
    case filter::op::lt:
      return "<";
    case filter::op::lte:
      return "<=";
    default:
      return "=";
  }
}

std::string leaf(const filter& f, params& p) {
  bool negate = f.kind() == filter::op::ne || f.kind() == filter::op::nin;
  // A key or string PostgreSQL cannot store is one no record has. Such
  // values are left out before the key becomes a parameter, so every
  // parameter sent is used.
  auto storable = [](const std::string& s) {
    return s.find('\0') == std::string::npos;
  };
  std::vector<const metadata_value*> values;
  if (storable(f.field()))
    for (auto& v : f.values()) {
      auto* s = std::get_if<std::string>(&v);
      if (!s || storable(*s)) values.push_back(&v);
    }
  if (values.empty()) return negate ? "true" : "false";
  auto key = p.add(f.field());
  std::string any;
  for (auto* v : values) {
    if (!any.empty()) any += " OR ";
    any += positive(key, *v, comparison(f.kind()), p);
  }
  return negate ? "(NOT (" + any + "))" : "(" + any + ")";
}

}  // namespace

void check_text(const std::string& s, const std::string& what) {
  if (s.find('\0') != std::string::npos)
    invalid(what + " contains a NUL byte, which PostgreSQL text cannot hold");
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string vector_text(const std::vector<float>& v) {
  std::string out = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  return out + "]";
}

std::vector<float> parse_vector(const char* text) {
  std::vector<float> out;
  const char* p = text;
  const char* end = text + std::strlen(text);
  if (p < end && *p == '[') ++p;
  while (p < end && *p != ']') {
    float x = 0;
    auto r = std::from_chars(p, end, x);
    if (r.ec != std::errc())
      throw store_error(errc::internal,
                        "unreadable vector text from PostgreSQL");
    out.push_back(x);
    p = r.ptr;
    if (p < end && *p == ',') ++p;
  }
  return out;
}

std::string metadata_json(const metadata& m) {
  std::string out = "{";
  for (auto& [k, v] : m) {
    if (is_null(v)) continue;
    std::string what = "metadata key '" + k + "'";
    if (out.size() > 1) out += ',';
    out += json_string(k, what) + ':';
    if (auto* s = std::get_if<std::string>(&v))
      out += json_string(*s, "metadata value of '" + k + "'");
    else if (auto* b = std::get_if<bool>(&v))
      out += *b ? "true" : "false";
    else if (auto* i = std::get_if<std::int64_t>(&v))
      out += std::to_string(*i);
    else {
      double d = std::get<double>(v);
      if (!std::isfinite(d))
        invalid("metadata value of '" + k + "' is not finite");
      // Fixed notation: jsonb keeps the decimal scale as written, so the
      // '.' survives and the value reads back as a double, not an integer.
      auto t = double_text(d, std::chars_format::fixed);
      if (t.find('.') == std::string::npos) t += ".0";
      out += t;
    }
  }
  return out + "}";
}

metadata parse_metadata(const char* text) {
  try {
    return metadata_from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw store_error(
        errc::internal,
        std::string("unreadable metadata from PostgreSQL: ") + e.what());
  }
}

void copy_field(std::string& out, const std::optional<std::string>& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  for (char c : *v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

std::string array_literal(const std::vector<std::optional<std::string>>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    if (!v[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string where_sql(const filter& f, params& p) {
  if (!f.is_logical()) return leaf(f, p);
  std::string out;
  for (auto& c : f.children()) {
    if (!out.empty()) out += f.kind() == filter::op::all ? " AND " : " OR ";
    out += where_sql(c, p);
  }
  return "(" + out + ")";
}

}  // namespace storage::pgv
