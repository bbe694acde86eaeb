#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fixmine/v1/records.pb.h"

namespace fixmine::miner {

// True when ChangedFunctions parses files of `language` (a linguist name): C, C++,
// Objective-C, C#, Java, JavaScript, TypeScript, Go, Rust, Python.
bool FunctionsParsed(std::string_view language);

// Names of the functions a file change touches (FileChange.functions_changed; docs/formats.md),
// each once, in order of first appearance:
// - for a language FunctionsParsed() knows, with the content of a side at hand: a light parse
//   of the pre-image (`old_content`) and the post-image (`new_content`) finds each function
//   definition and its extent (brace matching for C-like languages, Go and Rust; indentation
//   for Python); every deleted line is looked up in the pre-image's functions and every added
//   line in the post-image's, the innermost enclosing one wins. A line outside any function
//   (a global, an include) names none;
// - otherwise (unknown language, or neither content available): the name in each hunk's
//   function-context header (`Hunk.header`, git's funcname line), when that line looks like a
//   function definition.
// Python methods are named "Class.method"; other languages give the bare name as written
// ("Foo::bar" when a C++ definition is written so). Thread-safe.
std::vector<std::string> ChangedFunctions(
    std::string_view language, std::string_view old_content, std::string_view new_content,
    const google::protobuf::RepeatedPtrField<fixmine::v1::Hunk>& hunks);

}  // namespace fixmine::miner
