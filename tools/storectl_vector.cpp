// `storectl vector ...`: collections, reads and deletes. Upsert and search,
// which read files, live in storectl_upsert.cpp and storectl_search.cpp.
#include <limits>
#include <map>
#include <memory>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/validation.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

using json = nlohmann::ordered_json;

struct vector_args;
using body = std::function<void(vector_args&, storage::vector_store&)>;
using check = std::function<void(const vector_args&)>;

struct vector_args {
  store_options store;
  std::string collection;
  std::int64_t dim = 0;
  std::string metric = "cosine";
  // --ids and --id values in the order given on the command line.
  std::vector<id_argument> id_args;
  // What CLI11 parses the two options into (their type); id_args is read.
  std::vector<std::string> parsed_id_lists, parsed_ids;
  std::string where;
  CLI::Option* ids_opt = nullptr;
  CLI::Option* id_opt = nullptr;
  CLI::Option* where_opt = nullptr;
  // Throws a CLI11 error (exit 2) for what the parser alone cannot express.
  check syntax;
  // Throws invalid_argument (exit 1) before the store is opened, so a typo
  // never waits on a server.
  check contract;
};

// Registers `vector NAME`; its parse callback hands the body to main().
CLI::App* command(CLI::App& vector, action& selected,
                  const std::shared_ptr<vector_args>& args, const char* name,
                  const char* help, bool with_collection, body run) {
  auto* cmd = vector.add_subcommand(name, help);
  add_store_options(*cmd, args->store);
  if (with_collection)
    cmd->add_option("--collection", args->collection, "collection name")
        ->required();
  cmd->callback([&selected, args, run, with_collection] {
    if (args->syntax) args->syntax(*args);
    selected = [args, run, with_collection] {
      if (with_collection) storage::validate_collection_name(args->collection);
      if (args->contract) args->contract(*args);
      with_vector_store(args->store,
                        [&](storage::vector_store& vs) { run(*args, vs); });
    };
  });
  return cmd;
}

void add_id_options(CLI::App& cmd, vector_args& args) {
  // Each occurrence recorded as it is parsed, so `get` prints in the order
  // the ids were given across both options.
  auto in_order = [&args](bool list) {
    return [&args, list](const std::string& v) {
      args.id_args.push_back({list, v});
    };
  };
  args.ids_opt = cmd.add_option("--ids", args.parsed_id_lists,
                                "comma-separated ids (repeatable)")
                     ->each(in_order(true))
                     ->trigger_on_parse();
  args.id_opt = cmd.add_option("--id", args.parsed_ids,
                               "one id, which may contain a comma (repeatable)")
                    ->each(in_order(false))
                    ->trigger_on_parse();
}

json optional_document(const std::optional<std::string>& d) {
  return d ? json(*d) : json(nullptr);
}

json record_line(const storage::vector_record& r) {
  return {{"id", r.id},
          {"embedding", r.embedding},
          {"metadata", json(storage::metadata_to_json(r.metadata))},
          {"document", optional_document(r.document)}};
}

void run_create(vector_args& a, storage::vector_store& vs) {
  vs.create_collection({a.collection, static_cast<std::uint32_t>(a.dim),
                        storage::parse_metric(a.metric)})
      .get();
  print({{"created", a.collection}});
}

void run_get(vector_args& a, storage::vector_store& vs) {
  auto ids = collect_ids(a.id_args);
  auto found = vs.get(a.collection, ids).get();
  std::map<std::string, const storage::vector_record*> by_id;
  for (const auto& r : found) by_id[r.id] = &r;
  // The contract prints in the order asked, whatever order the backend used;
  // an id asked twice once, as the library answers it.
  for (const auto& id : ids)
    if (auto it = by_id.find(id); it != by_id.end()) {
      print(record_line(*it->second));
      by_id.erase(it);
    }
}

void run_delete(vector_args& a, storage::vector_store& vs) {
  std::uint64_t n = 0;
  if (a.where_opt->count() > 0)
    n = vs.remove_where(a.collection, parse_where(a.where)).get();
  else
    n = vs.remove(a.collection, collect_ids(a.id_args)).get();
  print({{"deleted", n}});
}

void check_create(const vector_args& a) {
  if (a.dim <= 0 || a.dim > std::numeric_limits<std::uint16_t>::max())
    invalid("--dim must be between 1 and 65535, got " + std::to_string(a.dim));
  storage::parse_metric(a.metric);
}

void check_ids(const vector_args& a) {
  collect_ids(a.id_args);
}

void check_delete(const vector_args& a) {
  if (a.where_opt->count() > 0)
    parse_where(a.where);
  else
    check_ids(a);
}

void need_ids(const vector_args& a) {
  if (a.ids_opt->count() + a.id_opt->count() == 0)
    throw CLI::RequiredError("--ids or --id");
}

// --where excludes --ids/--id through CLI11; neither is a missing option.
void need_ids_or_where(const vector_args& a) {
  if (a.ids_opt->count() + a.id_opt->count() + a.where_opt->count() == 0)
    throw CLI::RequiredError("--ids, --id or --where");
}

}  // namespace

storage::filter parse_where(const std::string& text) {
  try {
    return storage::filter::parse(text);
  } catch (const storage::store_error& e) {
    // The filter's own errors already begin "where: ".
    const auto& m = e.message();
    invalid(m.rfind("where: ", 0) == 0 ? "--" + m : "--where: " + m);
  }
}

void add_vector_commands(CLI::App& app, action& selected) {
  auto* vector = app.add_subcommand("vector", "vector store commands");
  vector->require_subcommand(1);

  auto a = std::make_shared<vector_args>();
  a->contract = check_create;
  auto* cmd = command(*vector, selected, a, "create",
                      "create a collection (the same spec again is fine)", true,
                      run_create);
  cmd->add_option("--dim", a->dim, "dimension of the embeddings")->required();
  cmd->add_option("--metric", a->metric, "cosine (default), l2 or ip");

  command(*vector, selected, std::make_shared<vector_args>(), "drop",
          "drop a collection (a missing one is fine)", true,
          [](vector_args& a, storage::vector_store& vs) {
            vs.drop_collection(a.collection).get();
            print({{"dropped", a.collection}});
          });

  command(*vector, selected, std::make_shared<vector_args>(), "list",
          "list collections, one per line", false,
          [](vector_args&, storage::vector_store& vs) {
            for (const auto& spec : vs.list_collections().get())
              print({{"name", spec.name},
                     {"dimension", spec.dimension},
                     {"metric", storage::to_string(spec.metric)}});
          });

  add_upsert_command(*vector, selected);
  add_transfer_commands(*vector, selected);

  a = std::make_shared<vector_args>();
  a->syntax = need_ids;
  a->contract = check_ids;
  cmd = command(*vector, selected, a, "get",
                "print the records found, in the order of the ids given", true,
                run_get);
  add_id_options(*cmd, *a);

  a = std::make_shared<vector_args>();
  a->syntax = need_ids_or_where;
  a->contract = check_delete;
  cmd = command(*vector, selected, a, "delete",
                "delete records by id or by a where filter", true, run_delete);
  add_id_options(*cmd, *a);
  a->where_opt = cmd->add_option("--where", a->where, "JSON where filter")
                     ->excludes(a->ids_opt)
                     ->excludes(a->id_opt);

  add_search_command(*vector, selected);

  command(*vector, selected, std::make_shared<vector_args>(), "count",
          "number of records in a collection", true,
          [](vector_args& a, storage::vector_store& vs) {
            print({{"count", vs.count(a.collection).get()}});
          });
}

}  // namespace storectl
