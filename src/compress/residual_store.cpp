#include "fedhpc/compress/residual_store.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

namespace {

constexpr float kInt8Max = 127.0f;

void put_f32(std::byte* p, float v) noexcept { std::memcpy(p, &v, sizeof v); }
float get_f32(const std::byte* p) noexcept {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void put_u32(std::byte* p, std::uint32_t v) noexcept { std::memcpy(p, &v, sizeof v); }
std::uint32_t get_u32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Bits of |v|: for non-negative floats the integer order is the float order.
std::uint32_t abs_bits(float v) noexcept { return std::bit_cast<std::uint32_t>(v) & 0x7fffffffu; }

constexpr std::uint32_t kExpMask = 0x7f800000u;  // abs_bits >= this: inf or NaN

/// Largest abs_bits over x[0..n) (vectorizes as an integer max).
std::uint32_t max_abs_bits(const float* x, std::size_t n) noexcept {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, abs_bits(x[i]));
  return m;
}

/// Elements per stack chunk of the int8 encoder (uniforms drawn ahead).
constexpr std::size_t kChunk = 256;

// --- kernels: encode into a block of residual_bytes, decode into out (Add: out +=) ---

void fp32_encode(std::span<const float> x, std::byte* p) noexcept {
  std::memcpy(p, x.data(), 4 * x.size());
}

template <bool Add>
void fp32_decode(const std::byte* p, std::span<float> out) noexcept {
  if constexpr (Add) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += get_f32(p + 4 * i);
  } else {
    std::memcpy(out.data(), p, 4 * out.size());
  }
}

void fp16_encode(std::span<const float> x, std::byte* p) noexcept {
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint16_t h = fp16_from_float(x[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}

template <bool Add>
void fp16_decode(const std::byte* p, std::span<float> out) noexcept {
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    const float v = fp16_to_float(h);
    if constexpr (Add) {
      out[i] += v;
    } else {
      out[i] = v;
    }
  }
}

/// Scale of a block with max|x| = amax: amax / 127, rounded up so 127*s >= amax
/// (then |x/s| <= 127 and no code needs clamping).
float int8_scale(float amax) noexcept {
  float s = amax / kInt8Max;
  if (static_cast<double>(s) * kInt8Max < static_cast<double>(amax))
    s = std::nextafter(s, std::numeric_limits<float>::infinity());
  return s;
}

/// codes[j] = floor(t) + [u[j] < t - floor(t)], t = x[j] / s in [-127, 127]
/// (float), so E[code] = t; s > 0. Floor and the int8 conversion use the
/// 1.5 * 2^23 rounding constant instead of floor() and float->int casts, which
/// GCC does not vectorize under -ftrapping-math (needs IEEE arithmetic: no -ffast-math).
void int8_codes(const float* x, const float* u, std::size_t m, float s,
                unsigned char* codes) noexcept {
  constexpr float kRound = 0x1.8p23f;  // t + kRound: t rounded to an integer, held in the low bits
  for (std::size_t j = 0; j < m; ++j) {
    const float t = std::clamp(x[j] / s, -kInt8Max, kInt8Max);
    const float r = (t + kRound) - kRound;  // nearest integer to t
    const float f = r > t ? r - 1.0f : r;   // floor(t)
    const float c = u[j] < t - f ? f + 1.0f : f;
    codes[j] = static_cast<unsigned char>(std::bit_cast<std::uint32_t>(c + kRound) & 0xffu);
  }
}

void int8_encode(std::span<const float> x, std::size_t block, Rng& rng, std::byte* p) noexcept {
  const std::size_t n = x.size();
  float u[kChunk];
  for (std::size_t i0 = 0; i0 < n; i0 += block) {
    const std::size_t m = std::min(block, n - i0);
    const float* xb = x.data() + i0;
    const float s = int8_scale(std::bit_cast<float>(max_abs_bits(xb, m)));
    put_f32(p, s);
    auto* codes = reinterpret_cast<unsigned char*>(p + 4);
    for (std::size_t j0 = 0; j0 < m; j0 += kChunk) {
      const std::size_t c = std::min(kChunk, m - j0);
      for (std::size_t j = 0; j < c; ++j) u[j] = rng.uniformf();  // n draws, whatever the data
      if (s > 0.0f) {
        int8_codes(xb + j0, u, c, s, codes + j0);
      } else {
        std::memset(codes + j0, 0, c);
      }
    }
    p += 4 + m;
  }
}

template <bool Add>
void int8_decode(const std::byte* p, std::size_t block, std::span<float> out) noexcept {
  const std::size_t n = out.size();
  for (std::size_t i0 = 0; i0 < n; i0 += block) {
    const std::size_t m = std::min(block, n - i0);
    const float s = get_f32(p);
    const auto* codes = reinterpret_cast<const unsigned char*>(p + 4);
    float* ob = out.data() + i0;
    for (std::size_t j = 0; j < m; ++j) {
      const float v = s * static_cast<float>(static_cast<std::int8_t>(codes[j]));
      if constexpr (Add) {
        ob[j] += v;
      } else {
        ob[j] = v;
      }
    }
    p += 4 + m;
  }
}

/// abs_bits of the k-th largest |x| (1 <= k <= n), using idx (n) as scratch.
/// A histogram of the top 11 bits (sign excluded: 8 exponent + 3 mantissa bits)
/// finds the bucket holding it; nth_element then runs on that bucket only.
std::uint32_t kth_largest_abs_bits(std::span<const float> x, std::size_t k, std::uint32_t* idx) {
  constexpr int kShift = 20;
  std::uint32_t hist[std::size_t{1} << (31 - kShift)] = {};
  for (const float v : x) ++hist[abs_bits(v) >> kShift];
  auto bucket = static_cast<std::uint32_t>(std::size(hist) - 1);
  std::size_t above = 0;  // elements in buckets above `bucket`
  while (above + hist[bucket] < k) above += hist[bucket--];
  std::size_t c = 0;  // candidates: the elements of `bucket`
  for (const float v : x) {
    const std::uint32_t a = abs_bits(v);
    idx[c] = a;
    c += (a >> kShift) == bucket ? 1 : 0;
  }
  const std::size_t rank = k - above;  // 1-based rank inside the bucket
  std::nth_element(idx, idx + (rank - 1), idx + c, std::greater<std::uint32_t>{});
  return idx[rank - 1];
}

/// Writes the kept indices (ascending) to idx[0..m) and returns m: the top-k by
/// |x| with ties to the lower index, minus any zeros among them. idx (n) is
/// also the selection scratch. Threshold form: T = k-th largest |x|; keep every
/// |x| > T, then the first k - #{|x| > T} entries with |x| == T (none if T = 0).
std::size_t sparse_select(std::span<const float> x, std::size_t k, std::uint32_t* idx) {
  const std::size_t n = x.size();
  const std::uint32_t t = kth_largest_abs_bits(x, k, idx);
  std::size_t above = 0;
  for (const float v : x) above += abs_bits(v) > t ? 1 : 0;
  std::size_t ties = t == 0 ? 0 : k - above;
  std::size_t m = 0;  // m <= i: writing idx[m] never overtakes the reads of x
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t a = abs_bits(x[i]);
    const std::size_t tie = a == t && ties > 0 ? 1 : 0;
    idx[m] = static_cast<std::uint32_t>(i);  // branch-free compaction
    m += a > t || tie ? 1 : 0;
    ties -= tie;
  }
  return m;
}

template <bool Add>
void sparse_decode(const std::byte* p, std::span<float> out) noexcept {
  if constexpr (!Add) std::fill(out.begin(), out.end(), 0.0f);
  const std::size_t m = get_u32(p);
  const std::byte* idx = p + 4;
  const std::byte* val = idx + 4 * m;
  for (std::size_t j = 0; j < m; ++j) out[get_u32(idx + 4 * j)] += get_f32(val + 4 * j);
}

/// Bytes of one sparse16 index: uint16 while every index fits.
std::size_t sparse16_index_bytes(std::size_t n) { return n <= 65536 ? 2 : 4; }

std::uint32_t get_index(const std::byte* p, std::size_t w) noexcept {
  if (w == 4) return get_u32(p);
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <bool Add>
void sparse16_decode(const std::byte* p, std::span<float> out) noexcept {
  if constexpr (!Add) std::fill(out.begin(), out.end(), 0.0f);
  const std::size_t m = get_u32(p), w = sparse16_index_bytes(out.size());
  const std::byte* idx = p + 4;
  const std::byte* val = idx + w * m;
  for (std::size_t j = 0; j < m; ++j) {
    std::uint16_t h;
    std::memcpy(&h, val + 2 * j, sizeof h);
    out[get_index(idx + w * j, w)] += fp16_to_float(h);
  }
}

template <bool Add>
void decode(const ResidualSpec& spec, const std::byte* p, std::span<float> out) noexcept {
  switch (spec.form) {
    case ResidualForm::kFp32: fp32_decode<Add>(p, out); return;
    case ResidualForm::kFp16: fp16_decode<Add>(p, out); return;
    case ResidualForm::kInt8: int8_decode<Add>(p, spec.int8_block, out); return;
    case ResidualForm::kSparse: sparse_decode<Add>(p, out); return;
    case ResidualForm::kSparse16: sparse16_decode<Add>(p, out); return;
  }
}

}  // namespace

void ResidualSpec::validate() const {
  if ((form == ResidualForm::kSparse || form == ResidualForm::kSparse16) &&
      !(sparse_ratio > 0.0 && sparse_ratio <= 1.0))
    throw ConfigError("uplink.residual_ratio", "must be in (0, 1]");
  if (form == ResidualForm::kInt8 && int8_block < 1)
    throw ConfigError("uplink.residual_block", "must be >= 1");
}

std::size_t residual_bytes(const ResidualSpec& spec, std::size_t n, std::size_t k_sparse) {
  switch (spec.form) {
    case ResidualForm::kFp32: return 4 * n;
    case ResidualForm::kFp16: return 2 * n;
    case ResidualForm::kInt8: return n + 4 * ((n + spec.int8_block - 1) / spec.int8_block);
    case ResidualForm::kSparse: return 4 + 8 * k_sparse;
    case ResidualForm::kSparse16: return 4 + (sparse16_index_bytes(n) + 2) * k_sparse;
  }
  throw InternalError("residual_bytes: unknown residual form");
}

ResidualStore::ResidualStore(const ResidualSpec& spec, std::size_t n, std::size_t slots)
    : spec_(spec), n_(n), blocks_(slots), sizes_(slots, 0) {
  spec_.validate();
  expects(n >= 1, "residual store: empty residual");
  expects(residual_bytes(spec_, n, n) <= std::numeric_limits<std::uint32_t>::max(),
          "residual store: residual above 4 GiB encoded");
  if (spec_.form == ResidualForm::kSparse || spec_.form == ResidualForm::kSparse16) scratch_.resize(n);
}

void ResidualStore::check_slot(std::size_t slot) const {
  expects(slot < sizes_.size(), "residual store: slot out of range");
}

bool ResidualStore::has(std::size_t slot) const {
  check_slot(slot);
  return sizes_[slot] != 0;
}

std::size_t ResidualStore::bytes(std::size_t slot) const {
  check_slot(slot);
  return sizes_[slot];
}

void ResidualStore::load(std::size_t slot, std::span<float> out) const {
  check_slot(slot);
  expects(out.size() == n_, "residual store: load size differs from the residual");
  if (sizes_[slot] == 0) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  decode<false>(spec_, blocks_[slot].get(), out);
}

void ResidualStore::add_to(std::size_t slot, std::span<float> x) const {
  check_slot(slot);
  expects(x.size() == n_, "residual store: add_to size differs from the residual");
  if (sizes_[slot] != 0) decode<true>(spec_, blocks_[slot].get(), x);
}

std::byte* ResidualStore::reserve(std::size_t slot, std::size_t size) {
  if (sizes_[slot] != size) {
    auto block = std::make_unique_for_overwrite<std::byte[]>(size);  // may throw: slot unchanged
    total_bytes_ = total_bytes_ - sizes_[slot] + size;
    if (sizes_[slot] == 0) ++stored_;
    blocks_[slot] = std::move(block);
    sizes_[slot] = static_cast<std::uint32_t>(size);
  }
  return blocks_[slot].get();
}

void ResidualStore::store(std::size_t slot, std::span<const float> r, Rng& rng) {
  check_slot(slot);
  expects(r.size() == n_, "residual store: store size differs from the residual");
  expects(max_abs_bits(r.data(), n_) < kExpMask,
          "residual store: non-finite residual (diverged training?)");
  switch (spec_.form) {
    case ResidualForm::kFp32: fp32_encode(r, reserve(slot, residual_bytes(spec_, n_))); return;
    case ResidualForm::kFp16: fp16_encode(r, reserve(slot, residual_bytes(spec_, n_))); return;
    case ResidualForm::kInt8:
      int8_encode(r, spec_.int8_block, rng, reserve(slot, residual_bytes(spec_, n_)));
      return;
    case ResidualForm::kSparse: {
      std::uint32_t* idx = scratch_.data();  // (m) kept indices, ascending
      const std::size_t m = sparse_select(r, kept_count(n_, spec_.sparse_ratio), idx);
      std::byte* p = reserve(slot, residual_bytes(spec_, n_, m));
      put_u32(p, static_cast<std::uint32_t>(m));
      std::memcpy(p + 4, idx, 4 * m);
      std::byte* val = p + 4 + 4 * m;
      for (std::size_t j = 0; j < m; ++j) put_f32(val + 4 * j, r[idx[j]]);
      return;
    }
    case ResidualForm::kSparse16: {
      std::uint32_t* idx = scratch_.data();
      const std::size_t m = sparse_select(r, kept_count(n_, spec_.sparse_ratio), idx);
      const std::size_t w = sparse16_index_bytes(n_);
      std::byte* p = reserve(slot, residual_bytes(spec_, n_, m));
      put_u32(p, static_cast<std::uint32_t>(m));
      for (std::size_t j = 0; j < m; ++j) {
        if (w == 4) {
          put_u32(p + 4 + 4 * j, idx[j]);
        } else {
          const auto i16 = static_cast<std::uint16_t>(idx[j]);
          std::memcpy(p + 4 + 2 * j, &i16, sizeof i16);
        }
      }
      std::byte* val = p + 4 + w * m;
      for (std::size_t j = 0; j < m; ++j) {
        const std::uint16_t h = fp16_from_float(r[idx[j]]);
        std::memcpy(val + 2 * j, &h, sizeof h);
      }
      return;
    }
  }
}

void ResidualStore::clear(std::size_t slot) {
  check_slot(slot);
  if (sizes_[slot] == 0) return;
  total_bytes_ -= sizes_[slot];
  --stored_;
  blocks_[slot].reset();
  sizes_[slot] = 0;
}

std::span<const std::byte> ResidualStore::blob(std::size_t slot) const {
  check_slot(slot);
  return {blocks_[slot].get(), sizes_[slot]};
}

void ResidualStore::set_blob(std::size_t slot, std::span<const std::byte> b) {
  check_slot(slot);
  if (b.empty()) {
    clear(slot);
    return;
  }
  if (spec_.form == ResidualForm::kSparse || spec_.form == ResidualForm::kSparse16) {
    expects(b.size() >= 4, "residual store: sparse blob without a count");
    const std::size_t m = get_u32(b.data());
    expects(m <= n_ && b.size() == residual_bytes(spec_, n_, m),
            "residual store: sparse blob size differs from its count");
    const std::size_t w = spec_.form == ResidualForm::kSparse ? 4 : sparse16_index_bytes(n_);
    for (std::size_t j = 0; j < m; ++j) {
      const std::uint32_t i = get_index(b.data() + 4 + w * j, w);
      expects(i < n_ && (j == 0 || i > get_index(b.data() + 4 + w * (j - 1), w)),
              "residual store: sparse blob indices out of range or not ascending");
    }
  } else {
    expects(b.size() == residual_bytes(spec_, n_),
            "residual store: blob size differs from the form and residual size");
  }
  std::memmove(reserve(slot, b.size()), b.data(), b.size());  // b may be this slot's blob
}

}  // namespace fedhpc::compress
