#include "storage/keys.h"

#include <limits>

#include "fmt/format.h"

namespace fixmine::storage::keys {
namespace {

constexpr uint64_t kTimeBias = uint64_t{1} << 62;
constexpr char kRepoCounterPrefix[] = "repo";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string RepoCounterKey(std::string_view repo) {
  std::string key(kRepoCounterPrefix);
  key.push_back('\0');
  key.append(repo);
  return key;
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string EncodeCounter(int64_t v) {
  std::string out(8, '\0');
  auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((u >> (8 * i)) & 0xff);
  return out;
}

std::optional<int64_t> DecodeCounter(std::string_view in) {
  if (in.size() != 8) return std::nullopt;
  uint64_t u = 0;
  for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<unsigned char>(in[i]);
  return static_cast<int64_t>(u);
}

uint64_t BiasedTime(int64_t time) {
  if (time < -static_cast<int64_t>(kTimeBias)) return 0;
  // Unsigned wrap-around gives the exact sum for every time >= -2^62; the largest int64 plus
  // 2^62 still fits in 64 bits.
  return static_cast<uint64_t>(time) + kTimeBias;
}

std::string RepoPrefix(std::string_view repo) {
  std::string prefix(repo);
  prefix.push_back('\0');
  return prefix;
}

std::string PrimaryTimePrefix(std::string_view repo, int64_t time) {
  std::string key = RepoPrefix(repo);
  AppendBigEndian64(&key, std::numeric_limits<uint64_t>::max() - BiasedTime(time));
  return key;
}

absl::StatusOr<std::string> PrimaryKey(const fixmine::v1::Record& record) {
  if (record.repo().empty() || record.repo().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("record \"{}\": bad repository name \"{}\"", record.id(), record.repo()));
  }
  std::optional<std::string> commit = HexToBytes(record.commit());
  if (!commit || commit->empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "record \"{}\": commit \"{}\" is not a hex object id", record.id(), record.commit()));
  }
  std::string key = PrimaryTimePrefix(record.repo(), record.committer().time());
  key.append(*commit);
  return key;
}

std::optional<size_t> PrimaryRepoLength(std::string_view primary_key) {
  size_t zero = primary_key.find('\0');
  if (zero == std::string_view::npos || primary_key.size() < zero + 1 + 8) return std::nullopt;
  return zero;
}

std::optional<uint64_t> PrimaryBiasedTime(std::string_view primary_key) {
  std::optional<size_t> repo_len = PrimaryRepoLength(primary_key);
  if (!repo_len) return std::nullopt;
  return std::numeric_limits<uint64_t>::max() - ReadBigEndian64(primary_key.substr(*repo_len + 1));
}

std::string LangPrefix(std::string_view language) {
  std::string prefix(language);
  prefix.push_back('\0');
  return prefix;
}

std::string LangKey(std::string_view language, std::string_view primary_key) {
  std::string key = LangPrefix(language);
  key.append(primary_key);
  return key;
}

std::string TimeKey(uint64_t biased_time, std::string_view primary_key) {
  std::string key;
  key.reserve(8 + primary_key.size());
  AppendBigEndian64(&key, biased_time);
  key.append(primary_key);
  return key;
}

std::string_view PrimaryFromLangKey(std::string_view lang_key) {
  size_t zero = lang_key.find('\0');
  if (zero == std::string_view::npos) return {};
  return lang_key.substr(zero + 1);
}

std::string_view PrimaryFromTimeKey(std::string_view time_key) {
  if (time_key.size() <= 8) return {};
  return time_key.substr(8);
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

std::vector<std::string> LshBucketPrefixes(
    const google::protobuf::RepeatedField<uint32_t>& signature) {
  std::vector<std::string> out;
  if (signature.size() != kLshBands * kLshRows) return out;
  for (int band = 0; band < kLshBands; ++band) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the band's values, little-endian bytes
    for (int row = 0; row < kLshRows; ++row) {
      uint32_t v = signature[band * kLshRows + row];
      for (int i = 0; i < 4; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
      }
    }
    std::string prefix = "b";
    prefix.push_back(static_cast<char>(band));
    AppendBigEndian64(&prefix, h);
    out.push_back(std::move(prefix));
  }
  return out;
}

std::string LshBucketKey(std::string_view prefix, std::string_view id) {
  std::string key(prefix);
  key.append(id);
  return key;
}

std::string LshSignatureKey(std::string_view id) {
  std::string key = "s";
  key.append(id);
  return key;
}

std::string EncodeSignature(const google::protobuf::RepeatedField<uint32_t>& signature) {
  std::string out;
  out.reserve(static_cast<size_t>(signature.size()) * 4);
  for (uint32_t v : signature) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  return out;
}

std::optional<std::vector<uint32_t>> DecodeSignature(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::vector<uint32_t> out(in.size() / 4);
  for (size_t k = 0; k < out.size(); ++k) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[k * 4 + i]);
    out[k] = v;
  }
  return out;
}

std::optional<std::string> HexToBytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string BugLinkRepoPrefix(std::string_view repo) {
  std::string out = "bug_link/";
  out.append(repo);
  out.push_back('\0');
  return out;
}

std::string BugLinkPrefix(std::string_view repo, std::string_view bug_commit) {
  std::string out = BugLinkRepoPrefix(repo);
  out.append(bug_commit);
  out.push_back('\0');
  return out;
}

std::string BugLinkKey(std::string_view repo, std::string_view bug_commit,
                       std::string_view fix_commit) {
  std::string out = BugLinkPrefix(repo, bug_commit);
  out.append(fix_commit);
  return out;
}

std::string DedupMemberKey(std::string_view id) {
  std::string out = "m";
  out += id;
  return out;
}

namespace {
std::string DedupPrefix(char family, std::string_view value) {
  std::string out(1, family);
  out += value;
  out.push_back('\0');
  return out;
}
}  // namespace

std::string DedupFingerprintPrefix(std::string_view fingerprint) {
  return DedupPrefix('f', fingerprint);
}
std::string DedupCommitPrefix(std::string_view commit) { return DedupPrefix('c', commit); }
std::string DedupNearPrefix(std::string_view canonical_id) {
  return DedupPrefix('n', canonical_id);
}

std::string TrajectoryRepoPrefix(std::string_view repo) {
  std::string k = "t";
  k.append(repo);
  k.push_back('\0');
  return k;
}

std::string TrajectoryKey(std::string_view repo, int64_t merge_time, std::string_view id) {
  std::string k = TrajectoryRepoPrefix(repo);
  AppendBigEndian64(&k, UINT64_MAX - BiasedTime(merge_time));
  k.append(id);
  return k;
}

std::string TrajectoryIdKey(std::string_view id) {
  std::string k = "i";
  k.append(id);
  return k;
}

}  // namespace fixmine::storage::keys
