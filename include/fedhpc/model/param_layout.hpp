#pragma once
/// Named variables over one flat fp32 parameter buffer.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace fedhpc::model {

/// What a variable is; compression and pruning treat kinds differently.
enum class VarKind { kDenseWeight, kConvKernel, kBias };

/// One named tensor inside the flat buffer.
struct Variable {
  std::string name;            ///< e.g. "conv1.weight"
  std::vector<int> shape;      ///< dense: (out, in); conv: (out, in, kh, kw); bias: (out)
  std::size_t offset = 0;      ///< first element in the flat buffer
  std::size_t size = 0;        ///< number of elements
  VarKind kind = VarKind::kBias;
  /// Weight matrices and conv kernels (rank >= 2).
  bool is_weight() const { return kind != VarKind::kBias; }
};

/// Ordered list of variables laid out contiguously.
class ParamLayout {
 public:
  /// Appends a variable after the last one and returns its index.
  std::size_t add(std::string name, std::vector<int> shape, VarKind kind);
  const std::vector<Variable>& vars() const { return vars_; }
  const Variable& var(std::size_t i) const { return vars_[i]; }
  std::size_t num_vars() const { return vars_.size(); }
  /// Total number of parameters.
  std::size_t size() const { return size_; }
  /// Size of the largest variable.
  std::size_t max_var_size() const;
  /// The elements of variable i inside a flat buffer.
  template <class T>
  std::span<T> view(std::span<T> flat, std::size_t i) const {
    return flat.subspan(vars_[i].offset, vars_[i].size);
  }

 private:
  std::vector<Variable> vars_;
  std::size_t size_ = 0;
};

}  // namespace fedhpc::model
