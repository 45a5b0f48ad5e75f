#pragma once
/// The bins of Bin & Quant (Sakthi et al. 2022; ../shared/METHODS.md §4):
/// contiguous value ranges over one layer's weights, every weight replaced by
/// the midpoint of its bin.
#include <cstdint>
#include <span>
#include <vector>

namespace fedhpc::posttrain {

/// Bin i is [edges[i], edges[i + 1]); the last bin also holds edges.back().
class Bins {
 public:
  /// Edges [min, mu - sigma, mu, mu + sigma, max] of w, clamped to [min, max];
  /// coinciding edges are merged (a constant layer has one bin).
  static Bins initial(std::span<const float> w);
  explicit Bins(std::vector<double> edges);
  int count() const noexcept { return static_cast<int>(edges_.size()) - 1; }
  const std::vector<double>& edges() const noexcept { return edges_; }
  /// The bin holding v (values outside [min, max] go to the first / last bin).
  int bin_of(float v) const noexcept;
  /// (edges[b] + edges[b + 1]) / 2 as float.
  float midpoint(int b) const noexcept;
  /// Splits bin b at its midpoint: it becomes bins b and b + 1.
  void split(int b);
  /// codes[j] = bin_of(w[j]).
  void assign(std::span<const float> w, std::span<std::uint32_t> codes) const;
  /// The midpoints (count()).
  std::vector<float> midpoints() const;

 private:
  std::vector<double> edges_;
};

/// out[j] = midpoint of w[j]'s bin, times `scale` for the weights in bin
/// `scaled` (-1: none). The sensitivity probe of a bin is scale = 1.2.
void quantize(const Bins& bins, std::span<const float> w, std::span<float> out, int scaled = -1,
              float scale = 1.0f);

/// Which bins a split can refine: those holding at least two distinct values of w.
std::vector<bool> splittable(const Bins& bins, std::span<const float> w);

/// Among the bins with eligible[b], the one whose probe hurt most: largest
/// accuracy drop, then largest loss rise, then the lowest index; -1 if none.
int most_sensitive(std::span<const double> drop, std::span<const double> rise, const std::vector<bool>& eligible);

/// Among the bins with eligible[b], the one with the largest mass (ties: the
/// lowest index); -1 if none.
int largest(std::span<const double> mass, const std::vector<bool>& eligible);

}  // namespace fedhpc::posttrain
