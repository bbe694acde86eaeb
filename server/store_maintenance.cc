// AdminService store maintenance: BackupStore, CompactStore, VerifyStore.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/services.h"
#include "server/status_convert.h"
#include "storage/maintenance.h"

namespace fixmine::server {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(ToGrpcStatus(st));
  return r;
}

// Maintenance is administration: the admin token when tokens are configured; without an
// authorizer nothing is allowed (fail closed).
absl::Status AllowAdmin(grpc::CallbackServerContext* ctx, const CallGuards& guards) {
  if (guards.auth == nullptr) return absl::InternalError("server started without an authorizer");
  return guards.auth->Check(*ctx, Role::kAdmin);
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::BackupStore(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::BackupStoreRequest* req,
                                                        fixmine::v1::BackupStoreResponse* resp) {
  if (absl::Status st = AllowAdmin(ctx, guards_); !st.ok()) return Finish(ctx, st);
  const std::string& dir = req->dir();
  if (dir.empty() || dir[0] != '/') {
    return Finish(ctx, absl::InvalidArgumentError(
                           absl::StrCat("backup folder \"", dir,
                                        "\" must be an absolute path on the server's filesystem")));
  }
  // A backup inside the live data folder would be copied into later backups and
  // removed with the data; keep them apart.
  std::error_code ec;
  std::filesystem::path data = std::filesystem::weakly_canonical(config_->data_dir, ec);
  std::filesystem::path target = std::filesystem::weakly_canonical(dir, ec);
  std::string d = data.string() + "/", t = target.string() + "/";
  if (t.compare(0, d.size(), d) == 0) {
    return Finish(ctx, absl::InvalidArgumentError(
                           absl::StrCat("backup folder \"", dir, "\" is inside the data folder \"",
                                        config_->data_dir, "\"; choose a folder outside it")));
  }
  auto records = store_->TotalRecords();
  auto info = storage::CheckpointStore(store_, dir);
  if (!info.ok()) return Finish(ctx, info.status());
  resp->set_dir(dir);
  resp->set_sequence(info->sequence);
  resp->set_files(info->files);
  resp->set_bytes(info->bytes);
  resp->set_records(records.ok() ? *records : 0);
  Log(LogLevel::kInfo, absl::StrCat("backup written to ", dir, ": ", info->files, " files, ",
                                    info->bytes, " bytes, sequence ", info->sequence));
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::CompactStore(grpc::CallbackServerContext* ctx,
                                                         const fixmine::v1::CompactStoreRequest*,
                                                         fixmine::v1::CompactStoreResponse* resp) {
  if (absl::Status st = AllowAdmin(ctx, guards_); !st.ok()) return Finish(ctx, st);
  resp->set_bytes_before(store_->ApproximateSize());
  if (absl::Status st = store_->Compact(); !st.ok()) return Finish(ctx, st);
  resp->set_bytes_after(store_->ApproximateSize());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::VerifyStore(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::VerifyStoreRequest*,
                                                        fixmine::v1::VerifyStoreResponse* resp) {
  if (absl::Status st = AllowAdmin(ctx, guards_); !st.ok()) return Finish(ctx, st);
  auto report = storage::VerifyStore(store_);
  if (!report.ok()) return Finish(ctx, report.status());
  resp->set_records(report->records);
  resp->set_ids(report->ids);
  resp->set_time_entries(report->time_entries);
  resp->set_lang_entries(report->lang_entries);
  resp->set_counted_total(report->counted_total);
  resp->set_repositories(report->repositories);
  resp->set_jobs(report->jobs);
  for (const auto& p : report->problems) resp->add_problems(p);
  if (!report->problems.empty()) {
    Log(LogLevel::kError, absl::StrCat("store verification found ", report->problems.size(),
                                       " problems; first: ", report->problems[0]));
  }
  return Finish(ctx, absl::OkStatus());
}

}  // namespace fixmine::server
