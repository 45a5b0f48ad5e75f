// Parameter layouts, counts, initialisation and the network factory.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/lenet5.hpp"
#include "fedhpc/model/mlp.hpp"
#include "fedhpc/model/network.hpp"

using namespace fedhpc;
using model::VarKind;

TEST(ModelLayout, AddPlacesVariablesContiguously) {
  model::ParamLayout layout;
  EXPECT_EQ(layout.add("a.weight", {3, 4}, VarKind::kDenseWeight), 0u);
  EXPECT_EQ(layout.add("a.bias", {3}, VarKind::kBias), 1u);
  EXPECT_EQ(layout.add("b.weight", {2, 3, 5, 5}, VarKind::kConvKernel), 2u);
  EXPECT_EQ(layout.size(), 12u + 3u + 150u);
  EXPECT_EQ(layout.var(1).offset, 12u);
  EXPECT_EQ(layout.var(2).offset, 15u);
  EXPECT_EQ(layout.max_var_size(), 150u);
  EXPECT_TRUE(layout.var(0).is_weight());
  EXPECT_FALSE(layout.var(1).is_weight());
  std::vector<float> flat(layout.size());
  for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<float>(i);
  const auto v = layout.view(std::span<float>(flat), 1);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], 12.0f);
  EXPECT_THROW(layout.add("a.bias", {3}, VarKind::kBias), InternalError);
  EXPECT_THROW(layout.add("c.weight", {0, 3}, VarKind::kDenseWeight), InternalError);
}

TEST(ModelLayout, LeNet5HasTheMethodsParameterCount) {
  model::LeNet5 net({1, 28, 28}, 10);
  EXPECT_EQ(net.layout().size(), 61706u);
  EXPECT_EQ(net.input_size(), 784);
  EXPECT_EQ(net.num_classes(), 10);
  struct Expected {
    const char* name;
    std::vector<int> shape;
    VarKind kind;
  };
  const std::vector<Expected> want = {
      {"conv1.weight", {6, 1, 5, 5}, VarKind::kConvKernel}, {"conv1.bias", {6}, VarKind::kBias},
      {"conv2.weight", {16, 6, 5, 5}, VarKind::kConvKernel}, {"conv2.bias", {16}, VarKind::kBias},
      {"fc1.weight", {120, 400}, VarKind::kDenseWeight},     {"fc1.bias", {120}, VarKind::kBias},
      {"fc2.weight", {84, 120}, VarKind::kDenseWeight},      {"fc2.bias", {84}, VarKind::kBias},
      {"fc3.weight", {10, 84}, VarKind::kDenseWeight},       {"fc3.bias", {10}, VarKind::kBias}};
  ASSERT_EQ(net.layout().num_vars(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(net.layout().var(i).name, want[i].name);
    EXPECT_EQ(net.layout().var(i).shape, want[i].shape);
    EXPECT_EQ(net.layout().var(i).kind, want[i].kind);
  }
  // 2 MACs per multiply-add: conv1 235,200 + conv2 480,000 + fc 117,840.
  EXPECT_DOUBLE_EQ(net.forward_flops(), 833040.0);
  EXPECT_EQ(net.max_layer_bytes(), 4u * 6 * 28 * 28);
  EXPECT_GT(net.activation_bytes(), 4u * (1176 + 400 + 120 + 84 + 10));
  EXPECT_EQ(net.workspace_bytes(), 4u * 25 * 784);
}

TEST(ModelLayout, MlpHasTheMethodsParameterCount) {
  model::Mlp net({1, 28, 28}, 10, {200, 200});
  EXPECT_EQ(net.layout().size(), 199210u);
  ASSERT_EQ(net.layout().num_vars(), 6u);
  EXPECT_EQ(net.layout().var(0).name, "fc1.weight");
  EXPECT_EQ(net.layout().var(0).shape, (std::vector<int>{200, 784}));
  EXPECT_EQ(net.layout().var(5).name, "fc3.bias");
  EXPECT_EQ(net.layout().var(4).shape, (std::vector<int>{10, 200}));
  EXPECT_DOUBLE_EQ(net.forward_flops(), 2.0 * (784 * 200 + 200 * 200 + 200 * 10));
  EXPECT_EQ(net.max_layer_bytes(), 4u * 200);
  // No hidden layer: multinomial logistic regression.
  model::Mlp linear({1, 1, 5}, 3, {});
  EXPECT_EQ(linear.layout().size(), 5u * 3 + 3);
}

TEST(ModelLayout, FactorySwitchesOnArch) {
  ModelSection cfg;
  cfg.arch = Arch::kLeNet5;
  EXPECT_EQ(model::make_network(cfg, {1, 28, 28}, 10)->layout().size(), 61706u);
  cfg.arch = Arch::kMlp;
  cfg.hidden = {200, 200};
  EXPECT_EQ(model::make_network(cfg, {1, 28, 28}, 10)->layout().size(), 199210u);
  cfg.hidden = {32};
  EXPECT_EQ(model::make_network(cfg, {1, 1, 60}, 10)->layout().size(), 60u * 32 + 32 + 32 * 10 + 10);
  cfg.arch = static_cast<Arch>(99);
  EXPECT_THROW(model::make_network(cfg, {1, 28, 28}, 10), InternalError);
}

TEST(ModelLayout, InputsThatDoNotFitAreConfigErrors) {
  ModelSection cfg;
  cfg.arch = Arch::kLeNet5;
  try {
    model::make_network(cfg, {1, 1, 60}, 10);
    FAIL() << "lenet5 accepted a 1x1x60 input";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "model.arch");
    EXPECT_NE(std::string(e.what()).find("lenet5 needs 1x28x28 inputs, dataset has 1x1x60"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(model::LeNet5({3, 28, 28}, 10), ConfigError);
  cfg.arch = Arch::kMlp;
  cfg.hidden = {200, 0};
  try {
    model::make_network(cfg, {1, 28, 28}, 10);
    FAIL() << "mlp accepted a zero width";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "model.hidden");
  }
}

TEST(ModelLayout, InitIsHeUniformWithZeroBiasesAndKeyed) {
  model::Mlp net({1, 28, 28}, 10, {200, 200});
  std::vector<float> a(net.layout().size()), b(a.size()), c(a.size());
  Rng r1(5, Purpose::kInit), r2(5, Purpose::kInit), r3(6, Purpose::kInit);
  net.init(a, r1);
  net.init(b, r2);
  net.init(c, r3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (std::size_t v = 0; v < net.layout().num_vars(); ++v) {
    const auto& var = net.layout().var(v);
    const auto vals = net.layout().view(std::span<const float>(a), v);
    if (!var.is_weight()) {
      for (float x : vals) EXPECT_EQ(x, 0.0f);
      continue;
    }
    const double limit = std::sqrt(6.0 / var.shape[1]);
    double sum = 0.0, sq = 0.0;
    for (float x : vals) {
      EXPECT_LE(std::abs(x), limit);
      sum += x;
      sq += static_cast<double>(x) * x;
    }
    const double n = static_cast<double>(vals.size());
    // U(-L, L): mean 0, variance L^2 / 3; 5-sigma bounds on the sample moments.
    EXPECT_NEAR(sum / n, 0.0, 5.0 * limit / std::sqrt(3.0 * n)) << var.name;
    EXPECT_NEAR(sq / n, limit * limit / 3.0, 5.0 * limit * limit * 0.3 / std::sqrt(n)) << var.name;
  }
  // Conv fan_in is in_c * kh * kw.
  model::LeNet5 lenet({1, 28, 28}, 10);
  std::vector<float> p(lenet.layout().size());
  Rng r4(5, Purpose::kInit);
  lenet.init(p, r4);
  const auto conv2 = lenet.layout().view(std::span<const float>(p), 2);
  float mx = 0.0f;
  for (float x : conv2) mx = std::max(mx, std::abs(x));
  EXPECT_LE(mx, std::sqrt(6.0 / 150.0));
  EXPECT_GT(mx, 0.9 * std::sqrt(6.0 / 150.0));
}
