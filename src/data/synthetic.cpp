#include "fedhpc/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::data {
namespace {

constexpr int kF = SyntheticModel::kFeatures;
constexpr int kC = SyntheticModel::kClasses;

/// Sub-stream ids (the `b` key of Rng(seed, kSynthetic, a, b)). Client
/// streams use a = client id, test streams a = test row; b keeps them apart.
enum Stream : std::uint64_t {
  kModel = 1,        ///< a = client: u, B, W, b, v
  kSize = 2,         ///< a = client: n_k
  kExamples = 3,     ///< a = client: its training examples in order
  kTestClient = 4,   ///< a = test row: which client's distribution it follows
  kTestExample = 5,  ///< a = test row: its x
};

/// Standard deviation of feature j: sqrt(j^-1.2) = j^-0.6 for j = 1..60.
const std::array<double, kF>& feature_std() {
  static const std::array<double, kF> s = [] {
    std::array<double, kF> v{};
    for (int j = 0; j < kF; ++j) v[static_cast<std::size_t>(j)] = std::pow(j + 1.0, -0.6);
    return v;
  }();
  return s;
}

/// Draws one example of model m: x ~ N(v, diag(j^-1.2)) into x (60 floats),
/// returns y = argmax(W x + b) (first maximum on ties). The logits use the
/// double-precision x, identically for examples() and label_histogram().
std::int32_t draw_example(const SyntheticModel& m, Rng& rng, float* x) {
  const auto& sd = feature_std();
  double xd[kF];
  for (int j = 0; j < kF; ++j) {
    xd[j] = m.v[static_cast<std::size_t>(j)] + sd[static_cast<std::size_t>(j)] * rng.normal();
    x[j] = static_cast<float>(xd[j]);
  }
  std::int32_t best = 0;
  double best_logit = 0.0;
  for (int c = 0; c < kC; ++c) {
    const double* w = m.w.data() + c * kF;
    double z = m.b[static_cast<std::size_t>(c)];
    for (int j = 0; j < kF; ++j) z += w[j] * xd[j];
    if (c == 0 || z > best_logit) {
      best = c;
      best_logit = z;
    }
  }
  return best;
}

/// A config value for messages (%g: to_string would print 1e-9 as 0.000000).
std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_variance(double v, const char* key) {
  if (!(v >= 0.0) || !std::isfinite(v))
    throw ConfigError(key, "must be a finite variance >= 0, got " + format_value(v));
}

}  // namespace

std::int64_t synthetic_client_size(std::uint64_t seed, int client) {
  Rng rng(seed, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kSize);
  const double lognormal = std::exp(4.0 + 2.0 * rng.normal());
  const auto cap = static_cast<double>(kSyntheticMaxClientSize - 50);
  return 50 + static_cast<std::int64_t>(std::floor(std::min(lognormal, cap)));
}

SyntheticDataset::SyntheticDataset(const DataSection& cfg, std::uint64_t seed)
    : seed_(seed),
      num_clients_(cfg.num_clients),
      alpha_(cfg.synthetic_alpha),
      beta_(cfg.synthetic_beta),
      test_size_(cfg.synthetic_test_size) {
  if (num_clients_ < 1)
    throw ConfigError("data.num_clients", "must be >= 1, got " + std::to_string(num_clients_));
  if (test_size_ < 1)
    throw ConfigError("data.synthetic_test_size",
                      "must be >= 1, got " + std::to_string(test_size_));
  check_variance(alpha_, "data.synthetic_alpha");
  check_variance(beta_, "data.synthetic_beta");
  test_.shape = input_shape();
  test_.num_classes = kC;
}

void SyntheticDataset::draw_model(int client, SyntheticModel& m) const {
  Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kModel);
  const double u = std::sqrt(alpha_) * rng.normal();
  const double big_b = std::sqrt(beta_) * rng.normal();
  for (double& w : m.w) w = u + rng.normal();
  for (double& b : m.b) b = u + rng.normal();
  for (double& v : m.v) v = big_b + rng.normal();
}

std::int64_t SyntheticDataset::num_samples(int client) const {
  expects(client >= 0 && client < num_clients_, "num_samples: client out of range");
  return synthetic_client_size(seed_, client);
}

void SyntheticDataset::label_histogram(int client, std::span<std::int64_t> out) const {
  expects(client >= 0 && client < num_clients_, "label_histogram: client out of range");
  expects(out.size() == static_cast<std::size_t>(kC), "label_histogram: out.size() != 10");
  std::fill(out.begin(), out.end(), 0);
  SyntheticModel m;
  draw_model(client, m);
  Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kExamples);
  float x[kF];
  const std::int64_t n = num_samples(client);
  for (std::int64_t i = 0; i < n; ++i) ++out[static_cast<std::size_t>(draw_example(m, rng, x))];
}

void SyntheticDataset::materialize(std::span<const int> clients, std::int64_t test_begin,
                                   std::int64_t test_end) {
  expects(clients.empty() || (clients.front() >= 0 && clients.back() < num_clients_),
          "materialize: client out of range");
  expects(0 <= test_begin && test_begin <= test_end && test_end <= test_size_,
          "materialize: test rows out of range");
  const auto rows = static_cast<std::size_t>(test_end - test_begin);
  test_.x.assign(rows * kF, 0.0f);
  test_.y.assign(rows, 0);

  // Row i follows client c_i's distribution; rows are visited grouped by
  // client so each distinct client's model is drawn once.
  std::vector<std::pair<int, std::int64_t>> order(rows);  // (client, row)
  for (std::size_t r = 0; r < rows; ++r) {
    const auto i = static_cast<std::uint64_t>(test_begin) + r;
    Rng pick(seed_, Purpose::kSynthetic, i, kTestClient);
    order[r] = {static_cast<int>(pick.below(static_cast<std::uint64_t>(num_clients_))),
                static_cast<std::int64_t>(r)};
  }
  std::sort(order.begin(), order.end());
  int drawn = -1;
  for (const auto& [client, r] : order) {
    if (client != drawn) {
      draw_model(client, model_);
      drawn = client;
    }
    Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(test_begin + r), kTestExample);
    test_.y[static_cast<std::size_t>(r)] =
        draw_example(model_, rng, test_.x.data() + static_cast<std::size_t>(r) * kF);
  }
  cached_client_ = -1;  // model_ was overwritten
}

std::uint64_t SyntheticDataset::materialize_bytes(std::span<const int> clients, std::int64_t test_begin,
                                                 std::int64_t test_end) const {
  // The test rows, and later one buffer as large as the largest client.
  constexpr std::uint64_t row = kF * sizeof(float) + sizeof(std::int32_t);
  std::int64_t largest = 0;
  for (const int c : clients) largest = std::max(largest, num_samples(c));
  const auto test_rows = static_cast<std::uint64_t>(test_end - test_begin);
  return test_rows * (row + sizeof(std::pair<int, std::int64_t>)) + static_cast<std::uint64_t>(largest) * row;
}

ExampleView SyntheticDataset::examples(int client) {
  expects(client >= 0 && client < num_clients_, "examples: client out of range");
  if (client != cached_client_) {
    const std::int64_t n = num_samples(client);
    if (y_.size() < static_cast<std::size_t>(n)) {
      x_.resize(static_cast<std::size_t>(n) * kF);
      y_.resize(static_cast<std::size_t>(n));
    }
    draw_model(client, model_);
    Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kExamples);
    for (std::int64_t i = 0; i < n; ++i)
      y_[static_cast<std::size_t>(i)] = draw_example(model_, rng, x_.data() + i * kF);
    cached_client_ = client;
    cached_n_ = n;
  }
  return {x_.data(), y_.data(), cached_n_};
}

ExampleView SyntheticDataset::test_examples() const {
  return {test_.x.data(), test_.y.data(), test_.size()};
}

}  // namespace fedhpc::data
