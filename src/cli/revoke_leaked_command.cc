// `repotokens revoke-leaked`: reads leaked secrets (one a line, from a file or stdin) and reports each to
// the server's POST /api/v3/tokens/revoke, paced by the session's pacer. The server answers 204 for every
// secret, matched or not, so this command can say how many it sent, never how many were live.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/secret.h"

namespace rt::cli {
namespace {

struct RevokeLeakedFlags {
  std::string file = "-";
  std::string location;
};

struct LeakedInput {
  std::vector<std::string> secrets;  // distinct, in input order
  std::vector<size_t> skipped;       // line numbers of lines that are not repotokens tokens
};

LeakedInput read_secrets(std::istream& in) {
  LeakedInput out;
  std::set<std::string> seen;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    size_t start = line.find_first_not_of(" \t\r");
    size_t end = line.find_last_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;  // blank lines and comments
    std::string secret = line.substr(start, end - start + 1);
    if (!check_token_format(secret).ok()) {
      out.skipped.push_back(number);  // never echoed: a near-miss is still most of a secret
      continue;
    }
    if (seen.insert(secret).second) out.secrets.push_back(std::move(secret));
  }
  return out;
}

int run_revoke_leaked(const RevokeLeakedFlags& f, const GlobalOptions& g) {
  LeakedInput input;
  if (f.file == "-") {
    input = read_secrets(std::cin);
  } else {
    std::ifstream in(f.file);
    if (!in) return usage_error("revoke-leaked: cannot read " + f.file);
    input = read_secrets(in);
  }
  if (!input.skipped.empty()) {
    std::string lines;
    for (size_t i = 0; i < input.skipped.size() && i < 20; ++i) lines += (i ? ", " : "") + std::to_string(input.skipped[i]);
    if (input.skipped.size() > 20) lines += ", ...";
    std::fprintf(stderr, "skipped %zu line(s) that are not repotokens tokens (wrong prefix, length or checksum): line %s\n",
                 input.skipped.size(), lines.c_str());
  }
  if (input.secrets.empty()) {
    std::fprintf(stderr, "no repotokens token to report%s\n", f.file == "-" ? " on stdin" : (" in " + f.file).c_str());
    return input.skipped.empty() ? kExitOk : kExitFailure;
  }
  return with_session(g, false, [&](Session& s) {
    size_t sent = 0;
    for (const std::string& secret : input.secrets) {
      Status st = s.api.report_leaked_token(secret, f.location);
      if (!st.ok()) {
        std::fprintf(stdout, "sent %zu of %zu secret(s) before the failure\n", sent, input.secrets.size());
        return report(st.error(), s.target);
      }
      ++sent;
    }
    std::fprintf(stdout,
                 "sent %zu secret(s) to %s; the server does not say which were live tokens (those are now revoked "
                 "and listed as token.leaked in their organization's audit log)\n",
                 sent, s.target.connection.api_url.c_str());
    return kExitOk;
  });
}

}  // namespace

void add_revoke_leaked_command(CLI::App& app, CommandContext ctx) {
  auto f = std::make_shared<RevokeLeakedFlags>();
  auto* cmd = app.add_subcommand("revoke-leaked",
                                 "report leaked secrets (one a line) to the server, which revokes those that are its "
                                 "tokens; needs no credential");
  cmd->add_option("--file", f->file, "file of secrets, one a line (- for stdin, the default); # starts a comment")
      ->type_name("PATH");
  cmd->add_option("--location", f->location, "where they were found (a URL), for the audit log")->type_name("URL");
  set_examples(cmd, {"repotokens revoke-leaked --file found.txt --location https://paste.example/abc",
                     "grep -oE 'rtk[ar]_[0-9A-Za-z]{49}' build.log | repotokens revoke-leaked"});
  GlobalOptions& g = ctx.global;
  cmd->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_revoke_leaked(*f, g); }; });
}

}  // namespace rt::cli
