#pragma once

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct ZSTD_DCtx_s;

namespace fixmine::client {

// Reads a zstd-compressed file (one or more frames, as ZstdFileWriter writes them) line by line,
// streaming: memory stays bounded by the longest line. Not thread-safe.
class ZstdLineReader {
 public:
  ZstdLineReader() = default;
  ~ZstdLineReader();
  ZstdLineReader(const ZstdLineReader&) = delete;
  ZstdLineReader& operator=(const ZstdLineReader&) = delete;

  // Opens `path`. NOT_FOUND when it is absent, INTERNAL when it cannot be read.
  absl::Status Open(const std::string& path);
  // Sets `line` to the next line without its '\n' and returns true; false at the end of the
  // file. DATA_LOSS naming the file when the data is not zstd or ends in the middle of a frame.
  absl::StatusOr<bool> Next(std::string* line);

 private:
  absl::Status Fill();  // decompresses more into pending_; sets eof_ at the end

  std::FILE* file_ = nullptr;
  ZSTD_DCtx_s* dctx_ = nullptr;
  std::string path_;
  std::string in_;  // compressed bytes read and not yet consumed
  size_t in_pos_ = 0;
  std::string pending_;  // decompressed bytes not yet returned
  size_t pending_pos_ = 0;
  size_t frame_left_ = 0;  // ZSTD_decompressStream's last hint: 0 at a frame boundary
  bool file_eof_ = false;  // fread found the end of the file
  bool eof_ = false;       // and the decoder has nothing more
};

}  // namespace fixmine::client
