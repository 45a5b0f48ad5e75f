#pragma once
/// Checks on the results path before anything is written.
#include <string>

namespace fedhpc::io {

/// Throws ConfigError("run.output", ...) if the directory of `path` does not
/// exist or is not writable, if `path` is a directory, or if it exists and
/// `overwrite` is false.
void check_output_path(const std::string& path, bool overwrite);

}  // namespace fedhpc::io
