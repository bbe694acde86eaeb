#include "pipeline/repo_identity.h"

#include <cctype>
#include <vector>

#include "common/status.h"
#include "fmt/format.h"

namespace fixmine::pipeline {
namespace {

// `text` split at every '/' (empty parts kept).
std::vector<std::string_view> Segments(std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t slash = text.find('/');
    out.push_back(text.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    text.remove_prefix(slash + 1);
  }
}

bool NameByte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// `segment` with every byte a name may not hold replaced by '_', and a '_' in front when it
// would start with '.' or '-'.
std::string CleanSegment(std::string_view segment) {
  std::string out;
  if (!segment.empty() && (segment[0] == '.' || segment[0] == '-')) out.push_back('_');
  for (char c : segment) out.push_back(NameByte(c) ? c : '_');
  return out;
}

std::string_view StripGitSuffix(std::string_view s) {
  if (s.size() > 4 && s.ends_with(".git")) s.remove_suffix(4);
  return s;
}

std::string UrlName(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::vector<std::string_view> segments;
  for (std::string_view s : Segments(path)) {
    if (!s.empty() && s != ".") segments.push_back(s);
  }
  if (!segments.empty() && segments.back() == ".git") segments.pop_back();
  if (!segments.empty()) segments.back() = StripGitSuffix(segments.back());
  std::string host(authority);
  for (char& c : host) {
    c = c == ':' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string name = host.empty() ? "" : CleanSegment(host);
  for (std::string_view s : segments) {
    if (s.empty()) continue;
    if (!name.empty()) name.push_back('/');
    name += CleanSegment(s);
  }
  return name;
}

std::string PathName(std::string_view s) {
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  size_t slash = s.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? s : s.substr(slash + 1);
  if (base == ".git" && slash != std::string_view::npos && slash > 0) {
    return PathName(s.substr(0, slash));
  }
  base = StripGitSuffix(base);
  if (base.empty() || base == "." || base == "/" || base == "..") return "";
  return CleanSegment(base);
}

}  // namespace

bool IsRemoteSource(std::string_view source) { return source.find("://") != std::string::npos; }

std::string DefaultRepositoryName(std::string_view source) {
  return IsRemoteSource(source) ? UrlName(source) : PathName(source);
}

absl::Status ValidateRepositoryName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 255;
  for (std::string_view segment : Segments(name)) {
    ok = ok && !segment.empty() && segment.size() <= 100 && segment[0] != '.' && segment[0] != '-';
    for (char c : segment) ok = ok && NameByte(c);
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("name {} is invalid; use up to 255 bytes: segments of 1 to 100 letters, "
                  "digits, '.', '_' or '-', separated by single '/', none starting with '.' or "
                  "'-'",
                  QuoteInput(name)));
}

}  // namespace fixmine::pipeline
