// Handlers for organization webhooks (API.md "Webhooks"): add, list, remove, and the recent deliveries of
// one. The secret goes in once and never comes back out.
#include <nlohmann/json.hpp>

#include "server/handlers.h"
#include "server/json_page.h"

namespace rt::server {
namespace {

json webhook_json(const Webhook& w) {
  return {{"id", w.id},
          {"url", w.url},
          {"events", w.events},
          {"createdAt", format_rfc3339(w.created_at)},
          {"failing", w.failing}};
}

// "pending" (not tried yet), "retrying", "delivered", or "failed" (given up after the retry window).
const char* delivery_status(const WebhookDelivery& d) {
  if (d.delivered_at) return "delivered";
  if (!d.next_attempt_at) return "failed";
  return d.attempts == 0 ? "pending" : "retrying";
}

json delivery_json(const WebhookDelivery& d) {
  json out = {{"id", d.id},
              {"deliveryId", d.delivery_id},
              {"eventId", d.event_id},
              {"event", d.event},
              {"status", delivery_status(d)},
              {"attempts", d.attempts},
              {"createdAt", format_rfc3339(d.created_at)}};
  if (d.last_status) out["responseCode"] = *d.last_status;
  if (d.last_latency_ms) out["latencyMs"] = *d.last_latency_ms;
  if (!d.last_error.empty()) out["error"] = d.last_error;
  if (d.last_attempt_at) out["lastAttemptAt"] = format_rfc3339(*d.last_attempt_at);
  if (d.next_attempt_at && !d.delivered_at) out["nextAttemptAt"] = format_rfc3339(*d.next_attempt_at);
  if (d.delivered_at) out["deliveredAt"] = format_rfc3339(*d.delivered_at);
  return out;
}

Result<std::vector<std::string>> event_list(const json& body) {
  auto it = body.find("events");
  const char* expected = "field 'events' must be an array of event names, e.g. [\"token.created\", \"token.revoked\"]";
  if (it == body.end() || !it->is_array()) return make_error(ErrorKind::invalid, expected);
  std::vector<std::string> events;
  for (const json& e : *it) {
    if (!e.is_string()) return make_error(ErrorKind::invalid, expected);
    events.push_back(e.get<std::string>());
  }
  return events;
}

}  // namespace

ApiResponse list_webhooks(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto hooks = service.list_webhooks(p, org_ref(req), *page);
  if (!hooks) return failure(hooks);
  return render_page(*hooks, webhook_json);
}

ApiResponse create_webhook(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto url = required_string_field(*body, "url");
  if (!url) return failure(url);
  auto secret = required_string_field(*body, "secret");
  if (!secret) return failure(secret);
  auto events = event_list(*body);
  if (!events) return failure(events);
  auto made = service.create_webhook(p, org_ref(req),
                                     CreateWebhookRequest{.url = *url, .secret = *secret, .events = *events});
  if (!made) return failure(made);
  return data_response(201, webhook_json(*made));
}

ApiResponse delete_webhook(Service& service, const Principal& p, const ApiRequest& req) {
  auto id = id_param(req.params.at(2), "webhookId");
  if (!id) return failure(id);
  auto done = service.delete_webhook(p, org_ref(req), *id);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse list_webhook_deliveries(Service& service, const Principal& p, const ApiRequest& req) {
  auto id = id_param(req.params.at(2), "webhookId");
  if (!id) return failure(id);
  auto page = page_request(req);
  if (!page) return failure(page);
  auto deliveries = service.list_webhook_deliveries(p, org_ref(req), *id, *page);
  if (!deliveries) return failure(deliveries);
  return render_page(*deliveries, delivery_json);
}

}  // namespace rt::server
