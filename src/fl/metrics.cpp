#include "fedhpc/fl/metrics.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::fl {

Metrics::Id Metrics::declare(const std::string& path, Axis axis, bool integer) {
  for (const auto& s : specs_)
    if (s.path == path) throw InternalError("Metrics: series " + path + " declared twice");
  specs_.push_back({path, axis, integer});
  const std::size_t n = axis == Axis::kRound ? 1 : 0;
  ints_.emplace_back(integer ? n : 0, 0);
  reals_.emplace_back(integer ? 0 : n, 0.0);
  return specs_.size() - 1;
}

Metrics::Id Metrics::declare_snapshot(const std::string& path) {
  for (const auto& s : snapshot_paths_)
    if (s == path) throw InternalError("Metrics: snapshot series " + path + " declared twice");
  snapshot_paths_.push_back(path);
  snapshot_values_.emplace_back();
  return snapshot_paths_.size() - 1;
}

void Metrics::begin_round() {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const std::size_t n = specs_[i].axis == Axis::kRound ? 1 : 0;
    if (specs_[i].integer) ints_[i].assign(n, 0);
    else reals_[i].assign(n, 0.0);
  }
}

std::size_t Metrics::add_client_row() {
  std::size_t row = 0;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].axis != Axis::kClientRow) continue;
    if (specs_[i].integer) {
      row = ints_[i].size();
      ints_[i].push_back(0);
    } else {
      row = reals_[i].size();
      reals_[i].push_back(0.0);
    }
  }
  return row;
}

void Metrics::check(Id id, Axis axis, bool integer) const {
  if (id >= specs_.size() || specs_[id].axis != axis || specs_[id].integer != integer)
    throw InternalError("Metrics: series id " + std::to_string(id) + " used with the wrong axis or type");
}

void Metrics::set_int(Id id, std::int64_t v) {
  check(id, Axis::kRound, true);
  ints_[id][0] = v;
}
void Metrics::set_real(Id id, double v) {
  check(id, Axis::kRound, false);
  reals_[id][0] = v;
}
void Metrics::set_client_int(Id id, std::size_t row, std::int64_t v) {
  check(id, Axis::kClientRow, true);
  ints_[id].at(row) = v;
}
void Metrics::set_client_real(Id id, std::size_t row, double v) {
  check(id, Axis::kClientRow, false);
  reals_[id].at(row) = v;
}

}  // namespace fedhpc::fl
