// Optimized model kernels agree with their plain-loop references.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fedhpc/core/rng.hpp"
#include "fedhpc/model/kernels/bias.hpp"
#include "fedhpc/model/kernels/chwn.hpp"
#include "fedhpc/model/kernels/conv2d.hpp"
#include "fedhpc/model/kernels/conv2d_chwn.hpp"
#include "fedhpc/model/kernels/dense.hpp"
#include "fedhpc/model/kernels/gemm.hpp"
#include "fedhpc/model/kernels/maxpool.hpp"
#include "fedhpc/model/kernels/pool_bias_relu_chwn.hpp"
#include "fedhpc/model/kernels/relu.hpp"

using namespace fedhpc;
using namespace fedhpc::model::kernels;

namespace {

std::vector<float> random_vec(std::size_t n, std::uint64_t key) {
  Rng rng(7, Purpose::kBench, key);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

/// Max |a - b| relative to max |b| (and at least 1).
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0.0, scale = 1.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

constexpr double kTol = 1e-5;

}  // namespace

TEST(ModelKernels, GemmMatchesReferenceForAllTranspositionsAndTiles) {
  // Shapes around the tiling thresholds: depth > 256, m*k and k*n > 32768 floats.
  const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {6, 784, 25}, {16, 100, 150}, {300, 7, 900},
                           {20, 300, 600}, {130, 129, 257}};
  std::uint64_t key = 0;
  for (const auto& s : shapes) {
    const int m = s[0], n = s[1], k = s[2];
    for (Op oa : {Op::kNone, Op::kTrans})
      for (Op ob : {Op::kNone, Op::kTrans})
        for (bool acc : {false, true}) {
          // Leading dimensions larger than the logical width exercise strides.
          const int lda = (oa == Op::kNone ? k : m) + 3, ldb = (ob == Op::kNone ? n : k) + 2,
                    ldc = n + 1;
          const auto a = random_vec(static_cast<std::size_t>(oa == Op::kNone ? m : k) * lda, ++key);
          const auto b = random_vec(static_cast<std::size_t>(ob == Op::kNone ? k : n) * ldb, ++key);
          auto c = random_vec(static_cast<std::size_t>(m) * ldc, ++key);
          auto c_ref = c;
          gemm(oa, ob, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, acc);
          gemm_ref(oa, ob, m, n, k, a.data(), lda, b.data(), ldb, c_ref.data(), ldc, acc);
          EXPECT_LT(rel_diff(c, c_ref), 1e-5 * std::sqrt(static_cast<double>(k)))
              << m << "x" << n << "x" << k << " opA " << static_cast<int>(oa) << " opB "
              << static_cast<int>(ob) << " acc " << acc;
        }
  }
}

TEST(ModelKernels, DenseMatchesReference) {
  // Shapes with every register-block tail: rows not a multiple of 4, columns
  // not a multiple of 16 or of the 96-column block, depths below one vector.
  struct Shape {
    int n, in, out;
  };
  std::uint64_t key = 0;
  for (const auto [n, in, out] : {Shape{13, 400, 120}, Shape{16, 784, 200}, Shape{32, 200, 10},
                                  Shape{1, 17, 3}, Shape{6, 5, 7}, Shape{28, 84, 10}, Shape{3, 100, 97}}) {
    const auto x = random_vec(static_cast<std::size_t>(n) * in, ++key);
    const auto w = random_vec(static_cast<std::size_t>(out) * in, ++key);
    const auto dy = random_vec(static_cast<std::size_t>(n) * out, ++key);
    std::vector<float> y(static_cast<std::size_t>(n) * out, 9.0f), y_ref(y.size());
    dense_forward(x.data(), w.data(), y.data(), n, in, out);
    dense_forward_ref(x.data(), w.data(), y_ref.data(), n, in, out);
    EXPECT_LT(rel_diff(y, y_ref), kTol) << n << " " << in << " " << out;
    std::vector<float> dx(x.size(), 9.0f), dx_ref(x.size());
    dense_backward_data(dy.data(), w.data(), dx.data(), n, in, out);
    dense_backward_data_ref(dy.data(), w.data(), dx_ref.data(), n, in, out);
    EXPECT_LT(rel_diff(dx, dx_ref), kTol) << n << " " << in << " " << out;
    std::vector<float> dw(w.size(), 9.0f), dw_ref(w.size());
    dense_backward_weight(x.data(), dy.data(), dw.data(), n, in, out);
    dense_backward_weight_ref(x.data(), dy.data(), dw_ref.data(), n, in, out);
    EXPECT_LT(rel_diff(dw, dw_ref), kTol) << n << " " << in << " " << out;
  }
}

TEST(ModelKernels, DenseKernelsWithLeadingDimensionsAndAccumulation) {
  // Row tiles of W as dense_layer.cpp reads them: y's columns [r0, r0 + r), dx summed over tiles.
  const int n = 7, in = 50, out = 23, r0 = 5, r = 11;
  const auto x = random_vec(static_cast<std::size_t>(n) * in, 41);
  const auto w = random_vec(static_cast<std::size_t>(out) * in, 42);
  const auto dy = random_vec(static_cast<std::size_t>(n) * out, 43);
  std::vector<float> y(static_cast<std::size_t>(n) * out, 9.0f), y_ref(y.size());
  dense_forward_ref(x.data(), w.data(), y_ref.data(), n, in, out);
  dense_forward_ld(x.data(), in, w.data() + r0 * in, in, y.data() + r0, out, n, in, r);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      const float got = y[static_cast<std::size_t>(i) * out + o], want = y_ref[static_cast<std::size_t>(i) * out + o];
      if (o < r0 || o >= r0 + r) EXPECT_EQ(got, 9.0f);  // other columns untouched
      else EXPECT_NEAR(got, want, kTol * std::max(1.0f, std::abs(want)));
    }
  // dx = dy[:, :r0] W[:r0] + dy[:, r0:] W[r0:], the second call accumulating.
  std::vector<float> dx(x.size(), 9.0f), dx_ref(x.size());
  rank1_update(dy.data(), out, 1, w.data(), in, dx.data(), in, n, in, r0, false);
  rank1_update(dy.data() + r0, out, 1, w.data() + r0 * in, in, dx.data(), in, n, in, out - r0, true);
  dense_backward_data_ref(dy.data(), w.data(), dx_ref.data(), n, in, out);
  EXPECT_LT(rel_diff(dx, dx_ref), kTol);
}

TEST(ModelKernels, ConvMatchesDirectLoops) {
  const ConvShape shapes[] = {
      {1, 28, 28, 6, 5, 2},  // LeNet-5 conv1
      {6, 14, 14, 16, 5, 0}, // LeNet-5 conv2
      {3, 7, 9, 4, 3, 1},    // non-square image
      {2, 5, 6, 3, 3, 3},    // padding wider than the kernel reach
      {2, 4, 4, 5, 1, 0},    // 1x1 kernel
      {2, 9, 20, 3, 5, 4},   // output wider than the input, rows over 16 floats
      {2, 11, 36, 3, 3, 1},  // rows over 32 floats (portable im2col path)
      {3, 5, 5, 2, 3, 0},    // rows of 3 floats: the 16-lane row stores must not spill
      {1, 7, 4, 2, 2, 1},    // even kernel, rows of 5 floats
  };
  std::uint64_t key = 100;
  for (const auto& s : shapes) {
    const int n = 3;
    const auto x = random_vec(static_cast<std::size_t>(n) * s.in_size(), ++key);
    const auto w = random_vec(static_cast<std::size_t>(s.out_c) * s.patch(), ++key);
    const auto dy = random_vec(static_cast<std::size_t>(n) * s.out_size(), ++key);
    std::vector<float> cols(conv2d_scratch_size(s));
    std::vector<float> y(dy.size()), y_ref(dy.size());
    conv2d_forward(x.data(), w.data(), y.data(), cols.data(), n, s);
    conv2d_forward_ref(x.data(), w.data(), y_ref.data(), n, s);
    EXPECT_LT(rel_diff(y, y_ref), kTol) << "forward in_c " << s.in_c << " pad " << s.pad;
    std::vector<float> dw(w.size()), dw_ref(w.size());
    conv2d_backward_weight(x.data(), dy.data(), dw.data(), cols.data(), n, s);
    conv2d_backward_weight_ref(x.data(), dy.data(), dw_ref.data(), n, s);
    EXPECT_LT(rel_diff(dw, dw_ref), kTol) << "weight grad in_c " << s.in_c << " pad " << s.pad;
    std::vector<float> dx(x.size(), 9.0f), dx_ref(x.size());
    conv2d_backward_data(dy.data(), w.data(), dx.data(), cols.data(), n, s);
    conv2d_backward_data_ref(dy.data(), w.data(), dx_ref.data(), n, s);
    EXPECT_LT(rel_diff(dx, dx_ref), kTol) << "data grad in_c " << s.in_c << " pad " << s.pad;
  }
}

TEST(ModelKernels, ChwnLayoutRoundTripsAndPads) {
  const int n = 5, c = 2, h = 3, w = 4, pad = 1, L = chwn_lanes(n);
  ASSERT_EQ(L, 16);
  EXPECT_EQ(chwn_lanes(16), 16);
  EXPECT_EQ(chwn_lanes(17), 32);
  const auto x = random_vec(static_cast<std::size_t>(n) * c * h * w, 3);
  std::vector<float> t(static_cast<std::size_t>(c) * (h + 2) * (w + 2) * L, 9.0f);
  to_chwn(x.data(), t.data(), n, c, h, w, pad, L);
  for (int i = 0; i < L; ++i)
    for (int ch = 0; ch < c; ++ch)
      for (int yy = 0; yy < h + 2; ++yy)
        for (int xx = 0; xx < w + 2; ++xx) {
          const bool inside = i < n && yy >= 1 && yy <= h && xx >= 1 && xx <= w;
          const float want = inside ? x[((static_cast<std::size_t>(i) * c + ch) * h + yy - 1) * w + xx - 1] : 0.0f;
          EXPECT_EQ(t[((static_cast<std::size_t>(ch) * (h + 2) + yy) * (w + 2) + xx) * L + i], want);
        }
  // Unpadded round trip, and pad_chwn of the unpadded tensor equals to_chwn with padding.
  std::vector<float> u(static_cast<std::size_t>(c) * h * w * L), back(x.size()), p(t.size(), 9.0f);
  to_chwn(x.data(), u.data(), n, c, h, w, 0, L);
  from_chwn(u.data(), back.data(), n, c, h, w, L);
  EXPECT_EQ(back, x);
  pad_chwn(u.data(), p.data(), c, h, w, pad, L);
  EXPECT_EQ(p, t);
}

TEST(ModelKernels, ConvChwnMatchesReferences) {
  // (shape with its padding applied to the input: pad 0), batch n.
  struct Case {
    ConvShape s;
    int n;
  };
  const Case cases[] = {
      {{1, 32, 32, 6, 5, 0}, 32},   // LeNet-5 conv1 (28x28 padded by 2), batch 32
      {{1, 32, 32, 6, 5, 0}, 12},   // a tail batch: 4 of 16 lanes are padding
      {{6, 14, 14, 16, 5, 0}, 16},  // LeNet-5 conv2
      {{6, 14, 14, 16, 5, 0}, 40},  // three lane vectors
      {{3, 9, 11, 7, 3, 0}, 16},    // odd channel count, k = 3 (runtime-k path)
      {{2, 4, 30, 5, 1, 0}, 16},    // 1x1 kernel, rows longer than a register block
      {{2, 6, 7, 3, 2, 0}, 20},     // even kernel
  };
  std::uint64_t key = 300;
  for (const auto& [s, n] : cases) {
    const int L = chwn_lanes(n);
    const auto xv = random_vec(static_cast<std::size_t>(s.in_size()) * L, ++key);
    const auto w = random_vec(static_cast<std::size_t>(s.out_c) * s.patch(), ++key);
    const auto dy = random_vec(static_cast<std::size_t>(s.out_size()) * L, ++key);
    std::vector<float> y(dy.size(), 7.0f), y_ref(dy.size());
    conv2d_chwn_forward(xv.data(), w.data(), y.data(), L, s);
    conv2d_chwn_forward_ref(xv.data(), w.data(), y_ref.data(), L, s);
    EXPECT_LT(rel_diff(y, y_ref), kTol) << "forward in_c " << s.in_c << " n " << n;
    // The NCHW direct loops agree on the first n lanes.
    std::vector<float> x_nchw(static_cast<std::size_t>(s.in_size()) * n), y_nchw(static_cast<std::size_t>(s.out_size()) * n),
        y_back(y_nchw.size());
    from_chwn(xv.data(), x_nchw.data(), n, s.in_c, s.in_h, s.in_w, L);
    conv2d_forward_ref(x_nchw.data(), w.data(), y_nchw.data(), n, s);
    from_chwn(y.data(), y_back.data(), n, s.out_c, s.out_h(), s.out_w(), L);
    EXPECT_LT(rel_diff(y_back, y_nchw), kTol) << "forward vs NCHW in_c " << s.in_c;

    std::vector<float> dw(w.size(), 7.0f), dw_ref(w.size());
    conv2d_chwn_backward_weight(xv.data(), dy.data(), dw.data(), L, s);
    conv2d_chwn_backward_weight_ref(xv.data(), dy.data(), dw_ref.data(), L, s);
    EXPECT_LT(rel_diff(dw, dw_ref), kTol) << "weight grad in_c " << s.in_c << " n " << n;

    const int k1 = s.k - 1;
    std::vector<float> dpad(static_cast<std::size_t>(s.out_c) * (s.out_h() + 2 * k1) * (s.out_w() + 2 * k1) * L);
    pad_chwn(dy.data(), dpad.data(), s.out_c, s.out_h(), s.out_w(), k1, L);
    std::vector<float> dx(xv.size(), 7.0f), dx_ref(xv.size()), wt(w.size());
    conv2d_chwn_backward_data(dpad.data(), w.data(), dx.data(), wt.data(), L, s);
    conv2d_chwn_backward_data_ref(dpad.data(), w.data(), dx_ref.data(), L, s);
    EXPECT_LT(rel_diff(dx, dx_ref), kTol) << "data grad in_c " << s.in_c << " n " << n;
    // ... and the NCHW adjoint.
    std::vector<float> dy_nchw(static_cast<std::size_t>(s.out_size()) * n), dx_nchw(x_nchw.size()), dx_back(x_nchw.size());
    from_chwn(dy.data(), dy_nchw.data(), n, s.out_c, s.out_h(), s.out_w(), L);
    conv2d_backward_data_ref(dy_nchw.data(), w.data(), dx_nchw.data(), n, s);
    from_chwn(dx.data(), dx_back.data(), n, s.in_c, s.in_h, s.in_w, L);
    EXPECT_LT(rel_diff(dx_back, dx_nchw), kTol) << "data grad vs NCHW in_c " << s.in_c;
  }
}

TEST(ModelKernels, ConvChwnSkipsOnlyTheZeroBorder) {
  // A padded input (border 2 or 4 of zeros): skipping the terms that read only
  // the border gives the full sum, for register blocks at every edge.
  std::uint64_t key = 500;
  for (const auto [c, h, w, k, pad, out_c] : {std::array{1, 28, 28, 5, 2, 6}, std::array{16, 10, 10, 5, 4, 6},
                                              std::array{2, 9, 11, 3, 2, 4}, std::array{3, 6, 13, 5, 3, 2}}) {
    const int L = 32;
    const auto inner = random_vec(static_cast<std::size_t>(c) * h * w * L, ++key);
    std::vector<float> x(static_cast<std::size_t>(c) * (h + 2 * pad) * (w + 2 * pad) * L);
    pad_chwn(inner.data(), x.data(), c, h, w, pad, L);
    const ConvShape s{c, h + 2 * pad, w + 2 * pad, out_c, k, 0};
    const auto wt = random_vec(static_cast<std::size_t>(out_c) * s.patch(), ++key);
    std::vector<float> y(static_cast<std::size_t>(s.out_size()) * L), y_ref(y.size());
    conv2d_chwn_forward(x.data(), wt.data(), y.data(), L, s, pad);
    conv2d_chwn_forward_ref(x.data(), wt.data(), y_ref.data(), L, s);
    EXPECT_LT(rel_diff(y, y_ref), kTol) << "c " << c << " pad " << pad;
  }
}

TEST(ModelKernels, PoolBiasReluChwnIsPoolThenBiasThenRelu) {
  for (const auto [c, h, w, L] : {std::array{6, 28, 28, 32}, std::array{16, 10, 10, 16}, std::array{3, 5, 7, 16}}) {
    const auto x = random_vec(static_cast<std::size_t>(c) * h * w * L, 11);
    auto b = random_vec(static_cast<std::size_t>(c), 12);
    const std::size_t out = static_cast<std::size_t>(c) * (h / 2) * (w / 2) * L;
    auto xt = x;  // ties inside windows: the first max wins in both
    for (std::size_t i = 0; i + L < xt.size(); i += 7) xt[i + L] = xt[i];
    std::vector<float> y(out), y_ref(out);
    std::vector<std::uint8_t> arg(out), arg_ref(out);
    pool_bias_relu_chwn_forward(xt.data(), b.data(), y.data(), arg.data(), c, h, w, L);
    pool_bias_relu_chwn_forward_ref(xt.data(), b.data(), y_ref.data(), arg_ref.data(), c, h, w, L);
    EXPECT_EQ(y, y_ref);
    EXPECT_EQ(arg, arg_ref);
    const auto dy = random_vec(out, 13);
    std::vector<float> dx(x.size(), 7.0f), dx_ref(x.size()), db(static_cast<std::size_t>(c)), db_ref(db.size());
    pool_bias_relu_chwn_backward(y.data(), dy.data(), arg.data(), dx.data(), db.data(), c, h, w, L);
    pool_bias_relu_chwn_backward_ref(y.data(), dy.data(), arg.data(), dx_ref.data(), db_ref.data(), c, h, w, L);
    EXPECT_EQ(dx, dx_ref);
    EXPECT_LT(rel_diff(db, db_ref), kTol);
  }
}

TEST(ModelKernels, Col2imIsTheAdjointOfIm2col) {
  // <im2col(x), c> == <x, col2im(c)> for any x, c.
  for (const ConvShape& s : {ConvShape{3, 6, 5, 2, 3, 2}, ConvShape{1, 28, 28, 6, 5, 2},
                             ConvShape{2, 7, 40, 1, 5, 1}}) {
    const auto x = random_vec(static_cast<std::size_t>(s.in_size()), 1);
    const auto c = random_vec(conv2d_scratch_size(s), 2);
    std::vector<float> cols(c.size()), dx(x.size());
    im2col(x.data(), cols.data(), s);
    col2im(c.data(), dx.data(), s);
    double lhs = 0.0, rhs = 0.0;
    for (std::size_t i = 0; i < c.size(); ++i) lhs += static_cast<double>(cols[i]) * c[i];
    for (std::size_t i = 0; i < x.size(); ++i) rhs += static_cast<double>(x[i]) * dx[i];
    EXPECT_NEAR(lhs, rhs, 1e-4 * std::max(1.0, std::abs(lhs))) << "in_w " << s.in_w;
  }
}

TEST(ModelKernels, MaxPoolForwardBackward) {
  // One 4x5 plane (odd width: last column dropped) with a tie in the first window.
  const std::vector<float> x = {1, 1, 0, 5, 9,  //
                                0, -1, 2, 3, 9,  //
                                -4, -3, 7, 6, 9, //
                                -2, -5, 6, 8, 9};
  std::vector<float> y(4);
  std::vector<std::uint8_t> arg(4);
  maxpool2_forward(x.data(), y.data(), arg.data(), 1, 1, 4, 5);
  EXPECT_EQ(y, (std::vector<float>{1, 5, -2, 8}));
  EXPECT_EQ(arg, (std::vector<std::uint8_t>{0, 1, 2, 3}));
  const std::vector<float> dy = {10, 20, 30, 40};
  std::vector<float> dx(x.size(), 7.0f);
  maxpool2_backward(dy.data(), arg.data(), dx.data(), 1, 1, 4, 5);
  const std::vector<float> want = {10, 0, 0, 20, 0,  //
                                   0, 0, 0, 0, 0,    //
                                   0, 0, 0, 0, 0,    //
                                   30, 0, 0, 40, 0};
  EXPECT_EQ(dx, want);

  // Random planes: every pooled value is the max of its window, at arg.
  const int n = 2, c = 3, h = 6, w = 8;
  const auto xr = random_vec(static_cast<std::size_t>(n) * c * h * w, 5);
  std::vector<float> yr(static_cast<std::size_t>(n) * c * (h / 2) * (w / 2));
  std::vector<std::uint8_t> ar(yr.size());
  maxpool2_forward(xr.data(), yr.data(), ar.data(), n, c, h, w);
  for (int q = 0; q < n * c; ++q)
    for (int oy = 0; oy < h / 2; ++oy)
      for (int ox = 0; ox < w / 2; ++ox) {
        const std::size_t o = (static_cast<std::size_t>(q) * (h / 2) + oy) * (w / 2) + ox;
        float m = -INFINITY;
        for (int d = 0; d < 4; ++d)
          m = std::max(m, xr[(static_cast<std::size_t>(q) * h + 2 * oy + d / 2) * w + 2 * ox + d % 2]);
        EXPECT_EQ(yr[o], m);
        const int a = ar[o];
        EXPECT_EQ(xr[(static_cast<std::size_t>(q) * h + 2 * oy + a / 2) * w + 2 * ox + a % 2], m);
      }
}

TEST(ModelKernels, ReluAndBias) {
  std::vector<float> y = {-1.0f, 0.0f, 2.0f, -0.5f, 3.0f};
  relu_forward(y.data(), y.size());
  EXPECT_EQ(y, (std::vector<float>{0, 0, 2, 0, 3}));
  std::vector<float> dy = {1, 2, 3, 4, 5};
  relu_backward(y.data(), dy.data(), dy.size());
  EXPECT_EQ(dy, (std::vector<float>{0, 0, 3, 0, 5}));

  // y (n=2, c=2, p=3)
  std::vector<float> a(12, 1.0f);
  const std::vector<float> b = {10, 20};
  add_bias(b.data(), a.data(), 2, 2, 3);
  EXPECT_EQ(a, (std::vector<float>{11, 11, 11, 21, 21, 21, 11, 11, 11, 21, 21, 21}));
  std::vector<float> db(2);
  std::vector<float> g(12);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(i);
  bias_backward(g.data(), db.data(), 2, 2, 3);
  EXPECT_EQ(db, (std::vector<float>{0 + 1 + 2 + 6 + 7 + 8, 3 + 4 + 5 + 9 + 10 + 11}));
}
