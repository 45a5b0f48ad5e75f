#pragma once
/// Dense layer products that read the weight matrix W (out, in) of variable
/// `var` from a ParamSource in row tiles of at most tile_elements() values, so
/// compressed storage only ever decodes one tile. With an unbounded tile (plain
/// fp32) each is exactly one call of the kernel kernels::dense_* uses, identical to it.
#include <cstddef>

#include "fedhpc/model/param_source.hpp"

namespace fedhpc::model {

/// y (n, out) = x (n, in) · W^T; tile t writes the columns of its rows.
void dense_forward(ParamSource& params, std::size_t var, const float* x, float* y, int n, int in,
                   int out);
/// dx (n, in) = dy (n, out) · W, summed over row tiles.
void dense_backward_data(ParamSource& params, std::size_t var, const float* dy, float* dx, int n,
                         int in, int out);

}  // namespace fedhpc::model
