// `repotokens webhooks add|list|remove|deliveries`: an organization's webhooks on repotokensd (docs/webhooks.md).
// The signing secret is read from --secret-file or stdin, never from a flag (it would stay in the shell's
// history and the process list), and is never printed.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace rt::cli {
namespace {

using nlohmann::json;

struct WebhooksFlags {
  std::string url;
  std::string secret_file = "-";
  std::vector<std::string> events;
  std::int64_t id = 0;
  int limit = 20;
  std::string format = "table";
};

std::string webhooks_path(const Target& t) {
  return "/organizations/" + client::encode_path_segment(t.provider) + "/" + client::encode_path_segment(t.org) +
         "/webhooks";
}

std::string text_of(const json& item, const char* key) {
  auto it = item.find(key);
  if (it == item.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The secret: the first line of the file (or stdin), without its line end.
Result<std::string> read_secret(const std::string& file) {
  std::string line;
  if (file == "-") {
    std::getline(std::cin, line);
  } else {
    std::ifstream in(file);
    if (!in) return make_error(ErrorKind::invalid, "webhooks add: cannot read --secret-file " + file);
    std::getline(in, line);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty())
    return make_error(ErrorKind::invalid, "webhooks add: no secret " +
                                              std::string(file == "-" ? "on stdin" : "in " + file) +
                                              " (give at least 16 characters, e.g. from `openssl rand -hex 32`)");
  return line;
}

int run_add(const WebhooksFlags& f, const GlobalOptions& g) {
  auto secret = read_secret(f.secret_file);
  if (!secret.ok()) return usage_error(secret.error().message);
  return with_session(g, true, [&](Session& s) {
    json body = {{"url", f.url}, {"secret", *secret}, {"events", f.events}};
    auto r = s.api.call("POST", webhooks_path(s.target), body.dump(), false);
    if (!r.ok()) return report(r.error(), s.target);
    json made = json::parse(r->body, nullptr, false);
    if (made.is_discarded() || !made.contains("data")) {
      std::fprintf(stderr, "error: the server's answer is not a webhook\n");
      return kExitFailure;
    }
    std::printf("added webhook %s for %s\n", text_of(made["data"], "id").c_str(), text_of(made["data"], "url").c_str());
    return kExitOk;
  });
}

// Every page of a list, or the first `limit` items when limit > 0.
Result<std::vector<json>> walk(Session& s, const std::string& path, int limit) {
  std::vector<json> items;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    std::string p = path + "?limit=" + std::to_string(limit > 0 ? std::min(limit, 100) : 100);
    if (!cursor.empty()) p += "&cursor=" + client::encode_path_segment(cursor);
    RT_TRY(auto r, s.api.call("GET", p));
    json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.contains("data") || !body["data"].is_array())
      return make_error(ErrorKind::internal, "the server's answer is not a list");
    for (auto& item : body["data"]) {
      items.push_back(item);
      if (limit > 0 && static_cast<int>(items.size()) >= limit) return items;
    }
    cursor = text_of(body.value("pagination", json::object()), "cursor");
    if (cursor.empty()) break;
  }
  return items;
}

int run_list(const WebhooksFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto hooks = walk(s, webhooks_path(s.target), 0);
    if (!hooks.ok()) return report(hooks.error(), s.target);
    std::vector<std::vector<std::string>> rows;
    for (const json& h : *hooks) {
      std::string events;
      for (const auto& e : h.value("events", json::array())) events += (events.empty() ? "" : ",") + e.get<std::string>();
      rows.push_back({text_of(h, "id"), text_of(h, "url"), events, text_of(h, "createdAt"),
                      h.value("failing", false) ? "yes" : "no"});
    }
    static const std::vector<Column> columns{
        {"id", "id", true}, {"url", "url"}, {"events", "events"}, {"createdAt", "created"}, {"failing", "failing"}};
    std::fputs(render_table(columns, rows, list_format(f.format)).c_str(), stdout);
    return kExitOk;
  });
}

int run_remove(const WebhooksFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto r = s.api.call("DELETE", webhooks_path(s.target) + "/" + std::to_string(f.id));
    if (!r.ok()) return report(r.error(), s.target);
    if (!g.quiet) std::fprintf(stderr, "removed webhook %lld\n", static_cast<long long>(f.id));
    return kExitOk;
  });
}

int run_deliveries(const WebhooksFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto items = walk(s, webhooks_path(s.target) + "/" + std::to_string(f.id) + "/deliveries", f.limit);
    if (!items.ok()) return report(items.error(), s.target);
    std::vector<std::vector<std::string>> rows;
    for (const json& d : *items)
      rows.push_back({text_of(d, "deliveryId"), text_of(d, "event"), text_of(d, "status"), text_of(d, "attempts"),
                      text_of(d, "responseCode"), text_of(d, "latencyMs"), text_of(d, "createdAt"),
                      text_of(d, "error")});
    static const std::vector<Column> columns{{"deliveryId", "delivery"},   {"event", "event"},
                                             {"status", "status"},         {"attempts", "attempts", true},
                                             {"responseCode", "code", true}, {"latencyMs", "ms", true},
                                             {"createdAt", "created"},     {"error", "error"}};
    std::fputs(render_table(columns, rows, list_format(f.format)).c_str(), stdout);
    return kExitOk;
  });
}

}  // namespace

void add_webhooks_command(CLI::App& app, CommandContext ctx) {
  auto* hooks = app.add_subcommand("webhooks", "an organization's webhooks on repotokensd (org admin)");
  hooks->require_subcommand(1);
  GlobalOptions& g = ctx.global;
  Action& action = ctx.action;

  auto af = std::make_shared<WebhooksFlags>();
  auto* add = hooks->add_subcommand("add", "add a webhook; its signing secret is read from --secret-file or stdin");
  add->add_option("--url", af->url, "http:// or https:// URL the events are posted to")->required()->type_name("URL");
  add->add_option("--event", af->events,
                  "event to send (repeatable): token.created, token.revoked, token.leaked, token.expiring, token.expired, token.exchanged")
      ->required()
      ->type_name("EVENT");
  add->add_option("--secret-file", af->secret_file, "file whose first line is the secret (- for stdin, the default)")
      ->type_name("PATH");
  add->callback([af, &g, &action] { action = [af, &g] { return run_add(*af, g); }; });
  set_examples(add, {"openssl rand -hex 32 > hook.secret && repotokens webhooks add --provider gh --org acme "
                     "--url https://hooks.example/rt --event token.created --event token.revoked --secret-file hook.secret"});

  auto lf = std::make_shared<WebhooksFlags>();
  auto* list = hooks->add_subcommand("list", "list the organization's webhooks (never their secrets)");
  add_list_format_option(list, lf->format);
  list->callback([lf, &g, &action] { action = [lf, &g] { return run_list(*lf, g); }; });
  set_examples(list, {"repotokens webhooks list --provider gh --org acme"});

  auto rf = std::make_shared<WebhooksFlags>();
  auto* remove = hooks->add_subcommand("remove", "remove a webhook (its undelivered events go with it)");
  remove->add_option("--id", rf->id, "webhook id")->required()->type_name("ID");
  remove->callback([rf, &g, &action] { action = [rf, &g] { return run_remove(*rf, g); }; });
  set_examples(remove, {"repotokens webhooks remove --provider gh --org acme --id 3"});

  auto df = std::make_shared<WebhooksFlags>();
  auto* deliveries = hooks->add_subcommand("deliveries", "a webhook's recent deliveries, newest first");
  deliveries->add_option("--id", df->id, "webhook id")->required()->type_name("ID");
  deliveries->add_option("--limit", df->limit, "how many (default 20)")->type_name("N")->check(CLI::Range(1, 10000));
  add_list_format_option(deliveries, df->format);
  deliveries->callback([df, &g, &action] { action = [df, &g] { return run_deliveries(*df, g); }; });
  set_examples(deliveries, {"repotokens webhooks deliveries --provider gh --org acme --id 3 --limit 50"});
  set_examples(hooks, {"repotokens webhooks list --provider gh --org acme",
                       "repotokens webhooks deliveries --id 3"});
}

}  // namespace rt::cli
