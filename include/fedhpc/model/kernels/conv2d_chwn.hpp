#pragma once
/// Direct (im2col-free) 2-D convolution in the batch-innermost layout
/// (kernels/chwn.hpp), stride 1, over an input that already holds its zero
/// padding (chwn.hpp: to_chwn, pad_chwn), so s.pad must be 0:
///   y(o, oy, ox, l) = sum_{c, ky, kx} w(o, c, ky, kx) · x(c, oy + ky, ox + kx, l)
/// x (in_c, in_h, in_w, L), w (out_c, in_c, k, k), y (out_c, out_h, out_w, L).
/// Every output position of a batch is a vector over l: a block of R output
/// channels x S positions lives in registers while the sum runs over (c, ky, kx)
/// in that order, one FMA per term; no packing, no scratch.
#include "fedhpc/model/kernels/conv2d.hpp"

namespace fedhpc::model::kernels {

/// y = conv(x, w) (overwrites y); s.pad == 0, lanes a multiple of kLanes.
/// When a border of `zero_border` rows and columns of every x channel is zero
/// (its padding), kernel rows and columns whose terms of a register block only
/// read that border are skipped (they add nothing).
void conv2d_chwn_forward(const float* x, const float* w, float* y, int lanes, const ConvShape& s,
                         int zero_border = 0);
/// dw(o, c, ky, kx) = sum_{oy, ox, l} dy(o, oy, ox, l) · x(c, oy + ky, ox + kx, l) (overwrites dw).
/// Each weight sums, per lane j of 16 (examples j, j + 16, ...), its terms in
/// (oy, ox, lane vector) order, then the 16 lanes in a fixed tree.
void conv2d_chwn_backward_weight(const float* x, const float* dy, float* dw, int lanes,
                                 const ConvShape& s);
/// dx (in_c, in_h, in_w, L) = full correlation of dy with the flipped kernel:
///   dx(c, iy, ix, l) = sum_{o, ky, kx} w(o, c, ky, kx) · dy(o, iy - ky, ix - kx, l).
/// dy_padded is dy (out_c, out_h, out_w, L) inside a zero border of k - 1
/// (pad_chwn); wt is scratch of out_c * in_c * k * k floats. Overwrites dx.
void conv2d_chwn_backward_data(const float* dy_padded, const float* w, float* dx, float* wt,
                               int lanes, const ConvShape& s);

/// Plain-loop references of the three kernels (double accumulation).
void conv2d_chwn_forward_ref(const float* x, const float* w, float* y, int lanes, const ConvShape& s);
void conv2d_chwn_backward_weight_ref(const float* x, const float* dy, float* dw, int lanes,
                                     const ConvShape& s);
void conv2d_chwn_backward_data_ref(const float* dy_padded, const float* w, float* dx, int lanes,
                                   const ConvShape& s);

}  // namespace fedhpc::model::kernels
