#include "soak_run.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "support/sanitizers.hpp"

namespace storage::soak {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How one request ended.
struct answer {
  enum { ok, error, none } kind = none;  // none: no answer in time
  state value;
  std::string what;
};

template <class T, class Read>
answer settle(std::future<T> f, milliseconds bound, Read read) {
  answer a;
  if (f.wait_for(bound) != std::future_status::ready) return a;  // abandoned
  try {
    if constexpr (std::is_void_v<T>) {
      f.get();
    } else {
      a.value = read(f.get());
    }
    a.kind = answer::ok;
  } catch (const store_error& e) {
    a.kind = answer::error;
    a.what = to_string(e.code());
  } catch (const std::exception& e) {
    a.kind = answer::error;
    a.what = std::string("not a store_error: ") + e.what();
  }
  return a;
}

// The three operations on one key, for either kind of store.
struct store_ops {
  std::function<answer(const std::string&, const std::string&)> write;
  std::function<answer(const std::string&)> erase;
  std::function<answer(const std::string&)> read;
};

const std::string collection = "soak";

store_ops cache_ops(cache_store c, milliseconds bound) {
  auto none = [](auto&&) { return state{}; };
  return {
      [=](const std::string& k, const std::string& v) mutable {
        return settle(c.set(k, v), bound, none);
      },
      [=](const std::string& k) mutable {
        return settle(c.del({k}), bound, none);
      },
      [=](const std::string& k) mutable {
        return settle(c.get(k), bound,
                      [](const std::optional<std::string>& v) { return v; });
      },
  };
}

store_ops vector_ops(vector_store vs, milliseconds bound) {
  auto none = [](auto&&) { return state{}; };
  return {
      [=](const std::string& id, const std::string& v) mutable {
        vector_record r{id, {1.0f, float(v.size()), 0.5f, 0.25f}, {}, {}};
        r.metadata["v"] = v;
        return settle(vs.upsert(collection, {r}), bound, none);
      },
      [=](const std::string& id) mutable {
        return settle(vs.remove(collection, {id}), bound, none);
      },
      [=](const std::string& id) mutable {
        return settle(
            vs.get(collection, {id}), bound,
            [](const std::vector<vector_record>& rs) -> state {
              if (rs.empty()) return {};
              return std::get<std::string>(rs.front().metadata.at("v"));
            });
      },
  };
}

class recorder {
 public:
  void count(const answer& a) {
    std::lock_guard<std::mutex> g{m_};
    ++t_.ops;
    if (a.kind == answer::error) {
      ++t_.failed;
      ++t_.errors[a.what];
    }
  }
  void violation(std::string what) {
    std::lock_guard<std::mutex> g{m_};
    if (t_.violations.size() < 100) t_.violations.push_back(std::move(what));
  }
  void fault() {
    std::lock_guard<std::mutex> g{m_};
    ++t_.faults;
  }
  void fault_failed(std::string what) {
    std::lock_guard<std::mutex> g{m_};
    ++t_.faults;
    t_.failed_faults.push_back(std::move(what));
  }
  tally result() {
    std::lock_guard<std::mutex> g{m_};
    return t_;
  }

 private:
  std::mutex m_;
  tally t_;
};

void caller(unsigned id, const slot& s, const store_ops& ops, recorder& rec,
            clock_type::time_point end) {
  std::mt19937_64 rng(id * 7919 + 17);
  std::vector<key_model> models(s.keys_per_caller);
  auto key = [&](std::size_t j) {
    return "c" + std::to_string(id) + "-" + std::to_string(j);
  };
  auto check_read = [&](std::size_t j, const answer& a) {
    if (a.kind == answer::ok && !models[j].read(a.value))
      rec.violation(s.backend + ": " + key(j) + " read " +
                    key_model::show(a.value) + ", the model allows " +
                    models[j].describe());
  };
  auto unanswered = [&](const char* op, std::size_t j) {
    rec.violation(s.backend + ": " + op + " " + key(j) +
                  " unanswered past its deadline");
  };
  const auto bound = s.deadline + milliseconds(5000);
  std::uint64_t version = 0;
  while (clock_type::now() < end) {
    auto j = rng() % models.size();
    auto dice = rng() % 100;
    if (dice < 45) {
      auto v = "c" + std::to_string(id) + "v" + std::to_string(++version);
      auto a = ops.write(key(j), v);
      rec.count(a);
      if (a.kind == answer::ok)
        models[j].acknowledged(v);
      else
        models[j].maybe(v);
      if (a.kind == answer::none) unanswered("write", j);
    } else if (dice < 60) {
      auto a = ops.erase(key(j));
      rec.count(a);
      if (a.kind == answer::ok)
        models[j].acknowledged_delete();
      else
        models[j].maybe_deleted();
      if (a.kind == answer::none) unanswered("delete", j);
    } else {
      auto a = ops.read(key(j));
      rec.count(a);
      check_read(j, a);
      if (a.kind == answer::none) unanswered("read", j);
    }
  }
  // Every fault is over: each key must read as the model says, soon.
  for (std::size_t j = 0; j < models.size(); ++j) {
    answer a;
    auto give_up = clock_type::now() + std::chrono::seconds(60);
    do {
      a = ops.read(key(j));
      if (a.kind != answer::ok) std::this_thread::sleep_for(milliseconds(200));
    } while (a.kind != answer::ok && clock_type::now() < give_up);
    if (a.kind != answer::ok)
      rec.violation(s.backend + ": " + key(j) + " unreadable after the run");
    check_read(j, a);
  }
}

}  // namespace

double rss_mib() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * ::sysconf(_SC_PAGESIZE) /
         (1024.0 * 1024.0);
}

tally run_slot(runtime& rt, const slot& s) {
  recorder rec;
  const auto bound = s.deadline + milliseconds(5000);
  store_ops ops;
  if (s.vector) {
    auto vs = rt.open_vector(s.uri);
    vs.drop_collection(collection).get();  // an earlier run's
    vs.create_collection({collection, 4, metric::l2}).get();
    ops = vector_ops(vs, bound);
  } else {
    ops = cache_ops(rt.open_cache(s.uri), bound);
  }
  auto start = clock_type::now();
  auto end = start + s.length;
  std::vector<std::thread> callers;
  for (unsigned c = 0; c < s.callers; ++c)
    callers.emplace_back([&, c] { caller(c, s, ops, rec, end); });
  std::thread faults([&] {
    for (std::size_t i = 0; i < s.faults.size(); ++i) {
      std::this_thread::sleep_until(start +
                                    s.length * (i + 1) / (s.faults.size() + 1));
      // An administrative step may fail while a server is down (a swap
      // that cannot connect); the store must stay consistent regardless.
      try {
        s.faults[i].inject();
        rec.fault();
      } catch (const std::exception& e) {
        rec.fault_failed(s.faults[i].name + ": " + e.what());
      }
    }
  });
  std::this_thread::sleep_until(start + s.length / 2);
  auto rss_half = rss_mib();
  faults.join();
  for (auto& t : callers) t.join();
  auto grown = rss_mib() - rss_half;
  // Flat: the key space is fixed, so the second half should allocate
  // nothing lasting.
  if (test::rss_measures_our_memory && grown > 128)
    rec.violation(s.backend + ": resident memory grew " +
                  std::to_string(static_cast<int>(grown)) +
                  " MiB over the second half of the run");
  return rec.result();
}

}  // namespace storage::soak
