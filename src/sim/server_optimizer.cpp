#include "fedhpc/sim/server_optimizer.hpp"

#include <cmath>

#include "fedhpc/core/error.hpp"

namespace fedhpc::sim {
namespace {

class FedAvg final : public ServerOptimizer {
 public:
  explicit FedAvg(double lr) : lr_(lr) {}
  void step(std::span<float> w, std::span<const double> delta) override {
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>(static_cast<double>(w[i]) + lr_ * delta[i]);
  }

 private:
  double lr_;
};

class FedAvgM final : public ServerOptimizer {
 public:
  FedAvgM(double lr, double beta, std::size_t n) : lr_(lr), beta_(beta), m_(n, 0.0f) {}
  void step(std::span<float> w, std::span<const double> delta) override {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double m = beta_ * m_[i] + delta[i];
      m_[i] = static_cast<float>(m);
      w[i] = static_cast<float>(static_cast<double>(w[i]) + lr_ * m);
    }
  }
  std::span<float> state() override { return m_; }

 private:
  double lr_, beta_;
  std::vector<float> m_;
};

/// FedAdam and FedYogi share everything but the second-moment update.
class Adaptive final : public ServerOptimizer {
 public:
  Adaptive(const ServerSection& cfg, std::size_t n, bool yogi)
      : cfg_(cfg), yogi_(yogi), state_(2 * n, 0.0f) {
    // v starts at tau^2 as in Reddi et al.
    for (std::size_t i = n; i < 2 * n; ++i) state_[i] = static_cast<float>(cfg.tau * cfg.tau);
  }
  void step(std::span<float> w, std::span<const double> delta) override {
    const std::size_t n = w.size();
    float* m = state_.data();
    float* v = state_.data() + n;
    const double b1 = cfg_.beta1, b2 = cfg_.beta2;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = delta[i];
      const double mi = b1 * m[i] + (1.0 - b1) * d;
      const double d2 = d * d;
      double vi = v[i];
      if (yogi_) {
        const double s = (vi > d2) - (vi < d2);
        vi = vi - (1.0 - b2) * d2 * s;
      } else {
        vi = b2 * vi + (1.0 - b2) * d2;
      }
      m[i] = static_cast<float>(mi);
      v[i] = static_cast<float>(vi);
      w[i] = static_cast<float>(static_cast<double>(w[i]) + cfg_.lr * mi / (std::sqrt(vi) + cfg_.tau));
    }
  }
  std::span<float> state() override { return state_; }

 private:
  ServerSection cfg_;
  bool yogi_;
  std::vector<float> state_;  // (2, P): m then v
};

}  // namespace

std::unique_ptr<ServerOptimizer> make_server_optimizer(const ServerSection& cfg, std::size_t size) {
  switch (cfg.optimizer) {
    case ServerOpt::kFedAvg: return std::make_unique<FedAvg>(cfg.lr);
    case ServerOpt::kFedAvgM: return std::make_unique<FedAvgM>(cfg.lr, cfg.momentum, size);
    case ServerOpt::kFedAdam: return std::make_unique<Adaptive>(cfg, size, false);
    case ServerOpt::kFedYogi: return std::make_unique<Adaptive>(cfg, size, true);
  }
  throw InternalError("make_server_optimizer: unknown optimizer");
}

}  // namespace fedhpc::sim
