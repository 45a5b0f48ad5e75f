#include "fedhpc/io/output_path.hpp"

#include <unistd.h>

#include <filesystem>

#include "fedhpc/core/error.hpp"

namespace fedhpc::io {

void check_output_path(const std::string& path, bool overwrite) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError("run.output", "directory '" + dir.string() + "' does not exist (create it first)");
  if (::access(dir.c_str(), W_OK) != 0)
    throw ConfigError("run.output", "directory '" + dir.string() + "' is not writable");
  if (fs::is_directory(p, ec))
    throw ConfigError("run.output", "'" + path + "' is a directory, expected a file path");
  if (fs::exists(p, ec) && !overwrite)
    throw ConfigError("run.output", "'" + path +
                                        "' already exists; choose another path or pass "
                                        "--run.overwrite true to replace it");
}

}  // namespace fedhpc::io
