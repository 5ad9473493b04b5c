// `storectl cache ...`: one subcommand per cache operation, each printing the
// JSON shape of CLI.md.
#include <map>
#include <memory>

#include "messages/errors.hpp"
#include "messages/validation.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

using json = nlohmann::ordered_json;

constexpr std::uint32_t scan_page_size = 1000;

struct cache_args {
  store_options store;
  std::string key;
  std::string value;
  std::vector<std::string> keys;
  std::int64_t ttl = 0;
  std::int64_t by = 1;
  std::int64_t ms = 0;
  CLI::Option* ttl_opt = nullptr;
  // Throws invalid_argument before the store is opened.
  std::function<void(const cache_args&)> contract;
};

using body = std::function<void(cache_args&, storage::cache_store&)>;

json optional_json(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

json optional_json(const storage::ttl_ms& v) {
  return v ? json(*v) : json(nullptr);
}

// Checked before the store is opened too: a rejected TTL never waits on a
// server.
storage::ttl_ms ttl_of(const cache_args& a) {
  if (a.ttl_opt == nullptr || a.ttl_opt->count() == 0) return {};
  return require_positive(a.ttl, "--ttl");
}

// Registers `cache NAME`; its parse callback hands the body to main().
CLI::App* command(CLI::App& cache, action& selected,
                  const std::shared_ptr<cache_args>& args, const char* name,
                  const char* help, body run) {
  auto* cmd = cache.add_subcommand(name, help);
  add_store_options(*cmd, args->store);
  cmd->callback([&selected, args, run] {
    selected = [args, run] {
      ttl_of(*args);
      require_utf8(args->key, "KEY");
      require_utf8(args->value, "VALUE");
      for (std::size_t i = 0; i < args->keys.size(); ++i)
        require_utf8(args->keys[i], "KEY " + std::to_string(i + 1));
      if (args->contract) args->contract(*args);
      with_cache_store(args->store,
                       [&](storage::cache_store& c) { run(*args, c); });
    };
  });
  return cmd;
}

void key_positional(CLI::App& cmd, cache_args& a) {
  cmd.add_option("KEY", a.key, "the key")->required();
}

void value_positional(CLI::App& cmd, cache_args& a) {
  cmd.add_option("VALUE", a.value, "the value")->required();
}

void keys_positional(CLI::App& cmd, cache_args& a) {
  cmd.add_option("KEY", a.keys, "one or more keys")->required();
}

void ttl_option(CLI::App& cmd, cache_args& a) {
  a.ttl_opt = cmd.add_option("--ttl", a.ttl,
                             "time to live in milliseconds (default: none)");
}

// Every live key once, sorted: SCAN may repeat a key across pages and its
// order differs between backends.
void list_keys(storage::cache_store& c) {
  std::map<std::string, storage::cache_entry> all;
  std::string cursor;
  do {
    auto page = c.scan(cursor, scan_page_size).get();
    for (auto& e : page.entries) all[e.key] = std::move(e);
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());
  for (const auto& [key, e] : all)
    print({{"key", key}, {"value", e.value}, {"ttl_ms", optional_json(e.ttl)}});
}

}  // namespace

void add_cache_commands(CLI::App& app, action& selected) {
  auto* cache = app.add_subcommand("cache", "cache commands");
  cache->require_subcommand(1);
  auto args = [] { return std::make_shared<cache_args>(); };

  auto a = args();
  auto* cmd = command(*cache, selected, a, "set", "set a key's value",
                      [](cache_args& a, storage::cache_store& c) {
                        c.set(a.key, a.value, ttl_of(a)).get();
                        print({{"ok", true}});
                      });
  key_positional(*cmd, *a);
  value_positional(*cmd, *a);
  ttl_option(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "add", "set a key only if it is absent",
                [](cache_args& a, storage::cache_store& c) {
                  print({{"added", c.add(a.key, a.value, ttl_of(a)).get()}});
                });
  key_positional(*cmd, *a);
  value_positional(*cmd, *a);
  ttl_option(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "get", "a key's value (null: absent)",
                [](cache_args& a, storage::cache_store& c) {
                  auto v = c.get(a.key).get();
                  print({{"key", a.key}, {"value", optional_json(v)}});
                });
  key_positional(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "mget",
                "several keys' values, in the order given",
                [](cache_args& a, storage::cache_store& c) {
                  auto vs = c.mget(a.keys).get();
                  for (std::size_t i = 0; i < a.keys.size(); ++i)
                    print({{"key", a.keys[i]},
                           {"value", i < vs.size() ? optional_json(vs[i])
                                                   : json(nullptr)}});
                });
  keys_positional(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "del", "delete keys",
                [](cache_args& a, storage::cache_store& c) {
                  print({{"deleted", c.del(a.keys).get()}});
                });
  keys_positional(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "exists", "whether a key is live",
                [](cache_args& a, storage::cache_store& c) {
                  print({{"exists", c.exists(a.key).get()}});
                });
  key_positional(*cmd, *a);

  a = args();
  cmd = command(*cache, selected, a, "incr",
                "add to an integer value (a missing key starts at 0)",
                [](cache_args& a, storage::cache_store& c) {
                  print({{"value", c.incr(a.key, a.by).get()}});
                });
  key_positional(*cmd, *a);
  cmd->add_option("--by", a->by, "increment (default 1)");

  a = args();
  cmd = command(*cache, selected, a, "expire",
                "set a key's time to live (false: no such key)",
                [](cache_args& a, storage::cache_store& c) {
                  print({{"ok", c.expire(a.key, a.ms).get()}});
                });
  a->contract = [](const cache_args& a) { require_positive(a.ms, "MS"); };
  key_positional(*cmd, *a);
  cmd->add_option("MS", a->ms, "time to live in milliseconds")->required();

  a = args();
  cmd = command(
      *cache, selected, a, "ttl",
      "a key's remaining time to live (null: no expiry)",
      [](cache_args& a, storage::cache_store& c) {
        auto info = c.ttl(a.key).get();
        print({{"exists", info.exists}, {"ttl_ms", optional_json(info.ttl)}});
      });
  key_positional(*cmd, *a);

  command(*cache, selected, args(), "keys",
          "every live key with its value and remaining time to live",
          [](cache_args&, storage::cache_store& c) { list_keys(c); });

  command(*cache, selected, args(), "clear",
          "remove every key of this cache's namespace",
          [](cache_args&, storage::cache_store& c) {
            print({{"cleared", c.clear().get()}});
          });
}

}  // namespace storectl
