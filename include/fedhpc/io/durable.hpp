#pragma once
/// Durable renames: a file that was reported written survives a power loss.
/// POSIX only makes a rename durable once the file's data and then its
/// directory entry are on stable storage, so the sequence is
/// sync_file(tmp), rename(tmp, final), sync_parent_dir(final).
#include <string>

namespace fedhpc::io {

/// fsync(2) of the file at `path`; throws IoError naming it on failure.
void sync_file(const std::string& path);

/// fsync(2) of the directory holding `path` (its entries: a rename into it);
/// throws IoError naming it on failure.
void sync_parent_dir(const std::string& path);

/// sync_file(from), rename(from, to), sync_parent_dir(to); throws IoError
/// naming both paths if a step fails.
void durable_rename(const std::string& from, const std::string& to);

}  // namespace fedhpc::io
