// Loading and first-start creation of the hashing key file (see key_file.h).
#include "server/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "store/store.h"

namespace rt::server {

Result<SecretKey> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::invalid, "cannot read secret file " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.pop_back();
  auto key = parse_secret_key(hex);
  if (!key) return make_error(ErrorKind::invalid, "secret file " + path + " must hold 64 hexadecimal characters");
  return *key;
}

Status write_key_file(const std::string& path, const SecretKey& key) {
  std::string text = format_secret_key(key) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ErrorKind::invalid, "cannot create secret file " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return make_error(ErrorKind::invalid, "cannot write secret file " + path);
  }
  return ok_status();
}

namespace {

// Creates the file exclusively (a concurrent creator wins, and we read its key), 0600, synced.
Result<SecretKey> create_key(const std::string& path) {
  SystemRandom random;
  SecretKey key = generate_secret_key(random);
  struct stat st {};
  if (Status written = write_key_file(path, key); !written) {
    if (::stat(path.c_str(), &st) == 0) return read_key_file(path);  // another process created it first
    return written.error();
  }
  return key;
}

}  // namespace

std::string sqlite_path(const std::string& db_url) {
  auto where = parse_store_url(db_url);
  return where.ok() && !where->shared() ? where->path : std::string();
}

Result<SecretKey> load_or_create_key(const std::string& db_url, const std::string& secret_file) {
  if (!secret_file.empty()) return read_key_file(secret_file);
  std::string db_path = sqlite_path(db_url);
  if (db_path.empty())
    return make_error(ErrorKind::invalid,
                      "--secret-file (or REPOTOKENS_SECRET_FILE) is required with PostgreSQL: every node must use the "
                      "same 64-hex-character key file to hash and check tokens (see docs/deploy.md)");
  std::string path = db_path + ".key";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return read_key_file(path);
  return create_key(path);
}

}  // namespace rt::server
