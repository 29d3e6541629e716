// repotokens: the operator's command-line tool for Codacy-compatible servers (repotokensd or Codacy itself).
// main() declares the global connection options, lets each command file register its subcommand, checks the
// words of the command line ("did you mean"), answers `help`, parses, and runs the chosen command.
// Exit status: 0 ok, 1 the job failed, 2 usage, 3 cancelled, 4 authentication (settings.h).
#include <csignal>
#include <cstdio>
#include <optional>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"

namespace {

using namespace rt::cli;

constexpr const char* kExitStatusText =
    "Exit status:\n"
    "  0  done\n"
    "  1  the job failed (a request or a repository failed; expiring: tokens are expiring)\n"
    "  2  usage: the command line or the config file is wrong\n"
    "  3  cancelled at the confirmation prompt\n"
    "  4  authentication: the API token was refused (unknown, revoked or expired); ci token: the ID token was\n"
    "     refused\n";

std::vector<CLI::App*> named_subcommands(CLI::App* app) {
  return app->get_subcommands([](CLI::App* s) { return !s->get_name().empty(); });
}

// "repotokens tokens list" for the App of `tokens list`.
std::string full_name(const CLI::App* app) {
  std::string name = app->get_name();
  for (const CLI::App* p = app->get_parent(); p; p = p->get_parent()) name = p->get_name() + " " + name;
  return name;
}

// The path below the root ("tokens list"), as set_current_command() wants it.
std::string command_path(const CLI::App* app) {
  std::string path;
  for (const CLI::App* a = app; a && a->get_parent(); a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " ") + path;
  return path;
}

std::string option_label(const CLI::Option* o) {
  std::string label = o->get_name(false, true);
  if (o->get_type_size() != 0) label += " " + o->get_type_name();
  return label;
}

// The options a subcommand inherits from the root (they may come before or after the command), and its
// examples, below its own options.
std::string footer_of(const CLI::App* root, const CLI::App* cmd) {
  std::string text = "Global options (before or after the command):\n";
  for (const CLI::Option* o : root->get_options()) {
    const std::string name = o->get_name();
    if (name == "--help" || name == "--version" || name.empty()) continue;
    // The columns of CLI11's own option list: the name in 28, the description from column 30.
    const std::string label = option_label(o);
    text += "  " + label + (label.size() < 28 ? std::string(28 - label.size(), ' ') : "\n" + std::string(30, ' ')) +
            o->get_description() + "\n";
  }
  const auto& examples = examples_of(cmd);
  if (!examples.empty()) {
    text += "\nExamples:\n";
    for (const auto& e : examples) text += "  " + e + "\n";
  }
  text += "\n";
  if (!named_subcommands(const_cast<CLI::App*>(cmd)).empty())
    text += "Run 'repotokens help " + command_path(cmd) + " <command>' for a command's options.\n";
  text += "Exit status: 0 done, 1 failed, 2 usage, 3 cancelled, 4 authentication (repotokens --help).";
  return text;
}

void add_footers(CLI::App* root, CLI::App* app) {
  for (CLI::App* sub : named_subcommands(app)) {
    sub->footer([root, sub] { return footer_of(root, sub); });
    add_footers(root, sub);
  }
}

int usage_at(const CLI::App* app, const std::string& message) {
  set_current_command(command_path(app));
  return usage_error(message);
}

std::string names_text(const std::vector<CLI::App*>& subs) {
  std::string text;
  for (std::size_t i = 0; i < subs.size(); ++i)
    text += (i ? (i + 1 == subs.size() ? " or " : ", ") : "") + subs[i]->get_name();
  return text;
}

// Is `name` an option of `app` or of one of its parents (global options fall through)?
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (const CLI::App* a = app; a; a = a->get_parent())
    if (const CLI::Option* o = a->get_option_no_throw(name)) return o;
  return nullptr;
}

std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* a = app; a; a = a->get_parent())
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
  return names;
}

// The result of reading the words of the command line before CLI11 does.
struct Scan {
  CLI::App* command = nullptr;  // the deepest command named
  bool help_or_version = false;
  std::optional<int> exit;  // set when the scan answered (help) or refused (an unknown word)
};

// `repotokens help [command [subcommand]]`: the help of that command, on stdout, exit 0.
int print_help_of(CLI::App* root, const std::vector<std::string>& words) {
  CLI::App* at = root;
  for (const auto& w : words) {
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* s : named_subcommands(at)) {
      names.push_back(s->get_name());
      if (s->get_name() == w) next = s;
    }
    if (!next) {
      std::string message = "unknown command \"" + w + "\"" + (at == root ? "" : " for 'repotokens " + command_path(at) + "'");
      if (auto near = nearest_name(w, names)) message += "; did you mean \"" + *near + "\"?";
      set_current_command(at == root ? "help" : command_path(at));
      return usage_error(message);
    }
    at = next;
  }
  std::string prev;
  if (at->get_parent()) prev = full_name(at->get_parent());
  std::fputs(at->help(prev).c_str(), stdout);
  return kExitOk;
}

// Walks the words as CLI11 will, command by command, so that a mistyped command or flag is answered with
// the nearest valid one and the failing command's help, instead of CLI11's "A subcommand is required".
Scan scan(CLI::App* root, int argc, char** argv) {
  Scan result;
  CLI::App* at = root;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      const std::string name = arg.substr(0, arg.find('='));
      if (name == "-h" || name == "--help" || name == "--version") {
        result.help_or_version = true;
        continue;
      }
      const CLI::Option* o = find_option(at, name);
      if (!o && name.size() > 2 && name[1] != '-') continue;  // -qv and the like: left to CLI11
      if (!o) {
        std::string message = "unknown flag \"" + name + "\"" + (at == root ? "" : " for 'repotokens " + command_path(at) + "'");
        if (auto near = nearest_name(name, option_names(at))) message += "; did you mean \"" + *near + "\"?";
        result.exit = usage_at(at, message);
        return result;
      }
      if (o->get_expected_min() > 0 && arg.find('=') == std::string::npos) ++i;  // its value (flags take none)
      continue;
    }
    auto subs = named_subcommands(at);
    if (subs.empty()) continue;  // a positional argument of the command (repo add NAME)
    if (at == root && arg == "help") {  // the words up to the first flag name the command
      std::vector<std::string> words;
      for (int k = i + 1; k < argc && argv[k][0] != '-'; ++k) words.emplace_back(argv[k]);
      result.exit = print_help_of(root, words);
      return result;
    }
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* s : subs) {
      names.push_back(s->get_name());
      if (s->get_name() == arg) next = s;
    }
    if (!next) {
      std::string message = "unknown command \"" + arg + "\"" + (at == root ? "" : " for 'repotokens " + command_path(at) + "'");
      if (auto near = nearest_name(arg, names)) message += "; did you mean \"" + *near + "\"?";
      std::fprintf(stderr, "error: %s\nrun 'repotokens help%s%s' for the list of commands\n", message.c_str(),
                   at == root ? "" : " ", command_path(at).c_str());
      result.exit = kExitUsage;
      return result;
    }
    at = next;
  }
  result.command = at;
  auto subs = named_subcommands(at);
  if (!subs.empty() && !result.help_or_version) {
    std::string message = at == root ? "no command given; one of " + names_text(subs)
                                     : "'repotokens " + command_path(at) + "' needs a command: " + names_text(subs);
    std::fprintf(stderr, "error: %s\nrun 'repotokens help%s%s' for usage\n", message.c_str(), at == root ? "" : " ",
                 command_path(at).c_str());
    result.exit = kExitUsage;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes EPIPE on write, not a silent death
  CLI::App app{"repotokens: provision and manage repository API tokens on Codacy or repotokensd"};
  app.name("repotokens");
  app.set_version_flag("--version", "repotokens 0.1.0");
  app.fallthrough();  // global options may come after the subcommand
  app.require_subcommand(1);
  GlobalOptions g;
  Action action;
  app.add_option("--api-url", g.api_url,
                 "API base URL, with or without /api/v3 (env CODACY_API_BASE_URL; default https://app.codacy.com)")
      ->type_name("URL");
  app.add_option("--api-token", g.api_token, "account API token (env CODACY_API_TOKEN; prefer the env or a file)")
      ->type_name("TOKEN");
  app.add_option("--api-token-file", g.api_token_file, "file holding the account API token")->type_name("FILE");
  app.add_option("--ca-file", g.ca_file, "PEM file of CA certificates to trust (TLS is always verified)")->type_name("FILE");
  app.add_option("--provider", g.provider, "Git provider: gh, ghe, gl, gle, bb, bbe (env REPOTOKENS_PROVIDER)")
      ->type_name("CODE");
  app.add_option("--org", g.org, "organization name on the provider (env REPOTOKENS_ORG)")->type_name("NAME");
  app.add_option("--config", g.config_file,
                 "TOML config file (env REPOTOKENS_CONFIG; default ~/.config/repotokens/config.toml)")
      ->type_name("FILE");
  app.add_option("--profile", g.profile, "profile of the config file (env REPOTOKENS_PROFILE)")->type_name("NAME");
  app.add_option("--connect-timeout", g.connect_timeout, "time to connect, e.g. 5s (default), 500ms")->type_name("DURATION");
  app.add_option("--timeout", g.timeout, "time per request, e.g. 30s (default), 2m")->type_name("DURATION");
  app.add_option("--retries", g.retries, "attempts per request including the first (default 10)")
      ->type_name("N");
  app.add_flag("-q,--quiet", g.quiet, "no progress, only errors");
  app.add_flag("-v,--verbose", g.verbose, "a line per repository");
  CommandContext ctx{g, action};
  add_provision_command(app, ctx);
  add_repos_command(app, ctx);
  add_tokens_command(app, ctx);
  add_expiring_command(app, ctx);
  add_org_command(app, ctx);
  add_repo_command(app, ctx);
  add_user_command(app, ctx);
  add_member_command(app, ctx);
  add_coverage_command(app, ctx);
  add_revoke_leaked_command(app, ctx);
  add_webhooks_command(app, ctx);
  add_trust_command(app, ctx);
  add_ci_command(app, ctx);
  app.add_subcommand("help", "show the help of a command: repotokens help provision, repotokens help tokens list");
  add_footers(&app, &app);
  app.footer(std::string(kExitStatusText) +
             "\nRun 'repotokens help <command>' (or 'repotokens <command> --help') for a command's options and examples.");

  Scan words = scan(&app, argc, argv);
  if (words.exit) return *words.exit;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return usage_at(words.command ? words.command : &app, e.what());
  }
  set_current_command(command_path(words.command ? words.command : &app));
  return action ? action() : kExitUsage;
}
