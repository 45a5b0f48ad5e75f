#include "fedhpc/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <queue>
#include <string>
#include <utility>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::data {
namespace {

/// Sub-stream ids (the `a` key of Rng(seed, kPartition, a, b)); one per use.
enum Stream : std::uint64_t {
  kIidOrder = 1,
  kDirichletClass = 2,  ///< b = class id
  kDirichletTopUp = 3,
  kShardOrder = 4,
  kQuantitySizes = 5,
  kQuantityOrder = 6,
};

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// A config value for messages (%g: to_string would print 1e-9 as 0.000000).
std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_num_examples(std::int64_t n) {
  if (n > std::numeric_limits<std::int32_t>::max())
    throw ConfigError("data.path", "dataset has " + std::to_string(n) +
                                       " training examples; at most 2147483647 are supported");
}

void check_num_clients(int num_clients, std::int64_t n) {
  if (num_clients < 1)
    throw ConfigError("data.num_clients", "must be >= 1, got " + std::to_string(num_clients));
  if (num_clients > n)
    throw ConfigError("data.num_clients", std::to_string(num_clients) + " clients exceed the " +
                                              std::to_string(n) + " training examples");
}

void check_min_samples(int min_samples, int num_clients, std::int64_t n) {
  if (min_samples < 0)
    throw ConfigError("data.min_samples", "must be >= 0, got " + std::to_string(min_samples));
  const std::int64_t need = static_cast<std::int64_t>(num_clients) * min_samples;
  if (need > n)
    throw ConfigError("data.min_samples", "num_clients * min_samples = " + std::to_string(need) +
                                              " exceeds the " + std::to_string(n) +
                                              " training examples");
}

/// CSR partition from the owning client of every example; indices ascending.
Partition csr_from_owner(std::span<const std::int32_t> owner, int num_clients) {
  Partition p;
  p.offsets.assign(sz(num_clients) + 1, 0);
  for (const std::int32_t k : owner) ++p.offsets[sz(k) + 1];
  std::partial_sum(p.offsets.begin(), p.offsets.end(), p.offsets.begin());
  p.indices.resize(owner.size());
  std::vector<std::int64_t> cursor(p.offsets.begin(), p.offsets.end() - 1);
  for (std::size_t i = 0; i < owner.size(); ++i)
    p.indices[sz(cursor[sz(owner[i])]++)] = static_cast<std::int32_t>(i);
  return p;
}

/// Client k takes the next sizes[k] entries of `order`; each client is then sorted.
Partition csr_from_sizes(std::vector<std::int32_t> order, std::span<const std::int64_t> sizes) {
  Partition p;
  p.offsets.resize(sizes.size() + 1);
  p.offsets[0] = 0;
  std::partial_sum(sizes.begin(), sizes.end(), p.offsets.begin() + 1);
  p.indices = std::move(order);
  for (std::size_t k = 0; k < sizes.size(); ++k)
    std::sort(p.indices.begin() + p.offsets[k], p.indices.begin() + p.offsets[k + 1]);
  return p;
}

std::vector<std::int32_t> shuffled_range(std::int64_t n, Rng& rng) {
  std::vector<std::int32_t> v(sz(n));
  std::iota(v.begin(), v.end(), 0);
  rng.shuffle(std::span(v));
  return v;
}

/// Raises every client below `min` to exactly `min`, one example at a time,
/// taken from the currently largest client (ties: lower id). Taking from the
/// largest keeps the drawn skew of every other client intact and never pushes
/// a donor below `min` (while a client is short, the largest holds > min
/// because the total is >= num_clients * min). move(donor, recipient) is
/// called once per moved example, in a fixed order.
template <class Move>
void top_up(std::span<std::int64_t> sizes, std::int64_t min, Move&& move) {
  using Entry = std::pair<std::int64_t, std::int64_t>;  // (size, -client): max-heap
  std::priority_queue<Entry> donors;
  bool short_client = false;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    if (sizes[k] > min) donors.emplace(sizes[k], -static_cast<std::int64_t>(k));
    short_client = short_client || sizes[k] < min;
  }
  if (!short_client) return;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    while (sizes[k] < min) {
      expects(!donors.empty(), "top_up: no donor although total >= clients * min");
      const auto [size, neg_id] = donors.top();
      donors.pop();
      const auto donor = static_cast<std::size_t>(-neg_id);
      move(donor, k);
      --sizes[donor];
      ++sizes[k];
      if (sizes[donor] > min) donors.emplace(sizes[donor], neg_id);
    }
  }
}

/// Fills `out` with a Dirichlet(alpha, ..., alpha) draw. The Gamma(alpha)
/// draws are kept as logarithms and normalised by their maximum: for small
/// alpha the u^(1/alpha) boost underflows to 0 in linear space.
void dirichlet(Rng& rng, double alpha, std::span<double> out) {
  double max_log = -std::numeric_limits<double>::infinity();
  for (double& v : out) {
    if (alpha >= 1.0) {
      v = std::log(rng.gamma(alpha));
    } else {
      const double u = 1.0 - rng.uniform();  // (0, 1], drawn first as Rng::gamma does
      v = std::log(rng.gamma(alpha + 1.0)) + std::log(u) / alpha;
    }
    max_log = std::max(max_log, v);
  }
  double sum = 0.0;
  for (double& v : out) {
    v = std::exp(v - max_log);
    sum += v;
  }
  for (double& v : out) v /= sum;
}

}  // namespace

Partition partition_iid(std::int64_t num_examples, int num_clients, std::uint64_t seed) {
  check_num_examples(num_examples);
  check_num_clients(num_clients, num_examples);
  Rng rng(seed, Purpose::kPartition, kIidOrder);
  std::vector<std::int64_t> sizes(sz(num_clients), num_examples / num_clients);
  const std::int64_t extra = num_examples % num_clients;
  for (std::int64_t k = 0; k < extra; ++k) ++sizes[sz(k)];
  return csr_from_sizes(shuffled_range(num_examples, rng), sizes);
}

Partition partition_dirichlet(std::span<const std::int32_t> labels, int num_classes,
                              int num_clients, double alpha, int min_samples, std::uint64_t seed) {
  const auto n = static_cast<std::int64_t>(labels.size());
  check_num_examples(n);
  check_num_clients(num_clients, n);
  if (!(alpha > 0.0) || !std::isfinite(alpha))
    throw ConfigError("data.alpha", "must be a finite value > 0, got " + format_value(alpha));
  check_min_samples(min_samples, num_clients, n);
  expects(num_classes >= 1, "partition_dirichlet: num_classes < 1");

  // Group example ids by class (counting sort; ascending within a class).
  std::vector<std::int64_t> class_begin(sz(num_classes) + 1, 0);
  for (const std::int32_t y : labels) {
    expects(y >= 0 && y < num_classes, "partition_dirichlet: label out of range");
    ++class_begin[sz(y) + 1];
  }
  std::partial_sum(class_begin.begin(), class_begin.end(), class_begin.begin());
  std::vector<std::int32_t> by_class(labels.size());
  {
    std::vector<std::int64_t> cursor(class_begin.begin(), class_begin.end() - 1);
    for (std::size_t i = 0; i < labels.size(); ++i)
      by_class[sz(cursor[sz(labels[i])]++)] = static_cast<std::int32_t>(i);
  }

  // Per class: shuffle its examples, split them at the rounded cumulative
  // Dirichlet shares. Each class has its own stream, so classes are independent.
  std::vector<std::int32_t> owner(labels.size());
  std::vector<double> share(sz(num_clients));
  for (int c = 0; c < num_classes; ++c) {
    const std::int64_t begin = class_begin[sz(c)];
    const std::int64_t nc = class_begin[sz(c) + 1] - begin;
    if (nc == 0) continue;
    const std::span<std::int32_t> members(by_class.data() + begin, sz(nc));
    Rng rng(seed, Purpose::kPartition, kDirichletClass, static_cast<std::uint64_t>(c));
    rng.shuffle(members);
    dirichlet(rng, alpha, share);
    double cum = 0.0;
    std::int64_t lo = 0;
    for (int k = 0; k < num_clients; ++k) {
      cum += share[sz(k)];
      std::int64_t hi = k + 1 == num_clients ? nc : std::llround(cum * static_cast<double>(nc));
      hi = std::clamp(hi, lo, nc);
      for (std::int64_t pos = lo; pos < hi; ++pos) owner[sz(members[sz(pos)])] = k;
      lo = hi;
    }
  }

  Partition p = csr_from_owner(owner, num_clients);
  std::vector<std::int64_t> sizes(sz(num_clients));
  for (int k = 0; k < num_clients; ++k) sizes[sz(k)] = p.offsets[sz(k) + 1] - p.offsets[sz(k)];
  if (std::all_of(sizes.begin(), sizes.end(), [&](std::int64_t s) { return s >= min_samples; }))
    return p;

  // A donor gives a uniformly chosen example among those it was dealt (a
  // swap-remove inside its CSR segment); the partition is rebuilt afterwards.
  std::vector<std::int64_t> remaining(sizes);
  Rng rng(seed, Purpose::kPartition, kDirichletTopUp);
  top_up(sizes, min_samples, [&](std::size_t donor, std::size_t recipient) {
    std::int32_t* seg = p.indices.data() + p.offsets[donor];
    const std::int64_t last = --remaining[donor];
    const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(last) + 1));
    std::swap(seg[j], seg[last]);
    owner[sz(seg[last])] = static_cast<std::int32_t>(recipient);
  });
  return csr_from_owner(owner, num_clients);
}

Partition partition_shards(std::span<const std::int32_t> labels, int num_clients,
                           int classes_per_client, std::uint64_t seed) {
  const auto n = static_cast<std::int64_t>(labels.size());
  check_num_examples(n);
  check_num_clients(num_clients, n);
  if (classes_per_client < 1)
    throw ConfigError("data.classes_per_client",
                      "must be >= 1, got " + std::to_string(classes_per_client));
  const std::int64_t num_shards = static_cast<std::int64_t>(num_clients) * classes_per_client;
  if (num_shards > n)
    throw ConfigError("data.classes_per_client",
                      "num_clients * classes_per_client = " + std::to_string(num_shards) +
                          " shards exceed the " + std::to_string(n) + " training examples");

  // Stable sort of example ids by label (counting sort).
  std::int32_t max_label = 0;
  for (const std::int32_t y : labels) {
    expects(y >= 0, "partition_shards: negative label");
    max_label = std::max(max_label, y);
  }
  std::vector<std::int64_t> label_begin(sz(max_label) + 2, 0);
  for (const std::int32_t y : labels) ++label_begin[sz(y) + 1];
  std::partial_sum(label_begin.begin(), label_begin.end(), label_begin.begin());
  std::vector<std::int32_t> sorted(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    sorted[sz(label_begin[sz(labels[i])]++)] = static_cast<std::int32_t>(i);

  // Shard s is sorted[start(s), start(s + 1)); the first n % S shards are one longer.
  const std::int64_t base = n / num_shards, extra = n % num_shards;
  const auto start = [&](std::int64_t s) { return s * base + std::min(s, extra); };
  std::vector<std::int64_t> order(sz(num_shards));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, Purpose::kPartition, kShardOrder);
  rng.shuffle(std::span(order));

  Partition p;
  p.offsets.reserve(sz(num_clients) + 1);
  p.offsets.push_back(0);
  p.indices.reserve(labels.size());
  for (int k = 0; k < num_clients; ++k) {
    for (int j = 0; j < classes_per_client; ++j) {
      const std::int64_t s = order[sz(static_cast<std::int64_t>(k) * classes_per_client + j)];
      p.indices.insert(p.indices.end(), sorted.begin() + start(s), sorted.begin() + start(s + 1));
    }
    std::sort(p.indices.begin() + p.offsets.back(), p.indices.end());
    p.offsets.push_back(static_cast<std::int64_t>(p.indices.size()));
  }
  return p;
}

Partition partition_quantity(std::int64_t num_examples, int num_clients, double sigma,
                             int min_samples, std::uint64_t seed) {
  check_num_examples(num_examples);
  check_num_clients(num_clients, num_examples);
  if (!(sigma >= 0.0) || !std::isfinite(sigma))
    throw ConfigError("data.quantity_sigma",
                      "must be a finite value >= 0, got " + format_value(sigma));
  check_min_samples(min_samples, num_clients, num_examples);

  // Weights exp(sigma z), normalised by the largest in log space (no overflow).
  const std::size_t K = sz(num_clients);
  std::vector<double> w(K);
  Rng rng(seed, Purpose::kPartition, kQuantitySizes);
  for (double& v : w) v = sigma * rng.normal();
  const double max_log = *std::max_element(w.begin(), w.end());
  double total = 0.0;
  for (double& v : w) {
    v = std::exp(v - max_log);
    total += v;
  }

  // Largest-remainder rounding of num_examples * w / total (ties: lower id).
  std::vector<std::int64_t> sizes(K);
  std::vector<double> frac(K);
  std::int64_t assigned = 0;
  for (std::size_t k = 0; k < K; ++k) {
    const double q = static_cast<double>(num_examples) * w[k] / total;
    sizes[k] = static_cast<std::int64_t>(std::floor(q));
    frac[k] = q - static_cast<double>(sizes[k]);
    assigned += sizes[k];
  }
  const std::int64_t left = num_examples - assigned;
  expects(left >= 0 && left <= num_clients, "partition_quantity: rounding out of range");
  std::vector<std::int32_t> by_frac(K);
  std::iota(by_frac.begin(), by_frac.end(), 0);
  std::stable_sort(by_frac.begin(), by_frac.end(),
                   [&](std::int32_t a, std::int32_t b) { return frac[sz(a)] > frac[sz(b)]; });
  for (std::int64_t i = 0; i < left; ++i) ++sizes[sz(by_frac[sz(i)])];

  top_up(sizes, min_samples, [](std::size_t, std::size_t) {});
  Rng order_rng(seed, Purpose::kPartition, kQuantityOrder);
  return csr_from_sizes(shuffled_range(num_examples, order_rng), sizes);
}

Partition make_partition(const DataSection& cfg, std::span<const std::int32_t> labels,
                         int num_classes, std::uint64_t seed) {
  const auto n = static_cast<std::int64_t>(labels.size());
  switch (cfg.partition) {
    case PartitionKind::kIid:
      check_num_clients(cfg.num_clients, n);
      check_min_samples(cfg.min_samples, cfg.num_clients, n);
      return partition_iid(n, cfg.num_clients, seed);
    case PartitionKind::kDirichlet:
      return partition_dirichlet(labels, num_classes, cfg.num_clients, cfg.alpha, cfg.min_samples,
                                 seed);
    case PartitionKind::kShards: {
      // The smallest client holds classes_per_client shards of n / S examples.
      const std::int64_t shards =
          static_cast<std::int64_t>(cfg.num_clients) * cfg.classes_per_client;
      if (cfg.num_clients >= 1 && cfg.classes_per_client >= 1 && shards <= n &&
          cfg.classes_per_client * (n / shards) < cfg.min_samples)
        throw ConfigError(
            "data.min_samples",
            "partition = shards gives the smallest client " +
                std::to_string(cfg.classes_per_client * (n / shards)) +
                " examples, fewer than min_samples = " + std::to_string(cfg.min_samples));
      return partition_shards(labels, cfg.num_clients, cfg.classes_per_client, seed);
    }
    case PartitionKind::kQuantity:
      return partition_quantity(n, cfg.num_clients, cfg.quantity_sigma, cfg.min_samples, seed);
  }
  throw InternalError("make_partition: unknown PartitionKind");
}

}  // namespace fedhpc::data
