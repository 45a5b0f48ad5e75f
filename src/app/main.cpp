// fedhpc command-line entry point: parse, set up, run; map errors to exit codes.
#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/comm/environment.hpp"
#include "fedhpc/config/options.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/isa.hpp"
#include "fedhpc/core/memory_limits.hpp"
#include "fedhpc/core/stop_signal.hpp"
#include "fedhpc/io/output_path.hpp"
#include "fedhpc/sim/simulation.hpp"
#include "fedhpc/version.hpp"

namespace {

void report(const fedhpc::comm::Communicator& comm, const std::string& message) {
  std::fprintf(stderr, "[rank %d/%d] fedhpc: %s\n", comm.rank(), comm.size(), message.c_str());
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fedhpc;
  static_cast<void>(isa_checked());  // links the start-up ISA check (it ran before main)
  comm::Environment env(argc, argv);
  comm::Communicator world(MPI_COMM_WORLD);

  // Set-up: every rank parses and opens the inputs. Failures are agreed on
  // collectively so that exactly one rank prints one line and all exit alike.
  ParsedArgs args;
  std::unique_ptr<sim::Simulation> simulation;
  bool remove_stale_checkpoint = false;
  int code = kExitOk;
  std::string message;
  try {
    args = parse_args(argc, argv);
    if (!args.help && !args.version && !args.check) {
      const RunSection& run = args.config.run;
      io::check_output_path(run.output, run.overwrite);
      io::check_checkpoint_path(run.checkpoint_path(), run.output);
      if (!args.resume && std::filesystem::exists(run.checkpoint_path())) {
        if (!run.overwrite)
          throw ConfigError("run.checkpoint", "a checkpoint exists at '" + run.checkpoint_path() +
                                                  "': pass --resume to continue that run, or "
                                                  "--run.overwrite true to start over");
        remove_stale_checkpoint = true;  // once every rank has agreed to start
      }
      install_stop_handlers();
      simulation = std::make_unique<sim::Simulation>(args.config, args.effective_ini,
                                                     args.execution_ini, world, args.resume);
    }
  } catch (const ConfigError& e) {
    code = kExitUsage;
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = kExitRuntime;
    message = out_of_memory_message("during set-up");
  } catch (const std::exception& e) {
    code = kExitRuntime;
    message = e.what();
  }
  const int worst = comm::allreduce_max(world, code);
  if (worst != kExitOk) {
    const int reporter = -comm::allreduce_max(world, code == worst ? -world.rank() : -world.size());
    if (world.rank() == reporter) report(world, message);
    return worst;
  }
  if (args.help || args.version || args.check) {
    if (world.rank() == 0) {
      if (args.help) std::fputs(help_text().c_str(), stdout);
      else if (args.version) std::printf("fedhpc %s (git %s)\n", kVersion, kGitSha);
      else std::printf("%s\n%s", args.effective_ini.c_str(), args.execution_ini.c_str());
    }
    return kExitOk;
  }

  // Starting over with --run.overwrite: the old checkpoint must not pair with
  // this run's files.
  if (remove_stale_checkpoint) sim::remove_checkpoint(world, args.config.run.checkpoint_path());

  // The run: a failure may hit one rank only, so it ends the whole job.
  try {
    if (simulation->run() == sim::Simulation::Outcome::kStopped) {
      if (world.rank() == 0)
        std::fprintf(stderr, "[rank 0/%d] fedhpc: stopped by signal; checkpoint written to %s "
                             "(continue with --resume)\n",
                     world.size(), args.config.run.checkpoint_path().c_str());
      return kExitStopped;
    }
    if (world.rank() == 0 && args.config.run.progress) {
      const auto& s = simulation->summary();
      std::printf("done: %lld client updates in %.1fs, final test accuracy %.2f%%, results in %s\n",
                  static_cast<long long>(s.client_updates), s.seconds, 100.0 * s.final_accuracy,
                  args.config.run.output.c_str());
    }
  } catch (const AgreedIoError& e) {
    // Every rank has this error: one report, a clean exit everywhere.
    if (world.rank() == 0) report(world, e.what());
    simulation.reset();  // closes and removes the partial results file
    return kExitRuntime;
  } catch (const std::exception& e) {
    // Possibly this rank only: the others may wait in a collective, so abort.
    report(world, dynamic_cast<const std::bad_alloc*>(&e) ? out_of_memory_message("during the run") : e.what());
    std::error_code ec;
    std::filesystem::remove(args.config.run.output + ".part", ec);
    if (world.size() > 1) world.abort(kExitRuntime);
    return kExitRuntime;
  }
  return kExitOk;
}
