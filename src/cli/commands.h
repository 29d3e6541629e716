// The command table of `repotokens`: each command file registers its subcommand (options struct + run
// function) on the CLI11 app; the chosen command's run function becomes the Action main() calls after
// parsing. Also the small helpers every command shares.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/settings.h"
#include "client/api_client.h"

namespace CLI {
class App;
}

namespace rt::cli {

using Action = std::function<int()>;

struct CommandContext {
  GlobalOptions& global;
  Action& action;  // set by the subcommand that was chosen
};

void add_provision_command(CLI::App& app, CommandContext ctx);
void add_repos_command(CLI::App& app, CommandContext ctx);
void add_tokens_command(CLI::App& app, CommandContext ctx);
void add_expiring_command(CLI::App& app, CommandContext ctx);
void add_org_command(CLI::App& app, CommandContext ctx);
void add_repo_command(CLI::App& app, CommandContext ctx);
void add_user_command(CLI::App& app, CommandContext ctx);
void add_member_command(CLI::App& app, CommandContext ctx);
void add_coverage_command(CLI::App& app, CommandContext ctx);

// One client for a simple command.
struct Session {
  explicit Session(Target t) : target(std::move(t)), pacer(0, 1), api(target.connection, pacer, stats) {}
  Target target;
  client::Pacer pacer;
  client::ClientStats stats;
  client::ApiClient api;
};

// Resolves the options and runs `body`; a resolution problem prints one line and returns 2.
int with_session(const GlobalOptions& global, bool need_org, const std::function<int(Session&)>& body);

// Prints "error: <one line>" for a failed API call and returns 1.
int report(const Error& error, const Target& target);

// Tabular output for people; CSV/JSON for programs.
enum class ListFormat { table, csv, json };
// The value of a --format option already checked to be table, csv or json.
ListFormat list_format(const std::string& name);
std::string render_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         ListFormat format);

// "" when absent.
std::string time_text(const std::optional<UnixTime>& t);

}  // namespace rt::cli
