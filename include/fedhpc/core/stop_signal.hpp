#pragma once
/// Graceful stop on SIGTERM/SIGUSR1: the handler only sets a flag; the round
/// loop polls it at round boundaries (agreed across ranks), checkpoints and exits.
namespace fedhpc {

/// Installs the SIGTERM and SIGUSR1 handlers.
void install_stop_handlers() noexcept;
/// True once SIGTERM or SIGUSR1 has been received by this process.
bool stop_requested() noexcept;

}  // namespace fedhpc
