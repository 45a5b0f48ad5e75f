#pragma once
/// Command line + INI parsing into a validated RunConfig.
#include <string>
#include <vector>

#include "fedhpc/config/run_config.hpp"

namespace fedhpc {

/// Outcome of parsing argv.
struct ParsedArgs {
  RunConfig config;
  bool help = false;             ///< --help: print help_text() and exit 0
  bool version = false;          ///< --version
  bool check = false;            ///< --check: validate and print the effective config
  bool resume = false;           ///< --resume: continue from the checkpoint
  std::string config_file;       ///< --config FILE, empty when absent
  std::string effective_ini;     ///< every option that affects results, final values, INI syntax
  std::string execution_ini;     ///< the rest (output, overwrite, progress, checkpointing)
};

/// Parses `fedhpc [--config FILE] [--section.key value ...]`. Values from the
/// command line override the file, which overrides the defaults. Throws
/// ConfigError naming the key for unknown keys, bad values and failed checks.
ParsedArgs parse_args(int argc, const char* const* argv);

/// Every option with its default and description.
std::string help_text();

/// Cross-key checks (each single value is checked while parsing).
void validate(const RunConfig& cfg);

}  // namespace fedhpc
