#pragma once
/// Result series a component writes, declared by the component at set-up
/// (docs/output.md): adding a metric touches the component, not the recorder.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fedhpc::fl {

/// Which dimension a declared series grows along.
enum class Axis { kRound, kClientRow };

/// One declared series: an int64 or float64 column under `path` ("/rounds/x", "/clients/x").
struct SeriesSpec {
  std::string path;
  Axis axis = Axis::kRound;
  bool integer = true;  ///< int64, else float64
};

/// The declared series and their values for the current round on this rank.
/// Round values are written by rank 0 (every rank holds the same value);
/// client values are this rank's rows, in the order the rank recorded them.
class Metrics {
 public:
  using Id = std::size_t;
  /// Declares a series; throws InternalError if the path is declared twice.
  Id declare(const std::string& path, Axis axis, bool integer = true);
  const std::vector<SeriesSpec>& series() const noexcept { return specs_; }

  /// Declares a uint8 series written with every /model snapshot (one value per
  /// parameter), e.g. "/model/mask"; returns its index among snapshot series.
  Id declare_snapshot(const std::string& path);
  const std::vector<std::string>& snapshot_series() const noexcept { return snapshot_paths_; }
  /// The values of snapshot series id for the next snapshot (P).
  std::vector<std::uint8_t>& snapshot_values(Id id) { return snapshot_values_.at(id); }
  const std::vector<std::uint8_t>& snapshot_values(Id id) const { return snapshot_values_.at(id); }

  /// Starts a round with no client rows; round values reset to 0.
  void begin_round();
  /// Adds this rank's next client row (its values 0) and returns its index.
  std::size_t add_client_row();

  void set_int(Id id, std::int64_t v);                        ///< round value
  void set_real(Id id, double v);                             ///< round value
  void set_client_int(Id id, std::size_t row, std::int64_t v);  ///< client value
  void set_client_real(Id id, std::size_t row, double v);       ///< client value

  /// Values of series id: 1 (round) or one per client row; ints or reals by its type.
  const std::vector<std::int64_t>& ints(Id id) const { return ints_.at(id); }
  const std::vector<double>& reals(Id id) const { return reals_.at(id); }

 private:
  void check(Id id, Axis axis, bool integer) const;
  std::vector<SeriesSpec> specs_;
  std::vector<std::vector<std::int64_t>> ints_;  // (series) values of integer series
  std::vector<std::vector<double>> reals_;       // (series) values of float series
  std::vector<std::string> snapshot_paths_;
  std::vector<std::vector<std::uint8_t>> snapshot_values_;  // (snapshot series, P)
};

}  // namespace fedhpc::fl
