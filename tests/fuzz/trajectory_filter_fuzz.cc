// libFuzzer target: trajectory filter expressions (StreamTrajectories.filter), as a client sends
// them. Checks beyond "no crash": a parsed filter's canonical text parses again to the same
// canonical text and the same repository hint, and both evaluate alike against a trajectory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/trajectory_filter.h"

namespace {

const fixmine::v1::Trajectory& SampleTrajectory() {
  static const fixmine::v1::Trajectory* t = [] {
    auto* traj = new fixmine::v1::Trajectory();
    traj->set_id("0123456789abcdef01234567");
    traj->set_repo("demo");
    traj->set_merge_commit("89abcdef0123456789abcdef0123456789abcdef");
    traj->set_kind("merge");
    traj->set_pr_number(42);
    traj->set_title("Fix the widget leak");
    traj->set_source_branch("ada/leak-fix");
    traj->set_step_count(3);
    traj->set_any_fix(true);
    traj->mutable_merged_by()->set_time(1700000000);
    traj->set_message("Merge pull request #42 from ada/leak-fix\n\nFix the widget leak\n");
    return traj;
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fixmine::storage::TrajectoryFilter;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = TrajectoryFilter::Parse(text);
  if (!f.ok()) return 0;
  const bool matches = (*f)->Matches(SampleTrajectory());
  const std::string canonical = (*f)->canonical();
  auto again = TrajectoryFilter::Parse(canonical);
  // The canonical text is what resume tokens hash; it must stand for the same filter.
  if (!again.ok() || (*again)->canonical() != canonical) std::abort();
  if ((*again)->repo() != (*f)->repo()) std::abort();
  if ((*again)->Matches(SampleTrajectory()) != matches) std::abort();
  return 0;
}
