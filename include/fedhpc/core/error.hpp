#pragma once
/// Error taxonomy: one base, split by who must act on the failure.
#include <stdexcept>
#include <string>

namespace fedhpc {

/// Process exit codes (documented in README.md and docs/design.md, "Errors and exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,   ///< IoError, CommError, InternalError
  kExitUsage = 2,     ///< ConfigError: bad option, key, value or input file
  kExitStopped = 3,   ///< stopped by SIGTERM/SIGUSR1 after a checkpoint; resume with --resume
};

/// Base of every fedhpc exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The user must fix an input: a config key, a value, a data file. Exit code 2.
class ConfigError : public Error {
 public:
  ConfigError(std::string key, const std::string& message)
      : Error(key.empty() ? message : key + ": " + message), key_(std::move(key)) {}
  const std::string& key() const noexcept { return key_; }

 private:
  std::string key_;
};

/// Reading or writing a file failed at run time (disk, permissions, HDF5).
class IoError : public Error {
 public:
  using Error::Error;
};

/// An I/O error raised on every rank together (after a broadcast), so the
/// job can end cleanly with one message instead of an abort.
class AgreedIoError : public IoError {
 public:
  using IoError::IoError;
};

/// An allocation failed; the message names what was being allocated. Exit code 1.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

/// An MPI call failed.
class CommError : public Error {
 public:
  using Error::Error;
};

/// A broken invariant inside fedhpc: a bug, please report it.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& what)
      : Error("internal error (please report): " + what) {}
};

/// Throws InternalError with `what` when `cond` is false.
inline void expects(bool cond, const char* what) {
  if (!cond) throw InternalError(what);
}

}  // namespace fedhpc
