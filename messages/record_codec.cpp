#include "messages/record_codec.hpp"

#include <cstdint>
#include <cstring>

namespace storage::detail {

namespace {

class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  // An unsigned integer, little-endian.
  template <class T>
  void uint(T x) {
    char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i)
      b[i] = static_cast<char>(x >> (8 * i));
    out_.append(b, sizeof(T));
  }

  void str(const std::string& s) {
    uint(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }

  void floats(const std::vector<float>& xs) {
    uint(static_cast<std::uint32_t>(xs.size()));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (!xs.empty())
      out_.append(reinterpret_cast<const char*>(xs.data()),
                  xs.size() * sizeof(float));
#else
    for (float x : xs) {
      std::uint32_t bits;
      std::memcpy(&bits, &x, sizeof bits);
      uint(bits);
    }
#endif
  }

 private:
  std::string& out_;
};

class reader {
 public:
  explicit reader(const std::string& in)
      : p_(reinterpret_cast<const unsigned char*>(in.data())),
        end_(p_ + in.size()) {}

  bool done() const { return p_ == end_; }
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

  // An unsigned integer, little-endian.
  template <class T>
  bool uint(T& x) {
    if (left() < sizeof(T)) return false;
    x = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      x = static_cast<T>(x | T{p_[i]} << (8 * i));
    p_ += sizeof(T);
    return true;
  }

  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!uint(n) || left() < n) return false;
    s.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  bool floats(std::vector<float>& xs) {
    std::uint32_t n = 0;
    if (!uint(n) || left() / sizeof(float) < n) return false;
    xs.resize(n);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n != 0) std::memcpy(xs.data(), p_, n * sizeof(float));
    p_ += n * sizeof(float);
#else
    for (auto& x : xs) {
      std::uint32_t bits = 0;
      uint(bits);
      std::memcpy(&x, &bits, sizeof x);
    }
#endif
    return true;
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

// The smallest record: empty id, no floats, no fields, no document.
constexpr std::size_t min_record_bytes = 4 + 4 + 4 + 1;
// The smallest field: empty key, a null.
constexpr std::size_t min_field_bytes = 4 + 1;

void put_value(writer& w, const metadata_value& v) {
  w.uint(static_cast<std::uint8_t>(v.index()));
  if (auto* b = std::get_if<bool>(&v)) w.uint(std::uint8_t{*b});
  if (auto* i = std::get_if<std::int64_t>(&v))
    w.uint(static_cast<std::uint64_t>(*i));
  if (auto* d = std::get_if<double>(&v)) {
    std::uint64_t bits;
    std::memcpy(&bits, d, sizeof bits);
    w.uint(bits);
  }
  if (auto* s = std::get_if<std::string>(&v)) w.str(*s);
}

bool get_value(reader& r, metadata_value& v) {
  std::uint8_t tag = 0;
  if (!r.uint(tag)) return false;
  switch (tag) {
    case 0:
      v = std::monostate{};
      return true;
    case 1: {
      std::uint8_t b = 0;
      if (!r.uint(b) || b > 1) return false;
      v = b == 1;
      return true;
    }
    case 2: {
      std::uint64_t bits = 0;
      if (!r.uint(bits)) return false;
      v = static_cast<std::int64_t>(bits);
      return true;
    }
    case 3: {
      std::uint64_t bits = 0;
      if (!r.uint(bits)) return false;
      double d;
      std::memcpy(&d, &bits, sizeof d);
      v = d;
      return true;
    }
    case 4: {
      std::string s;
      if (!r.str(s)) return false;
      v = std::move(s);
      return true;
    }
    default:
      return false;
  }
}

bool get_record(reader& r, vector_record& x) {
  std::uint32_t fields = 0;
  if (!r.str(x.id) || !r.floats(x.embedding) || !r.uint(fields) ||
      r.left() / min_field_bytes < fields)
    return false;
  x.metadata.clear();
  std::string key;
  for (std::uint32_t i = 0; i < fields; ++i) {
    metadata_value v;
    if (!r.str(key) || !get_value(r, v)) return false;
    x.metadata.insert_or_assign(x.metadata.end(), std::move(key), std::move(v));
  }
  std::uint8_t has_doc = 0;
  if (!r.uint(has_doc) || has_doc > 1) return false;
  if (has_doc == 0) {
    x.document.reset();
    return true;
  }
  return r.str(x.document.emplace());
}

}  // namespace

std::string encode_records(const std::vector<vector_record>& rs) {
  std::size_t size = 4;
  for (auto& x : rs)
    size += min_record_bytes + x.id.size() + x.embedding.size() * 4 +
            (x.document ? 4 + x.document->size() : 0) + 16 * x.metadata.size();
  std::string out;
  out.reserve(size);
  writer w(out);
  w.uint(static_cast<std::uint32_t>(rs.size()));
  for (auto& x : rs) {
    w.str(x.id);
    w.floats(x.embedding);
    w.uint(static_cast<std::uint32_t>(x.metadata.size()));
    for (auto& [k, v] : x.metadata) {
      w.str(k);
      put_value(w, v);
    }
    w.uint(std::uint8_t{x.document.has_value()});
    if (x.document) w.str(*x.document);
  }
  return out;
}

bool decode_records(const std::string& bytes, std::vector<vector_record>& out) {
  reader r(bytes);
  std::uint32_t n = 0;
  // A count the bytes cannot hold is refused before anything is allocated.
  if (!r.uint(n) || r.left() / min_record_bytes < n) return false;
  out.clear();
  out.resize(n);
  for (auto& x : out)
    if (!get_record(r, x)) return false;
  return r.done();
}

}  // namespace storage::detail
