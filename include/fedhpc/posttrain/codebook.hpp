#pragma once
/// Coded variables (fl::CodedVariable): decoding into a flat model and the
/// storage they take, which is what a compression ratio counts.
///
/// Storage of a model: a coded variable of n elements takes
/// ceil(n / block) * bits code bits plus its codebook (codebook_bits); every
/// other variable takes 32 bits per element. The ratio is 32 P over that
/// total, with or without the codebooks.
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::posttrain {

/// Writes the decoded values of c into its variable's elements of model (P).
void decode(const model::ParamLayout& layout, const fl::CodedVariable& c, std::span<float> model);

/// Bits of the code stream of c (without its codebook).
std::int64_t code_bits(const model::ParamLayout& layout, const fl::CodedVariable& c);

/// Bits of c's codebook: codebook_float_bits per stored value, or 64 for an
/// affine 8-bit grid (lo and step), whose 256 levels are materialised only
/// for decoding.
std::int64_t codebook_bits(const fl::CodedVariable& c);

/// Storage of a whole model.
struct StorageSize {
  std::int64_t fp32_bits = 0;       ///< 32 P: the uncompressed model
  std::int64_t code_bits = 0;       ///< code streams of the coded variables
  std::int64_t codebook_bits = 0;   ///< their codebooks
  std::int64_t plain_bits = 0;      ///< variables left fp32
  std::vector<double> bits_per_weight;  ///< (variables) per variable, codebooks included
  double ratio() const;                     ///< with codebooks
  double ratio_without_codebooks() const;
};
StorageSize storage_size(const model::ParamLayout& layout, std::span<const fl::CodedVariable> coded);

/// Smallest b >= 1 with 2^b >= entries.
int bits_for(std::size_t entries);

/// An affine 8-bit grid over [min, max] of v (codebook of 256 levels, 64 bits counted).
fl::CodedVariable affine8(const model::ParamLayout& layout, std::size_t var, std::span<const float> model);

}  // namespace fedhpc::posttrain
