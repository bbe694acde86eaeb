#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"

struct ZSTD_CCtx_s;

namespace fixmine::client {

// Writes one zstd-compressed file (a single frame, with the content checksum), streaming: memory
// stays bounded whatever is written. Not thread-safe.
class ZstdFileWriter {
 public:
  ZstdFileWriter() = default;
  ~ZstdFileWriter();
  ZstdFileWriter(const ZstdFileWriter&) = delete;
  ZstdFileWriter& operator=(const ZstdFileWriter&) = delete;

  // Creates (truncating) `path`. INTERNAL / NOT_FOUND style errors name the path.
  absl::Status Open(const std::string& path, int level = 3);
  // Compresses `data` into the file.
  absl::Status Write(std::string_view data);
  // Ends the frame and closes the file; the file is complete only after an OK Close.
  absl::Status Close();

  // Uncompressed and compressed bytes so far.
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  absl::Status Drive(std::string_view data, bool end);

  std::FILE* file_ = nullptr;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::string path_;
  std::string buf_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace fixmine::client
