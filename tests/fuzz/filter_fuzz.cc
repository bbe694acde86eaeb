// libFuzzer target: filter expressions (StreamRecords.filter, CountRecords, exports), as a client
// sends them. Checks beyond "no crash": a parsed filter's canonical text parses again to the same
// canonical text, evaluating it against a record does not fault, and a filter that says it reads
// no files (Filter::ReadsFiles) gives the same answer on the record without its files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/filter.h"

namespace {

const fixmine::v1::Record& SampleRecord() {
  static const fixmine::v1::Record* r = [] {
    auto* rec = new fixmine::v1::Record();
    rec->set_id("r1");
    rec->set_repo("demo");
    rec->set_commit("0123456789abcdef0123456789abcdef01234567");
    rec->set_subject("Fix null check in parser");
    rec->set_message("Fix null check in parser\n\nFixes #12\n");
    rec->mutable_committer()->set_time(1700000000);
    rec->mutable_author()->set_email("ada@example.com");
    auto* f = rec->add_files();
    f->set_path("src/parse.c");
    f->set_old_path("src/old.c");
    f->set_language("C");
    f->set_binary(true);
    f->set_vendored(true);
    f->add_functions_changed("parse_header");
    f->set_added(3);
    f->set_deleted(1);
    rec->mutable_labels()->set_is_fix(true);
    return rec;
  }();
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = fixmine::storage::Filter::Parse(text);
  if (!f.ok()) return 0;
  (void)(*f)->Matches(SampleRecord());
  const std::string canonical = (*f)->canonical();
  auto again = fixmine::storage::Filter::Parse(canonical);
  // The canonical text is what resume tokens hash; it must stand for the same filter.
  if (!again.ok() || (*again)->canonical() != canonical) std::abort();
  if ((*again)->Matches(SampleRecord()) != (*f)->Matches(SampleRecord())) std::abort();
  // Scans evaluate such a filter on a record parsed without its files (ScanSerialized).
  if (!(*f)->ReadsFiles()) {
    fixmine::v1::Record without = SampleRecord();
    without.clear_files();
    if ((*f)->Matches(without) != (*f)->Matches(SampleRecord())) std::abort();
  }
  return 0;
}
