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

// The same function pasted into a repository with other spacing, tabs and case: what
// decontamination must still find.
inline constexpr char kHumanEvalZeroPasted[] =
    "def has_close_elements(Numbers, threshold):\n"
    "\tfor IDX, elem in enumerate( Numbers ):\n"
    "\t\tfor IDX2, ELEM2 in enumerate(Numbers):\n"
    "\t\t\tif IDX != IDX2:\n"
    "\t\t\t\tdistance = abs(elem - ELEM2)\n"
    "\t\t\t\tif distance < threshold:\n"
    "\t\t\t\t\treturn True\n"
    "\treturn False\n";

}  // namespace fixmine::testutil
