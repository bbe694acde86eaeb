#include "common/sampling.h"

#include <cmath>

#include "fmt/format.h"

namespace fixmine {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Seeds the read-session bucket hash apart from every sampling seed a user is likely to pick.
constexpr uint64_t kBucketSalt = 0x6669786d696e6562ull;  // "fixmineb"

}  // namespace

uint64_t StableHash64(std::string_view text, uint64_t seed) {
  return SplitMix64(Fnv1a64(text) ^ SplitMix64(seed));
}

bool SampleKeeps(std::string_view id, double rate, uint64_t seed) {
  if (rate >= 1.0) return true;
  if (!(rate > 0.0)) return false;
  // rate * 2^64, computed in long double (64-bit mantissa on x86-64) so that the threshold is
  // exact for rates like 0.01; monotone in rate, which makes smaller samples subsets.
  long double threshold = std::ldexp(static_cast<long double>(rate), 64);
  return static_cast<long double>(StableHash64(id, seed)) < threshold;
}

absl::Status ValidateSampleRate(double rate) {
  if (!(rate > 0.0 && rate <= 1.0)) {
    return absl::InvalidArgumentError(fmt::format(
        "sample_rate is {}; use a value in (0, 1], e.g. 0.01 for 1% of the records", rate));
  }
  return absl::OkStatus();
}

uint32_t IdBucket(std::string_view id, uint32_t buckets) {
  if (buckets <= 1) return 0;
  return static_cast<uint32_t>(StableHash64(id, kBucketSalt) % buckets);
}

}  // namespace fixmine
