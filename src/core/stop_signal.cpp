#include "fedhpc/core/stop_signal.hpp"

#include <csignal>

namespace fedhpc {
namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) noexcept { g_stop = 1; }
}  // namespace

void install_stop_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

}  // namespace fedhpc
