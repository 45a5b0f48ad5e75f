#include "fedhpc/sim/checkpoint.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <limits>
#include <sstream>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/io/durable.hpp"
#include "fedhpc/io/h5_reader.hpp"
#include "fedhpc/io/results_file.hpp"

namespace fedhpc::sim {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "fedhpc-checkpoint-3";

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
  const std::int64_t counts[5] = {c.next_round, c.client_rows, c.snapshots, c.residual_entries,
                                  c.residual_bytes};
  h = fnv1a(counts, sizeof counts, h);
  for (const auto& [name, v] : c.state.entries()) {
    h = fnv1a(name.data(), name.size(), h);
    h = fnv1a(v.data(), v.size() * sizeof(float), h);
  }
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
  if (ec) throw IoError("cannot copy " + from + " to " + tmp + ": " + ec.message());
  try {
    io::durable_rename(tmp, to);
  } catch (const IoError&) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace

std::string results_copy_path(const std::string& path) { return path + ".results"; }

void write_checkpoint(const comm::Communicator& comm, const std::string& path,
                      const Checkpoint& ckpt, const std::string& results_part,
                      const ShardState& shard) {
  // Client residuals: this rank's stored slots, placed after the lower ranks'.
  std::vector<std::int64_t> client, size, offset, hash, round;
  std::vector<std::uint8_t> blob;
  if (shard.store) {
    for (std::size_t s = 0; s < shard.store->slots(); ++s) {
      if (!shard.store->has(s)) continue;
      const auto b = shard.store->blob(s);
      client.push_back(shard.slot_client[s]);
      round.push_back(shard.slot_round.empty() ? -1 : shard.slot_round[s]);
      size.push_back(static_cast<std::int64_t>(b.size()));
      hash.push_back(static_cast<std::int64_t>(fnv1a(b.data(), b.size(), 0xcbf29ce484222325ULL)));
      const auto* p = reinterpret_cast<const std::uint8_t*>(b.data());
      blob.insert(blob.end(), p, p + b.size());
    }
  }
  const auto np = static_cast<std::size_t>(comm.size()), me = static_cast<std::size_t>(comm.rank());
  std::vector<std::int64_t> counts(2 * np, 0);
  counts[2 * me] = static_cast<std::int64_t>(client.size());
  counts[2 * me + 1] = static_cast<std::int64_t>(blob.size());
  comm::allreduce(comm, std::span<std::int64_t>(counts), MPI_SUM);
  std::int64_t first_entry = 0, first_byte = 0;
  Checkpoint c = ckpt;
  c.residual_entries = c.residual_bytes = 0;
  for (std::size_t r = 0; r < np; ++r) {
    if (r < me) {
      first_entry += counts[2 * r];
      first_byte += counts[2 * r + 1];
    }
    c.residual_entries += counts[2 * r];
    c.residual_bytes += counts[2 * r + 1];
  }
  for (std::size_t i = 0, at = 0; i < client.size(); ++i) {
    offset.push_back(first_byte + static_cast<std::int64_t>(at));
    at += static_cast<std::size_t>(size[i]);
  }

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
  f.set_attribute("/", "residual_entries", c.residual_entries);
  f.set_attribute("/", "residual_bytes", c.residual_bytes);
  f.set_attribute("/", "checksum", static_cast<std::int64_t>(checksum(c)));
  std::string names;
  for (const auto& e : c.state.entries()) names += (names.empty() ? "" : ";") + e.first;
  f.set_attribute("/", "state", names);
  // Replicated state: each rank writes a contiguous slice.
  auto slice = [&](const std::string& name, const std::vector<float>& v) {
    const auto n = static_cast<std::int64_t>(v.size());
    const std::int64_t b = n * comm.rank() / comm.size(), e = n * (comm.rank() + 1) / comm.size();
    f.write_block<float>(name, n, 0, b,
                         std::span<const float>(v).subspan(static_cast<std::size_t>(b),
                                                           static_cast<std::size_t>(e - b)));
  };
  for (const auto& [name, v] : c.state.entries()) slice("/" + name, v);
  f.create_group("/residual");
  f.write_block<std::int64_t>("/residual/client", c.residual_entries, 0, first_entry, client);
  f.write_block<std::int64_t>("/residual/size", c.residual_entries, 0, first_entry, size);
  f.write_block<std::int64_t>("/residual/offset", c.residual_entries, 0, first_entry, offset);
  f.write_block<std::int64_t>("/residual/hash", c.residual_entries, 0, first_entry, hash);
  f.write_block<std::int64_t>("/residual/round", c.residual_entries, 0, first_entry, round);
  f.write_block<std::uint8_t>("/residual/blob", c.residual_bytes, 0, first_byte, blob);
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
    std::istringstream names(r.string_attribute("/", "state"));
    for (std::string name; std::getline(names, name, ';');)
      if (!name.empty()) c.state.put(name, r.read<float>("/" + name));
    c.residual_entries = r.int_attribute("/", "residual_entries");
    c.residual_bytes = r.int_attribute("/", "residual_bytes");
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

void read_shard_state(const std::string& path, std::span<const std::int32_t> slot_of,
                      compress::ResidualStore& store, std::span<std::int32_t> slot_round) {
  try {
    io::H5Reader r(path);
    const auto client = r.read<std::int64_t>("/residual/client");
    const auto size = r.read<std::int64_t>("/residual/size");
    const auto offset = r.read<std::int64_t>("/residual/offset");
    const auto hash = r.read<std::int64_t>("/residual/hash");
    const auto round = r.read<std::int64_t>("/residual/round");
    const std::int64_t total = r.int_attribute("/", "residual_bytes");
    if (size.size() != client.size() || offset.size() != client.size() || hash.size() != client.size() ||
        round.size() != client.size())
      throw IoError("residual index datasets differ in length");
    // No entry can be larger than the largest residual of this model (a
    // forged size must not make us allocate it).
    const auto largest = static_cast<std::int64_t>(
        compress::residual_bytes(store.spec(), store.size(), store.size()));
    // This rank's entries in file order; adjacent ones are read in one go.
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < client.size(); ++i) {
      // offset <= total - size: no overflow for any int64 values.
      if (client[i] < 0 || static_cast<std::size_t>(client[i]) >= slot_of.size() || size[i] < 0 ||
          size[i] > largest || offset[i] < 0 || total < size[i] || offset[i] > total - size[i] ||
          round[i] < -1 || round[i] > std::numeric_limits<std::int32_t>::max())
        throw IoError("residual entry " + std::to_string(i) + " is out of range");
      if (slot_of[static_cast<std::size_t>(client[i])] >= 0) mine.push_back(i);
    }
    std::sort(mine.begin(), mine.end(), [&](std::size_t a, std::size_t b) { return offset[a] < offset[b]; });
    constexpr std::int64_t kMaxRun = std::int64_t{1} << 28;  // bytes read at a time
    std::vector<std::uint8_t> buf;
    for (std::size_t i = 0; i < mine.size();) {
      std::size_t j = i + 1;
      std::int64_t end = offset[mine[i]] + size[mine[i]];
      while (j < mine.size() && offset[mine[j]] == end && end - offset[mine[i]] < kMaxRun)
        end += size[mine[j++]];
      const std::int64_t begin = offset[mine[i]];
      buf.resize(static_cast<std::size_t>(end - begin));
      r.read_range<std::uint8_t>("/residual/blob", begin, buf);
      for (; i < j; ++i) {
        const std::size_t e = mine[i];
        const auto* p = reinterpret_cast<const std::byte*>(buf.data() + (offset[e] - begin));
        const auto n = static_cast<std::size_t>(size[e]);
        if (static_cast<std::int64_t>(fnv1a(p, n, 0xcbf29ce484222325ULL)) != hash[e])
          throw IoError("residual of client " + std::to_string(client[e]) + ": checksum mismatch");
        const auto slot = static_cast<std::size_t>(slot_of[static_cast<std::size_t>(client[e])]);
        store.set_blob(slot, std::span<const std::byte>(p, n));
        slot_round[slot] = static_cast<std::int32_t>(round[e]);
      }
    }
  } catch (const Error& e) {
    throw ConfigError("run.checkpoint", "'" + path + "' is not a usable checkpoint (" + e.what() +
                                            "); it was left untouched");
  }
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
