#pragma once
/// The SGD update kernel shared by every parameter store:
///   g' = g + wd * w + mu * (w - w0);  v = m * v + g' (if momentum);  w -= lr * v (or lr * g')
#include <cstddef>

namespace fedhpc::train {

/// Hyper-parameters of one local SGD step.
struct SgdHyper {
  float lr = 0.0f;
  float weight_decay = 0.0f;
  float prox_mu = 0.0f;
  float momentum = 0.0f;  ///< 0: plain SGD, velocity unused
};

/// Updates n parameters in place. w0: proximal anchor (may be null when
/// prox_mu == 0); v: velocity (may be null when momentum == 0).
inline void sgd_update(float* w, const float* g, const float* w0, float* v, std::size_t n,
                       const SgdHyper& h) noexcept {
  if (h.momentum == 0.0f) {
    if (h.prox_mu == 0.0f) {
      for (std::size_t i = 0; i < n; ++i) w[i] -= h.lr * (g[i] + h.weight_decay * w[i]);
    } else {
      for (std::size_t i = 0; i < n; ++i)
        w[i] -= h.lr * (g[i] + h.weight_decay * w[i] + h.prox_mu * (w[i] - w0[i]));
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const float prox = h.prox_mu == 0.0f ? 0.0f : h.prox_mu * (w[i] - w0[i]);
      const float vi = h.momentum * v[i] + (g[i] + h.weight_decay * w[i] + prox);
      v[i] = vi;
      w[i] -= h.lr * vi;
    }
  }
}

}  // namespace fedhpc::train
