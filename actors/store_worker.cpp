#include "actors/store_worker.hpp"

#include <caf/all.hpp>

#include "actors/cache_batch.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

// The worker's adapter, created on first use and dropped after an error that
// is not the caller's fault, so the next request reconnects.
template <class Backend>
struct worker_state {
  std::function<std::unique_ptr<Backend>()> make;
  std::unique_ptr<Backend> backend;
  std::string store;

  // Runs `fn` on the adapter; any failure becomes a caf::error naming the
  // operation and the store.
  template <class Fn>
  auto run(const char* op, Fn&& fn) -> caf::result<decltype(fn(*backend))> {
    try {
      if (!backend) backend = make();
      return fn(*backend);
    } catch (const store_error& e) {
      if (e.code() == errc::backend_unavailable || e.code() == errc::internal)
        backend.reset();
      return to_caf_error(e.with_context(op, store));
    } catch (const std::exception& e) {
      backend.reset();
      return to_caf_error(store_error(errc::internal, e.what(), op, store));
    }
  }
};

template <class Backend>
std::function<std::unique_ptr<Backend>()> bind_factory(
    const pool_spec<Backend>& spec, std::uint32_t index) {
  auto make = spec.make_backend;
  return [make, index] { return make(index); };
}

vector_worker_actor::behavior_type vector_worker(
    vector_worker_actor::stateful_pointer<worker_state<vector_backend>> self,
    std::function<std::unique_ptr<vector_backend>()> make, std::string store) {
  auto& st = self->state;
  st.make = std::move(make);
  st.store = std::move(store);
  using db = vector_backend;
  return {
      [=](vcreate_atom, const collection_spec& spec) {
        return self->state.run(
            "create", [&](db& b) { return b.create_collection(spec); });
      },
      [=](vdrop_atom, const std::string& name) {
        return self->state.run("drop",
                               [&](db& b) { return b.drop_collection(name); });
      },
      [=](vlist_atom) {
        return self->state.run("list",
                               [&](db& b) { return b.list_collections(); });
      },
      [=](vupsert_atom, const std::string& c, const records& rs) {
        return self->state.run("upsert",
                               [&](db& b) { return b.upsert(c, rs); });
      },
      [=](vget_atom, const std::string& c, const ids& xs) {
        return self->state.run("get", [&](db& b) { return b.get(c, xs); });
      },
      [=](vdelete_atom, const std::string& c, const ids& xs) {
        return self->state.run("delete",
                               [&](db& b) { return b.remove(c, xs); });
      },
      [=](vdelete_atom, const std::string& c, const filter& w) {
        return self->state.run("delete",
                               [&](db& b) { return b.remove_where(c, w); });
      },
      [=](vcount_atom, const std::string& c) {
        return self->state.run("count", [&](db& b) { return b.count(c); });
      },
      [=](vsearch_atom, const std::string& c, const search_request& r) {
        return self->state.run("search", [&](db& b) { return b.search(c, r); });
      },
      [=](vscan_atom, const std::string& c, const std::string& after,
          std::uint32_t limit) {
        return self->state.run("scan",
                               [&](db& b) { return b.scan(c, after, limit); });
      },
      [=](close_atom) { self->quit(); },
  };
}

maybe_value to_maybe(const std::optional<std::string>& v) {
  return v ? maybe_value{true, *v} : maybe_value{};
}

struct cache_worker_state : worker_state<cache_backend> {
  cache_batch batch;
  bool flush_pending = false;  // a cflush is on its way through the mailbox
  std::uint64_t requests = 0;  // single-key requests received
  std::uint64_t calls = 0;     // adapter calls made for them

  void flush() {
    if (batch.empty()) return;
    ++calls;
    batch.run(backend, make);
  }
};

using cache_self = cache_worker_actor::stateful_pointer<cache_worker_state>;
using db = cache_backend;

// A single-key request. Alone in the mailbox (or on an adapter that cannot
// batch) it runs at once, exactly as an unbatched worker would, so one
// caller waits no longer than before. With more requests waiting it joins
// the batch, which runs when the mailbox has drained, when it is full, or
// at the latest when the cflush sent now comes up: the mailbox is FIFO, so
// every request that was waiting is in the batch by then. Requests never
// overtake each other: only an empty batch lets one run at once.
template <class T, class Fn, class Convert>
caf::result<T> submit(cache_self self, cache_op op, Fn&& now, Convert convert) {
  auto& st = self->state;
  ++st.requests;
  if (st.batch.empty() && (self->mailbox().empty() || !st.backend ||
                           !st.backend->capabilities().batching)) {
    ++st.calls;
    return st.run(op_name(op.kind), now);
  }
  auto rp = self->make_response_promise<T>();
  st.batch.add(std::move(op), rp, convert);
  if (st.batch.size() >= cache_batch::max_size || self->mailbox().empty()) {
    st.flush();
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, cflush_atom::value);
  }
  return rp;
}

cache_op op_on(cache_op_kind kind, const std::string& key) {
  cache_op op;
  op.kind = kind;
  op.key = key;
  return op;
}

cache_op op_on(cache_op_kind kind, const cache_entry& e) {
  auto op = op_on(kind, e.key);
  op.value = e.value;
  op.ttl = e.ttl;
  return op;
}

cache_op op_on(cache_op_kind kind, const std::string& key, std::int64_t n) {
  auto op = op_on(kind, key);
  op.number = n;
  return op;
}

cache_op op_on(cache_op_kind kind, const ids& keys) {
  cache_op op;
  op.kind = kind;
  op.keys = keys;
  return op;
}

std::vector<maybe_value> to_maybes(
    const std::vector<std::optional<std::string>>& vs) {
  std::vector<maybe_value> out;
  out.reserve(vs.size());
  for (auto& v : vs) out.push_back(to_maybe(v));
  return out;
}

bool flag_of(cache_op_result& r) {
  return r.flag;
}

cache_worker_actor::behavior_type cache_worker(
    cache_self self, std::function<std::unique_ptr<cache_backend>()> make,
    std::string store) {
  auto& st = self->state;
  st.make = std::move(make);
  st.store = std::move(store);
  st.batch.set_store(st.store);
  using kind = cache_op_kind;
  return {
      [=](cget_atom, const std::string& k) {
        return submit<maybe_value>(
            self, op_on(kind::get, k),
            [&](db& b) { return to_maybe(b.get(k)); },
            [](cache_op_result& r) { return to_maybe(r.value); });
      },
      [=](cset_atom, const cache_entry& e) {
        return submit<bool>(
            self, op_on(kind::set, e),
            [&](db& b) {
              b.set(e.key, e.value, e.ttl);
              return true;
            },
            flag_of);
      },
      [=](cadd_atom, const cache_entry& e) {
        return submit<bool>(
            self, op_on(kind::add, e),
            [&](db& b) { return b.add(e.key, e.value, e.ttl); }, flag_of);
      },
      [=](cdel_atom, const ids& keys) {
        return submit<std::uint64_t>(
            self, op_on(kind::del, keys), [&](db& b) { return b.del(keys); },
            [](cache_op_result& r) { return r.count; });
      },
      [=](cexists_atom, const std::string& k) {
        return submit<bool>(
            self, op_on(kind::exists, k), [&](db& b) { return b.exists(k); },
            flag_of);
      },
      [=](cmget_atom, const ids& keys) {
        return submit<std::vector<maybe_value>>(
            self, op_on(kind::mget, keys),
            [&](db& b) { return to_maybes(b.mget(keys)); },
            [](cache_op_result& r) { return to_maybes(r.values); });
      },
      [=](cmset_atom, const std::vector<cache_entry>& es) {
        cache_op op;
        op.kind = kind::mset;
        op.entries = es;
        return submit<bool>(
            self, std::move(op),
            [&](db& b) {
              b.mset(es);
              return true;
            },
            flag_of);
      },
      [=](cincr_atom, const std::string& k, std::int64_t by) {
        return submit<std::int64_t>(
            self, op_on(kind::incr, k, by),
            [&](db& b) { return b.incr(k, by); },
            [](cache_op_result& r) { return r.number; });
      },
      [=](cexpire_atom, const std::string& k, std::int64_t ms) {
        return submit<bool>(
            self, op_on(kind::expire, k, ms),
            [&](db& b) { return b.expire(k, ms); }, flag_of);
      },
      [=](cttl_atom, const std::string& k) {
        return submit<ttl_info>(
            self, op_on(kind::ttl, k), [&](db& b) { return b.ttl(k); },
            [](cache_op_result& r) { return r.ttl; });
      },
      // Whole-namespace requests are not batched; whatever arrived before
      // them runs first, so they see every earlier write.
      [=](cclear_atom) {
        self->state.flush();
        return self->state.run("clear", [&](db& b) { return b.clear(); });
      },
      [=](cscan_atom, const std::string& cursor, std::uint32_t limit) {
        self->state.flush();
        return self->state.run("scan",
                               [&](db& b) { return b.scan(cursor, limit); });
      },
      [=](cflush_atom) {
        self->state.flush_pending = false;
        self->state.flush();
      },
      [=](wstats_atom) {
        return caf::result<std::uint64_t, std::uint64_t>(self->state.requests,
                                                         self->state.calls);
      },
      [=](close_atom) {
        self->state.flush();
        self->quit();
      },
  };
}

}  // namespace

vector_worker_actor spawn_vector_worker(caf::actor_system& sys,
                                        const pool_spec<vector_backend>& spec,
                                        std::uint32_t index) {
  return sys.spawn<caf::detached>(vector_worker, bind_factory(spec, index),
                                  spec.store);
}

cache_worker_actor spawn_cache_worker(caf::actor_system& sys,
                                      const pool_spec<cache_backend>& spec,
                                      std::uint32_t index) {
  return sys.spawn<caf::detached>(cache_worker, bind_factory(spec, index),
                                  spec.store);
}

}  // namespace storage
