// The directory a serving node publishes (node_protocol.hpp): a store's
// handle by name, the list of stores, and live migrations of its stores run
// here on behalf of a client -- this node sees every client's writes, so a
// migration here covers them all.
#include "runtime/node_directory.hpp"

#include <future>
#include <map>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "adapters/storage_log.hpp"
#include "messages/caf_support.hpp"
#include "messages/store_uri.hpp"
#include "runtime/runtime.hpp"

namespace storage {

namespace {

live_report report_of(const live_migration& m, const std::string& target) {
  auto p = m.progress();
  live_report r;
  r.state = to_string(p.state);
  r.collection = p.collection;
  r.copied = p.copied;
  r.verified = p.verified;
  r.total = p.total;
  r.finalized = p.finalized;
  r.mirroring_back = p.mirroring_back;
  r.cutover_ms = p.cutover_ms;
  r.seconds = p.seconds;
  r.target = target;
  auto result = m.result();
  if (result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    try {
      auto& res = result.get();
      r.has_result = true;
      r.copied = res.copied;
      r.source_count = res.source_count;
      r.target_count = res.target_count;
      r.result_verified = res.verified;
    } catch (const store_error& e) {
      r.error_code = static_cast<std::uint8_t>(e.code());
      // The message, not what(): the client names code and operation, and
      // they came twice. The store it failed on may be the target.
      r.error =
          e.message() + (e.store().empty() ? "" : " (at " + e.store() + ")");
    }
  }
  return r;
}

struct entry {
  caf::strong_actor_ptr handle;
  served_store info;
};

struct migration_entry {
  live_migration migration;
  std::string target;  // redacted
};

struct directory_state {
  std::map<std::string, entry> stores;
  std::map<std::string, migration_entry> migrations;
  // Client nodes that greeted with this node's protocol version, and those
  // refused (logged once each). A node is a client process; their number
  // stays small, so none is forgotten.
  std::set<caf::node_id> greeted;
  std::set<caf::node_id> refused;
};

node_directory_actor::behavior_type directory(
    node_directory_actor::stateful_pointer<directory_state> self, runtime* rt,
    std::vector<std::pair<caf::strong_actor_ptr, served_store>> stores) {
  for (auto& [h, info] : stores) self->state.stores[info.name] = entry{h, info};
  auto not_served = [self](const std::string& name) {
    std::string names;
    for (auto& [n, e] : self->state.stores)
      names += (names.empty() ? "" : ", ") + n;
    return to_caf_error(store_error(errc::invalid_argument,
                                    "this node serves no store named '" + name +
                                        "' (it serves " + names + ")",
                                    "open"));
  };
  // The migration of `name`, or an error saying there is none.
  auto migration_of =
      [self](const std::string& name) -> caf::expected<migration_entry> {
    auto it = self->state.migrations.find(name);
    if (it == self->state.migrations.end())
      return to_caf_error(store_error(
          errc::invalid_argument,
          "no live migration of store '" + name + "' was started on this node",
          "migrate", name));
    return it->second;
  };
  // abort() and finalize() wait for the store to switch: off the actor.
  auto complete = [self](migration_entry m,
                         bool abort) -> caf::result<live_report> {
    auto rp = self->make_response_promise<live_report>();
    std::thread([m, abort, rp]() mutable {
      try {
        if (abort)
          m.migration.abort();
        else
          m.migration.finalize();
        rp.deliver(report_of(m.migration, m.target));
      } catch (const store_error& e) {
        rp.deliver(to_caf_error(e));
      }
    }).detach();
    return rp;
  };
  // `unsupported`; the node's log names the client's node once.
  auto refuse = [self](std::string what) {
    auto& sender = self->current_sender();
    auto from = sender ? sender->node() : caf::node_id{};
    if (self->state.refused.insert(from).second)
      storage_log()->warn("refused a client (node {}): {}",
                          caf::to_string(from), what);
    return to_caf_error(
        store_error(errc::unsupported, std::move(what), "open"));
  };
  // An error unless the sender's node greeted (node_protocol.hpp).
  auto ungreeted = [self, refuse]() -> caf::error {
    auto& sender = self->current_sender();
    if (sender && self->state.greeted.count(sender->node())) return {};
    return refuse(
        "the client did not greet this node with its protocol version "
        "(nhello): it runs a storage_runtime older than the node (node "
        "protocol " +
        std::to_string(node_protocol_version) +
        "); run the same version on both sides");
  };
  return {
      [=](nhello_atom, std::uint32_t theirs) -> caf::result<std::uint32_t> {
        if (theirs != node_protocol_version)
          return refuse("the client speaks node protocol " +
                        std::to_string(theirs) + ", this node " +
                        std::to_string(node_protocol_version) +
                        "; run the same storage_runtime version on both sides");
        if (auto& sender = self->current_sender())
          self->state.greeted.insert(sender->node());
        return node_protocol_version;
      },
      [=](nlookup_atom, const std::string& name)
          -> caf::result<caf::strong_actor_ptr, served_store> {
        if (auto e = ungreeted()) return e;
        auto it = self->state.stores.find(name);
        if (it == self->state.stores.end()) return not_served(name);
        return {it->second.handle, it->second.info};
      },
      [=](nlist_atom) -> caf::result<std::vector<served_store>> {
        if (auto e = ungreeted()) return e;
        std::vector<served_store> out;
        for (auto& [n, e] : self->state.stores) out.push_back(e.info);
        return out;
      },
      [=](nmigrate_atom, const std::string& name,
          const live_request& req) -> caf::result<live_report> {
        if (auto e = ungreeted()) return e;
        if (!self->state.stores.count(name)) return not_served(name);
        try {
          live_options opts;
          opts.batch = req.batch;
          opts.verify = req.verify;
          auto target = redact_uri(rt->resolve(req.target));
          auto m = rt->migrate_live(name, req.target, opts);
          storage_log()->info("store '{}': live migration to {} started", name,
                              target);
          self->state.migrations.insert_or_assign(name,
                                                  migration_entry{m, target});
          return report_of(m, target);
        } catch (const store_error& e) {
          return to_caf_error(e);
        }
      },
      [=](nprogress_atom, const std::string& name) -> caf::result<live_report> {
        if (auto e = ungreeted()) return e;
        auto m = migration_of(name);
        if (!m) return std::move(m.error());
        return report_of(m->migration, m->target);
      },
      [=](nabort_atom, const std::string& name) -> caf::result<live_report> {
        if (auto e = ungreeted()) return e;
        auto m = migration_of(name);
        if (!m) return std::move(m.error());
        return complete(*m, true);
      },
      [=](nfinalize_atom, const std::string& name) -> caf::result<live_report> {
        if (auto e = ungreeted()) return e;
        auto m = migration_of(name);
        if (!m) return std::move(m.error());
        return complete(*m, false);
      },
      [=](nstats_atom, const std::string& name) -> caf::result<std::string> {
        if (auto e = ungreeted()) return e;
        if (!self->state.stores.count(name)) return not_served(name);
        try {
          auto s = rt->stats(name);
          s.store = name;
          return to_json(s);
        } catch (const store_error& e) {
          return to_caf_error(e);
        }
      },
  };
}

}  // namespace

node_directory_actor spawn_node_directory(
    runtime& rt,
    std::vector<std::pair<caf::strong_actor_ptr, served_store>> stores) {
  return rt.system().spawn(directory, &rt, std::move(stores));
}

}  // namespace storage
