#include "actors/pool/store_dispatcher.hpp"

#include <memory>
#include <mutex>
#include <optional>

#include "actors/pool/pool_spec.hpp"
#include "actors/pool/shard_scatter.hpp"
#include "adapters/storage_log.hpp"
#include "messages/caf_support.hpp"
#include "messages/interfaces.hpp"

namespace storage {

namespace {

class dispatcher final : public caf::monitorable_actor {
 public:
  dispatcher(caf::actor_config& cfg, std::shared_ptr<route_table> table)
      : caf::monitorable_actor(cfg), table_(std::move(table)) {}

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    auto& content = what->content();
    if (content.match_elements<caf::exit_msg>()) {
      // The runtime closes the router itself; the handle only goes away,
      // and lets go of the table (and through it the workers) now: a
      // handle sent to another node can outlive its store in CAF, and
      // the actor system's shutdown waits for every detached worker.
      cleanup(std::move(content.get_mutable_as<caf::exit_msg>(0).reason), eu);
      std::atomic_store(&table_, std::shared_ptr<route_table>{});
      return;
    }
    auto table = std::atomic_load(&table_);
    if (getf(is_terminated_flag) || !table) {
      reply_error(*what, caf::make_error(caf::sec::request_receiver_down),
                  caf::actor_cast<caf::strong_actor_ptr>(this), eu);
      return;
    }
    auto op = op_of(content);
    if (op == store_op::other) {  // a router's own message
      table->to_router(std::move(what), eu);
      return;
    }
    table->dispatch(std::move(what), op, eu,
                    caf::actor_cast<caf::strong_actor_ptr>(this));
  }

  const char* name() const override { return "store_dispatcher"; }

 private:
  std::shared_ptr<route_table> table_;
};

// The one key (cache) or id (vector) a request is about, if it is about
// exactly one; otherwise (several, a whole collection or store) nullopt.
std::optional<std::string> single_key(const caf::type_erased_tuple& x) {
  using std::string;
  if (x.size() < 2 || !x.match_element<caf::atom_value>(0)) return std::nullopt;
  auto a = x.get_as<caf::atom_value>(0);
  if (a == cget_atom::value || a == cexists_atom::value ||
      a == cttl_atom::value || a == cincr_atom::value ||
      a == cexpire_atom::value) {
    if (x.match_element<string>(1)) return x.get_as<string>(1);
  } else if (a == cset_atom::value || a == cadd_atom::value) {
    if (x.match_element<cache_entry>(1)) return x.get_as<cache_entry>(1).key;
  } else if (a == cdel_atom::value || a == cmget_atom::value) {
    if (x.match_element<ids>(1) && x.get_as<ids>(1).size() == 1)
      return x.get_as<ids>(1)[0];
  } else if (a == cmset_atom::value) {
    if (x.match_element<std::vector<cache_entry>>(1) &&
        x.get_as<std::vector<cache_entry>>(1).size() == 1)
      return x.get_as<std::vector<cache_entry>>(1)[0].key;
  } else if (a == vupsert_atom::value && x.size() == 3) {
    if (x.match_element<records>(2) && x.get_as<records>(2).size() == 1)
      return x.get_as<records>(2)[0].id;
  } else if ((a == vget_atom::value || a == vdelete_atom::value) &&
             x.size() == 3) {
    if (x.match_element<ids>(2) && x.get_as<ids>(2).size() == 1)
      return x.get_as<ids>(2)[0];
  }
  return std::nullopt;
}

// Names the caller's operation (`incr`, not "request"), as a worker's
// errors do.
caf::error store_failure(errc code, std::string msg, store_op op,
                         const route& r) {
  return to_caf_error(
      store_error(code, std::move(msg), to_string(op), r.store));
}

}  // namespace

void reply_error(caf::mailbox_element& what, caf::error err,
                 const caf::strong_actor_ptr& self, caf::execution_unit* eu) {
  if (!what.sender || !what.mid.is_request()) return;
  what.sender->enqueue(caf::make_mailbox_element(self, what.mid.response_id(),
                                                 {}, std::move(err)),
                       eu);
}

std::shared_ptr<const route> route_table::current() const {
  std::shared_lock<std::shared_mutex> guard(mtx_);
  return route_;
}

void route_table::close() {
  std::unique_lock<std::shared_mutex> guard(mtx_);
  route_ = nullptr;
  pending_ = nullptr;
  has_pending_ = false;
  router_ = nullptr;
}

void route_table::via_router(std::shared_ptr<const route> r) {
  std::unique_lock<std::shared_mutex> guard(mtx_);
  route_ = std::move(r);
  pending_ = nullptr;
  has_pending_ = false;
}

void route_table::go_direct(std::shared_ptr<const route> r) {
  std::unique_lock<std::shared_mutex> guard(mtx_);
  if (forwarded_ == 0) {
    route_ = std::move(r);
    pending_ = nullptr;
    has_pending_ = false;
  } else {
    pending_ = std::move(r);
    has_pending_ = true;
  }
}

void route_table::taken(caller_id caller) {
  {
    std::lock_guard<std::mutex> g(routed_mtx_);
    if (auto it = routed_.find(caller);
        it != routed_.end() && --it->second == 0)
      routed_.erase(it);
  }
  if (--forwarded_ == 0 && has_pending_) try_switch();
}

bool route_table::routed_to_router(caller_id caller) {
  std::lock_guard<std::mutex> g(routed_mtx_);
  return routed_.count(caller) > 0;
}

void route_table::try_switch() {
  std::unique_lock<std::shared_mutex> guard(mtx_);
  if (!pending_ || forwarded_ != 0) return;
  route_ = std::move(pending_);
  pending_ = nullptr;
  has_pending_ = false;
}

void route_table::to_router(caf::mailbox_element_ptr what,
                            caf::execution_unit* eu) {
  std::shared_lock<std::shared_mutex> guard(mtx_);
  if (router_) {
    router_->enqueue(std::move(what), eu);
    return;
  }
  guard.unlock();
  reply_error(*what, caf::make_error(caf::sec::request_receiver_down), nullptr,
              eu);
}

namespace {

// A caller is the sending actor. Actor ids are unique per node only, so a
// sender of another node (a caf:// client's reply relay) counts its node in.
caller_id caller_of(const caf::strong_actor_ptr& sender,
                    const caf::node_id& here) {
  if (!sender) return 0;
  if (sender->node() == here) return sender->id();
  return sender->id() ^ std::hash<caf::node_id>{}(sender->node()) ^
         (caller_id{1} << 63);
}

// One warning per store and 10 s, however many requests are turned away.
void note_overload(store_metrics& m, const route& r) {
  m.overload_log.note(
      [store = r.store, max = r.gauge->max_inflight()](std::uint64_t n) {
        storage_log()->warn(
            "store {}: {} request(s) turned away as overloaded (more than {} "
            "in flight) since the last report",
            store, n, max);
      });
}

}  // namespace

void route_table::dispatch(caf::mailbox_element_ptr what, store_op op,
                           caf::execution_unit* eu,
                           const caf::strong_actor_ptr& self) {
  if (has_pending_ && forwarded_ == 0) try_switch();
  // Held while the request is handed on, so the route cannot switch to
  // direct between counting a forwarded request and its enqueue.
  std::shared_lock<std::shared_mutex> guard(mtx_);
  if (!route_) {
    reply_error(*what, caf::make_error(caf::sec::request_receiver_down), self,
                eu);
    return;
  }
  auto& r = *route_;
  job_ticket t;
  t.start = deadline_clock::now();
  t.deadline = std::min(t.start + r.timeout, dispatch_deadline_cap());
  t.op = op;
  t.caller = caller_of(what->sender, self->node());
  if (!r.gauge->try_admit()) {
    metrics->record(op, errc::overloaded, t.start);
    note_overload(*metrics, r);
    reply_error(
        *what,
        store_failure(errc::overloaded,
                      "more than " + std::to_string(r.gauge->max_inflight()) +
                          " requests in flight",
                      op, r),
        self, eu);
    return;
  }
  auto forward = [&] {
    t.token = load_token(r.gauge, pool_gauge::no_worker, 0);
    ++forwarded_;
    {
      std::lock_guard<std::mutex> g(routed_mtx_);
      ++routed_[t.caller];
    }
    router_->enqueue(make_job(std::move(what), std::move(t)), eu);
  };
  // Not direct: all to the router, or (a live migration) all but the
  // reads of callers the router holds nothing of.
  if (!r.direct &&
      (!r.reads_direct || !is_read(op) || routed_to_router(t.caller)))
    return forward();
  std::uint32_t w = 0;
  caller_id caller = 0;  // shards are chosen by key: no claim
  if (r.sharded) {
    auto n = static_cast<std::uint32_t>(r.workers.size());
    if (n > 1) {
      // One key: its shard. A search, a count or a keyed batch: the
      // shards it concerns, sent from here (shard_scatter.hpp). Anything
      // else about several shards (a whole-store operation, a scan), or a
      // caller whose earlier request the router still holds (checked above
      // if not direct): the router, which splits the request and keeps the
      // caller's order.
      auto key = single_key(what->content());
      if (r.direct && routed_to_router(t.caller)) return forward();
      if (!key && scatter_to_shards(*what, t, r, metrics, eu, self)) return;
      if (!key) return forward();
      w = static_cast<std::uint32_t>(key_hash(*key) % n);
    }
    if (!r.workers[w])
      w = pool_gauge::no_worker;
    else
      r.gauge->assign(w);
  } else {
    caller = t.caller;
    w = r.gauge->place(
        caller, [&](std::uint32_t i) { return r.workers[i] != nullptr; });
  }
  if (w == pool_gauge::no_worker) {
    r.gauge->release(pool_gauge::no_worker, 0);
    metrics->record(op, errc::backend_unavailable, t.start);
    reply_error(*what,
                store_failure(errc::backend_unavailable,
                              "every worker is being restarted", op, r),
                self, eu);
    return;
  }
  t.token = load_token(r.gauge, w, caller);
  // Alone on an idle worker: run it here (the token goes when t does).
  if (r.gauge->load(w) == 1 && r.runners[w] &&
      r.runners[w]->run_inline(*what, t, eu, r.workers[w], what->sender))
    return;
  r.workers[w]->enqueue(make_job(std::move(what), std::move(t)), eu);
}

caf::actor spawn_dispatcher(caf::actor_system& sys,
                            std::shared_ptr<route_table> table) {
  caf::actor_config cfg;
  return caf::make_actor<dispatcher, caf::actor>(
      sys.next_actor_id(), sys.node(), &sys, cfg, std::move(table));
}

}  // namespace storage
