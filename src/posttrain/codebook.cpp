#include "fedhpc/posttrain/codebook.hpp"

#include <algorithm>
#include <cmath>

#include "fedhpc/core/error.hpp"

namespace fedhpc::posttrain {
namespace {
constexpr int kAffineLevels = 256;
}

void decode(const model::ParamLayout& layout, const fl::CodedVariable& c, std::span<float> model) {
  const auto out = layout.view(model, c.var);
  const auto b = static_cast<std::size_t>(c.block);
  expects(c.codes.size() == (out.size() + b - 1) / b, "decode: code count does not match the variable");
  for (std::size_t j = 0; j < out.size(); ++j) {
    const std::size_t e = c.codes[j / b];
    expects(e * b < c.codebook.size(), "decode: code outside the codebook");
    out[j] = c.codebook[e * b + j % b];
  }
}

std::int64_t code_bits(const model::ParamLayout& layout, const fl::CodedVariable& c) {
  const auto n = static_cast<std::int64_t>(layout.var(c.var).size);
  return (n + c.block - 1) / c.block * c.bits;
}

std::int64_t codebook_bits(const fl::CodedVariable& c) {
  return c.codebook_affine ? 2 * 32 : c.codebook_float_bits * static_cast<std::int64_t>(c.codebook.size());
}

double StorageSize::ratio() const {
  return static_cast<double>(fp32_bits) / static_cast<double>(code_bits + codebook_bits + plain_bits);
}

double StorageSize::ratio_without_codebooks() const {
  return static_cast<double>(fp32_bits) / static_cast<double>(code_bits + plain_bits);
}

StorageSize storage_size(const model::ParamLayout& layout, std::span<const fl::CodedVariable> coded) {
  StorageSize s;
  s.fp32_bits = 32 * static_cast<std::int64_t>(layout.size());
  s.bits_per_weight.assign(layout.num_vars(), 32.0);
  std::vector<bool> is_coded(layout.num_vars(), false);
  for (const auto& c : coded) {
    const std::int64_t code = code_bits(layout, c), book = codebook_bits(c);
    s.code_bits += code;
    s.codebook_bits += book;
    is_coded[c.var] = true;
    s.bits_per_weight[c.var] = static_cast<double>(code + book) / static_cast<double>(layout.var(c.var).size);
  }
  for (std::size_t i = 0; i < layout.num_vars(); ++i)
    if (!is_coded[i]) s.plain_bits += 32 * static_cast<std::int64_t>(layout.var(i).size);
  return s;
}

int bits_for(std::size_t entries) {
  int b = 1;
  while ((std::size_t{1} << b) < entries) ++b;
  return b;
}

fl::CodedVariable affine8(const model::ParamLayout& layout, std::size_t var, std::span<const float> model) {
  const auto v = layout.view(model, var);
  fl::CodedVariable c;
  c.var = var;
  c.bits = 8;
  c.block = 1;
  c.codebook_affine = true;
  const auto [lo_it, hi_it] = std::minmax_element(v.begin(), v.end());
  const float lo = v.empty() ? 0.0f : *lo_it, hi = v.empty() ? 0.0f : *hi_it;
  const float step = (hi - lo) / static_cast<float>(kAffineLevels - 1);
  c.codebook.resize(kAffineLevels);
  for (int i = 0; i < kAffineLevels; ++i) c.codebook[static_cast<std::size_t>(i)] = lo + step * static_cast<float>(i);
  c.codes.resize(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) {
    const float q = step > 0.0f ? std::nearbyint((v[j] - lo) / step) : 0.0f;
    c.codes[j] = static_cast<std::uint32_t>(std::clamp(q, 0.0f, static_cast<float>(kAffineLevels - 1)));
  }
  return c;
}

}  // namespace fedhpc::posttrain
