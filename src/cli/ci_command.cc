// `repotokens ci token`: run inside a CI job, it gets the job's OIDC ID token (from GitHub Actions' runner,
// a GitLab `id_tokens:` variable, a file or stdin), exchanges it at repotokensd's POST /api/v3/ci/token and
// hands over the short-lived repository token: on stdout, or appended to $GITHUB_ENV / a dotenv file (0600)
// after `::add-mask::` on GitHub. The token is written nowhere else; every failure is one line a CI log makes clear.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/delivery.h"
#include "client/ci_id_token.h"
#include "core/secret.h"

namespace rt::cli {
namespace {

struct CiTokenFlags {
  std::string audience, id_token_env, id_token_file, export_file, variable = "CODACY_PROJECT_TOKEN";
  bool export_env = false, show_secret = false;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// Where the ID token comes from, and the token itself. A missing source is a usage error (exit 2) that
// says what to add to the job; nothing has been sent yet.
struct IdToken {
  std::string jwt;
  std::string source;  // for messages: "GitHub Actions", "$REPOTOKENS_ID_TOKEN", "file ci.jwt", "stdin"
};

Result<IdToken> read_id_token(const CiTokenFlags& f, const Target& t, const std::string& audience) {
  auto invalid = [](std::string m) { return make_error(ErrorKind::invalid, std::move(m)); };
  if (!f.id_token_env.empty() && !f.id_token_file.empty())
    return invalid("--id-token-env and --id-token-file: give one source of the ID token, not both");
  IdToken id;
  if (!f.id_token_env.empty()) {
    id.source = "$" + f.id_token_env;
    id.jwt = trimmed(env(f.id_token_env.c_str()));
    if (id.jwt.empty())
      return invalid("--id-token-env: the variable " + f.id_token_env + " is not set (or empty); on GitLab CI declare it "
                     "in the job: `id_tokens: { " + f.id_token_env + ": { aud: \"" + audience + "\" } }`");
  } else if (!f.id_token_file.empty()) {
    id.source = f.id_token_file == "-" ? "stdin" : "file " + f.id_token_file;
    std::stringstream text;
    if (f.id_token_file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(f.id_token_file);
      if (!in) return invalid("--id-token-file: cannot read " + f.id_token_file);
      text << in.rdbuf();
    }
    id.jwt = trimmed(text.str());
    if (id.jwt.empty()) return invalid("--id-token-file: no ID token in " + id.source);
  } else if (!env("ACTIONS_ID_TOKEN_REQUEST_URL").empty() && !env("ACTIONS_ID_TOKEN_REQUEST_TOKEN").empty()) {
    id.source = "GitHub Actions";
    auto jwt = client::request_github_id_token(t.connection, env("ACTIONS_ID_TOKEN_REQUEST_URL"),
                                               env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), audience);
    if (!jwt.ok()) return jwt.error();  // not a usage error: the runner's endpoint failed
    id.jwt = std::move(jwt).value();
  } else if (env("GITHUB_ACTIONS") == "true") {
    return invalid("this GitHub Actions job may not request an ID token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): add "
                   "`permissions: id-token: write` to the job or the workflow");
  } else if (env("GITLAB_CI") == "true") {
    return invalid("no ID token: on GitLab CI declare one in the job (`id_tokens: { REPOTOKENS_ID_TOKEN: { aud: \"" +
                   audience + "\" } }`) and pass --id-token-env REPOTOKENS_ID_TOKEN");
  } else {
    return invalid("no ID token: not on GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL is not set); give "
                   "--id-token-env NAME (GitLab's id_tokens:) or --id-token-file FILE (- for stdin)");
  }
  if (!client::looks_like_jwt(id.jwt))
    return invalid("the ID token from " + id.source + " is not a JWT (three base64url parts separated by dots)");
  return id;
}

// The file the token is appended to, opened before anything is issued (so a path that cannot be written
// costs no token): created 0600; an existing file loses any group/other permission.
struct ExportFile {
  std::string path;
  int fd = -1;
  ~ExportFile() {
    if (fd >= 0) ::close(fd);
  }
};

Status open_export(ExportFile& out) {
  out.fd = ::open(out.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (out.fd < 0)
    return make_error(ErrorKind::invalid, "--export: cannot open " + out.path + " for appending (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(out.fd, &st) == 0 && (st.st_mode & 077) != 0) ::fchmod(out.fd, st.st_mode & 0700);
  return ok_status();
}

Status append_line(const ExportFile& out, const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(out.fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorKind::internal, "cannot write " + out.path + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(out.fd) != 0 && errno != EINVAL)
    return make_error(ErrorKind::internal, "cannot sync " + out.path + ": " + std::strerror(errno));
  return ok_status();
}

bool valid_variable(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// The refusal of the exchange, for a CI log: the server's reason and what usually fixes it.
std::string refusal_hint(const std::string& reason) {
  if (reason.starts_with("wrong audience"))
    return "; request the audience the trust rule names (--audience, default the API URL)";
  if (reason.starts_with("no trust rule"))
    return "; a repository admin adds one with `repotokens trust add` (docs/ci-workflows.md)";
  if (reason.starts_with("unknown issuer")) return "; the server's --ci-issuer must list this CI system's issuer";
  return "";
}

int run_ci_token(const CiTokenFlags& f, const GlobalOptions& g) {
  auto resolved = resolve_target(g, false);
  if (!resolved.ok()) return usage_error(resolved.error().message);
  Target target = std::move(resolved).value();
  target.connection.api_token.clear();  // the exchange takes no account token; a CI job's is not sent along
  if (!valid_variable(f.variable))
    return usage_error("--variable: '" + f.variable + "' is not a variable name (letters, digits and _)");
  const bool exporting = f.export_env || !f.export_file.empty();
  ExportFile out;
  if (exporting) {
    out.path = !f.export_file.empty() ? f.export_file : env("GITHUB_ENV");
    if (out.path.empty())
      return usage_error("--export: $GITHUB_ENV is not set (not on GitHub Actions); give --export-file FILE for a "
                         "dotenv file");
    if (auto s = open_export(out); !s.ok()) return usage_error(s.error().message);
  } else if (is_terminal(1) && !f.show_secret) {
    return usage_error("the token is not printed on a terminal; capture it ($(repotokens ci token)), use --export, "
                       "or pass --show-secret");
  }
  const std::string audience = !f.audience.empty() ? f.audience : target.connection.api_url;
  auto id = read_id_token(f, target, audience);
  if (!id.ok()) {
    if (id.error().kind == ErrorKind::invalid) return usage_error(id.error().message);
    std::fprintf(stderr, "error: %s\n", id.error().message.c_str());
    return kExitFailure;
  }
  Session s(target, g.quiet);
  auto exchanged = s.api.exchange_ci_token(id->jwt);
  if (!exchanged.ok()) {
    const Error& e = exchanged.error();
    if (e.kind == ErrorKind::unauthorized) {
      std::fprintf(stderr, "error: %s refused the ID token from %s: %s%s\n", target.connection.api_url.c_str(),
                   id->source.c_str(), e.message.c_str(), refusal_hint(e.message).c_str());
      return kExitAuth;
    }
    return report(e, target);
  }
  const std::string& secret = exchanged->secret;
  auto kind = check_token_format(secret);
  if (!kind.ok() || *kind != TokenKind::repository) {
    std::fprintf(stderr, "error: the server's answer to the exchange is not a repository token\n");
    return kExitFailure;
  }
  const std::string repo = exchanged->provider + "/" + exchanged->owner + "/" + exchanged->repository;
  const std::string until = exchanged->expires_at ? ", valid until " + format_rfc3339(*exchanged->expires_at) : "";
  if (exporting) {
    // GitHub masks a value in the job's log once told so on stdout; before anything else could show it.
    if (env("GITHUB_ACTIONS") == "true") {
      std::fprintf(stdout, "::add-mask::%s\n", secret.c_str());
      std::fflush(stdout);
    }
    if (auto st = append_line(out, f.variable + "=" + secret + "\n"); !st.ok()) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      return kExitFailure;
    }
    if (!g.quiet)
      std::fprintf(stderr, "%s exported to %s: a token of %s (%s)%s\n", f.variable.c_str(),
                   f.export_file.empty() ? "$GITHUB_ENV" : out.path.c_str(), repo.c_str(), exchanged->name.c_str(),
                   until.c_str());
    return kExitOk;
  }
  std::fprintf(stdout, "%s\n", secret.c_str());
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "error: cannot write the token to stdout: %s\n", std::strerror(errno));
    return kExitFailure;
  }
  if (!g.quiet)
    std::fprintf(stderr, "a token of %s (%s)%s\n", repo.c_str(), exchanged->name.c_str(), until.c_str());
  return kExitOk;
}

}  // namespace

void add_ci_command(CLI::App& app, CommandContext ctx) {
  auto* ci = app.add_subcommand("ci", "inside a CI job: exchange the job's OIDC identity for a short-lived token");
  ci->require_subcommand(1);
  auto f = std::make_shared<CiTokenFlags>();
  auto* token = ci->add_subcommand(
      "token", "get the job's ID token, exchange it at POST /api/v3/ci/token, print the repository token (or --export it)");
  token->add_option("--audience", f->audience,
                    "the aud to request on GitHub Actions (default: the API URL, as the server's --ci-audience usually is)")
      ->type_name("AUD");
  token->add_option("--id-token-env", f->id_token_env, "read the ID token from this variable (GitLab's id_tokens:)")
      ->type_name("NAME");
  token->add_option("--id-token-file", f->id_token_file, "read the ID token from FILE (- for stdin)")->type_name("FILE");
  token->add_flag("--export", f->export_env,
                  "append VARIABLE=token to $GITHUB_ENV for the next steps (GitHub: after ::add-mask::)");
  token->add_option("--export-file", f->export_file, "append VARIABLE=token to this dotenv file (mode 0600)")
      ->type_name("FILE");
  token->add_option("--variable", f->variable, "the variable --export sets (default CODACY_PROJECT_TOKEN)")
      ->type_name("NAME");
  token->add_flag("--show-secret", f->show_secret, "allow printing the token on a terminal");
  set_examples(token, {"repotokens ci token --api-url https://repotokens.example --export   # GitHub Actions",
                       "CODACY_PROJECT_TOKEN=$(repotokens ci token --id-token-env REPOTOKENS_ID_TOKEN)   # GitLab CI, then export it",
                       "repotokens ci token --id-token-file job.jwt"});
  set_examples(ci, {"repotokens ci token --export"});
  GlobalOptions& g = ctx.global;
  token->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_ci_token(*f, g); }; });
}

}  // namespace rt::cli
