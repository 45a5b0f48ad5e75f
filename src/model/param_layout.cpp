#include "fedhpc/model/param_layout.hpp"

#include <algorithm>
#include <utility>

#include "fedhpc/core/error.hpp"

namespace fedhpc::model {

std::size_t ParamLayout::add(std::string name, std::vector<int> shape, VarKind kind) {
  expects(!shape.empty(), "ParamLayout::add: variable without a shape");
  expects((kind == VarKind::kBias) == (shape.size() == 1),
          "ParamLayout::add: biases have rank 1, weights rank >= 2");
  for (const auto& v : vars_) expects(v.name != name, "ParamLayout::add: duplicate variable name");
  std::size_t size = 1;
  for (int d : shape) {
    expects(d > 0, "ParamLayout::add: non-positive dimension");
    size *= static_cast<std::size_t>(d);
  }
  Variable v;
  v.name = std::move(name);
  v.shape = std::move(shape);
  v.offset = size_;
  v.size = size;
  v.kind = kind;
  vars_.push_back(std::move(v));
  size_ += size;
  return vars_.size() - 1;
}

std::size_t ParamLayout::max_var_size() const {
  std::size_t m = 0;
  for (const auto& v : vars_) m = std::max(m, v.size);
  return m;
}

}  // namespace fedhpc::model
