#include "fedhpc/io/durable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fedhpc/core/error.hpp"

namespace fedhpc::io {
namespace {

void sync_path(const std::string& path, int flags, const char* what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw IoError(std::string("cannot open ") + what + " " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(std::string("fsync of ") + what + " " + path + " failed: " + std::strerror(err));
}

}  // namespace

void sync_file(const std::string& path) { sync_path(path, O_RDONLY, "file"); }

void sync_parent_dir(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  sync_path(dir.string(), O_RDONLY | O_DIRECTORY, "directory");
}

void durable_rename(const std::string& from, const std::string& to) {
  sync_file(from);
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) throw IoError("cannot rename " + from + " to " + to + ": " + ec.message());
  sync_parent_dir(to);
}

}  // namespace fedhpc::io
