// Carries requests from plain C++ threads into the actor world and their
// answers back as futures. Long-lived actors send the requests with
// request(...).then, so a call costs an actor hop instead of the ~70 us of a
// scoped_actor per call (PLATFORM-NOTES.md).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/caf_support.hpp"

namespace storage {

struct bridge_job {
  std::function<void(caf::event_based_actor*)> run;
};

}  // namespace storage

// Local only: a job never crosses a node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(storage::bridge_job)

namespace storage {

class bridge {
 public:
  // `lanes` actors share the traffic, so one busy lane does not serialize
  // every caller; each calling thread sticks to one lane.
  bridge(caf::actor_system& sys, std::size_t lanes);
  ~bridge();

  void post(bridge_job job);

  // Sends (xs...) to `dest` and returns a future of convert(reply). An error
  // reply becomes a store_error naming `op` and `store`.
  template <class Reply, class Result, class Handle, class Convert, class... Ts>
  std::future<Result> ask(const Handle& dest, const char* op,
                          const std::string& store, Convert convert, Ts... xs) {
    auto p = std::make_shared<std::promise<Result>>();
    auto fut = p->get_future();
    post({[=](caf::event_based_actor* self) {
      self->request(dest, backstop, xs...)
          .then(
              [p, convert](Reply& r) {
                if constexpr (std::is_void_v<Result>) {
                  convert(r);
                  p->set_value();
                } else {
                  p->set_value(convert(r));
                }
              },
              [p, op, store](caf::error& e) {
                p->set_exception(
                    std::make_exception_ptr(from_caf_error(e, op, store)));
              });
    }});
    return fut;
  }

 private:
  // Routers answer within their own deadline; this only guards against a
  // router that vanished without a reply.
  static constexpr std::chrono::minutes backstop{5};

  std::vector<caf::actor> lanes_;
};

// The identity conversion for ask().
struct as_is {
  template <class T>
  T operator()(T& x) const {
    return std::move(x);
  }
};

}  // namespace storage
