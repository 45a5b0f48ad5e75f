#include "fedhpc/io/output_path.hpp"

#include <unistd.h>

#include <filesystem>

#include "fedhpc/core/error.hpp"

namespace fedhpc::io {

namespace {
/// The directory of `path` must exist and be writable.
void check_directory(const std::string& key, const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw ConfigError(key, "directory '" + dir.string() + "' does not exist (create it first)");
  if (::access(dir.c_str(), W_OK) != 0)
    throw ConfigError(key, "directory '" + dir.string() + "' is not writable");
}
}  // namespace

void check_checkpoint_path(const std::string& checkpoint, const std::string& output) {
  check_directory("run.checkpoint", checkpoint);
  if (checkpoint == output || checkpoint == output + ".part")
    throw ConfigError("run.checkpoint", "'" + checkpoint + "' would overwrite the results file");
}

void check_output_path(const std::string& path, bool overwrite) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  check_directory("run.output", p);
  std::error_code ec;
  if (fs::is_directory(p, ec))
    throw ConfigError("run.output", "'" + path + "' is a directory, expected a file path");
  if (fs::exists(p, ec) && !overwrite)
    throw ConfigError("run.output", "'" + path +
                                        "' already exists; choose another path or pass "
                                        "--run.overwrite true to replace it");
}

}  // namespace fedhpc::io
