// `storectl vector import` and `vector export`: whole collections as JSON
// lines in upsert's format, for files too large to hold in memory, with
// the same progress as migrate (a bar on a terminal, else one JSON line per
// second on stderr). Import reads its file twice: the first pass checks
// every line (JSON, record, one dimension, no duplicate id) so bad input
// writes nothing; the second sends it in batches. Export writes a file to a
// temporary one renamed into place, so a failed export leaves no partial
// file under the name asked for (a device or FIFO is written in place).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_set>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"
#include "runtime/migrate_progress.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

struct transfer_args {
  store_options store;
  std::string collection;
  std::string file;
  std::string metric;  // empty: cosine for a new collection, any existing one
  std::int64_t batch = 500;

  storage::metric metric_or_default() const {
    return storage::parse_metric(metric.empty() ? "cosine" : metric);
  }
};

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Progress on stderr, at most once a second (and once at the end).
class throttled_progress {
 public:
  throttled_progress(std::string collection, std::uint64_t total)
      : render_(std::cerr, ::isatty(STDERR_FILENO) == 1),
        collection_(std::move(collection)),
        total_(total) {}

  void operator()(std::uint64_t done, bool last = false) {
    auto now = clock::now();
    if (!last && now - shown_ < std::chrono::seconds(1)) return;
    shown_ = now;
    render_({collection_, done, total_, seconds()});
    if (last) render_.finish();
  }
  double seconds() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }

 private:
  using clock = std::chrono::steady_clock;
  storage::progress_renderer render_;
  std::string collection_;
  std::uint64_t total_;
  clock::time_point start_ = clock::now();
  clock::time_point shown_ = start_;
};

struct checked_file {
  std::uint64_t records = 0;
  std::uint32_t dimension = 0;
};

// The first pass: every line valid, one dimension, no id twice.
checked_file check_file(const std::string& path) {
  auto in = open_input_file(path, "--file");
  checked_file out;
  std::unordered_set<std::string> seen;
  std::string line;
  std::size_t first_line = 0;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    auto r = parse_record_line(line, n);
    auto dim = static_cast<std::uint32_t>(r.embedding.size());
    if (out.records == 0) {
      out.dimension = dim;
      first_line = n;
    } else if (dim != out.dimension) {
      throw storage::store_error(storage::errc::dimension_mismatch,
                                 "line " + std::to_string(n) +
                                     ": embedding has " + std::to_string(dim) +
                                     " values, line " +
                                     std::to_string(first_line) + " has " +
                                     std::to_string(out.dimension));
    }
    if (!seen.insert(r.id).second)
      invalid("line " + std::to_string(n) + ": duplicate id '" + r.id + "'");
    ++out.records;
  }
  if (in.bad()) invalid("cannot read --file '" + path + "'");
  return out;
}

// Creates the collection for `f` with --metric when it does not exist;
// true if it did. An existing one must have the file's dimension, and the
// metric --metric names if given (as `vector create` would insist).
bool ensure_collection(storage::vector_store& vs, const transfer_args& a,
                       const checked_file& f) {
  for (const auto& spec : vs.list_collections().get()) {
    if (spec.name != a.collection) continue;
    if (f.records > 0 && spec.dimension != f.dimension)
      throw storage::store_error(
          storage::errc::dimension_mismatch,
          "--file '" + a.file + "' holds embeddings of " +
              std::to_string(f.dimension) + " values, collection '" +
              a.collection + "' has dimension " +
              std::to_string(spec.dimension),
          "import", vs.name());
    if (!a.metric.empty() && spec.metric != storage::parse_metric(a.metric))
      throw storage::store_error(
          storage::errc::conflict,
          "collection '" + a.collection + "' exists with metric " +
              storage::to_string(spec.metric) + ", not --metric " + a.metric +
              "; nothing was written",
          "import", vs.name());
    return false;
  }
  if (f.records == 0)
    throw storage::store_error(
        storage::errc::collection_not_found,
        "collection '" + a.collection +
            "' does not exist and --file holds no record to size it by",
        "import", vs.name());
  vs.create_collection({a.collection, f.dimension, a.metric_or_default(), true})
      .get();
  return true;
}

void import_file(const transfer_args& a) {
  storage::validate_collection_name(a.collection);
  a.metric_or_default();  // a bad --metric fails before anything is read
  auto batch = static_cast<std::size_t>(require_positive(a.batch, "--batch"));
  auto checked = check_file(a.file);
  with_vector_store(a.store, [&](storage::vector_store& vs) {
    bool created = ensure_collection(vs, a, checked);
    throttled_progress progress(a.collection, checked.records);
    auto in = open_input_file(a.file, "--file");
    std::vector<storage::vector_record> chunk;
    std::uint64_t written = 0;
    auto send = [&] {
      if (chunk.empty()) return;
      written += vs.upsert(a.collection, std::move(chunk)).get();
      chunk.clear();
      progress(written);
    };
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (blank(line)) continue;
      chunk.push_back(parse_record_line(line, n));
      if (chunk.size() >= batch) send();
    }
    send();
    if (created) {
      // Created with the index deferred for the bulk load; building it now
      // is create_collection again without the flag.
      vs.create_collection(
            {a.collection, checked.dimension, a.metric_or_default()})
          .get();
    }
    progress(written, true);
    print({{"imported", written},
           {"collection", a.collection},
           {"created", created},
           {"seconds", progress.seconds()}});
  });
}

// Where export writes, and how. A regular file (or a new one) is written
// beside it and renamed into place; a symlink is followed first, so the
// file it points to is replaced and the link stays; a device or a FIFO
// (/dev/stdout, a named pipe) is written in place, since renaming onto it
// would replace the device node itself.
struct export_target {
  std::string path;  // what is finally written (a symlink resolved)
  bool in_place = false;
};

export_target export_target_of(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  export_target t{file, false};
  if (fs::is_symlink(fs::symlink_status(file, ec))) {
    auto resolved = fs::weakly_canonical(file, ec);
    if (ec) invalid("cannot resolve --file '" + file + "': " + ec.message());
    t.path = resolved.string();
  }
  auto st = fs::status(t.path, ec);
  if (fs::is_directory(st)) invalid("--file '" + file + "' is a directory");
  t.in_place = fs::exists(st) && !fs::is_regular_file(st);
  return t;
}

void export_collection(const transfer_args& a) {
  storage::validate_collection_name(a.collection);
  auto page = static_cast<std::uint32_t>(require_positive(a.batch, "--batch"));
  with_vector_store(a.store, [&](storage::vector_store& vs) {
    auto total = vs.count(a.collection).get();
    std::ofstream file;
    std::string temp;  // empty when writing to stdout or in place
    const std::string what = a.file.empty() ? std::string("standard output")
                                            : "--file '" + a.file + "'";
    export_target target;
    if (!a.file.empty()) {
      target = export_target_of(a.file);
      if (!target.in_place) temp = target.path + ".partial";
      file.open(target.in_place ? target.path : temp, std::ios::trunc);
      if (!file) invalid("cannot write " + what);
    }
    std::ostream& out = a.file.empty() ? std::cout : file;
    throttled_progress progress(a.collection, total);
    std::uint64_t written = 0;
    std::string cursor;
    try {
      do {
        auto p = vs.scan(a.collection, cursor, page).get();
        for (const auto& r : p.records)
          out << storage::record_to_json(r).dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
        written += p.records.size();
        cursor = std::move(p.next_cursor);
        progress(written);
      } while (!cursor.empty());
      out.flush();
      if (!a.file.empty()) file.close();
      if (!out) invalid("cannot write " + what);
    } catch (...) {
      if (!temp.empty()) std::remove(temp.c_str());
      throw;
    }
    progress(written, true);
    if (a.file.empty()) return;  // stdout holds the records themselves
    if (!temp.empty() && std::rename(temp.c_str(), target.path.c_str()) != 0)
      invalid("cannot rename '" + temp + "' to " + what);
    print({{"exported", written},
           {"collection", a.collection},
           {"file", a.file},
           {"seconds", progress.seconds()}});
  });
}

}  // namespace

void add_transfer_commands(CLI::App& vector, action& selected) {
  auto in = std::make_shared<transfer_args>();
  auto* imp = vector.add_subcommand(
      "import",
      "load a JSON-lines file (upsert's format) into a collection, creating "
      "it if needed; nothing is written if any line is bad");
  add_store_options(*imp, in->store);
  imp->add_option("--collection", in->collection, "collection name")
      ->required();
  imp->add_option("--file", in->file, "JSON lines {\"id\",\"embedding\",...}")
      ->required();
  imp->add_option("--metric", in->metric,
                  "cosine (default), l2 or ip: the metric of a collection "
                  "import creates; one that exists with another is a "
                  "conflict");
  imp->add_option("--batch", in->batch, "records per upsert (default 500)");
  imp->callback([&selected, in] { selected = [in] { import_file(*in); }; });

  auto out = std::make_shared<transfer_args>();
  auto* exp = vector.add_subcommand(
      "export",
      "write a collection as JSON lines (upsert's format) to --file or "
      "stdout");
  add_store_options(*exp, out->store);
  exp->add_option("--collection", out->collection, "collection name")
      ->required();
  exp->add_option("--file", out->file,
                  "where to write (default: the records on stdout)");
  exp->add_option("--batch", out->batch, "records per scan page (default 500)");
  exp->callback(
      [&selected, out] { selected = [out] { export_collection(*out); }; });
}

}  // namespace storectl
