#pragma once
// Benchmark text the decontamination tests plant in repositories and benchmark files.

namespace fixmine::testutil {

// HumanEval/0's canonical solution (has_close_elements), as the benchmark ships it.
inline constexpr char kHumanEvalZeroSolution[] =
    "    for idx, elem in enumerate(numbers):\n"
    "        for idx2, elem2 in enumerate(numbers):\n"
    "            if idx != idx2:\n"
    "                distance = abs(elem - elem2)\n"
    "                if distance < threshold:\n"
    "                    return True\n"
    "\n"
    "    return False\n";

}  // namespace fixmine::testutil
