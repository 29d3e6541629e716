// `repotokens org add`: registers an organization on repotokensd (Codacy's addOrganization); the caller
// becomes its admin.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace rt::cli {

void add_org_command(CLI::App& app, CommandContext ctx) {
  auto* org = app.add_subcommand("org", "organizations (repotokensd administration)");
  org->require_subcommand(1);
  auto* add = org->add_subcommand("add", "add the organization named by --provider/--org");
  set_examples(add, {"repotokens org add --provider gh --org acme"});
  set_examples(org, {"repotokens org add --provider gh --org acme"});
  GlobalOptions& g = ctx.global;
  add->callback([&g, &action = ctx.action] {
    action = [&g] {
      return with_session(g, true, [&](Session& s) {
        auto made = s.api.add_organization(s.target.provider, s.target.org);
        if (!made.ok()) return report(made.error(), s.target);
        if (!g.quiet) std::fprintf(stderr, "added organization %s/%s\n", s.target.provider.c_str(), s.target.org.c_str());
        return kExitOk;
      });
    };
  });
}

}  // namespace rt::cli
