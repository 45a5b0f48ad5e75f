#pragma once
/// Compressed per-client error-feedback residuals: one slot per client holds
/// that client's residual (n floats) in an encoded form, in its own heap block
/// of exactly the encoded size, so 10^5 clients of a 44k-parameter model fit in
/// ~4.5 GB with int8 (fp32 would take ~18 GB).
///
/// Encoded layouts and byte counts (n = residual size; floats and uint32 are
/// 4 bytes in host (little-endian) byte order, unaligned inside the block):
///
///   fp32    n raw floats                                          4n
///           exact.
///   fp16    n IEEE binary16 codes (uint16), round to nearest      2n
///           even; |x| >= 65504 saturates to +-65504 (never inf),
///           exact for every representable value (fp16_from_float).
///   int8    per block of d = int8_block elements (the last one    n + 4*ceil(n/d)
///           shorter): [float scale s][one int8 code per element],
///           s = max|x| / 127 (rounded up to a float with 127*s >= max|x|),
///           code c = floor(t) + [u < t - floor(t)], t = x/s in float,
///           u = Rng::uniformf(), so E[c*s] = x up to float rounding
///           (relative 2^-24) and |c*s - x| <= s; decoded c*s.
///           An all-zero block has s = 0 and codes 0 (so does a block whose
///           max|x| / 127 underflows to 0, i.e. max|x| < ~1.8e-43).
///   sparse  [uint32 count m][m uint32 indices, ascending]           4 + 8m
///           [m float values, in index order]; m = k, the top-k
///           entries by |x| (ties: lower index first), with
///           k = min(n, max(1, round(sparse_ratio * n))) (kept_count of
///           update_codec.hpp); when fewer than k entries are nonzero only the
///           nonzeros are stored (m < k). LOSSY BY DESIGN: the other n - m
///           entries decode as 0 (their error is not fed back later).
///   sparse16  as sparse, with narrower fields: [uint32 count m]       4 + m * (w + 2)
///           [m indices of w bytes: uint16 when n <= 65,536, else
///           uint32, ascending][m fp16 values (fp16_from_float)].
///           The compact form of a million stateful clients.
///
/// Rng use: int8 draws exactly one uniformf() per element, in element order,
/// whatever the data (also for all-zero blocks), so the stream position after
/// a store depends on n only. The other forms draw nothing.
///
/// fp16 conversion relies on the default floating-point rounding mode
/// (round to nearest even) for subnormal results.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/compress/residual_spec.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::compress {

/// Encoded bytes of one residual of n elements (sparse: with m = k_sparse kept entries).
std::size_t residual_bytes(const ResidualSpec& spec, std::size_t n, std::size_t k_sparse = 0);

/// IEEE binary16 code of f: round to nearest even, |f| >= 65504 (and NaN) saturate to +-65504.
inline std::uint16_t fp16_from_float(float f) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7fffffffu;  // |f|
  // Normal result: rebias the exponent 127 -> 15 and round the 13 dropped
  // mantissa bits to nearest even (a carry moves into the exponent correctly).
  const std::uint32_t normal = (a - 0x38000000u + 0x0fffu + ((a >> 13) & 1u)) >> 13;
  // Subnormal result (|f| < 2^-14): the ulp of 0.5f is 2^-24, the fp16
  // subnormal quantum, so |f| + 0.5f rounds |f| to it (nearest even).
  const std::uint32_t sub =
      std::bit_cast<std::uint32_t>(std::bit_cast<float>(a) + 0.5f) - 0x3f000000u;
  const std::uint32_t mag = a >= 0x477fe000u ? 0x7bffu : a >= 0x38800000u ? normal : sub;
  return static_cast<std::uint16_t>(sign | mag);
}

/// The float value of binary16 code h (exact; inf/NaN codes decode as inf/NaN).
/// Branch-free (mask selects) so decode loops vectorize.
inline float fp16_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t em = static_cast<std::uint32_t>(h & 0x7fffu) << 13;  // exponent|mantissa
  const std::uint32_t exp = em & 0x0f800000u;
  // Normal: rebias 15 -> 127; exponent 31 (inf/NaN) moves on to 255.
  const std::uint32_t infnan = 0u - static_cast<std::uint32_t>(exp == 0x0f800000u);
  const std::uint32_t normal = em + 0x38000000u + (infnan & 0x38000000u);
  // Subnormal (exponent 0): mantissa * 2^-24, exact in float.
  const std::uint32_t zero_exp = 0u - static_cast<std::uint32_t>(exp == 0u);
  const std::uint32_t sub = std::bit_cast<std::uint32_t>(static_cast<float>(h & 0x3ffu) * 0x1p-24f);
  return std::bit_cast<float>(sign | (sub & zero_exp) | (normal & ~zero_exp));
}

/// Per-slot (per-client) residuals in one encoded form. A slot is empty until
/// stored (has() false, decodes as zeros). load/add_to never allocate; store
/// allocates only when the slot's encoded size changes. Not thread-safe for
/// store (it uses a member scratch); const members may run concurrently.
class ResidualStore {
 public:
  /// slots empty slots for residuals of n >= 1 elements; spec is validated.
  ResidualStore(const ResidualSpec& spec, std::size_t n, std::size_t slots);

  /// Elements of one residual (n).
  std::size_t size() const noexcept { return n_; }
  /// Number of slots.
  std::size_t slots() const noexcept { return sizes_.size(); }
  /// The storage parameters.
  const ResidualSpec& spec() const noexcept { return spec_; }
  /// False until the first store (and again after clear).
  bool has(std::size_t slot) const;

  /// out = decoded residual of slot (zeros if empty); out.size() == n.
  void load(std::size_t slot, std::span<float> out) const;
  /// x += decoded residual of slot (no-op if empty); x.size() == n.
  void add_to(std::size_t slot, std::span<float> x) const;
  /// Encodes r (n values) into slot, replacing its content; rng: int8 rounding.
  /// A non-finite value throws InternalError and leaves the slot unchanged.
  void store(std::size_t slot, std::span<const float> r, Rng& rng);
  /// Empties slot and frees its block.
  void clear(std::size_t slot);

  /// Encoded bytes held by slot (0 if empty).
  std::size_t bytes(std::size_t slot) const;
  /// Sum of bytes() over all slots, O(1).
  std::size_t total_bytes() const noexcept { return total_bytes_; }
  /// Number of non-empty slots, O(1).
  std::size_t stored_slots() const noexcept { return stored_; }

  /// The encoded bytes of slot, layout above (empty span if the slot is empty).
  std::span<const std::byte> blob(std::size_t slot) const;
  /// Inverse of blob: copies b into slot (an empty b clears it). Throws
  /// InternalError if b's size does not fit the form and n, or (sparse) its
  /// count or indices are out of range or not ascending. A sparse blob with
  /// any count m <= n is accepted (the ratio may have changed since). Values
  /// (floats, scales) are not checked.
  void set_blob(std::size_t slot, std::span<const std::byte> b);

 private:
  /// Block of exactly `size` bytes for slot (reused if the size is unchanged).
  std::byte* reserve(std::size_t slot, std::size_t size);
  void check_slot(std::size_t slot) const;

  ResidualSpec spec_;
  std::size_t n_;
  std::vector<std::unique_ptr<std::byte[]>> blocks_;  // (slots) encoded residuals, null if empty
  std::vector<std::uint32_t> sizes_;                  // (slots) bytes of each block, 0 if empty
  std::size_t total_bytes_ = 0;
  std::size_t stored_ = 0;
  std::vector<std::uint32_t> scratch_;  // (n) sparse: |x| bits, then kept indices; else empty
};

}  // namespace fedhpc::compress
