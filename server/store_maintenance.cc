// AdminService store maintenance: BackupStore, CompactStore, VerifyStore.
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/path_policy.h"
#include "server/services.h"
#include "server/status_convert.h"
#include "storage/maintenance.h"

namespace fixmine::server {

grpc::ServerUnaryReactor* AdminServiceImpl::BackupStore(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::BackupStoreRequest* req,
                                                        fixmine::v1::BackupStoreResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    const std::string& dir = req->dir();
    if (absl::Status st = CheckBackupFolder(dir, config_->data_dir); !st.ok()) return st;
    auto records = store_->TotalRecords();
    auto info = storage::CheckpointStore(store_, dir);
    if (!info.ok()) return info.status();
    resp->set_dir(dir);
    resp->set_sequence(info->sequence);
    resp->set_files(info->files);
    resp->set_bytes(info->bytes);
    resp->set_records(records.ok() ? *records : 0);
    Log(LogLevel::kInfo, absl::StrCat("backup written to ", dir, ": ", info->files, " files, ",
                                      info->bytes, " bytes, sequence ", info->sequence));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CompactStore(grpc::CallbackServerContext* ctx,
                                                         const fixmine::v1::CompactStoreRequest*,
                                                         fixmine::v1::CompactStoreResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    resp->set_bytes_before(store_->ApproximateSize());
    if (absl::Status st = store_->Compact(); !st.ok()) return st;
    resp->set_bytes_after(store_->ApproximateSize());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::VerifyStore(grpc::CallbackServerContext* ctx,
                                                        const fixmine::v1::VerifyStoreRequest*,
                                                        fixmine::v1::VerifyStoreResponse* resp) {
  return Serve(ctx, guards_, Role::kAdmin, Cost::kHeavy, [=, this]() -> absl::Status {
    auto report = storage::VerifyStore(store_);
    if (!report.ok()) return report.status();
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
    return absl::OkStatus();
  });
}

}  // namespace fixmine::server
