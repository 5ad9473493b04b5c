#include "actors/store_worker.hpp"

#include <caf/all.hpp>

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

cache_worker_actor::behavior_type cache_worker(
    cache_worker_actor::stateful_pointer<worker_state<cache_backend>> self,
    std::function<std::unique_ptr<cache_backend>()> make, std::string store) {
  auto& st = self->state;
  st.make = std::move(make);
  st.store = std::move(store);
  using db = cache_backend;
  return {
      [=](cget_atom, const std::string& k) {
        return self->state.run("get",
                               [&](db& b) { return to_maybe(b.get(k)); });
      },
      [=](cset_atom, const cache_entry& e) {
        return self->state.run("set", [&](db& b) {
          b.set(e.key, e.value, e.ttl);
          return true;
        });
      },
      [=](cadd_atom, const cache_entry& e) {
        return self->state.run(
            "add", [&](db& b) { return b.add(e.key, e.value, e.ttl); });
      },
      [=](cdel_atom, const ids& keys) {
        return self->state.run("del", [&](db& b) { return b.del(keys); });
      },
      [=](cexists_atom, const std::string& k) {
        return self->state.run("exists", [&](db& b) { return b.exists(k); });
      },
      [=](cmget_atom, const ids& keys) {
        return self->state.run("mget", [&](db& b) {
          std::vector<maybe_value> out;
          for (auto& v : b.mget(keys)) out.push_back(to_maybe(v));
          return out;
        });
      },
      [=](cmset_atom, const std::vector<cache_entry>& es) {
        return self->state.run("mset", [&](db& b) {
          b.mset(es);
          return true;
        });
      },
      [=](cincr_atom, const std::string& k, std::int64_t by) {
        return self->state.run("incr", [&](db& b) { return b.incr(k, by); });
      },
      [=](cexpire_atom, const std::string& k, std::int64_t ms) {
        return self->state.run("expire",
                               [&](db& b) { return b.expire(k, ms); });
      },
      [=](cttl_atom, const std::string& k) {
        return self->state.run("ttl", [&](db& b) { return b.ttl(k); });
      },
      [=](cclear_atom) {
        return self->state.run("clear", [&](db& b) { return b.clear(); });
      },
      [=](cscan_atom, const std::string& cursor, std::uint32_t limit) {
        return self->state.run("scan",
                               [&](db& b) { return b.scan(cursor, limit); });
      },
      [=](close_atom) { self->quit(); },
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
