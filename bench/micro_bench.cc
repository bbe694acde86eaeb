// Google Benchmark micro-benchmarks of the hot paths: one file pair to a record (diff, patch
// text, hunks), a record to JSON (fast writer vs protobuf's printer), filter evaluation and
// key encoding. Run: build-release/bench/micro_bench [--benchmark_filter=REGEX]
#include <benchmark/benchmark.h>
#include <git2.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/json.h"
#include "common/record_json.h"
#include "miner/git_handles.h"
#include "miner/record_builder.h"
#include "storage/filter.h"
#include "storage/keys.h"

namespace {

// A C-like file of `lines` lines; `variant` changes every 40th line.
std::string SyntheticSource(int lines, int variant) {
  std::string s;
  for (int i = 0; i < lines; ++i) {
    if (i % 25 == 0) s += "static int function_" + std::to_string(i) + "(int a, int b)\n{\n";
    s += "    value_" + std::to_string(i) + " = a * " + std::to_string(i % 97) + " + b;";
    if (variant && i % 40 == 7) s += " /* changed " + std::to_string(variant) + " */";
    s += "\n";
    if (i % 25 == 24) s += "}\n";
  }
  return s;
}

// A one-commit-pair repository in a temp folder: parent has `old`, child has `new`.
class PairRepo {
 public:
  PairRepo(const std::string& before, const std::string& after) {
    fixmine::miner::EnsureLibgit2();
    dir_ = std::filesystem::temp_directory_path() /
           ("fixmine-micro-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    git_repository_init(&repo_, dir_.c_str(), /*is_bare=*/1);
    git_signature* sig = nullptr;
    git_signature_new(&sig, "Bench", "bench@example.org", 1700000000, 0);
    git_oid parent = Commit(before, nullptr, sig);
    child_ = Commit(after, &parent, sig);
    git_signature_free(sig);
  }
  ~PairRepo() {
    git_repository_free(repo_);
    std::filesystem::remove_all(dir_);
  }
  git_repository* repo() { return repo_; }
  const git_oid& child() { return child_; }

 private:
  git_oid Commit(const std::string& content, const git_oid* parent, git_signature* sig) {
    git_oid blob, tree, commit;
    git_blob_create_from_buffer(&blob, repo_, content.data(), content.size());
    git_treebuilder* tb = nullptr;
    git_treebuilder_new(&tb, repo_, nullptr);
    git_treebuilder_insert(nullptr, tb, "main.c", &blob, GIT_FILEMODE_BLOB);
    git_treebuilder_write(&tree, tb);
    git_treebuilder_free(tb);
    git_tree* t = nullptr;
    git_tree_lookup(&t, repo_, &tree);
    git_commit* p = nullptr;
    if (parent) git_commit_lookup(&p, repo_, parent);
    const git_commit* parents[] = {p};
    git_commit_create(&commit, repo_, nullptr, sig, sig, nullptr, "change\n", t, p ? 1 : 0,
                      parents);
    git_commit_free(p);
    git_tree_free(t);
    return commit;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  git_repository* repo_ = nullptr;
  git_oid child_{};
};

fixmine::v1::Record BuildOne(PairRepo* pr) {
  fixmine::miner::RecordOptions opt;
  opt.repo_name = "bench";
  git_commit* c = nullptr;
  git_commit_lookup(&c, pr->repo(), &pr->child());
  auto r = fixmine::miner::BuildRecord(pr->repo(), c, opt);
  git_commit_free(c);
  return r.ok() ? *r : fixmine::v1::Record();
}

void BM_DiffToRecord(benchmark::State& state) {
  int lines = static_cast<int>(state.range(0));
  PairRepo pr(SyntheticSource(lines, 0), SyntheticSource(lines, 1));
  for (auto _ : state) benchmark::DoNotOptimize(BuildOne(&pr));
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(lines) * 40);
}
BENCHMARK(BM_DiffToRecord)->Arg(200)->Arg(2000)->Arg(20000);

void BM_RecordJson(benchmark::State& state) {
  PairRepo pr(SyntheticSource(2000, 0), SyntheticSource(2000, 1));
  fixmine::v1::Record r = BuildOne(&pr);
  std::string out;
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    if (state.range(0) == 0) {
      fixmine::AppendRecordJson(r, &out);
    } else {
      out = *fixmine::ToJsonLine(r);
    }
    bytes += out.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel(state.range(0) == 0 ? "fast writer" : "protobuf MessageToJsonString");
}
BENCHMARK(BM_RecordJson)->Arg(0)->Arg(1);

void BM_FilterEval(benchmark::State& state) {
  PairRepo pr(SyntheticSource(200, 0), SyntheticSource(200, 1));
  fixmine::v1::Record r = BuildOne(&pr);
  auto f = fixmine::storage::Filter::Parse(
      "path = \"**/*.c\" AND added <= 50 NOT is_bot regex(message, \"(?i)fix(es|ed)? #\\d+\") "
      "OR lang = C");
  if (!f.ok()) {
    state.SkipWithError("filter did not parse");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize((*f)->Matches(r));
}
BENCHMARK(BM_FilterEval);

void BM_PrimaryKey(benchmark::State& state) {
  PairRepo pr(SyntheticSource(50, 0), SyntheticSource(50, 1));
  fixmine::v1::Record r = BuildOne(&pr);
  for (auto _ : state) benchmark::DoNotOptimize(fixmine::storage::keys::PrimaryKey(r));
}
BENCHMARK(BM_PrimaryKey);

}  // namespace

BENCHMARK_MAIN();
