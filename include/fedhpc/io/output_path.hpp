#pragma once
/// Checks on the results path before anything is written.
#include <string>

namespace fedhpc::io {

/// Throws ConfigError("run.output", ...) if the directory of `path` does not
/// exist or is not writable, if `path` is a directory, or if it exists and
/// `overwrite` is false.
void check_output_path(const std::string& path, bool overwrite);

/// Throws ConfigError("run.checkpoint", ...) if the checkpoint's directory does
/// not exist or is not writable, or if it would collide with the results file.
void check_checkpoint_path(const std::string& checkpoint, const std::string& output);

}  // namespace fedhpc::io
