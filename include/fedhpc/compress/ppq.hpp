#pragma once
/// Partial parameter quantization (PPQ, METHODS.md §1): each round a seeded
/// random subset of weight blocks holding at most a fraction rho of the weight
/// parameters stays fp32; the rest is quantized.
///
/// Blocks (granularity kRows): a weight variable of shape (out, ...) has rows
/// of r = size/out elements (a dense row, or one output channel of a conv
/// kernel); a block is the smallest run of whole rows whose size is a multiple
/// of 8, i.e. 8/gcd(r, 8) rows, so that every block starts on a whole byte of
/// packed codes at any bit width (EncodedParams::kRangeAlign). The last block
/// of a variable may be shorter; a variable smaller than one block is one
/// block. LeNet-5: conv1 one block of 150, conv2 blocks of 4 channels (600),
/// fc1 single rows (400), fc2 single rows (120), fc3 pairs of rows (168).
/// Granularity kVariables: one block per weight variable (too coarse for
/// LeNet-5, where fc1 holds 78 % of the weights: rho = 0.1 keeps 5.5 %).
///
/// Selection: shuffle all blocks with rng (Fisher-Yates), walk them in that
/// order and take each one that still fits, taken + size <= rho * (total
/// weight parameters) (first fit). The fp32 share is never above rho (a hard
/// memory bound) and no skipped block would have fit.
#include <cstddef>
#include <span>
#include <vector>

#include "fedhpc/compress/storage_spec.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::compress {

/// Elements [begin, begin + size) of weight variable `var`.
struct PpqBlock {
  std::size_t var = 0;    ///< variable index in the layout
  std::size_t begin = 0;  ///< first element inside the variable
  std::size_t size = 0;   ///< elements
};

/// Block length (elements) of a weight variable at granularity g (see the file comment).
std::size_t ppq_block_length(const model::Variable& v, StorageSpec::PpqGranularity g);

/// Every weight variable cut into blocks, in layout and element order.
std::vector<PpqBlock> ppq_blocks(const model::ParamLayout& layout, StorageSpec::PpqGranularity g);

/// The round's fp32 blocks (indices into `blocks`, ascending) by the first-fit
/// rule above. Throws InternalError unless 0 <= rho <= 1.
std::vector<std::size_t> select_fp32_blocks(std::span<const PpqBlock> blocks, double rho, Rng& rng);

}  // namespace fedhpc::compress
