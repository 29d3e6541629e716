// The command table of `repotokens`: each command file registers its subcommand (options struct + run
// function) on the CLI11 app; the chosen command's run function becomes the Action main() calls after
// parsing. Also the small helpers every command shares.
#pragma once

#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "cli/progress.h"
#include "cli/settings.h"
#include "client/api_client.h"

namespace CLI {
class App;
class Option;
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
void add_revoke_leaked_command(CLI::App& app, CommandContext ctx);
void add_webhooks_command(CLI::App& app, CommandContext ctx);
void add_ci_command(CLI::App& app, CommandContext ctx);
void add_trust_command(CLI::App& app, CommandContext ctx);

// One client for a simple command; a retry prints a line on stderr (unless --quiet).
struct Session {
  Session(Target t, bool quiet)
      : target(std::move(t)), pacer(0, 1), api(target.connection, pacer, stats), retry_lines(stats, quiet) {}
  Target target;
  client::Pacer pacer;
  client::ClientStats stats;
  client::ApiClient api;
  RetryLines retry_lines;
};

// Resolves the options and runs `body`; a resolution problem prints one line and returns 2.
int with_session(const GlobalOptions& global, bool need_org, const std::function<int(Session&)>& body);

// Prints "error: <one line>" for a failed API call and returns its exit status (4 for a refused
// credential, else 1).
int report(const Error& error, const Target& target);

// The command being run, as typed ("tokens revoke"), set by main() once the command line is parsed; and
// "error: <message>" plus "run 'repotokens <command> --help' for usage" on stderr, returning 2.
// Examples shown at the end of a command's help (main.cc adds them, with the inherited global options).
void set_examples(const CLI::App* command, std::vector<std::string> examples);
const std::vector<std::string>& examples_of(const CLI::App* command);

void set_current_command(std::string path);
const std::string& current_command();
int usage_error(const std::string& message);

// Tabular output for people; CSV/JSON for programs. One style for every command (docs/cli.md): JSON is an
// array of objects with camelCase keys named as in Codacy's API, numbers as numbers, absent values left
// out; CSV has a header line of the same keys; a table has upper-case titles.
enum class ListFormat { table, csv, json };
// The value of a --format option already checked to be table, csv or json.
ListFormat list_format(const std::string& name);
struct Column {
  std::string key;    // JSON key and CSV header: "lastUsedAt"
  std::string title;  // table header: "last used"
  bool number = false;  // JSON number (an integer or a decimal), not a string
};
// `--format FORMAT`: table (the default), csv or json, into `format`.
void add_list_format_option(CLI::App* command, std::string& format);
// A cell "" is an absent value (an empty CSV field, a key left out of the JSON object).
std::string render_table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                         ListFormat format);

// "" when absent.
std::string time_text(const std::optional<UnixTime>& t);

}  // namespace rt::cli
