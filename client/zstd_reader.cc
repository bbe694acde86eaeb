#include "client/zstd_reader.h"

#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fmt/format.h"

namespace fixmine::client {

ZstdLineReader::~ZstdLineReader() {
  if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ZstdLineReader::Open(const std::string& path) {
  path_ = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(fmt::format("\"{}\" does not exist", path));
  }
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    return absl::InternalError(fmt::format("opening \"{}\": {}", path, std::strerror(errno)));
  }
  dctx_ = ZSTD_createDCtx();
  if (dctx_ == nullptr) return absl::ResourceExhaustedError("zstd: out of memory");
  return absl::OkStatus();
}

absl::Status ZstdLineReader::Fill() {
  if (in_pos_ == in_.size() && !file_eof_) {
    in_.resize(ZSTD_DStreamInSize());
    size_t n = std::fread(in_.data(), 1, in_.size(), file_);
    if (n == 0 && std::ferror(file_)) {
      return absl::InternalError(fmt::format("reading \"{}\": {}", path_, std::strerror(errno)));
    }
    in_.resize(n);
    in_pos_ = 0;
    file_eof_ = n == 0;
  }
  if (in_pos_ == in_.size() && file_eof_ && frame_left_ == 0) {
    eof_ = true;
    return absl::OkStatus();
  }
  // With no input left the decoder may still hold output of the frame: call it once more.
  std::string out(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{in_.data(), in_.size(), in_pos_};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t hint = ZSTD_decompressStream(dctx_, &o, &in);
  if (ZSTD_isError(hint)) {
    return absl::DataLossError(
        fmt::format("decompressing \"{}\": {}", path_, ZSTD_getErrorName(hint)));
  }
  if (file_eof_ && in.pos == in_pos_ && o.pos == 0 && hint != 0) {
    return absl::DataLossError(fmt::format("\"{}\" ends in the middle of a zstd frame", path_));
  }
  frame_left_ = hint;
  in_pos_ = in.pos;
  pending_.erase(0, pending_pos_);
  pending_pos_ = 0;
  pending_.append(out.data(), o.pos);
  return absl::OkStatus();
}

absl::StatusOr<bool> ZstdLineReader::Next(std::string* line) {
  if (file_ == nullptr) return absl::FailedPreconditionError("ZstdLineReader: not open");
  while (true) {
    size_t nl = pending_.find('\n', pending_pos_);
    if (nl != std::string::npos) {
      line->assign(pending_, pending_pos_, nl - pending_pos_);
      pending_pos_ = nl + 1;
      return true;
    }
    if (eof_) {
      if (pending_pos_ == pending_.size()) return false;
      line->assign(pending_, pending_pos_);  // a last line without '\n'
      pending_pos_ = pending_.size();
      return true;
    }
    if (absl::Status st = Fill(); !st.ok()) return st;
  }
}

}  // namespace fixmine::client
