#include "fedhpc/compress/param_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
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

std::vector<std::size_t> select_fp32_vars(const model::ParamLayout& layout, double rho, Rng& rng) {
  expects(rho >= 0.0 && rho <= 1.0, "select_fp32_vars: rho outside [0, 1]");
  std::vector<std::size_t> order;
  std::size_t total = 0;
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    if (!layout.var(i).is_weight()) continue;
    order.push_back(i);
    total += layout.var(i).size;
  }
  rng.shuffle(std::span<std::size_t>(order));
  const double budget = rho * static_cast<double>(total);
  std::vector<std::size_t> chosen;
  std::size_t taken = 0;
  for (std::size_t i : order) {
    const std::size_t n = layout.var(i).size;
    if (static_cast<double>(taken + n) <= budget) {
      chosen.push_back(i);
      taken += n;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

EncodedParams::EncodedParams(const model::ParamLayout& layout, const StorageSpec& spec)
    : spec_(spec), format_{spec.exponent_bits, spec.mantissa_bits} {
  spec_.validate();
  vars_.reserve(layout.num_vars());
  std::size_t weight_params = 0;
  for (const auto& v : layout.vars()) {
    Slot s;
    s.offset = v.offset;
    s.size = v.size;
    s.weight = v.is_weight();
    s.quantized = spec_quantizes(s);
    vars_.push_back(s);
    if (s.weight) weight_params += s.size;
  }
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
  const int b = spec_.code_bits();
  return v.bytes - packed_bytes(v.size, b) + packed_bytes(kept, b);
}

bool EncodedParams::is_quantized(std::size_t i) const {
  expects(i < vars_.size(), "EncodedParams::is_quantized: variable index out of range");
  return vars_[i].quantized;
}

bool EncodedParams::spec_quantizes(const Slot& v) const noexcept {
  if (spec_.codec == StorageSpec::Codec::kFp32) return false;
  return v.weight || !spec_.weights_only;
}

std::size_t EncodedParams::stored_bytes(const Slot& v) const noexcept {
  if (!v.quantized) return sizeof(float) * v.size;
  std::size_t scalars = spec_.pvt ? 2 : 0;                       // alpha, beta
  if (spec_.codec == StorageSpec::Codec::kInt) scalars += 2;     // lo, s
  return kScalarBytes * scalars + packed_bytes(v.size, spec_.code_bits());
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

void EncodedParams::set_fp32_vars(std::span<const std::size_t> vars) {
  for (auto& v : vars_) v.quantized = spec_quantizes(v);
  for (std::size_t i : vars) {
    expects(i < vars_.size(), "EncodedParams::set_fp32_vars: variable index out of range");
    vars_[i].quantized = false;
  }
  relayout();
}

void EncodedParams::encode_all(std::span<const float> flat, Rounding r, Rng& rng) {
  expects(flat.size() == num_params_, "EncodedParams::encode_all: buffer size != parameter count");
  for (std::size_t i = 0; i < vars_.size(); ++i)
    encode_var(i, flat.subspan(vars_[i].offset, vars_[i].size), r, rng);
}

void EncodedParams::decode_all(std::span<float> flat) const {
  expects(flat.size() == num_params_, "EncodedParams::decode_all: buffer size != parameter count");
  for (std::size_t i = 0; i < vars_.size(); ++i)
    decode_var(i, flat.subspan(vars_[i].offset, vars_[i].size));
}

void EncodedParams::encode_var(std::size_t i, std::span<const float> values, Rounding r, Rng& rng) {
  expects(i < vars_.size(), "EncodedParams::encode_var: variable index out of range");
  const Slot& v = vars_[i];
  expects(values.size() == v.size, "EncodedParams::encode_var: buffer size != variable size");
  std::byte* p = arena_.data() + v.pos;
  const float* x = values.data();
  if (!v.quantized) {
    std::memcpy(p, x, sizeof(float) * v.size);
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
    encode_int(x, v.size, spec_.bits, t, g, r, rng, p);
  } else {
    encode_float(x, v.size, format_, t, r, rng, p);
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
  p += kScalarBytes * ((spec_.pvt ? 2 : 0) + (spec_.codec == StorageSpec::Codec::kInt ? 2 : 0));
  p += code_offset(begin, spec_.code_bits());
  if (spec_.codec == StorageSpec::Codec::kInt)
    decode_int(p, out.size(), spec_.bits, s.t, s.g, out.data());
  else
    decode_float(p, out.size(), format_, s.t, out.data());
}

void EncodedParams::encode_range(std::size_t i, std::size_t begin, std::span<const float> values,
                                 const Scalars& s, Rounding r, Rng& rng) {
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
  p += kScalarBytes * ((spec_.pvt ? 2 : 0) + (spec_.codec == StorageSpec::Codec::kInt ? 2 : 0));
  p += code_offset(begin, spec_.code_bits());
  if (spec_.codec == StorageSpec::Codec::kInt)
    encode_int(values.data(), values.size(), spec_.bits, s.t, s.g, r, rng, p);
  else
    encode_float(values.data(), values.size(), format_, s.t, r, rng, p);
}

}  // namespace fedhpc::compress
