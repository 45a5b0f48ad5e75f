#include "fedhpc/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

// GCC 12 reports false -W(maybe-)uninitialized inside its own AVX-512
// intrinsics as inlined into Eigen's kernels (as in model/kernels/gemm.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Dense>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
  kTestClient = 4,   ///< a = test row: which client's distribution it follows
  kTestExample = 5,  ///< a = test row: its 10 logit normals, then its 60 feature normals
  kLogits = 6,       ///< a = client: 10 normals per training example (e), in one fill_normal
  kFeatures = 7,     ///< a = client: 60 normals per training example (f), in one fill_normal
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

using VecC = Eigen::Matrix<double, kC, 1>;
using VecF = Eigen::Matrix<double, kF, 1>;
using MatW = Eigen::Matrix<double, kC, kF, Eigen::RowMajor>;  // SyntheticModel::w's layout

/// A client's examples in sampling form (synthetic.hpp): z = mu + L e,
/// x = v + A (z - mu) + R f.
struct Sampler {
  VecC mu;
  Eigen::Matrix<double, kC, kC> L;  // lower Cholesky factor of C = W S W^T
  Eigen::Matrix<double, kF, kC> A;  // S W^T C^-1
  Eigen::Matrix<double, kF, kF> R;  // (I - A W) S^(1/2)
  VecF v;
};

/// The sampling form of m; with labels_only, mu and L only (all the labels need).
Sampler make_sampler(const SyntheticModel& m, bool labels_only = false) {
  const Eigen::Map<const MatW> W(m.w.data());
  const Eigen::Map<const VecF> sd(feature_std().data());
  Sampler s;
  s.v = Eigen::Map<const VecF>(m.v.data());
  s.mu = W * s.v + Eigen::Map<const VecC>(m.b.data());
  const MatW WS = W * sd.cwiseAbs2().asDiagonal();
  const Eigen::LLT<Eigen::Matrix<double, kC, kC>> llt(WS * W.transpose());
  expects(llt.info() == Eigen::Success, "synthetic: the logit covariance is not positive definite");
  s.L = llt.matrixL();
  if (labels_only) return s;
  s.A = llt.solve(WS).transpose();
  s.R = (Eigen::Matrix<double, kF, kF>::Identity() - s.A * W) * sd.asDiagonal();
  return s;
}

/// The label of one example from its 10 logit normals e: argmax(mu + L e),
/// the first maximum on ties; z receives the logits.
std::int32_t draw_label(const Sampler& s, const float* e, double* z) {
  std::int32_t best = 0;
  for (int c = 0; c < kC; ++c) {
    double zc = s.mu[c];
    for (int j = 0; j <= c; ++j) zc += s.L(c, j) * static_cast<double>(e[j]);
    z[c] = zc;
    if (zc > z[best]) best = c;
  }
  return best;
}

/// n examples from the normals e (n x 10) and f (n x 60): labels into y, features into x (n x 60).
void draw_examples(const Sampler& s, std::int64_t n, const float* e, const float* f, float* x, std::int32_t* y) {
  Eigen::Matrix<double, kC, Eigen::Dynamic> dz(kC, n);
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = draw_label(s, e + i * kC, dz.col(i).data());
    dz.col(i) -= s.mu;
  }
  const Eigen::Map<const Eigen::Matrix<float, kF, Eigen::Dynamic>> fm(f, kF, n);
  Eigen::Map<Eigen::Matrix<float, kF, Eigen::Dynamic>> xm(x, kF, n);
  xm = ((s.A * dz + s.R * fm.cast<double>()).colwise() + s.v).cast<float>();
}

/// The 10 * n logit normals of a client's n examples (one fill_normal: the
/// same numbers for its labels alone and for its examples).
std::vector<float> logit_normals(std::uint64_t seed, int client, std::int64_t n) {
  std::vector<float> e(static_cast<std::size_t>(n) * kC);
  Rng rng(seed, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kLogits);
  rng.fill_normal(e);
  return e;
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
  // u, B, then W, b, v: 2 + 600 + 10 + 60 normals in one fill_normal.
  std::array<float, 2 + kC * kF + kC + kF> g;
  Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kModel);
  rng.fill_normal(g);
  const double u = std::sqrt(alpha_) * g[0];
  const double big_b = std::sqrt(beta_) * g[1];
  const float* next = g.data() + 2;
  for (double& w : m.w) w = u + *next++;
  for (double& b : m.b) b = u + *next++;
  for (double& v : m.v) v = big_b + *next++;
}

std::int64_t SyntheticDataset::num_samples(int client) const {
  expects(client >= 0 && client < num_clients_, "num_samples: client out of range");
  return synthetic_client_size(seed_, client);
}

SyntheticModel SyntheticDataset::client_model(int client) const {
  expects(client >= 0 && client < num_clients_, "client_model: client out of range");
  SyntheticModel m;
  draw_model(client, m);
  return m;
}

void SyntheticDataset::label_histogram(int client, std::span<std::int64_t> out) const {
  expects(client >= 0 && client < num_clients_, "label_histogram: client out of range");
  expects(out.size() == static_cast<std::size_t>(kC), "label_histogram: out.size() != 10");
  std::fill(out.begin(), out.end(), 0);
  SyntheticModel m;
  draw_model(client, m);
  const Sampler s = make_sampler(m, /*labels_only=*/true);
  const std::int64_t n = num_samples(client);
  const std::vector<float> e = logit_normals(seed_, client, n);
  double z[kC];
  for (std::int64_t i = 0; i < n; ++i) ++out[static_cast<std::size_t>(draw_label(s, e.data() + i * kC, z))];
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
  Sampler sampler;
  for (const auto& [client, r] : order) {
    if (client != drawn) {
      draw_model(client, model_);
      sampler = make_sampler(model_);
      drawn = client;
    }
    Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(test_begin + r), kTestExample);
    float e[kC], f[kF];
    rng.fill_normal(e);
    rng.fill_normal(f);
    draw_examples(sampler, 1, e, f, test_.x.data() + static_cast<std::size_t>(r) * kF,
                  test_.y.data() + r);
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
    const std::vector<float> e = logit_normals(seed_, client, n);
    std::vector<float> f(static_cast<std::size_t>(n) * kF);
    Rng rng(seed_, Purpose::kSynthetic, static_cast<std::uint64_t>(client), kFeatures);
    rng.fill_normal(f);
    draw_examples(make_sampler(model_), n, e.data(), f.data(), x_.data(), y_.data());
    cached_client_ = client;
    cached_n_ = n;
  }
  return {x_.data(), y_.data(), cached_n_};
}

ExampleView SyntheticDataset::test_examples() const {
  return {test_.x.data(), test_.y.data(), test_.size()};
}

}  // namespace fedhpc::data
