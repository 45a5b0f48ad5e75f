#include "fedhpc/sim/checkpoint.hpp"

#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/io/h5_reader.hpp"
#include "fedhpc/io/results_file.hpp"

namespace fedhpc::sim {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "fedhpc-checkpoint-1";

/// FNV-1a over the bytes of a span, chained.
std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t checksum(const Checkpoint& c) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const std::int64_t counts[3] = {c.next_round, c.client_rows, c.snapshots};
  h = fnv1a(counts, sizeof counts, h);
  h = fnv1a(c.model.data(), c.model.size() * sizeof(float), h);
  h = fnv1a(c.server_state.data(), c.server_state.size() * sizeof(float), h);
  return fnv1a(c.config_ini.data(), c.config_ini.size(), h);
}

/// "section.key" -> value of an INI text as written by parse_args.
std::map<std::string, std::string> parse_ini(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) out[section + "." + line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

/// Rank 0 runs `op`; its error (if any) is broadcast and thrown on every rank as AgreedIoError.
template <class F>
void on_root(const comm::Communicator& comm, F op) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      op();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  int len = static_cast<int>(error.size());
  comm::broadcast(comm, std::span<int>(&len, 1));
  error.resize(static_cast<std::size_t>(len));
  comm::broadcast(comm, std::span<char>(error.data(), error.size()));
  if (len > 0) throw AgreedIoError(error);
}

void copy_atomically(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw IoError("cannot copy " + from + " to " + to + ": " + ec.message());
  }
}

}  // namespace

std::string results_copy_path(const std::string& path) { return path + ".results"; }

void write_checkpoint(const comm::Communicator& comm, const std::string& path,
                      const Checkpoint& c, const std::string& results_part) {
  comm.barrier();  // every rank's flush is complete before rank 0 copies
  on_root(comm, [&] { copy_atomically(results_part, results_copy_path(path)); });
  io::ResultsFile f(comm, path);
  try {
  f.set_attribute("/", "format", std::string(kFormat));
  f.set_attribute("/", "config", c.config_ini);
  f.set_attribute("/", "next_round", c.next_round);
  f.set_attribute("/", "client_rows", c.client_rows);
  f.set_attribute("/", "snapshots", c.snapshots);
  f.set_attribute("/", "elapsed_seconds", c.elapsed_seconds);
  f.set_attribute("/", "checksum", static_cast<std::int64_t>(checksum(c)));
  // Replicated state: each rank writes a contiguous slice.
  auto slice = [&](const std::string& name, const std::vector<float>& v) {
    const auto n = static_cast<std::int64_t>(v.size());
    const std::int64_t b = n * comm.rank() / comm.size(), e = n * (comm.rank() + 1) / comm.size();
    f.write_block<float>(name, n, 0, b,
                         std::span<const float>(v).subspan(static_cast<std::size_t>(b),
                                                           static_cast<std::size_t>(e - b)));
  };
  slice("/model", c.model);
  slice("/server_state", c.server_state);
  f.commit();
  } catch (const AgreedIoError&) {
    throw;
  } catch (...) {
    f.abandon();
    throw;
  }
}

Checkpoint read_checkpoint(const std::string& path, const std::string& config_ini) {
  const std::string key = "run.checkpoint";
  if (!fs::exists(path))
    throw ConfigError(key, "no checkpoint at '" + path + "' to resume from");
  Checkpoint c;
  try {
    io::H5Reader r(path);
    if (!r.has("/model") || r.string_attribute("/", "format") != kFormat)
      throw IoError("not a " + std::string(kFormat) + " file");
    c.config_ini = r.string_attribute("/", "config");
    c.next_round = r.int_attribute("/", "next_round");
    c.client_rows = r.int_attribute("/", "client_rows");
    c.snapshots = r.int_attribute("/", "snapshots");
    c.elapsed_seconds = r.double_attribute("/", "elapsed_seconds");
    c.model = r.read<float>("/model");
    c.server_state = r.read<float>("/server_state");
    if (static_cast<std::uint64_t>(r.int_attribute("/", "checksum")) != checksum(c))
      throw IoError("checksum mismatch");
    // The results copy must hold at least the rows the state refers to (a run
    // killed between the two renames leaves a newer copy, never an older one).
    io::H5Reader copy(results_copy_path(path));
    const auto rows = [&](const char* ds) { return static_cast<std::int64_t>(copy.read<std::int64_t>(ds).size()); };
    if (rows("/rounds/round") < c.next_round || rows("/clients/round") < c.client_rows ||
        rows("/model/round") < c.snapshots)
      throw IoError("its results copy " + results_copy_path(path) + " holds fewer rows than the state");
  } catch (const IoError& e) {
    throw ConfigError(key, "'" + path + "' is not a usable checkpoint (" + e.what() +
                               "); it was left untouched");
  }
  if (c.config_ini != config_ini) {
    const auto a = parse_ini(c.config_ini), b = parse_ini(config_ini);
    std::string diff;
    for (const auto& [k, v] : b) {
      const auto it = a.find(k);
      const std::string old = it == a.end() ? "<absent>" : it->second;
      if (old != v) diff += (diff.empty() ? "" : ", ") + k + " (checkpoint " + old + ", now " + v + ")";
    }
    throw ConfigError(key, "'" + path + "' was written by a different configuration: " +
                               (diff.empty() ? std::string("unknown keys differ") : diff));
  }
  return c;
}

void restore_results(const comm::Communicator& comm, const std::string& path,
                     const std::string& results_part) {
  on_root(comm, [&] { copy_atomically(results_copy_path(path), results_part); });
}

void remove_checkpoint(const comm::Communicator& comm, const std::string& path) {
  if (comm.rank() != 0) return;
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(results_copy_path(path), ec);
}

}  // namespace fedhpc::sim
