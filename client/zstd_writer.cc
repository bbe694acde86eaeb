#include "client/zstd_writer.h"

#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace fixmine::client {

ZstdFileWriter::~ZstdFileWriter() {
  if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ZstdFileWriter::Open(const std::string& path, int level) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return absl::InternalError(fmt::format("creating \"{}\": {}", path, std::strerror(errno)));
  }
  cctx_ = ZSTD_createCCtx();
  if (cctx_ == nullptr) return absl::ResourceExhaustedError("zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
  buf_.resize(ZSTD_CStreamOutSize());
  return absl::OkStatus();
}

absl::Status ZstdFileWriter::Drive(std::string_view data, bool end) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (true) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    size_t left = ZSTD_compressStream2(cctx_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) {
      return absl::InternalError(
          fmt::format("compressing \"{}\": {}", path_, ZSTD_getErrorName(left)));
    }
    if (out.pos > 0 && std::fwrite(buf_.data(), 1, out.pos, file_) != out.pos) {
      return absl::InternalError(fmt::format("writing \"{}\": {}", path_, std::strerror(errno)));
    }
    bytes_out_ += out.pos;
    bool done = end ? left == 0 : in.pos == in.size;
    if (done) return absl::OkStatus();
  }
}

absl::Status ZstdFileWriter::Write(std::string_view data) {
  if (file_ == nullptr) return absl::FailedPreconditionError("zstd writer is not open");
  bytes_in_ += data.size();
  return Drive(data, false);
}

absl::Status ZstdFileWriter::Close() {
  if (file_ == nullptr) return absl::FailedPreconditionError("zstd writer is not open");
  absl::Status st = Drive({}, true);
  int rc = std::fclose(file_);
  file_ = nullptr;
  ZSTD_freeCCtx(cctx_);
  cctx_ = nullptr;
  if (st.ok() && rc != 0) {
    st = absl::InternalError(fmt::format("closing \"{}\": {}", path_, std::strerror(errno)));
  }
  return st;
}

}  // namespace fixmine::client
