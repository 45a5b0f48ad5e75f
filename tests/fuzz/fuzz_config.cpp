// libFuzzer harness: parse_args on an INI file and command-line options.
// Input: the INI file's bytes up to the first NUL; after it, NUL-separated
// extra arguments (e.g. "--server.rounds", "7"). Documented outcome for bad
// input: ConfigError. Anything else is a finding. Arguments that name
// another config file are skipped: reading /dev/zero or a pipe forever is the
// user's request, not a parser bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fedhpc/config/options.hpp"
#include "fedhpc/core/error.hpp"
#include "fuzz_file.hpp"

namespace {

/// True for "--config", "--config=X" and the abbreviations Boost accepts ("--conf").
bool names_config_option(const std::string& arg) {
  const std::string name = arg.substr(0, arg.find('='));
  const auto dashes = name.find_first_not_of('-');
  if (dashes == 0 || dashes == std::string::npos) return false;
  return std::string("config").starts_with(name.substr(dashes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fedhpc::fuzz::ScratchDir dir;
  const std::string path = dir.file("input.ini");
  const auto* begin = data;
  const auto* end = data + size;
  const auto* nul = begin;
  while (nul != end && *nul != 0) ++nul;
  fedhpc::fuzz::write_bytes(path, begin, static_cast<std::size_t>(nul - begin));

  std::vector<std::string> args = {"fedhpc", "--config", path};
  if (nul != end) {
    std::string arg;
    for (const auto* p = nul + 1; p != end; ++p) {
      if (*p == 0) {
        args.push_back(arg);
        arg.clear();
      } else {
        arg.push_back(static_cast<char>(*p));
      }
    }
    args.push_back(arg);
  }
  for (std::size_t i = 3; i < args.size(); ++i)
    if (names_config_option(args[i])) return 0;
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  try {
    const fedhpc::ParsedArgs parsed = fedhpc::parse_args(static_cast<int>(args.size()), argv.data());
    if (!parsed.help && !parsed.version && parsed.effective_ini.empty()) __builtin_trap();
  } catch (const fedhpc::ConfigError&) {
  }
  return 0;
}
