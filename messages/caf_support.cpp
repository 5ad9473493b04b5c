#include "messages/caf_support.hpp"

#include <caf/all.hpp>

#include "messages/interfaces.hpp"
#include "messages/node_protocol.hpp"

namespace storage {

caf::error to_caf_error(const store_error& e) {
  return caf::error(static_cast<std::uint8_t>(e.code()), error_category,
                    caf::make_message(e.message(), e.operation(), e.store()));
}

store_error from_caf_error(const caf::error& e, const std::string& operation,
                           const std::string& store) {
  if (e.category() == error_category) {
    std::string msg, op = operation, st = store;
    auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string, std::string>()) {
      msg = ctx.get_as<std::string>(0);
      if (!ctx.get_as<std::string>(1).empty()) op = ctx.get_as<std::string>(1);
      if (!ctx.get_as<std::string>(2).empty()) st = ctx.get_as<std::string>(2);
    }
    return store_error(static_cast<errc>(e.code()), msg, op, st);
  }
  if (e == caf::sec::request_timeout)
    return store_error(errc::timeout, "no reply before the deadline", operation,
                       store);
  if (e == caf::sec::request_receiver_down)
    return store_error(errc::backend_unavailable, "the store actor is down",
                       operation, store);
  return store_error(errc::internal, caf::to_string(e), operation, store);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<collection_spec>("storage::collection_spec");
  cfg.add_message_type<std::vector<collection_spec>>(
      "std::vector<storage::collection_spec>");
  cfg.add_message_type<vector_record>("storage::vector_record");
  cfg.add_message_type<records>("std::vector<storage::vector_record>");
  cfg.add_message_type<filter>("storage::filter");
  cfg.add_message_type<search_request>("storage::search_request");
  cfg.add_message_type<batch_search_request>("storage::batch_search_request");
  cfg.add_message_type<search_hit>("storage::search_hit");
  cfg.add_message_type<std::vector<search_hit>>(
      "std::vector<storage::search_hit>");
  cfg.add_message_type<std::vector<std::vector<search_hit>>>(
      "std::vector<std::vector<storage::search_hit>>");
  cfg.add_message_type<scan_page>("storage::scan_page");
  cfg.add_message_type<maybe_value>("storage::maybe_value");
  cfg.add_message_type<std::vector<maybe_value>>(
      "std::vector<storage::maybe_value>");
  cfg.add_message_type<cache_entry>("storage::cache_entry");
  cfg.add_message_type<std::vector<cache_entry>>(
      "std::vector<storage::cache_entry>");
  cfg.add_message_type<ttl_info>("storage::ttl_info");
  cfg.add_message_type<cache_scan_page>("storage::cache_scan_page");
  cfg.add_message_type<served_store>("storage::served_store");
  cfg.add_message_type<std::vector<served_store>>(
      "std::vector<storage::served_store>");
  cfg.add_message_type<live_request>("storage::live_request");
  cfg.add_message_type<live_report>("storage::live_report");
  cfg.add_message_type<message_batch>("storage::message_batch");
  cfg.add_error_category(error_category, [](std::uint8_t code, caf::atom_value,
                                            const caf::message& ctx) {
    std::string out = to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string, std::string, std::string>())
      out += ": " + ctx.get_as<std::string>(0);
    return out;
  });
}

}  // namespace storage
