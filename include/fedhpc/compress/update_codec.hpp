#pragma once
/// Uplink update codecs: a client update (n floats) becomes one
/// byte message whose size is the exact uplink cost, and is decoded (added
/// with a weight) into an accumulator on the server side.
///
/// Message layouts and byte counts (n = update size; every float is 4 bytes,
/// every packed section uses pack_bits, so m codes of b bits take
/// P(m, b) = ceil(m*b/8) bytes):
///
///   identity    n raw floats                                   4n
///   fp16        n IEEE binary16 (round to nearest even;         2n
///               |x| >= 65520 becomes +-inf)
///   sign        [scale = mean|x|] + 1 bit per element           4 + P(n, 1)
///               (bit 1: negative; decoded value is -scale or +scale)
///   uniform     [lo, hi] + n codes of b bits                    8 + P(n, b)
///               (lo/hi: min/max of x; x = lo + c*(hi-lo)/(2^b-1), c rounded
///               stochastically, so E[decoded] = x)
///   qsgd        per bucket of d elements one L2 norm (float),   4*ceil(n/d) + P(n, c),
///               then n codes (level << 1 | sign), level in       c = 1 + bit_width(s)
///               0..s drawn stochastically from |x|/norm*s, so E[decoded] = x
///   top-k       S(n, k) + V(k)
///   rand-k      S(n, k) + V(k)   (values scaled by n/k, so E[decoded] = x;
///               unscaled when spec.unbiased is false)
///   thr. top-k  4 (uint32 count m) + S(n, m) + V(m)
///
/// with k = min(n, max(1, round(ratio*n))) and, for the sparse codecs,
///   support  S(n, k) = min(P(k, ib), P(n, 1)), ib = max(1, bit_width(n-1)):
///            the ascending kept indices bit-packed at ib bits, or a bitmask
///            of n bits when that is strictly smaller (EncodedUpdate::bitmask);
///   values   V(k) = 4k with quantize_bits = 0 (fp32, in ascending index order),
///            V(k) = 8 + P(k, q) with quantize_bits = q: the kept values through
///            the uniform q-bit codec above (own lo/hi, unbiased), or with
///            value_grid = sign_magnitude [lo, hi] = [min |v|, max |v|] and
///            codes (level << 1 | sign), level in 0..2^(q-1)-1 rounded
///            stochastically over [lo, hi] (unbiased; q >= 2).
/// With index_coding = rice the support follows the values and is data-
/// dependent: [count (thr. top-k)][V(k)][uint8 b][Rice bits], the gaps
/// g = index - previous - 1 (previous of the first: -1) as g >> b one-bits, a
/// zero-bit and the low b bits of g, LSB first; b in 0..24 minimises the bits
/// (smallest on ties): 1 + ceil((k (b + 1) + sum(g >> b)) / 8) bytes.
/// Per-variable top-k (scope = layer) keeps kept_count(size_s, ratio) entries
/// of every variable s (segment_ends) and sends them as one support: k is
/// the sum, the layout above is unchanged.
/// n itself is not sent: the receiver knows the model size. Rand-k sends its
/// indices like top-k (no shared-seed shortcut). Floats and the count are in
/// host (little-endian) byte order. Updates must be finite.
///
/// Threshold-sampled top-k: draw min(n, sample_size) indices with replacement
/// (rng), let t be the max(1, round(ratio*samples))-th largest |x| among them and
/// keep every element with |x| >= t (|x| > 0 when t = 0); m varies around k.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/compress/bit_pack.hpp"
#include "fedhpc/compress/update_codec_spec.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::compress {

/// One encoded update. All buffers are reused: encoding the same size with the
/// same codec again does not allocate.
struct EncodedUpdate {
  UpdateCodecKind kind = UpdateCodecKind::kIdentity;  ///< codec that wrote it
  std::size_t n = 0;                ///< elements of the update (metadata, not sent)
  std::size_t kept = 0;             ///< sparse codecs: kept elements; n otherwise (metadata)
  bool bitmask = false;             ///< sparse codecs: support sent as a bitmask (else indices)
  std::vector<std::byte> bytes;     ///< (size()) the message itself
  std::vector<std::uint32_t> work;  ///< encoder scratch: (n) candidate indices
  std::vector<float> values;        ///< encoder scratch: (k) kept values
  /// Message size in bytes (what encode returned).
  std::size_t size() const noexcept { return bytes.size(); }
};

/// Encoder/decoder of one codec. Stateless: one instance may serve all clients.
class UpdateCodec {
 public:
  virtual ~UpdateCodec() = default;
  /// The codec family.
  virtual UpdateCodecKind kind() const noexcept = 0;
  /// Encodes update (finite values) into out; returns out.size(), the exact message bytes.
  virtual std::size_t encode(std::span<const float> update, Rng& rng, EncodedUpdate& out) const = 0;
  /// acc[i] += weight * decoded[i]; acc.size() must equal in.n. Never allocates.
  virtual void decode_add(const EncodedUpdate& in, float weight, std::span<float> acc) const = 0;
  /// out = decoded message (out.size() == in.n).
  void decode(const EncodedUpdate& in, std::span<float> out) const;
};

/// The codec for spec (validated first). One switch over the kind.
std::unique_ptr<UpdateCodec> make_update_codec(const UpdateCodecSpec& spec);

/// k of top-k / rand-k: min(n, max(1, round(ratio*n))).
std::size_t kept_count(std::size_t n, double ratio) noexcept;

/// Bits of one sparse index: max(1, bit_width(n-1)).
constexpr int index_bits(std::size_t n) noexcept {
  return n <= 2 ? 1 : static_cast<int>(std::bit_width(n - 1));
}

/// Support bytes S(n, k) = min(P(k, index_bits(n)), P(n, 1)).
constexpr std::size_t support_bytes(std::size_t n, std::size_t k) noexcept {
  const std::size_t idx = packed_bytes(k, index_bits(n)), mask = packed_bytes(n, 1);
  return idx < mask ? idx : mask;
}

/// Value bytes V(k): 4k (q = 0) or 8 + P(k, q).
constexpr std::size_t sparse_value_bytes(std::size_t k, int q) noexcept {
  return q == 0 ? 4 * k : 8 + packed_bytes(k, q);
}

}  // namespace fedhpc::compress
