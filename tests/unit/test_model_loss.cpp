// Softmax cross-entropy: values, gradient, stability.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/loss.hpp"

using namespace fedhpc;

TEST(ModelLoss, MatchesTheDefinition) {
  const std::vector<float> z = {1.0f, 2.0f, 0.5f,   // argmax 1
                                -1.0f, 0.0f, 3.0f}; // argmax 2
  const std::vector<std::int32_t> y = {1, 0};
  std::vector<float> d(6);
  std::vector<double> per(2);
  const auto s = model::softmax_cross_entropy(z, y.data(), 2, 3, 0.5f, d, per);
  double want = 0.0;
  for (int i = 0; i < 2; ++i) {
    double sum = 0.0;
    for (int c = 0; c < 3; ++c) sum += std::exp(static_cast<double>(z[i * 3 + c]));
    const double li = std::log(sum) - z[i * 3 + y[i]];
    EXPECT_NEAR(per[i], li, 1e-12);
    want += li;
    for (int c = 0; c < 3; ++c) {
      const double p = std::exp(static_cast<double>(z[i * 3 + c])) / sum;
      EXPECT_NEAR(d[i * 3 + c], 0.5 * (p - (c == y[i] ? 1.0 : 0.0)), 1e-7);
    }
  }
  EXPECT_NEAR(s.loss_sum, want, 1e-12);
  EXPECT_EQ(s.correct, 1);
}

TEST(ModelLoss, GradientMatchesFiniteDifferences) {
  const std::vector<std::int32_t> y = {2};
  std::vector<float> z = {0.3f, -1.2f, 0.7f, 2.0f};
  std::vector<float> d(4);
  model::softmax_cross_entropy(z, y.data(), 1, 4, 1.0f, d);
  for (int c = 0; c < 4; ++c) {
    const float h = 1e-2f;
    auto zp = z, zm = z;
    zp[c] += h;
    zm[c] -= h;
    const double lp = model::softmax_cross_entropy(zp, y.data(), 1, 4, 1.0f, {}).loss_sum;
    const double lm = model::softmax_cross_entropy(zm, y.data(), 1, 4, 1.0f, {}).loss_sum;
    EXPECT_NEAR(d[c], (lp - lm) / (2.0 * h), 1e-4);
  }
}

TEST(ModelLoss, StableForHugeLogits) {
  const std::vector<float> z = {1e4f, -1e4f, 1e4f - 10.0f, 3e38f, -3e38f, 0.0f};
  const std::vector<std::int32_t> y = {2, 2};
  std::vector<float> d(6);
  const auto s = model::softmax_cross_entropy(z, y.data(), 2, 3, 1.0f, d);
  EXPECT_TRUE(std::isfinite(s.loss_sum));
  EXPECT_NEAR(s.loss_sum, (10.0 + std::log1p(std::exp(-10.0))) + 3e38, 1e32);
  for (float v : d) EXPECT_TRUE(std::isfinite(v));
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(d[i * 3] + d[i * 3 + 1] + d[i * 3 + 2], 0.0f, 1e-6f);
  EXPECT_EQ(s.correct, 0);
}

TEST(ModelLoss, RejectsBadLabelsAndShortBuffers) {
  const std::vector<float> z = {0.0f, 1.0f};
  const std::vector<std::int32_t> bad = {2};
  EXPECT_THROW(model::softmax_cross_entropy(z, bad.data(), 1, 2, 1.0f, {}), InternalError);
  const std::vector<std::int32_t> y = {0, 1};
  EXPECT_THROW(model::softmax_cross_entropy(z, y.data(), 2, 2, 1.0f, {}), InternalError);
  std::vector<float> d(1);
  EXPECT_THROW(model::softmax_cross_entropy(z, y.data(), 1, 2, 1.0f, d), InternalError);
}
