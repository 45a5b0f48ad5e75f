#include "fedhpc/compress/update_codec.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <string>

#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

namespace {

/// Codes per packing chunk: a multiple of 8, so every chunk of a packed
/// stream starts on a byte boundary; the chunk buffers live on the stack.
constexpr std::size_t kChunk = 256;
static_assert(kChunk % 8 == 0);

/// acc += w * decoded, chunk by chunk: decode(i0, m, v) writes elements
/// [i0, i0 + m) into the stack buffer v.
template <class Decode>
void add_decoded(std::span<float> acc, float w, Decode decode) {
  float v[kChunk];
  for (std::size_t i0 = 0; i0 < acc.size(); i0 += kChunk) {
    const std::size_t m = std::min(kChunk, acc.size() - i0);
    decode(i0, m, v);
    for (std::size_t j = 0; j < m; ++j) acc[i0 + j] += w * v[j];
  }
}

void put_f32(std::byte* p, float v) noexcept { std::memcpy(p, &v, sizeof v); }
float get_f32(const std::byte* p) noexcept {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Byte offset of code i0 (a multiple of 8) in a stream of `bits`-bit codes.
std::size_t code_offset(std::size_t i0, int bits) noexcept {
  return i0 / 8 * static_cast<std::size_t>(bits);
}

void check_sizes(const EncodedUpdate& in, UpdateCodecKind kind, std::size_t acc_size) {
  expects(in.kind == kind, "update codec: message encoded by another codec");
  expects(in.n == acc_size, "update codec: accumulator size differs from the message");
}

void start(EncodedUpdate& out, UpdateCodecKind kind, std::size_t n, std::size_t bytes) {
  out.kind = kind;
  out.n = n;
  out.kept = n;
  out.bitmask = false;
  out.bytes.resize(bytes);
}

// --- stochastic b-bit grids: [lo, hi] + P(n, b) ------------------------------

/// Grid step of the uniform codec: (hi - lo) / (2^b - 1).
float uniform_step(float lo, float hi, int bits) noexcept {
  const double levels = static_cast<double>((std::uint32_t{1} << bits) - 1);
  return static_cast<float>((static_cast<double>(hi) - lo) / levels);
}

/// The stochastic b-bit grid of the uniform codec and of quantized sparse
/// values: 8 + P(x.size(), bits) bytes at out, [lo, hi] then the codes.
///  - range (kSigned false): lo/hi = min/max of x, c = floor(t) + [u < frac(t)],
///    t = (x - lo) / step, step = (hi - lo) / (2^b - 1): E[lo + c step] = x;
///  - sign + magnitude (kSigned true): lo/hi = min/max of |x|, the level c of
///    |x| on 2^(b-1) levels as above, code (c << 1) | sign: E[decoded] = x.
///    Top-k's kept values all have |x| >= its threshold: no level is spent
///    near zero.
template <bool kSigned>
void grid_encode(std::span<const float> x, int bits, Rng& rng, std::byte* out) {
  const auto mag = [](float v) { return kSigned ? std::fabs(v) : v; };
  float lo = x.empty() ? 0.0f : mag(x[0]), hi = lo;
  for (const float v : x) {
    lo = std::min(lo, mag(v));
    hi = std::max(hi, mag(v));
  }
  put_f32(out, lo);
  put_f32(out + 4, hi);
  const int level_bits = kSigned ? bits - 1 : bits;
  const float step = uniform_step(lo, hi, level_bits);
  const double inv = step > 0.0f ? 1.0 / static_cast<double>(step) : 0.0;
  const std::uint32_t top = (std::uint32_t{1} << level_bits) - 1;
  std::uint32_t codes[kChunk];
  for (std::size_t i0 = 0; i0 < x.size(); i0 += kChunk) {
    const std::size_t m = std::min(kChunk, x.size() - i0);
    for (std::size_t j = 0; j < m; ++j) {
      const float v = x[i0 + j];
      const double t = (static_cast<double>(mag(v)) - lo) * inv;
      const double f = std::floor(t);
      auto c = static_cast<std::uint32_t>(f);
      if (rng.uniformf() < static_cast<float>(t - f)) ++c;
      c = std::min(c, top);
      codes[j] = kSigned ? (c << 1) | (v < 0.0f ? 1u : 0u) : c;
    }
    pack_bits(codes, m, bits, out + 8 + code_offset(i0, bits));
  }
}

/// Decodes values [i0, i0 + m) (i0 a multiple of 8) of a grid_encode section.
template <bool kSigned>
void grid_decode_chunk(const std::byte* in, std::size_t i0, std::size_t m, int bits, float* values) noexcept {
  const float lo = get_f32(in), step = uniform_step(lo, get_f32(in + 4), kSigned ? bits - 1 : bits);
  std::uint32_t codes[kChunk];
  unpack_bits(in + 8 + code_offset(i0, bits), m, bits, codes);
  for (std::size_t j = 0; j < m; ++j) {
    if constexpr (kSigned) {
      const float a = lo + static_cast<float>(codes[j] >> 1) * step;
      values[j] = codes[j] & 1u ? -a : a;
    } else {
      values[j] = lo + static_cast<float>(codes[j]) * step;
    }
  }
}

// --- Rice-coded support: [b: 1 byte][gaps, Rice(b), LSB-first bits] -----------
// Gap g = index - previous index - 1 (previous of the first: -1); a gap is
// q = g >> b one-bits, a zero-bit, then the low b bits of g.

/// Bits of the Rice code of idx[0..m) with parameter b.
std::size_t rice_bits(const std::uint32_t* idx, std::size_t m, int b) noexcept {
  std::size_t bits = m * static_cast<std::size_t>(b + 1);
  std::uint32_t prev = ~std::uint32_t{0};
  for (std::size_t j = 0; j < m; ++j) {
    bits += (idx[j] - prev - 1) >> b;
    prev = idx[j];
  }
  return bits;
}

/// The b in 0..24 with the fewest bits (the smallest b on ties), and its bits.
std::pair<int, std::size_t> rice_choose(const std::uint32_t* idx, std::size_t m) noexcept {
  int best = 0;
  std::size_t bits = rice_bits(idx, m, 0);
  for (int b = 1; b <= 24; ++b)
    if (const std::size_t t = rice_bits(idx, m, b); t < bits) {
      best = b;
      bits = t;
    }
  return {best, bits};
}

void rice_encode(const std::uint32_t* idx, std::size_t m, int b, std::byte* out) noexcept {
  out[0] = static_cast<std::byte>(b);
  std::byte* bytes = out + 1;
  std::size_t at = 0;
  const auto put = [&](unsigned bit) {
    if (bit) bytes[at / 8] |= static_cast<std::byte>(1u << (at % 8));
    ++at;
  };
  std::uint32_t prev = ~std::uint32_t{0};
  for (std::size_t j = 0; j < m; ++j) {
    const std::uint32_t g = idx[j] - prev - 1;
    prev = idx[j];
    for (std::uint32_t q = g >> b; q > 0; --q) put(1);
    put(0);
    for (int k = 0; k < b; ++k) put((g >> k) & 1u);
  }
}

/// Sequential reader of a Rice-coded support (bounds-checked against its size).
class RiceReader {
 public:
  RiceReader(const std::byte* in, std::size_t bytes) : bits_(in + 1), size_(8 * (bytes - 1)) {
    expects(bytes >= 1, "sparse codec: empty Rice support");
    b_ = std::to_integer<int>(in[0]);
    expects(b_ <= 24, "sparse codec: Rice parameter out of range");
  }
  std::uint32_t next() {
    std::uint32_t q = 0;
    while (bit()) ++q;
    std::uint32_t r = 0;
    for (int k = 0; k < b_; ++k) r |= static_cast<std::uint32_t>(bit()) << k;
    prev_ += ((q << b_) | r) + 1;
    return prev_;
  }

 private:
  unsigned bit() {
    expects(at_ < size_, "sparse codec: Rice support ends early");
    const unsigned v = (std::to_integer<unsigned>(bits_[at_ / 8]) >> (at_ % 8)) & 1u;
    ++at_;
    return v;
  }
  const std::byte* bits_;
  std::size_t size_, at_ = 0;
  int b_ = 0;
  std::uint32_t prev_ = ~std::uint32_t{0};
};

// --- dense codecs ---------------------------------------------------------------

class IdentityCodec final : public UpdateCodec {
 public:
  UpdateCodecKind kind() const noexcept override { return UpdateCodecKind::kIdentity; }
  std::size_t encode(std::span<const float> x, Rng&, EncodedUpdate& out) const override {
    start(out, kind(), x.size(), 4 * x.size());
    if (!x.empty()) std::memcpy(out.bytes.data(), x.data(), 4 * x.size());
    return out.size();
  }
  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind(), acc.size());
    add_decoded(acc, w, [&](std::size_t i0, std::size_t m, float* v) {
      std::memcpy(v, in.bytes.data() + 4 * i0, 4 * m);
    });
  }
};

class Fp16Codec final : public UpdateCodec {
 public:
  UpdateCodecKind kind() const noexcept override { return UpdateCodecKind::kFp16; }
  std::size_t encode(std::span<const float> x, Rng&, EncodedUpdate& out) const override {
    start(out, kind(), x.size(), 2 * x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto h = std::bit_cast<std::uint16_t>(static_cast<_Float16>(x[i]));
      std::memcpy(out.bytes.data() + 2 * i, &h, 2);
    }
    return out.size();
  }
  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind(), acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i) {
      std::uint16_t h;
      std::memcpy(&h, in.bytes.data() + 2 * i, 2);
      acc[i] += w * static_cast<float>(std::bit_cast<_Float16>(h));
    }
  }
};

class SignCodec final : public UpdateCodec {
 public:
  UpdateCodecKind kind() const noexcept override { return UpdateCodecKind::kSign; }
  std::size_t encode(std::span<const float> x, Rng&, EncodedUpdate& out) const override {
    const std::size_t n = x.size();
    start(out, kind(), n, 4 + packed_bytes(n, 1));
    double sum = 0.0;
    for (const float v : x) sum += std::fabs(static_cast<double>(v));
    put_f32(out.bytes.data(), n == 0 ? 0.0f : static_cast<float>(sum / static_cast<double>(n)));
    std::uint32_t codes[kChunk];
    for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
      const std::size_t m = std::min(kChunk, n - i0);
      for (std::size_t j = 0; j < m; ++j) codes[j] = x[i0 + j] < 0.0f ? 1u : 0u;
      pack_bits(codes, m, 1, out.bytes.data() + 4 + i0 / 8);
    }
    return out.size();
  }
  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind(), acc.size());
    const float scale = get_f32(in.bytes.data());
    std::uint32_t codes[kChunk];
    for (std::size_t i0 = 0; i0 < acc.size(); i0 += kChunk) {
      const std::size_t m = std::min(kChunk, acc.size() - i0);
      unpack_bits(in.bytes.data() + 4 + i0 / 8, m, 1, codes);
      for (std::size_t j = 0; j < m; ++j) acc[i0 + j] += w * (codes[j] ? -scale : scale);
    }
  }
};

class UniformCodec final : public UpdateCodec {
 public:
  explicit UniformCodec(int bits) : bits_(bits) {}
  UpdateCodecKind kind() const noexcept override { return UpdateCodecKind::kUniform; }
  std::size_t encode(std::span<const float> x, Rng& rng, EncodedUpdate& out) const override {
    start(out, kind(), x.size(), 8 + packed_bytes(x.size(), bits_));
    grid_encode<false>(x, bits_, rng, out.bytes.data());
    return out.size();
  }
  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind(), acc.size());
    add_decoded(acc, w, [&](std::size_t i0, std::size_t m, float* v) {
      grid_decode_chunk<false>(in.bytes.data(), i0, m, bits_, v);
    });
  }

 private:
  int bits_;
};

class QsgdCodec final : public UpdateCodec {
 public:
  QsgdCodec(int levels, std::size_t bucket)
      : s_(static_cast<std::uint32_t>(levels)),
        bucket_(bucket),
        bits_(1 + static_cast<int>(std::bit_width(s_))) {}
  UpdateCodecKind kind() const noexcept override { return UpdateCodecKind::kQsgd; }

  std::size_t encode(std::span<const float> x, Rng& rng, EncodedUpdate& out) const override {
    const std::size_t n = x.size(), nb = (n + bucket_ - 1) / bucket_;
    start(out, kind(), n, 4 * nb + packed_bytes(n, bits_));
    std::byte* p = out.bytes.data();
    for (std::size_t b = 0; b < nb; ++b) {
      double ss = 0.0;
      for (std::size_t i = b * bucket_; i < std::min(n, (b + 1) * bucket_); ++i)
        ss += static_cast<double>(x[i]) * x[i];
      put_f32(p + 4 * b, static_cast<float>(std::sqrt(ss)));
    }
    // level = floor(r) + [u < frac(r)], r = |x| / unit, unit = norm / s: E[level*unit] = |x|.
    std::uint32_t codes[kChunk];
    for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
      const std::size_t m = std::min(kChunk, n - i0);
      for (std::size_t j = 0; j < m; ++j) {
        const std::size_t i = i0 + j;
        const float unit = unit_of(p, i / bucket_);
        std::uint32_t level = 0;
        if (unit > 0.0f) {
          const double r = std::fabs(static_cast<double>(x[i])) / unit;
          const double f = std::floor(r);
          level = static_cast<std::uint32_t>(f);
          if (rng.uniformf() < static_cast<float>(r - f)) ++level;
          level = std::min(level, s_);
        }
        codes[j] = (level << 1) | (x[i] < 0.0f ? 1u : 0u);
      }
      pack_bits(codes, m, bits_, p + 4 * nb + code_offset(i0, bits_));
    }
    return out.size();
  }

  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind(), acc.size());
    const std::size_t n = acc.size(), nb = (n + bucket_ - 1) / bucket_;
    const std::byte* p = in.bytes.data();
    std::uint32_t codes[kChunk];
    for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
      const std::size_t m = std::min(kChunk, n - i0);
      unpack_bits(p + 4 * nb + code_offset(i0, bits_), m, bits_, codes);
      for (std::size_t j = 0; j < m; ++j) {
        const float mag = static_cast<float>(codes[j] >> 1) * unit_of(p, (i0 + j) / bucket_);
        acc[i0 + j] += w * ((codes[j] & 1u) ? -mag : mag);
      }
    }
  }

 private:
  float unit_of(const std::byte* norms, std::size_t b) const noexcept {
    return get_f32(norms + 4 * b) / static_cast<float>(s_);
  }
  std::uint32_t s_;
  std::size_t bucket_;
  int bits_;
};

// --- sparse codecs: [count] + support + values -----------------------------------

class SparseCodec final : public UpdateCodec {
 public:
  SparseCodec(UpdateCodecKind kind, const UpdateCodecSpec& spec)
      : kind_(kind), ratio_(spec.ratio), q_(spec.quantize_bits), sample_(spec.sample_size),
        unbiased_(spec.unbiased), sign_magnitude_(spec.value_grid == ValueGrid::kSignMagnitude),
        rice_(spec.index_coding == IndexCoding::kRice),
        ends_(kind == UpdateCodecKind::kTopK && spec.scope == TopKScope::kLayer ? spec.segment_ends
                                                                                 : std::vector<std::size_t>{}) {}
  UpdateCodecKind kind() const noexcept override { return kind_; }

  std::size_t encode(std::span<const float> x, Rng& rng, EncodedUpdate& out) const override {
    const std::size_t n = x.size();
    expects(n <= std::numeric_limits<std::uint32_t>::max(),
            "sparse codec: update above 2^32 elements");
    const std::size_t header = kind_ == UpdateCodecKind::kThresholdTopK ? 4 : 0;
    // Largest message for this n: reserved once so later encodes never allocate.
    out.bytes.reserve(header + support_bytes(n, n) + sparse_value_bytes(n, q_));
    out.work.resize(n);
    out.values.reserve(n);  // kept values, or threshold samples (<= n)
    const std::size_t m = select(x, rng, out);
    std::uint32_t* idx = out.work.data();  // (m) kept indices, ascending
    const float scale = kind_ == UpdateCodecKind::kRandK && unbiased_ && m > 0
                            ? static_cast<float>(static_cast<double>(n) / static_cast<double>(m))
                            : 1.0f;
    out.values.resize(m);
    for (std::size_t j = 0; j < m; ++j) out.values[j] = scale * x[idx[j]];

    const int ib = index_bits(n);
    if (rice_) {
      // [count][values][b][gaps]: values first, so decoding needs no pass over the gaps.
      const auto [b, bits] = rice_choose(idx, m);
      const std::size_t vb = sparse_value_bytes(m, q_);
      start(out, kind_, n, header + vb + 1 + (bits + 7) / 8);
      out.kept = m;
      out.bitmask = false;
      std::byte* p = out.bytes.data();
      if (header) {
        const auto count = static_cast<std::uint32_t>(m);
        std::memcpy(p, &count, 4);
      }
      write_values(out.values, rng, p + header);
      std::memset(p + header + vb, 0, 1 + (bits + 7) / 8);
      rice_encode(idx, m, b, p + header + vb);
      return out.size();
    }
    const std::size_t sup = support_bytes(n, m);
    start(out, kind_, n, header + sup + sparse_value_bytes(m, q_));
    out.kept = m;
    out.bitmask = packed_bytes(m, ib) > packed_bytes(n, 1);
    std::byte* p = out.bytes.data();
    if (header) {
      const auto count = static_cast<std::uint32_t>(m);
      std::memcpy(p, &count, 4);
    }
    if (out.bitmask) {
      std::memset(p + header, 0, sup);
      for (std::size_t j = 0; j < m; ++j) {
        auto& byte = p[header + idx[j] / 8];
        byte |= static_cast<std::byte>(1u << (idx[j] % 8));
      }
    } else {
      pack_bits(idx, m, ib, p + header);
    }
    write_values(out.values, rng, p + header + sup);
    return out.size();
  }

  void decode_add(const EncodedUpdate& in, float w, std::span<float> acc) const override {
    check_sizes(in, kind_, acc.size());
    const std::size_t n = acc.size();
    const std::byte* p = in.bytes.data();
    std::size_t header = 0, m = 0;
    if (kind_ == UpdateCodecKind::kThresholdTopK) {
      std::uint32_t count;
      std::memcpy(&count, p, 4);
      header = 4;
      m = count;
    } else {
      m = kept_total(n);
    }
    expects(m == in.kept, "sparse codec: kept count differs from the message");
    const int ib = index_bits(n);
    const bool bitmask = !rice_ && packed_bytes(m, ib) > packed_bytes(n, 1);
    const std::size_t vb = sparse_value_bytes(m, q_);
    const std::byte* sup = rice_ ? p + header + vb : p + header;
    const std::byte* vals = rice_ ? p + header : sup + support_bytes(n, m);
    std::optional<RiceReader> rice;
    if (rice_) rice.emplace(sup, in.size() - header - vb);
    std::uint32_t idx[kChunk];
    float v[kChunk];
    std::size_t bit = 0;  // bitmask cursor
    for (std::size_t i0 = 0; i0 < m; i0 += kChunk) {
      const std::size_t c = std::min(kChunk, m - i0);
      if (rice) {
        for (std::size_t j = 0; j < c; ++j) {
          idx[j] = rice->next();
          expects(idx[j] < n, "sparse codec: Rice index out of range");
        }
      } else if (bitmask) {
        for (std::size_t got = 0; got < c;) {
          const unsigned byte = std::to_integer<unsigned>(sup[bit / 8]) >> (bit % 8);
          if (byte == 0) {
            bit = (bit | 7) + 1;
            continue;
          }
          bit += static_cast<std::size_t>(std::countr_zero(byte));
          idx[got++] = static_cast<std::uint32_t>(bit++);
        }
      } else {
        unpack_bits(sup + code_offset(i0, ib), c, ib, idx);
      }
      if (q_ == 0) {
        std::memcpy(v, vals + 4 * i0, 4 * c);
      } else if (sign_magnitude_) {
        grid_decode_chunk<true>(vals, i0, c, q_, v);
      } else {
        grid_decode_chunk<false>(vals, i0, c, q_, v);
      }
      for (std::size_t j = 0; j < c; ++j) acc[idx[j]] += w * v[j];
    }
  }

 private:
  /// The kept values at out, V(m) bytes: fp32, or through the q-bit grid.
  void write_values(std::span<const float> values, Rng& rng, std::byte* out) const {
    if (q_ == 0) {
      if (!values.empty()) std::memcpy(out, values.data(), 4 * values.size());
    } else if (sign_magnitude_) {
      grid_encode<true>(values, q_, rng, out);
    } else {
      grid_encode<false>(values, q_, rng, out);
    }
  }

  /// Kept entries of a top-k / rand-k message of n elements: k, or under
  /// per-variable top-k the sum of every variable's k.
  std::size_t kept_total(std::size_t n) const {
    if (ends_.empty()) return kept_count(n, ratio_);
    expects(ends_.back() == n, "sparse codec: variable ends do not cover the update");
    std::size_t m = 0;
    for (std::size_t v = 0, begin = 0; v < ends_.size(); begin = ends_[v++]) m += kept_count(ends_[v] - begin, ratio_);
    return m;
  }

  /// Writes the kept indices, ascending, to out.work[0..m); returns m.
  std::size_t select(std::span<const float> x, Rng& rng, EncodedUpdate& out) const {
    const std::size_t n = x.size();
    auto& work = out.work;
    switch (kind_) {
      case UpdateCodecKind::kTopK: {
        std::iota(work.begin(), work.end(), std::uint32_t{0});
        // Strict total order: larger |x| first, ties by lower index.
        const auto before = [&x](std::uint32_t a, std::uint32_t b) {
          const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
          return fa > fb || (fa == fb && a < b);
        };
        // The k largest of [begin, end) moved to [to, to + k), ascending.
        const auto keep = [&](std::size_t begin, std::size_t end, std::size_t to) {
          const std::size_t k = kept_count(end - begin, ratio_);
          const auto b = work.begin() + static_cast<std::ptrdiff_t>(begin);
          const auto e = work.begin() + static_cast<std::ptrdiff_t>(end);
          if (k < end - begin) std::nth_element(b, b + static_cast<std::ptrdiff_t>(k), e, before);
          std::sort(b, b + static_cast<std::ptrdiff_t>(k));
          std::copy(b, b + static_cast<std::ptrdiff_t>(k), work.begin() + static_cast<std::ptrdiff_t>(to));
          return k;
        };
        if (ends_.empty()) return keep(0, n, 0);
        expects(ends_.back() == n, "sparse codec: variable ends do not cover the update");
        std::size_t m = 0;  // kept so far; always <= begin, so the copy never overtakes
        for (std::size_t v = 0, begin = 0; v < ends_.size(); begin = ends_[v++]) m += keep(begin, ends_[v], m);
        return m;
      }
      case UpdateCodecKind::kRandK: {
        const std::size_t k = kept_count(n, ratio_);
        std::iota(work.begin(), work.end(), std::uint32_t{0});
        for (std::size_t j = 0; j < k; ++j) std::swap(work[j], work[j + rng.below(n - j)]);
        std::sort(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(k));
        return k;
      }
      case UpdateCodecKind::kThresholdTopK: {
        if (n == 0) return 0;
        const std::size_t ns = std::min(n, sample_);
        auto& s = out.values;
        s.resize(ns);
        for (auto& a : s) a = std::fabs(x[rng.below(n)]);
        const std::size_t kk = kept_count(ns, ratio_);
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(kk - 1), s.end(),
                         std::greater<float>{});
        const float t = s[kk - 1];
        std::size_t m = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const float a = std::fabs(x[i]);
          if (t > 0.0f ? a >= t : a > 0.0f) work[m++] = static_cast<std::uint32_t>(i);
        }
        return m;
      }
      default: throw InternalError("sparse codec: not a sparse kind");
    }
  }

  UpdateCodecKind kind_;
  double ratio_;
  int q_;
  std::size_t sample_;
  bool unbiased_;
  bool sign_magnitude_;
  bool rice_;
  std::vector<std::size_t> ends_;  // per-variable top-k: variable ends; empty = global
};

}  // namespace

void UpdateCodecSpec::validate() const {
  const bool sparse = is_sparse(kind);
  if (sparse) {
    if (!(ratio > 0.0 && ratio <= 1.0)) throw ConfigError("uplink.ratio", "must be in (0, 1]");
    if (quantize_bits < 0 || quantize_bits > 16)
      throw ConfigError("uplink.quantize_bits", "must be 0 (fp32) or 1..16");
    if (value_grid == ValueGrid::kSignMagnitude && quantize_bits == 1)
      throw ConfigError("uplink.value_grid", "sign_magnitude needs uplink.quantize_bits >= 2 (a sign bit and a level)");
  }
  if (kind == UpdateCodecKind::kThresholdTopK && sample_size < 1)
    throw ConfigError("uplink.sample_size", "must be >= 1");
  if (kind == UpdateCodecKind::kQsgd) {
    if (levels < 1 || levels > 65535) throw ConfigError("uplink.levels", "must be in 1..65535");
    if (bucket_size < 1) throw ConfigError("uplink.bucket_size", "must be >= 1");
  }
  if (kind == UpdateCodecKind::kUniform && (bits < 1 || bits > 16))
    throw ConfigError("uplink.bits", "must be in 1..16");
}

void UpdateCodec::decode(const EncodedUpdate& in, std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  decode_add(in, 1.0f, out);
}

std::unique_ptr<UpdateCodec> make_update_codec(const UpdateCodecSpec& spec) {
  spec.validate();
  switch (spec.kind) {
    case UpdateCodecKind::kIdentity: return std::make_unique<IdentityCodec>();
    case UpdateCodecKind::kTopK:
    case UpdateCodecKind::kThresholdTopK:
    case UpdateCodecKind::kRandK: return std::make_unique<SparseCodec>(spec.kind, spec);
    case UpdateCodecKind::kQsgd: return std::make_unique<QsgdCodec>(spec.levels, spec.bucket_size);
    case UpdateCodecKind::kUniform: return std::make_unique<UniformCodec>(spec.bits);
    case UpdateCodecKind::kSign: return std::make_unique<SignCodec>();
    case UpdateCodecKind::kFp16: return std::make_unique<Fp16Codec>();
  }
  throw ConfigError(
      "uplink.codec",
      "unknown codec; valid: identity, topk, threshold_topk, randk, qsgd, uniform, sign, fp16");
}

std::size_t kept_count(std::size_t n, double ratio) noexcept {
  if (n == 0) return 0;
  const auto k = static_cast<std::size_t>(std::llround(ratio * static_cast<double>(n)));
  return std::clamp<std::size_t>(k, 1, n);
}

}  // namespace fedhpc::compress
