#include "fedhpc/compress/param_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

namespace {

/// Scalars are stored as 4-byte floats.
constexpr std::size_t kScalarBytes = sizeof(float);

void put(std::byte*& p, float v) {
  std::memcpy(p, &v, sizeof v);
  p += sizeof v;
}

float get(const std::byte*& p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

}  // namespace

void StorageSpec::validate() const {
  switch (codec) {
    case Codec::kFp32: break;
    case Codec::kInt:
      if (bits < 2 || bits > 16)
        throw ConfigError("storage.bits", "must be in 2..16, got " + std::to_string(bits));
      break;
    case Codec::kFloat:
      if (exponent_bits < 2 || exponent_bits > 8)
        throw ConfigError("storage.exponent_bits",
                          "must be in 2..8, got " + std::to_string(exponent_bits));
      if (mantissa_bits < 0 || mantissa_bits > 23)
        throw ConfigError("storage.mantissa_bits",
                          "must be in 0..23, got " + std::to_string(mantissa_bits));
      break;
    default: throw ConfigError("storage.codec", "unknown codec (valid: fp32, int, float)");
  }
  if (!(fp32_fraction >= 0.0 && fp32_fraction <= 1.0))
    throw ConfigError("storage.fp32_fraction",
                      "must be in [0, 1], got " + std::to_string(fp32_fraction));
}

int StorageSpec::code_bits() const noexcept {
  switch (codec) {
    case Codec::kInt: return bits;
    case Codec::kFloat: return 1 + exponent_bits + mantissa_bits;
    case Codec::kFp32: break;
  }
  return 0;
}

EncodedParams::EncodedParams(const model::ParamLayout& layout, const StorageSpec& spec)
    : spec_(spec), format_{spec.exponent_bits, spec.mantissa_bits} {
  spec_.validate();
  vars_.reserve(layout.num_vars());
  std::size_t weight_params = 0;
  blocks_ = compress::ppq_blocks(layout, spec_.ppq_granularity);
  std::size_t next_block = 0;
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    const auto& v = layout.var(i);
    Slot s;
    s.offset = v.offset;
    s.size = v.size;
    s.weight = v.is_weight();
    s.quantized = spec_quantizes(s);
    if (next_block < blocks_.size() && blocks_[next_block].var == i) {
      s.first_block = next_block;
      s.block = blocks_[next_block].size;
      while (next_block < blocks_.size() && blocks_[next_block].var == i) ++next_block;
    }
    vars_.push_back(s);
    if (s.weight) weight_params += s.size;
  }
  block_fp32_.assign(blocks_.size(), 0);
  fp32_before_.assign(blocks_.size(), 0);
  num_params_ = layout.size();
  relayout();
  // Room for the PPQ fp32 set: at most floor(rho * weight params) elements
  // switch from their quantized form to 4 bytes each.
  if (spec_.codec != StorageSpec::Codec::kFp32 && spec_.fp32_fraction > 0.0) {
    const auto extra = static_cast<std::size_t>(
        std::floor(spec_.fp32_fraction * static_cast<double>(weight_params)));
    arena_.reserve(arena_.size() + sizeof(float) * extra);
  }
}

std::size_t EncodedParams::var_bytes(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::var_bytes: variable index out of range");
  return vars_[i].bytes;
}

std::size_t EncodedParams::kept_bytes(std::size_t i, std::size_t kept) const {
  expects(i < vars_.size() && kept <= vars_[i].size, "EncodedParams::kept_bytes: out of range");
  const Slot& v = vars_[i];
  if (!v.quantized) return sizeof(float) * kept;
  // Which kept values fall into PPQ fp32 blocks is not known from a count.
  expects(v.n_fp32 == 0, "EncodedParams::kept_bytes: a variable holds PPQ fp32 row blocks");
  const int b = spec_.code_bits();
  return v.bytes - packed_bytes(v.size, b) + packed_bytes(kept, b);
}

bool EncodedParams::is_quantized(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::is_quantized: variable index out of range");
  return vars_[i].quantized;
}

std::size_t EncodedParams::quantized_count(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::quantized_count: variable index out of range");
  return vars_[i].quantized ? vars_[i].size - vars_[i].n_fp32 : 0;
}

bool EncodedParams::is_mixed(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::is_mixed: variable index out of range");
  return vars_[i].quantized && vars_[i].n_fp32 > 0;
}

std::size_t EncodedParams::header_bytes() const noexcept {
  return kScalarBytes * ((spec_.pvt ? 2 : 0) + (spec_.codec == StorageSpec::Codec::kInt ? 2 : 0));
}

bool EncodedParams::spec_quantizes(const Slot& v) const noexcept {
  if (spec_.codec == StorageSpec::Codec::kFp32) return false;
  return v.weight || !spec_.weights_only;
}

std::size_t EncodedParams::stored_bytes(const Slot& v) const noexcept {
  if (!v.quantized) return sizeof(float) * v.size;
  return header_bytes() + packed_bytes(v.size - v.n_fp32, spec_.code_bits()) + sizeof(float) * v.n_fp32;
}

void EncodedParams::relayout() {
  std::size_t pos = 0;
  for (auto& v : vars_) {
    v.pos = pos;
    v.bytes = stored_bytes(v);
    pos += v.bytes;
  }
  arena_.assign(pos, std::byte{0});  // reuses the reserved capacity
}

void EncodedParams::set_fp32_blocks(std::span<const std::size_t> chosen) {
  std::fill(block_fp32_.begin(), block_fp32_.end(), std::uint8_t{0});
  for (std::size_t k : chosen) {
    expects(k < blocks_.size(), "EncodedParams::set_fp32_blocks: block index out of range");
    block_fp32_[k] = 1;
  }
  for (auto& v : vars_) {
    v.quantized = spec_quantizes(v);
    v.n_fp32 = 0;
    if (v.block == 0) continue;
    std::size_t before = 0;
    for (std::size_t k = v.first_block; k < blocks_.size() && blocks_[k].var == blocks_[v.first_block].var; ++k) {
      fp32_before_[k] = before;
      if (block_fp32_[k] != 0) before += blocks_[k].size;
    }
    // Every block fp32: an fp32 variable (no scalars).
    if (before == v.size) v.quantized = false;
    if (v.quantized) v.n_fp32 = before;
  }
  relayout();
}

MinMaxMean EncodedParams::quantized_stats(const Slot& v, const float* x) const {
  RangeAccumulator acc;  // the quantized elements as one sequence: min_max_mean of them
  for_each_block_run(v, 0, v.size, [&](std::size_t pos, std::size_t n, bool fp32, std::size_t) {
    if (!fp32) acc.add(x + pos, n);
  });
  return acc.result();
}

void EncodedParams::encode_all(std::span<const float> flat, Rounding r, Rng& rng) {
  expects(flat.size() == num_params_, "EncodedParams::encode_all: buffer size != parameter count");
  std::optional<UniformStream> u;
  if (r == Rounding::kStochastic && std::any_of(vars_.begin(), vars_.end(), [](const Slot& v) { return v.quantized; }))
    u.emplace(rng);
  for (std::size_t i = 0; i < vars_.size(); ++i)
    encode_var(i, flat.subspan(vars_[i].offset, vars_[i].size), r, u ? &*u : nullptr);
}

void EncodedParams::decode_all(std::span<float> flat) const {
  expects(flat.size() == num_params_, "EncodedParams::decode_all: buffer size != parameter count");
  for (std::size_t i = 0; i < vars_.size(); ++i)
    decode_var(i, flat.subspan(vars_[i].offset, vars_[i].size));
}

void EncodedParams::encode_var(std::size_t i, std::span<const float> values, Rounding r, UniformStream* u) {
  expects(i < vars_.size(), "EncodedParams::encode_var: variable index out of range");
  const Slot& v = vars_[i];
  expects(values.size() == v.size, "EncodedParams::encode_var: buffer size != variable size");
  std::byte* p = arena_.data() + v.pos;
  const float* x = values.data();
  if (!v.quantized) {
    std::memcpy(p, x, sizeof(float) * v.size);
    return;
  }
  if (v.n_fp32 > 0) {  // PPQ blocks: scalars from the quantized elements only
    const Scalars s = scalars_for(quantized_stats(v, x));
    set_scalars(i, s);
    encode_range(i, 0, values, s, r, u);
    return;
  }
  Affine t;
  MinMax range;
  if (spec_.pvt) {
    const MinMaxMean st = min_max_mean(x, v.size);
    t = pvt_affine(st);
    range = transform_range({st.lo, st.hi}, t);
    put(p, t.alpha);
    put(p, t.beta);
  } else if (spec_.codec == StorageSpec::Codec::kInt) {
    range = min_max(x, v.size);
  }
  if (spec_.codec == StorageSpec::Codec::kInt) {
    const IntGrid g = int_grid(range, spec_.bits);
    put(p, g.lo);
    put(p, g.scale);
    encode_int(x, v.size, spec_.bits, t, g, r, u, p);
  } else {
    encode_float(x, v.size, format_, t, r, u, p);
  }
}

void EncodedParams::decode_var(std::size_t i, std::span<float> out) const {
  expects(i < vars_.size(), "EncodedParams::decode_var: variable index out of range");
  const Slot& v = vars_[i];
  expects(out.size() == v.size, "EncodedParams::decode_var: buffer size != variable size");
  const std::byte* p = arena_.data() + v.pos;
  if (!v.quantized) {
    std::memcpy(out.data(), p, sizeof(float) * v.size);
    return;
  }
  if (v.n_fp32 > 0) {
    decode_range(i, 0, out, scalars(i));
    return;
  }
  Affine t;
  if (spec_.pvt) {
    t.alpha = get(p);
    t.beta = get(p);
  }
  if (spec_.codec == StorageSpec::Codec::kInt) {
    IntGrid g;
    g.lo = get(p);
    g.scale = get(p);
    decode_int(p, v.size, spec_.bits, t, g, out.data());
  } else {
    decode_float(p, v.size, format_, t, out.data());
  }
}

EncodedParams::Scalars EncodedParams::scalars(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::scalars: variable index out of range");
  Scalars s;
  const Slot& v = vars_[i];
  if (!v.quantized) return s;
  const std::byte* p = arena_.data() + v.pos;
  if (spec_.pvt) {
    s.t.alpha = get(p);
    s.t.beta = get(p);
  }
  if (spec_.codec == StorageSpec::Codec::kInt) {
    s.g.lo = get(p);
    s.g.scale = get(p);
  }
  return s;
}

EncodedParams::Scalars EncodedParams::scalars_for(const MinMaxMean& st) const {
  // Mirrors encode_var: PVT transform from the statistics, then the grid of the
  // (transformed) range.
  Scalars s;
  MinMax range{st.lo, st.hi};
  if (spec_.pvt) {
    s.t = pvt_affine(st);
    range = transform_range(range, s.t);
  }
  if (spec_.codec == StorageSpec::Codec::kInt) s.g = int_grid(range, spec_.bits);
  return s;
}

void EncodedParams::set_scalars(std::size_t i, const Scalars& s) {
  expects(i < vars_.size(), "EncodedParams::set_scalars: variable index out of range");
  const Slot& v = vars_[i];
  if (!v.quantized) return;
  std::byte* p = arena_.data() + v.pos;
  if (spec_.pvt) {
    put(p, s.t.alpha);
    put(p, s.t.beta);
  }
  if (spec_.codec == StorageSpec::Codec::kInt) {
    put(p, s.g.lo);
    put(p, s.g.scale);
  }
}

namespace {
/// Byte offset of element `begin` inside a variable's codes.
std::size_t code_offset(std::size_t begin, int bits) {
  return begin * static_cast<std::size_t>(bits) / 8;
}
}  // namespace

void EncodedParams::decode_range(std::size_t i, std::size_t begin, std::span<float> out,
                                 const Scalars& s) const {
  expects(i < vars_.size(), "EncodedParams::decode_range: variable index out of range");
  const Slot& v = vars_[i];
  expects(begin + out.size() <= v.size, "EncodedParams::decode_range: range outside the variable");
  const std::byte* p = arena_.data() + v.pos;
  if (!v.quantized) {
    std::memcpy(out.data(), p + sizeof(float) * begin, sizeof(float) * out.size());
    return;
  }
  expects(begin % kRangeAlign == 0, "EncodedParams::decode_range: unaligned begin");
  p += header_bytes();
  const int bits = spec_.code_bits();
  const auto codes = [&](const std::byte* c, std::size_t n, float* o) {
    if (spec_.codec == StorageSpec::Codec::kInt) decode_int(c, n, spec_.bits, s.t, s.g, o);
    else decode_float(c, n, format_, s.t, o);
  };
  if (v.n_fp32 == 0) {
    codes(p + code_offset(begin, bits), out.size(), out.data());
    return;
  }
  // PPQ blocks: codes first, then the fp32 values; every run starts 8-aligned among the codes.
  const std::byte* fp32 = p + packed_bytes(v.size - v.n_fp32, bits);
  for_each_block_run(v, begin, begin + out.size(), [&](std::size_t pos, std::size_t n, bool is_fp32, std::size_t index) {
    float* o = out.data() + (pos - begin);
    if (is_fp32) std::memcpy(o, fp32 + sizeof(float) * index, sizeof(float) * n);
    else codes(p + code_offset(index, bits), n, o);
  });
}

void EncodedParams::encode_range(std::size_t i, std::size_t begin, std::span<const float> values,
                                 const Scalars& s, Rounding r, UniformStream* u) {
  expects(i < vars_.size(), "EncodedParams::encode_range: variable index out of range");
  const Slot& v = vars_[i];
  expects(begin + values.size() <= v.size, "EncodedParams::encode_range: range outside the variable");
  std::byte* p = arena_.data() + v.pos;
  if (!v.quantized) {
    std::memcpy(p + sizeof(float) * begin, values.data(), sizeof(float) * values.size());
    return;
  }
  expects(begin % kRangeAlign == 0 &&
              (values.size() % kRangeAlign == 0 || begin + values.size() == v.size),
          "EncodedParams::encode_range: unaligned range");
  p += header_bytes();
  const int bits = spec_.code_bits();
  const auto codes = [&](const float* x, std::size_t n, std::byte* c) {
    if (spec_.codec == StorageSpec::Codec::kInt) encode_int(x, n, spec_.bits, s.t, s.g, r, u, c);
    else encode_float(x, n, format_, s.t, r, u, c);
  };
  if (v.n_fp32 == 0) {
    codes(values.data(), values.size(), p + code_offset(begin, bits));
    return;
  }
  std::byte* fp32 = p + packed_bytes(v.size - v.n_fp32, bits);
  for_each_block_run(v, begin, begin + values.size(), [&](std::size_t pos, std::size_t n, bool is_fp32, std::size_t index) {
    const float* x = values.data() + (pos - begin);
    if (is_fp32) std::memcpy(fp32 + sizeof(float) * index, x, sizeof(float) * n);
    else codes(x, n, p + code_offset(index, bits));
  });
}

}  // namespace fedhpc::compress
