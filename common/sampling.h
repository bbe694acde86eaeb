#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace fixmine {

// A stable 64-bit hash of `text` and `seed`: the same on every machine, process and release
// (FNV-1a 64 of the bytes, then a splitmix64 finalizer mixed with the seed). Thread-safe.
uint64_t StableHash64(std::string_view text, uint64_t seed);

// Deterministic sampling by record id (docs/formats.md, "Sampling"): true when
// StableHash64(id, seed) / 2^64 < rate. For the same seed a smaller rate keeps a subset of
// what a larger rate keeps (1% is inside 10%); rate 1 keeps everything. `rate` must have passed
// ValidateSampleRate. Thread-safe.
bool SampleKeeps(std::string_view id, double rate, uint64_t seed);

// OK when 0 < rate <= 1; INVALID_ARGUMENT naming the value otherwise (NaN included).
absl::Status ValidateSampleRate(double rate);

// The bucket (0 .. buckets-1) of a record id for parallel read sessions: a hash independent of
// the sampling hash, so every bucket of a sample gets about the same share. `buckets` >= 1.
uint32_t IdBucket(std::string_view id, uint32_t buckets);

}  // namespace fixmine
