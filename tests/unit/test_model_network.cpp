// Networks: gradients vs finite differences of a double-precision reference,
// parameter access discipline, determinism, and training progress.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/lenet5.hpp"
#include "fedhpc/model/loss.hpp"
#include "fedhpc/model/mlp.hpp"

using namespace fedhpc;

namespace {

// ---------------------------------------------------------------------------
// Double-precision reference forward passes, written from the definitions
// (LeNet-5 in the canonical order conv -> +bias -> ReLU -> maxpool). Besides
// the logits they record the activation pattern (ReLU signs, pool argmax):
// the networks are piecewise smooth and a finite difference is only valid
// when the pattern is the same at both ends.

struct RefOut {
  std::vector<double> logits;    // (n, classes)
  std::vector<std::uint8_t> pattern;
};

void ref_dense(const std::vector<double>& in, int n, int d_in, int d_out, const double* w,
               const double* b, bool relu, std::vector<double>& out, RefOut& r) {
  out.assign(static_cast<std::size_t>(n) * d_out, 0.0);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < d_out; ++o) {
      double s = b[o];
      for (int j = 0; j < d_in; ++j) s += w[o * d_in + j] * in[static_cast<std::size_t>(i) * d_in + j];
      if (relu) {
        r.pattern.push_back(s > 0.0);
        s = std::max(s, 0.0);
      }
      out[static_cast<std::size_t>(i) * d_out + o] = s;
    }
}

RefOut ref_mlp(const std::vector<int>& widths, const std::vector<double>& p,
               const std::vector<double>& x, int n) {
  RefOut r;
  std::vector<double> a = x, next;
  std::size_t off = 0;
  const int layers = static_cast<int>(widths.size()) - 1;
  for (int l = 0; l < layers; ++l) {
    const int din = widths[static_cast<std::size_t>(l)], dout = widths[static_cast<std::size_t>(l) + 1];
    const double* w = p.data() + off;
    const double* b = w + static_cast<std::size_t>(din) * dout;
    off += static_cast<std::size_t>(din) * dout + dout;
    ref_dense(a, n, din, dout, w, b, l + 1 < layers, next, r);
    a.swap(next);
  }
  r.logits = a;
  return r;
}

/// conv (stride 1) + bias + ReLU + 2x2 max-pool of one layer.
std::vector<double> ref_conv_block(const std::vector<double>& in, int n, int ci, int h, int w,
                                   int co, int k, int pad, const double* wt, const double* b,
                                   RefOut& r) {
  const int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  std::vector<double> a(static_cast<std::size_t>(n) * co * oh * ow), pre(a.size());
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < co; ++o)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          double s = b[o];
          for (int c = 0; c < ci; ++c)
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) {
                const int iy = y + ky - pad, ix = x + kx - pad;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                s += wt[((o * ci + c) * k + ky) * k + kx] *
                     in[((static_cast<std::size_t>(i) * ci + c) * h + iy) * w + ix];
              }
          const std::size_t idx = ((static_cast<std::size_t>(i) * co + o) * oh + y) * ow + x;
          pre[idx] = s;
          a[idx] = std::max(s, 0.0);
        }
  const int ph = oh / 2, pw = ow / 2;
  std::vector<double> out(static_cast<std::size_t>(n) * co * ph * pw);
  for (std::size_t q = 0; q < static_cast<std::size_t>(n) * co; ++q)
    for (int y = 0; y < ph; ++y)
      for (int x = 0; x < pw; ++x) {
        double m = -std::numeric_limits<double>::infinity(), mp = m;
        int arg = 0;
        for (int d = 0; d < 4; ++d) {
          const std::size_t idx = (q * oh + 2 * y + d / 2) * ow + 2 * x + d % 2;
          m = std::max(m, a[idx]);
          if (pre[idx] > mp) {
            mp = pre[idx];
            arg = d;
          }
        }
        out[(q * ph + y) * pw + x] = m;
        r.pattern.push_back(static_cast<std::uint8_t>(arg * 2 + (mp > 0.0)));
      }
  return out;
}

RefOut ref_lenet5(const std::vector<double>& p, const std::vector<double>& x, int n, int classes) {
  RefOut r;
  const double* w1 = p.data();
  const double* b1 = w1 + 150;
  const double* w2 = b1 + 6;
  const double* b2 = w2 + 2400;
  const auto p1 = ref_conv_block(x, n, 1, 28, 28, 6, 5, 2, w1, b1, r);
  const auto p2 = ref_conv_block(p1, n, 6, 14, 14, 16, 5, 0, w2, b2, r);
  std::vector<double> p2v(p.begin() + 2572, p.end());  // fc1.weight onwards
  const RefOut head = ref_mlp({400, 120, 84, classes}, p2v, p2, n);
  r.logits = head.logits;
  r.pattern.insert(r.pattern.end(), head.pattern.begin(), head.pattern.end());
  return r;
}

// ---------------------------------------------------------------------------

/// Parameters acquired through a transient copy that is poisoned (NaN) on
/// release, like a decoding store; counts the access pattern.
class CountingSource final : public model::ParamSource {
 public:
  CountingSource(const model::ParamLayout& layout, std::span<const float> flat)
      : layout_(&layout), flat_(flat), transient_(layout.num_vars()),
        acquires(layout.num_vars(), 0), releases(layout.num_vars(), 0),
        held_(layout.num_vars(), false) {}

  std::span<const float> acquire(std::size_t i) override {
    EXPECT_FALSE(held_[i]) << "variable " << i << " acquired twice";
    held_[i] = true;
    ++acquires[i];
    max_held = std::max(max_held, ++now_held);
    const auto v = layout_->view(flat_, i);
    transient_[i].assign(v.begin(), v.end());
    return transient_[i];
  }
  void release(std::size_t i) noexcept override {
    EXPECT_TRUE(held_[i]) << "variable " << i << " released without acquire";
    held_[i] = false;
    ++releases[i];
    --now_held;
    std::fill(transient_[i].begin(), transient_[i].end(), std::numeric_limits<float>::quiet_NaN());
  }
  void reset_counts() {
    std::fill(acquires.begin(), acquires.end(), 0);
    std::fill(releases.begin(), releases.end(), 0);
    max_held = 0;
  }

 private:
  const model::ParamLayout* layout_;
  std::span<const float> flat_;
  std::vector<std::vector<float>> transient_;

 public:
  std::vector<int> acquires, releases;
  int now_held = 0, max_held = 0;

 private:
  std::vector<bool> held_;
};

struct Case {
  std::unique_ptr<model::Network> net;
  std::vector<float> params;
  std::vector<float> x;        // (n, input)
  std::vector<std::int32_t> y; // (n)
  int n;
};

Case make_case(std::unique_ptr<model::Network> net, int n, std::uint64_t seed) {
  Case c{std::move(net), {}, {}, {}, n};
  c.net->reserve(n);
  c.params.resize(c.net->layout().size());
  Rng rng(seed, Purpose::kBench);
  c.net->init(c.params, rng);
  // Non-zero biases so that their effect is visible.
  for (std::size_t v = 0; v < c.net->layout().num_vars(); ++v)
    if (!c.net->layout().var(v).is_weight())
      for (float& b : c.net->layout().view(std::span<float>(c.params), v))
        b = static_cast<float>(0.1 * rng.normal());
  c.x.resize(static_cast<std::size_t>(n) * c.net->input_size());
  for (float& v : c.x) v = static_cast<float>(rng.normal());
  c.y.resize(static_cast<std::size_t>(n));
  for (auto& v : c.y) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(c.net->num_classes())));
  return c;
}

/// Reference forward of a case's network at parameters p.
using RefFn = RefOut (*)(const Case&, const std::vector<double>&);

/// Objective on reference logits: <dlogits, z> (dl non-empty) or CE / n.
double objective(const Case& c, const std::vector<double>& z, const std::vector<float>& dl) {
  double j = 0.0;
  const int k = c.net->num_classes();
  if (!dl.empty()) {
    for (std::size_t i = 0; i < z.size(); ++i) j += z[i] * dl[i];
    return j;
  }
  for (int i = 0; i < c.n; ++i) {
    const double* zi = z.data() + static_cast<std::size_t>(i) * k;
    const double m = *std::max_element(zi, zi + k);
    double s = 0.0;
    for (int q = 0; q < k; ++q) s += std::exp(zi[q] - m);
    j += std::log(s) + m - zi[c.y[static_cast<std::size_t>(i)]];
  }
  return j / c.n;
}

/// How the finite differences are taken.
enum class Fd {
  kDouble,  ///< double reference, eps 1e-4: tight tolerance
  kFloat,   ///< the float network itself, eps 1e-2: float tolerance
};

/// Compares backward() (float) with central differences at 6 random
/// coordinates of every variable, skipping coordinates whose +-eps
/// perturbation changes the activation pattern of the double reference.
void check_gradient(Case& c, RefFn ref, bool random_dlogits, Fd mode, std::uint64_t seed) {
  model::FlatParams src(c.net->layout(), c.params);
  const auto logits = c.net->forward(src, c.x.data(), c.n);
  const int k = c.net->num_classes();
  std::vector<float> dl(logits.size());
  std::vector<float> dl_obj;  // dlogits defining the objective (empty: CE)
  if (random_dlogits) {
    Rng rng(seed, Purpose::kBench, 99);
    for (float& v : dl) v = static_cast<float>(rng.normal());
    dl_obj = dl;
  } else {
    model::softmax_cross_entropy(logits, c.y.data(), c.n, k, 1.0f / static_cast<float>(c.n), dl);
  }
  std::vector<float> grads(c.params.size());
  c.net->backward(src, dl, grads);

  // The float forward agrees with the reference.
  std::vector<double> p(c.params.begin(), c.params.end());
  const RefOut base = ref(c, p);
  for (std::size_t i = 0; i < logits.size(); ++i)
    ASSERT_NEAR(logits[i], base.logits[i], 1e-4 * (1.0 + std::abs(base.logits[i])));

  double gscale = 0.0;
  for (float g : grads) gscale = std::max(gscale, static_cast<double>(std::abs(g)));
  ASSERT_GT(gscale, 0.0);
  const double eps = mode == Fd::kDouble ? 1e-4 : 1e-2;
  const double rtol = mode == Fd::kDouble ? 1e-3 : 1e-2;
  const double atol = mode == Fd::kDouble ? 1e-5 * gscale : 1e-3 * gscale;
  // Objective at perturbed parameters evaluated by the float network.
  const auto float_objective = [&](const std::vector<double>& pd) {
    const std::vector<float> pf(pd.begin(), pd.end());
    model::FlatParams ps(c.net->layout(), pf);
    const auto z = c.net->forward(ps, c.x.data(), c.n);
    return objective(c, std::vector<double>(z.begin(), z.end()), dl_obj);
  };
  int checked = 0, skipped = 0;
  Rng pick(seed, Purpose::kBench, 7);
  for (std::size_t v = 0; v < c.net->layout().num_vars(); ++v) {
    const auto& var = c.net->layout().var(v);
    for (int t = 0; t < 6; ++t) {
      const std::size_t j = var.offset + pick.below(var.size);
      auto pp = p, pm = p;
      pp[j] += eps;
      pm[j] -= eps;
      const RefOut rp = ref(c, pp), rm = ref(c, pm);
      if (rp.pattern != base.pattern || rm.pattern != base.pattern) {
        ++skipped;  // a kink lies within eps: the difference quotient is not the derivative
        continue;
      }
      const double fd =
          mode == Fd::kDouble
              ? (objective(c, rp.logits, dl_obj) - objective(c, rm.logits, dl_obj)) / (2 * eps)
              : (float_objective(pp) - float_objective(pm)) / (2 * eps);
      EXPECT_NEAR(grads[j], fd, rtol * std::abs(fd) + atol)
          << var.name << "[" << j - var.offset << "] " << (random_dlogits ? "random dlogits" : "CE")
          << (mode == Fd::kDouble ? ", double FD" : ", float FD");
      ++checked;
    }
  }
  // A 1e-2 step crosses some ReLU/pool kink for more coordinates of LeNet-5.
  EXPECT_LE(skipped, mode == Fd::kDouble ? checked / 5 : checked / 2)
      << "too many coordinates near a kink";
}

RefOut mlp_ref(const Case& c, const std::vector<double>& p) {
  std::vector<int> widths = {c.net->input_size()};
  for (std::size_t v = 0; v < c.net->layout().num_vars(); v += 2)
    widths.push_back(c.net->layout().var(v).shape[0]);
  return ref_mlp(widths, p, std::vector<double>(c.x.begin(), c.x.end()), c.n);
}

RefOut lenet_ref(const Case& c, const std::vector<double>& p) {
  return ref_lenet5(p, std::vector<double>(c.x.begin(), c.x.end()), c.n, c.net->num_classes());
}

std::unique_ptr<model::Network> small_mlp() {
  return std::make_unique<model::Mlp>(data::Shape{1, 1, 12}, 5, std::vector<int>{9, 7});
}
std::unique_ptr<model::Network> lenet(int classes = 10) {
  return std::make_unique<model::LeNet5>(data::Shape{1, 28, 28}, classes);
}

}  // namespace

TEST(ModelNetwork, MlpGradientMatchesFiniteDifferences) {
  for (Fd mode : {Fd::kDouble, Fd::kFloat})
    for (bool random_dl : {true, false}) {
      Case c = make_case(small_mlp(), 4, 11);
      check_gradient(c, mlp_ref, random_dl, mode, 3);
    }
}

TEST(ModelNetwork, LeNet5GradientMatchesFiniteDifferences) {
  // n = 2 runs the convolutions per example, n = 9 with the batch in 16 lanes.
  for (const int n : {2, 9})
    for (Fd mode : {Fd::kDouble, Fd::kFloat})
      for (bool random_dl : {true, false}) {
        Case c = make_case(lenet(), n, 12);
        check_gradient(c, lenet_ref, random_dl, mode, 4);
      }
}

TEST(ModelNetwork, LeNet5LanePathAgreesWithThePerExamplePath) {
  // A batch of 12 (lanes) against the same examples as batches of 4 and 2
  // (per example): the same logits and, summed, the same gradients.
  Case c = make_case(lenet(), 12, 14);
  model::FlatParams src(c.net->layout(), c.params);
  const int k = c.net->num_classes();
  std::vector<float> dl(static_cast<std::size_t>(c.n) * k);
  Rng rng(5, Purpose::kBench);
  for (float& v : dl) v = static_cast<float>(rng.normal());
  const auto z = c.net->forward(src, c.x.data(), c.n);
  const std::vector<float> logits(z.begin(), z.end());
  std::vector<float> grads(c.params.size());
  c.net->backward(src, dl, grads);
  std::vector<float> logits_pe(logits.size()), grads_pe(grads.size(), 0.0f), part(grads.size());
  for (const auto& [i0, m] : {std::pair{0, 4}, std::pair{4, 4}, std::pair{8, 2}, std::pair{10, 2}}) {
    const auto zp = c.net->forward(src, c.x.data() + static_cast<std::size_t>(i0) * c.net->input_size(), m);
    std::copy(zp.begin(), zp.end(), logits_pe.begin() + static_cast<std::ptrdiff_t>(i0) * k);
    c.net->backward(src, std::span<const float>(dl).subspan(static_cast<std::size_t>(i0) * k, static_cast<std::size_t>(m) * k),
                    part);
    for (std::size_t j = 0; j < part.size(); ++j) grads_pe[j] += part[j];
  }
  for (std::size_t j = 0; j < logits.size(); ++j)
    EXPECT_NEAR(logits[j], logits_pe[j], 1e-4 * std::max(1.0f, std::abs(logits_pe[j]))) << j;
  float scale = 1.0f;
  for (float g : grads_pe) scale = std::max(scale, std::abs(g));
  for (std::size_t j = 0; j < grads.size(); ++j) EXPECT_NEAR(grads[j], grads_pe[j], 1e-4 * scale) << j;
}

TEST(ModelNetwork, ParametersAreAcquiredOneAtATimeAndReleased) {
  // LeNet-5 at n = 5 (per example) and n = 9 (batch in lanes), then the MLP.
  for (int which = 0; which < 3; ++which) {
    Case c = which < 2 ? make_case(lenet(), which == 0 ? 5 : 9, 21)
                       : make_case(std::make_unique<model::Mlp>(data::Shape{1, 28, 28}, 10,
                                                                std::vector<int>{200, 200}),
                                   5, 22);
    const auto& layout = c.net->layout();
    // Reference run on plain fp32 parameters.
    model::FlatParams flat(layout, c.params);
    const auto l0 = c.net->forward(flat, c.x.data(), c.n);
    const std::vector<float> logits_flat(l0.begin(), l0.end());
    std::vector<float> dl(logits_flat.size());
    Rng rng(5, Purpose::kBench);
    for (float& v : dl) v = static_cast<float>(rng.normal());
    std::vector<float> g_flat(layout.size()), g_count(layout.size());
    c.net->backward(flat, dl, g_flat);

    CountingSource src(layout, c.params);
    const auto l1 = c.net->forward(src, c.x.data(), c.n);
    EXPECT_EQ(src.now_held, 0);
    for (std::size_t v = 0; v < layout.num_vars(); ++v)
      EXPECT_EQ(src.acquires[v], 1) << "forward acquires " << layout.var(v).name << " once";
    // Released values are poisoned: bitwise equal results prove nothing is read after release.
    ASSERT_EQ(l1.size(), logits_flat.size());
    EXPECT_EQ(std::memcmp(l1.data(), logits_flat.data(), l1.size() * sizeof(float)), 0);
    src.reset_counts();
    c.net->backward(src, dl, g_count);
    EXPECT_EQ(std::memcmp(g_count.data(), g_flat.data(), g_flat.size() * sizeof(float)), 0);
    EXPECT_EQ(src.now_held, 0);
    EXPECT_EQ(src.max_held, 1);
    for (std::size_t v = 0; v < layout.num_vars(); ++v) {
      EXPECT_EQ(src.acquires[v], src.releases[v]);
      // Backward reads only weights, and not the first layer's (no input gradient).
      EXPECT_EQ(src.acquires[v], layout.var(v).is_weight() && v > 0 ? 1 : 0) << layout.var(v).name;
    }
  }
}

TEST(ModelNetwork, ForwardAndBackwardAreDeterministic) {
  for (int which = 0; which < 2; ++which) {
    Case c = which == 0 ? make_case(lenet(), 32, 31) : make_case(small_mlp(), 32, 32);
    model::FlatParams src(c.net->layout(), c.params);
    std::vector<float> dl(static_cast<std::size_t>(c.n) * c.net->num_classes(), 0.25f);
    std::vector<float> out[2], grads[2];
    for (int r = 0; r < 2; ++r) {
      const auto z = c.net->forward(src, c.x.data(), c.n);
      out[r].assign(z.begin(), z.end());
      grads[r].resize(c.params.size());
      c.net->backward(src, dl, grads[r]);
    }
    EXPECT_EQ(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(grads[0].data(), grads[1].data(), grads[0].size() * sizeof(float)), 0);
  }
}

TEST(ModelNetwork, BatchBeyondReserveIsAnInternalError) {
  Case c = make_case(lenet(), 4, 41);
  model::FlatParams src(c.net->layout(), c.params);
  std::vector<float> x(5 * 784, 0.0f);
  EXPECT_THROW(c.net->forward(src, x.data(), 5), InternalError);
  EXPECT_THROW(c.net->forward(src, x.data(), 0), InternalError);
  auto fresh = lenet();
  std::vector<float> g(fresh->layout().size()), dl(10);
  EXPECT_THROW(fresh->backward(src, dl, g), InternalError);  // no forward yet
  EXPECT_THROW(fresh->forward(src, x.data(), 1), InternalError);  // never reserved
  // A smaller batch than reserved is fine; a wrong dlogits size is not.
  EXPECT_EQ(c.net->forward(src, x.data(), 3).size(), 30u);
  std::vector<float> wrong(20);
  std::vector<float> grads(c.params.size());
  EXPECT_THROW(c.net->backward(src, wrong, grads), InternalError);
}

TEST(ModelNetwork, SgdReducesTheLossOnASeparableProblem) {
  // Two classes: a bright top or bottom half of the image (LeNet-5), or the
  // sign of the first feature (MLP), plus noise.
  for (int which = 0; which < 2; ++which) {
    auto net = which == 0 ? lenet(2)
                          : std::make_unique<model::Mlp>(data::Shape{1, 1, 20}, 2, std::vector<int>{16});
    const int n = 16, d = net->input_size();
    net->reserve(n);
    std::vector<float> params(net->layout().size()), grads(params.size());
    Rng rng(51, Purpose::kBench);
    net->init(params, rng);
    std::vector<float> x(static_cast<std::size_t>(n) * d);
    std::vector<std::int32_t> y(n);
    for (int i = 0; i < n; ++i) {
      y[i] = i % 2;
      for (int j = 0; j < d; ++j) {
        const bool top = j < d / 2;
        const float signal = which == 0 ? ((top == (y[i] == 0)) ? 1.0f : 0.0f)
                                        : (j == 0 ? (y[i] == 0 ? 1.0f : -1.0f) : 0.0f);
        x[static_cast<std::size_t>(i) * d + j] = signal + 0.3f * static_cast<float>(rng.normal());
      }
    }
    std::vector<float> dl(static_cast<std::size_t>(n) * 2);
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 30; ++step) {
      model::FlatParams src(net->layout(), params);
      const auto z = net->forward(src, x.data(), n);
      const auto s = model::softmax_cross_entropy(z, y.data(), n, 2, 1.0f / n, dl);
      if (step == 0) first = s.loss_sum / n;
      last = s.loss_sum / n;
      net->backward(src, dl, grads);
      for (std::size_t i = 0; i < params.size(); ++i) params[i] -= 0.05f * grads[i];
    }
    EXPECT_LT(last, 0.5 * first) << (which == 0 ? "lenet5" : "mlp") << " first " << first;
  }
}
