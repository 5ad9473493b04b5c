#include "adapters/faiss/faiss_store_snapshot.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "messages/json.hpp"

namespace storage::faiss_detail {

namespace {

constexpr char head_magic[8] = {'S', 'T', 'F', 'A', 'I', 'S', 'S', '1'};
constexpr char tail_magic[8] = {'S', 'T', 'F', 'A', 'E', 'N', 'D', '1'};
// 3 added where a partial load stopped (collection_state::partial); 2 is
// read as complete.
constexpr std::uint32_t format_version = 3;
constexpr std::uint32_t oldest_readable = 2;
constexpr std::size_t trailer_size = 16;  // checksum, tail_magic

[[noreturn]] void io_failure(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Catches torn and bit-flipped files, not tampering: a multiply-rotate hash
// over 8-byte words, fast enough (~GB/s) to check a file on every open.
class checksum {
 public:
  void update(const void* data, std::size_t n) {
    auto p = static_cast<const unsigned char*>(data);
    while (n > 0 && fill_ > 0 && fill_ < 8) {
      buffer_[fill_++] = *p++;
      --n;
      if (fill_ == 8) flush_buffer();
    }
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    while (n-- > 0) {
      buffer_[fill_++] = *p++;
      if (fill_ == 8) flush_buffer();
    }
  }
  std::uint64_t value() const {
    std::uint64_t h = h_, w = 0;
    std::memcpy(&w, buffer_, fill_);
    h = rotl((h ^ (w * k1)), 27) * k2 + length_ + fill_;
    return h ^ (h >> 29);
  }

 private:
  static constexpr std::uint64_t k1 = 0x9e3779b97f4a7c15ULL;
  static constexpr std::uint64_t k2 = 0xc2b2ae3d27d4eb4fULL;
  static std::uint64_t rotl(std::uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
  }
  void mix(std::uint64_t w) {
    h_ = rotl(h_ ^ (w * k1), 31) * k2;
    length_ += 8;
  }
  void flush_buffer() {
    std::uint64_t w;
    std::memcpy(&w, buffer_, 8);
    mix(w);
    fill_ = 0;
  }

  std::uint64_t h_ = 0x27d4eb2f165667c5ULL, length_ = 0;
  unsigned char buffer_[8] = {};
  std::size_t fill_ = 0;
};

class file_writer : public faiss::IOWriter {
 public:
  explicit file_writer(std::FILE* f) : f_(f) {}
  std::size_t operator()(const void* p, std::size_t size,
                         std::size_t n) override {
    std::size_t bytes = size * n;
    if (bytes && std::fwrite(p, 1, bytes, f_) != bytes)
      io_failure("writing a snapshot");
    sum.update(p, bytes);
    return n;
  }
  checksum sum;

 private:
  std::FILE* f_;
};

// Reads no further than `limit` bytes: the trailer is not part of the image.
class file_reader : public faiss::IOReader {
 public:
  file_reader(std::FILE* f, std::uint64_t limit) : f_(f), left_(limit) {}
  std::size_t operator()(void* p, std::size_t size, std::size_t n) override {
    if (size == 0 || n == 0) return n;
    std::size_t fit = std::min<std::uint64_t>(n, left_ / size);
    std::size_t got = std::fread(p, size, fit, f_);
    left_ -= got * size;
    return got;
  }
  std::uint64_t left() const { return left_; }

 private:
  std::FILE* f_;
  std::uint64_t left_;
};

template <class T>
void write_value(faiss::IOWriter& out, const T& v) {
  out(&v, sizeof v, 1);
}

template <class T>
T take(faiss::IOReader& in) {
  T v;
  if (in(&v, sizeof v, 1) != 1) throw std::runtime_error("snapshot too short");
  return v;
}

void take_bytes(faiss::IOReader& in, void* p, std::size_t n) {
  if (n && in(p, 1, n) != n) throw std::runtime_error("snapshot too short");
}

void put_string(faiss::IOWriter& out, const std::string& s) {
  write_value(out, static_cast<std::uint32_t>(s.size()));
  if (!s.empty()) out(s.data(), 1, s.size());
}

std::string take_string(faiss::IOReader& in, std::uint32_t max) {
  auto n = take<std::uint32_t>(in);
  if (n > max) throw std::runtime_error("snapshot string too long");
  std::string s(n, '\0');
  take_bytes(in, s.data(), n);
  return s;
}

struct closer {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using file_ptr = std::unique_ptr<std::FILE, closer>;

void sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) io_failure("opening " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) io_failure("syncing " + dir);
}

}  // namespace

std::string snapshot_path(const std::string& dir, std::uint64_t incarnation) {
  return dir + "/snapshots/" + std::to_string(incarnation) + ".idx";
}

void collection_state::save(faiss::IOWriter& out) const {
  write_value(out, static_cast<std::uint64_t>(alive_.size()));
  write_value(out, static_cast<std::uint64_t>(live_));
  write_value(out, max_norm_);
  write_value(out, seq_);
  write_value(out, static_cast<std::uint8_t>(partial_));
  put_string(out, partial_id_);
  out(alive_.data(), 1, alive_.size());
  out(norms_.data(), sizeof(double), norms_.size());
  for (auto& id : ids_) put_string(out, id);
  // Each distinct metadata map once, then each slot's number in that list
  // (0: none), so shared maps are parsed once on load.
  std::unordered_map<const metadata*, std::uint32_t> number;
  std::vector<const metadata*> distinct;
  std::vector<std::uint32_t> refs(metas_.size(), 0);
  for (std::size_t s = 0; s < metas_.size(); ++s) {
    if (!metas_[s]) continue;
    auto [it, fresh] = number.emplace(metas_[s].get(), 0);
    if (fresh) {
      distinct.push_back(metas_[s].get());
      it->second = static_cast<std::uint32_t>(distinct.size());
    }
    refs[s] = it->second;
  }
  write_value(out, static_cast<std::uint64_t>(distinct.size()));
  for (auto* m : distinct) put_string(out, metadata_to_json(*m).dump());
  out(refs.data(), sizeof(std::uint32_t), refs.size());
  faiss::write_index(index_.get(), &out);
}

std::unique_ptr<collection_state> collection_state::load(
    faiss::IOReader& in, const collection_spec& spec, const index_options& opts,
    std::uint32_t version) {
  auto st = std::make_unique<collection_state>(spec, opts);
  auto slots = take<std::uint64_t>(in);
  auto live = take<std::uint64_t>(in);
  st->max_norm_ = take<double>(in);
  st->seq_ = take<std::uint64_t>(in);
  if (version >= 3) {
    auto kind = take<std::uint8_t>(in);
    if (kind > static_cast<std::uint8_t>(partial_kind::by_id))
      throw std::runtime_error("snapshot has an unknown partial kind");
    st->partial_ = static_cast<partial_kind>(kind);
    st->partial_id_ = take_string(in, 1u << 20);
  }
  if (slots >= 0xffffffffu || live > slots)
    throw std::runtime_error("snapshot slot counts are impossible");
  st->alive_.resize(slots);
  take_bytes(in, st->alive_.data(), slots);
  st->norms_.resize(slots);
  take_bytes(in, st->norms_.data(), slots * sizeof(double));
  st->ids_.reserve(slots);
  for (std::uint64_t s = 0; s < slots; ++s)
    st->ids_.push_back(take_string(in, 1u << 20));
  auto distinct = take<std::uint64_t>(in);
  if (distinct > slots) throw std::runtime_error("snapshot has too many maps");
  std::vector<std::shared_ptr<const metadata>> maps;
  maps.reserve(distinct);
  for (std::uint64_t i = 0; i < distinct; ++i)
    maps.push_back(st->meta_pool_.intern(
        metadata_from_json(nlohmann::json::parse(take_string(in, 1u << 28)))));
  std::vector<std::uint32_t> refs(slots);
  take_bytes(in, refs.data(), slots * sizeof(std::uint32_t));
  st->metas_.reserve(slots);
  for (auto r : refs) {
    if (r > distinct) throw std::runtime_error("snapshot metadata reference");
    st->metas_.push_back(r == 0 ? nullptr : maps[r - 1]);
  }
  st->index_.reset(faiss::read_index(&in));
  auto kind = spec.metric == metric::l2 ? faiss::METRIC_L2
                                        : faiss::METRIC_INNER_PRODUCT;
  auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(st->index_.get());
  bool kind_ok =
      opts.hnsw ? hnsw != nullptr
                : dynamic_cast<faiss::IndexFlat*>(st->index_.get()) != nullptr;
  if (!kind_ok || st->index_->d != static_cast<int>(spec.dimension) ||
      st->index_->metric_type != kind ||
      static_cast<std::uint64_t>(st->index_->ntotal) != slots)
    throw std::runtime_error("snapshot index does not match the collection");
  if (hnsw) {
    hnsw->hnsw.efConstruction = opts.ef_construction;
    hnsw->hnsw.efSearch = opts.ef_search;
  }
  std::size_t counted = 0;
  for (auto a : st->alive_) counted += a != 0;
  if (counted != live) throw std::runtime_error("snapshot live count is wrong");
  st->live_ = live;
  st->slot_of_.rebuild(st->alive_);
  return st;
}

pending_snapshot::~pending_snapshot() {
  if (!file_) return;
  std::fclose(file_);
  std::remove((path_ + ".tmp").c_str());
}

void pending_snapshot::commit() {
  auto tmp = path_ + ".tmp";
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    io_failure("syncing " + tmp);
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp.c_str(), path_.c_str()) != 0)
    io_failure("renaming " + tmp);
  sync_directory(std::filesystem::path(path_).parent_path().string());
}

std::unique_ptr<pending_snapshot> write_snapshot(const std::string& path,
                                                 const collection_state& state,
                                                 const collection_spec& spec,
                                                 const index_options& opts,
                                                 std::uint64_t incarnation) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  auto tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) io_failure("creating " + tmp);
  auto pending = std::make_unique<pending_snapshot>(path, f);
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  file_writer out(f);
  out(head_magic, 1, sizeof head_magic);
  write_value(out, format_version);
  write_value(out, spec.dimension);
  write_value(out, static_cast<std::uint32_t>(spec.metric));
  write_value(out, static_cast<std::uint32_t>(opts.hnsw ? opts.m : 0));
  write_value(out, incarnation);
  state.save(out);
  auto sum = out.sum.value();
  if (std::fwrite(&sum, sizeof sum, 1, f) != 1 ||
      std::fwrite(tail_magic, 1, sizeof tail_magic, f) != sizeof tail_magic ||
      std::fflush(f) != 0)
    io_failure("writing " + tmp);
  return pending;
}

std::unique_ptr<collection_state> read_snapshot(const std::string& path,
                                                const collection_spec& spec,
                                                const index_options& opts,
                                                std::uint64_t incarnation,
                                                std::string& why) {
  why.clear();
  file_ptr f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    if (errno != ENOENT)
      why = std::string("cannot open: ") + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fileno(f.get()), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) < 64 + trailer_size) {
    why = "truncated";
    return nullptr;
  }
  auto body = static_cast<std::uint64_t>(st.st_size) - trailer_size;
  // Checked whole before any of it is believed: a torn or corrupt file must
  // not steer FAISS's reader into huge allocations.
  {
    checksum sum;
    std::vector<char> chunk(4 << 20);
    for (std::uint64_t left = body; left > 0;) {
      auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
      if (std::fread(chunk.data(), 1, n, f.get()) != n) {
        why = "truncated";
        return nullptr;
      }
      sum.update(chunk.data(), n);
      left -= n;
    }
    std::uint64_t stored = 0;
    char tail[8];
    if (std::fread(&stored, sizeof stored, 1, f.get()) != 1 ||
        std::fread(tail, 1, 8, f.get()) != 8 ||
        std::memcmp(tail, tail_magic, 8) != 0) {
      why = "truncated (no trailer)";
      return nullptr;
    }
    if (stored != sum.value()) {
      why = "checksum mismatch";
      return nullptr;
    }
  }
  std::rewind(f.get());
  file_reader in(f.get(), body);
  try {
    char magic[8];
    take_bytes(in, magic, sizeof magic);
    if (std::memcmp(magic, head_magic, 8) != 0) {
      why = "not a snapshot file";
      return nullptr;
    }
    auto version = take<std::uint32_t>(in);
    if (version < oldest_readable || version > format_version) {
      why = "written by another format version";
      return nullptr;
    }
    auto dim = take<std::uint32_t>(in);
    auto m = take<std::uint32_t>(in);
    auto graph = take<std::uint32_t>(in);
    if (dim != spec.dimension || m != static_cast<std::uint32_t>(spec.metric) ||
        graph != static_cast<std::uint32_t>(opts.hnsw ? opts.m : 0)) {
      why = "built with other index parameters";
      return nullptr;
    }
    if (take<std::uint64_t>(in) != incarnation) {
      why = "of another incarnation of the collection";
      return nullptr;
    }
    auto state = collection_state::load(in, spec, opts, version);
    if (in.left() != 0) {
      why = "has trailing bytes";
      return nullptr;
    }
    return state;
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
}

}  // namespace storage::faiss_detail
