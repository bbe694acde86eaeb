#pragma once

// git's test for binary content (xdiff's buffer_is_binary): a NUL byte among the first 8000
// bytes. One definition for the record builder, rename scoring and combined diffs.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace fixmine::miner {

inline constexpr size_t kBinaryProbeBytes = 8000;

inline bool LooksBinary(std::string_view data) {
  // An empty blob's data() may be null, which memchr must not get even for 0 bytes.
  return !data.empty() &&
         std::memchr(data.data(), 0, std::min(data.size(), kBinaryProbeBytes)) != nullptr;
}

}  // namespace fixmine::miner
