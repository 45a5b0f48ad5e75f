#pragma once
/// Where a network reads its parameters from, one variable at a time.
/// Fp32 storage hands out views; compressed storage (OMC) decodes on acquire
/// into a transient buffer and frees it on release.
#include <cstddef>
#include <limits>
#include <span>
#include <string>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::model {

/// Supplies variable values to forward/backward.
class ParamSource {
 public:
  virtual ~ParamSource() = default;
  /// Values of variable i, valid until release(i).
  virtual std::span<const float> acquire(std::size_t i) = 0;
  /// The caller is done with variable i for now.
  virtual void release(std::size_t /*i*/) noexcept {}
  /// Largest number of elements a caller should hold acquired at once: the
  /// decode granularity of compressed storage (unbounded for plain buffers).
  virtual std::size_t tile_elements() const { return std::numeric_limits<std::size_t>::max(); }
  /// Elements [begin, begin + count) of variable i, valid until release(i).
  virtual std::span<const float> acquire_range(std::size_t i, std::size_t begin, std::size_t count) {
    return acquire(i).subspan(begin, count);
  }
};

/// Holds a range of variable i for one scope (acquire_range / release).
class ScopedRange {
 public:
  ScopedRange(ParamSource& source, std::size_t i, std::size_t begin, std::size_t count)
      : source_(&source), i_(i), values_(source.acquire_range(i, begin, count)) {}
  ~ScopedRange() { source_->release(i_); }
  ScopedRange(const ScopedRange&) = delete;
  ScopedRange& operator=(const ScopedRange&) = delete;
  const float* data() const { return values_.data(); }

 private:
  ParamSource* source_;
  std::size_t i_;
  std::span<const float> values_;
};

/// Holds variable i of a source for one scope: acquire on construction,
/// release on destruction (also when a kernel throws).
class ScopedParam {
 public:
  ScopedParam(ParamSource& source, std::size_t i, std::size_t expected_size)
      : source_(&source), i_(i), values_(source.acquire(i)) {
    if (values_.size() != expected_size) {
      source_->release(i_);
      throw_size_mismatch(i, values_.size(), expected_size);
    }
  }
  ~ScopedParam() { source_->release(i_); }
  ScopedParam(const ScopedParam&) = delete;
  ScopedParam& operator=(const ScopedParam&) = delete;
  const float* data() const { return values_.data(); }

 private:
  [[noreturn]] static void throw_size_mismatch(std::size_t i, std::size_t got, std::size_t want) {
    throw InternalError("ParamSource::acquire(" + std::to_string(i) + ") returned " +
                        std::to_string(got) + " values, the layout says " + std::to_string(want));
  }
  ParamSource* source_;
  std::size_t i_;
  std::span<const float> values_;
};

/// Plain fp32 parameters in one flat buffer.
class FlatParams final : public ParamSource {
 public:
  FlatParams(const ParamLayout& layout, std::span<const float> flat)
      : layout_(&layout), flat_(flat) {}
  std::span<const float> acquire(std::size_t i) override { return layout_->view(flat_, i); }
  std::span<const float> acquire_range(std::size_t i, std::size_t begin, std::size_t count) override {
    return layout_->view(flat_, i).subspan(begin, count);
  }

 private:
  const ParamLayout* layout_;
  std::span<const float> flat_;
};

}  // namespace fedhpc::model
