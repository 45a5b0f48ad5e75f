#pragma once
/// Where a network reads its parameters from, one variable at a time.
/// Fp32 storage hands out views; compressed storage (OMC) decodes on acquire
/// into a transient buffer and frees it on release.
#include <cstddef>
#include <span>

#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::model {

/// Supplies variable values to forward/backward.
class ParamSource {
 public:
  virtual ~ParamSource() = default;
  /// Values of variable i, valid until release(i).
  virtual std::span<const float> acquire(std::size_t i) = 0;
  /// The caller is done with variable i for now.
  virtual void release(std::size_t i) noexcept {}
};

/// Plain fp32 parameters in one flat buffer.
class FlatParams final : public ParamSource {
 public:
  FlatParams(const ParamLayout& layout, std::span<const float> flat)
      : layout_(&layout), flat_(flat) {}
  std::span<const float> acquire(std::size_t i) override { return layout_->view(flat_, i); }

 private:
  const ParamLayout* layout_;
  std::span<const float> flat_;
};

}  // namespace fedhpc::model
