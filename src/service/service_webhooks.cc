// Organization webhooks: adding (the request checked field by field, the secret sealed with the server key
// before it reaches the store), listing, removing them, and the recent deliveries of one (org admin only).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "service/internal.h"

namespace rt {
namespace {

Status require_webhook_admin(const Access& a) {
  if (a.org_admin) return ok_status();
  return make_error(ErrorKind::forbidden, fmt::format("only an admin of {} may manage its webhooks", org_path(a.org)));
}

std::string known_events() {
  std::string out;
  for (const char* e : kWebhookEventNames) out += (out.empty() ? "" : ", ") + std::string(e);
  return out;
}

// http(s)://host[:port][/path...]: no credentials in it, no spaces or control characters.
Status check_webhook_url(const std::string& url) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorKind::invalid, fmt::format("url {}; give an http:// or https:// URL such as "
                                                      "https://hooks.example.com/repotokens",
                                                      why));
  };
  if (url.empty()) return bad("is missing");
  if (url.size() > kMaxWebhookUrlLength) return bad(fmt::format("is longer than {} characters", kMaxWebhookUrlLength));
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
    return bad("contains spaces or control characters");
  std::string lower(url);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  size_t rest = 0;
  if (lower.starts_with("https://")) rest = 8;
  else if (lower.starts_with("http://")) rest = 7;
  else return bad("must use http or https");
  const std::string authority = url.substr(rest, url.find_first_of("/?#", rest) - rest);
  if (authority.find('@') != std::string::npos) return bad("must not carry a user name or password");
  if (authority.empty() || authority[0] == ':') return bad("has no host");
  return ok_status();
}

Status check_webhook_events(const std::vector<std::string>& events) {
  if (events.empty())
    return make_error(ErrorKind::invalid, fmt::format("events must list at least one of: {}", known_events()));
  std::set<std::string> seen;
  for (const std::string& e : events) {
    if (std::none_of(std::begin(kWebhookEventNames), std::end(kWebhookEventNames), [&](const char* k) { return e == k; }))
      return make_error(ErrorKind::invalid,
                        fmt::format("events: unknown event \"{}\"; the known events are {}", e, known_events()));
    if (!seen.insert(e).second) return make_error(ErrorKind::invalid, fmt::format("events lists \"{}\" twice", e));
  }
  return ok_status();
}

}  // namespace

Result<Webhook> Service::create_webhook(const Principal& p, const OrgRef& ref, const CreateWebhookRequest& req) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_webhook_admin(a));
  RT_TRY_STATUS(check_webhook_url(req.url));
  RT_TRY_STATUS(check_webhook_events(req.events));
  if (req.secret.size() < kMinWebhookSecretLength)
    return make_error(ErrorKind::invalid, fmt::format("secret must be at least {} characters (it has {}); use a "
                                                      "random one, e.g. `openssl rand -hex 32`",
                                                      kMinWebhookSecretLength, req.secret.size()));
  NewWebhook w{.org_id = a.org.id, .url = req.url, .events = req.events, .sealed_secret = hasher_.seal(req.secret),
               .created_at = clock_.now()};
  std::string listed;
  for (const std::string& e : req.events) listed += (listed.empty() ? "" : ",") + e;
  // The URL may carry a receiver's own query token: the audit names only its scheme and host.
  const std::string shown = req.url.substr(0, req.url.find_first_of("/?#", req.url.find("://") + 3));
  auto event = audit(p, a.org.id, "organization.webhook.create", org_path(a.org),
                     fmt::format("url={} events={}", shown, listed));
  return timed("create_webhook", [&] { return store_.create_webhook(w, event); });
}

Result<ListPage<Webhook>> Service::list_webhooks(const Principal& p, const OrgRef& ref, const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_webhook_admin(a));
  const std::string scope = fmt::format("webhooks:{}", a.org.id);
  RT_TRY(std::optional<Id> after, cursor_id(cursors_, scope, page));
  RT_TRY(Page<Webhook> rows, timed("list_webhooks", [&] { return store_.list_webhooks(a.org.id, after, page.limit); }));
  return to_list_page<Webhook>(cursors_, scope, std::move(rows), page.limit,
                               [](const Webhook& w) { return std::to_string(w.id); });
}

Status Service::delete_webhook(const Principal& p, const OrgRef& ref, Id webhook_id) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_webhook_admin(a));
  auto event = audit(p, a.org.id, "organization.webhook.delete", org_path(a.org), fmt::format("id={}", webhook_id));
  return timed("delete_webhook", [&] { return store_.delete_webhook(a.org.id, webhook_id, event); });
}

Result<ListPage<WebhookDelivery>> Service::list_webhook_deliveries(const Principal& p, const OrgRef& ref, Id webhook_id,
                                                                   const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_webhook_admin(a));
  const std::string scope = fmt::format("webhook-deliveries:{}", webhook_id);
  RT_TRY(std::optional<Id> before, cursor_id(cursors_, scope, page));
  RT_TRY(Page<WebhookDelivery> rows, timed("list_webhook_deliveries", [&] {
           return store_.list_webhook_deliveries(a.org.id, webhook_id, before, page.limit);
         }));
  return to_list_page<WebhookDelivery>(cursors_, scope, std::move(rows), page.limit,
                                       [](const WebhookDelivery& d) { return std::to_string(d.id); });
}

}  // namespace rt
