// The name of one repository as every part of the provision job keys it: provider code, organization and
// repository name, kept apart (never a "provider/org/name" string built and split again, which breaks on
// names holding a slash, such as GitLab subgroups).
#pragma once

#include <compare>
#include <string>

namespace rt::cli {

struct RepoKey {
  std::string provider;
  std::string org;
  std::string name;

  // "provider/org/name", for people (messages, progress lines); never parsed back.
  std::string text() const { return provider + "/" + org + "/" + name; }
  auto operator<=>(const RepoKey&) const = default;
};

}  // namespace rt::cli
