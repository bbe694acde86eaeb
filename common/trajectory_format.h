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
// is not stored, e.g. a skipped commit) leaves that step's two turns out. Thread-safe (pure).
std::string RenderTrajectoryChat(const fixmine::v1::Trajectory& trajectory,
                                 const std::vector<const fixmine::v1::Record*>& steps);

// Parses a trajectory format name: "" or "raw" (false) and "chat" (true); INVALID_ARGUMENT
// naming both for anything else.
absl::StatusOr<bool> ParseTrajectoryFormat(std::string_view name);

}  // namespace fixmine
