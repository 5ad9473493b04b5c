#include "actors/pool/upsert_group.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "messages/interfaces.hpp"

namespace storage {

upsert_group::~upsert_group() {
  for (auto& m : members_)
    m.reply.deliver(
        to_caf_error(store_error(errc::backend_unavailable,
                                 "the worker stopped before the request ran")));
}

bool upsert_group::fits(const std::string& collection,
                        const std::vector<vector_record>& rs) const {
  if (empty()) return true;
  if (collection != collection_ || records_ + rs.size() > max_records)
    return false;
  return std::none_of(rs.begin(), rs.end(),
                      [&](const auto& r) { return ids_.count(r.id) > 0; });
}

void upsert_group::add(std::string collection, std::vector<vector_record> rs,
                       caf::response_promise rp, job_ticket t) {
  if (empty()) collection_ = std::move(collection);
  for (auto& r : rs) ids_.insert(r.id);
  records_ += rs.size();
  members_.push_back({std::move(rs), std::move(rp), std::move(t)});
}

void upsert_group::run(worker_core<vector_backend>& core) {
  if (empty()) return;
  // Taken out first: the group must be empty again whatever happens below.
  auto held = std::move(members_);
  auto collection = std::move(collection_);
  members_.clear();
  ids_.clear();
  records_ = 0;
  auto& metrics = core.metrics();
  std::vector<member> live;
  for (auto& m : held) {
    if (!m.ticket.expired()) {
      live.push_back(std::move(m));
      continue;
    }
    metrics.record(store_op::upsert, errc::timeout, m.ticket.start);
    m.reply.deliver(to_caf_error(
        store_error(errc::timeout, "the deadline passed before the request ran",
                    "upsert", core.store())));
  }
  if (live.size() > 1) {
    std::vector<vector_record> all;
    auto latest = deadline_clock::time_point::min();
    for (auto& m : live) {
      latest = std::max(latest, m.ticket.deadline);
      for (auto& r : m.records) all.push_back(std::move(r));
    }
    try {
      auto& b = core.backend(latest);
      b.set_deadline(latest);
      b.upsert(collection, all);
      core.answered();
      metrics.batch_ran(static_cast<std::size_t>(
          std::count_if(live.begin(), live.end(),
                        [](auto& m) { return m.ticket.from_caller(); })));
      for (auto& m : live) {
        metrics.record(store_op::upsert, errc::ok, m.ticket.start);
        m.reply.deliver(static_cast<std::uint64_t>(m.records.size()));
      }
      return;
    } catch (const store_error& e) {
      if (e.code() == errc::backend_unavailable) {
        auto err = core.failure(e, "upsert");
        for (auto& m : live) {
          metrics.record(store_op::upsert, e.code(), m.ticket.start);
          m.reply.deliver(err);
        }
        return;
      }
    } catch (const std::exception&) {
      // Each on its own below says which request it was.
    }
    // The adapter took `all` by reference: give each its records back.
    auto next = all.begin();
    for (auto& m : live)
      for (auto& r : m.records) r = std::move(*next++);
  }
  for (auto& m : live) {
    auto req = caf::make_message(vupsert_atom::value, collection,
                                 std::move(m.records));
    auto reply = core.execute(req.content(), m.ticket);
    if (reply.match_elements<caf::error>())
      m.reply.deliver(reply.get_as<caf::error>(0));
    else
      m.reply.deliver(std::move(reply));
  }
}

}  // namespace storage
