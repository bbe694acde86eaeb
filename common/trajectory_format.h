#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"
#include "fixmine/v1/trajectories.pb.h"

namespace fixmine {

// Renders a trajectory as one multi-turn `chat` row (docs/formats.md, "chat of a trajectory"):
// {"trajectory_id", "repo", "pr_number", "title", "messages": [system, then per step a user
// turn (the step's message) and an assistant turn (the step's diff, every file's patch as git
// prints it)]}. `steps` are the step records in step order; a null entry (a step whose record
// is not stored, e.g. a skipped commit) leaves that step's two turns out. With
// `max_patch_bytes` > 0 (the records' byte budget), when the steps' patches together are larger,
// the largest patches are left out until the rest fit, and the row ends with
// "shed": {"patches": N, "reason": "..."} (absent when nothing was left out), so that one
// pull request's row never outgrows a streamed message. Thread-safe (pure).
std::string RenderTrajectoryChat(const fixmine::v1::Trajectory& trajectory,
                                 const std::vector<const fixmine::v1::Record*>& steps,
                                 size_t max_patch_bytes = 0);

// Parses a trajectory format name: "" or "raw" (false) and "chat" (true); INVALID_ARGUMENT
// naming both for anything else.
absl::StatusOr<bool> ParseTrajectoryFormat(std::string_view name);

}  // namespace fixmine
