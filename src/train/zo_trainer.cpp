#include "fedhpc/train/zo_trainer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/model/loss.hpp"

namespace fedhpc::train {

void zo_direction(std::uint64_t seed, int k, std::size_t var, std::span<float> out, std::size_t begin) {
  float block[kZoBlock];
  std::size_t at = 0;
  while (at < out.size()) {
    const std::size_t j = begin + at, b = j / kZoBlock, skip = j % kZoBlock;
    Rng rng(seed, Purpose::kZeroOrder, static_cast<std::uint64_t>(k), (static_cast<std::uint64_t>(var) << 32) | b);
    const std::size_t n = std::min(kZoBlock - skip, out.size() - at);
    if (skip == 0 && n == kZoBlock) {
      rng.fill_normal(out.subspan(at, n));
    } else {
      rng.fill_normal(std::span<float>(block, std::min(kZoBlock, skip + n)));
      std::copy_n(block + skip, n, out.begin() + static_cast<std::ptrdiff_t>(at));
    }
    at += n;
  }
}

PerturbedSource::PerturbedSource(const model::ParamLayout& layout, model::ParamSource& base,
                                 std::span<const std::uint8_t> active, std::size_t tile)
    : layout_(&layout), base_(&base), active_(active), tile_(tile) {}

void PerturbedSource::pack(model::ParamSource& src, std::span<const std::uint8_t> active) {
  active_ = active;
  packed_ = true;
  values_.clear();
  starts_.clear();
  values_.reserve(static_cast<std::size_t>(std::count(active.begin(), active.end(), std::uint8_t{1})));
  starts_.reserve(active.size() / kZoBlock + 1);
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& v = layout_->var(i);
    for (std::size_t b = 0; b < v.size; b += tile_) {
      const std::size_t n = std::min(tile_, v.size - b);
      const model::ScopedRange r(src, i, b, n);
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t at = v.offset + b + j;
        if (at % kZoBlock == 0) starts_.push_back(values_.size());
        if (active[at] != 0) values_.push_back(r.data()[j]);
      }
    }
  }
}

std::span<const float> PerturbedSource::acquire_range(std::size_t i, std::size_t begin, std::size_t count) {
  if (!packed_ && !perturb_) return base_->acquire_range(i, begin, count);
  if (out_.size() < count) out_.resize(count);  // grows to the largest read once
  float* out = out_.data();
  const std::size_t first = layout_->var(i).offset + begin;
  if (perturb_) zo_direction(seed_, k_, i, std::span<float>(out, count), begin);  // straight into the buffer
  const float s = scale_;
  if (!packed_) {  // perturbing another source
    const float* w = base_->acquire_range(i, begin, count).data();
    if (active_.empty()) {
      for (std::size_t j = 0; j < count; ++j) out[j] = w[j] + s * out[j];
    } else {
      const std::uint8_t* on = active_.data() + first;
      for (std::size_t j = 0; j < count; ++j) {
        const float moved = w[j] + s * out[j];  // computed for all: a select, not a branch
        out[j] = on[j] != 0 ? moved : w[j];
      }
    }
    return std::span<const float>(out, count);
  }
  // Packed: the next kept value (+ s u) where kept, else 0; branch-free.
  const std::uint8_t* on = active_.data();
  unsigned before = 0;  // kept in the block before `first` (flags are 0 or 1)
  for (std::size_t j = first - first % kZoBlock; j < first; ++j) before += on[j];
  std::size_t k = starts_[first / kZoBlock] + before;
  on += first;
  const float* v = values_.data();
  const std::size_t kept = values_.size();
  std::size_t j0 = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  // 16 at a time: the kept flags as a bit mask, the next kept values expanded
  // into their lanes (the same values and arithmetic as the loops below).
  const __m512 sv = _mm512_set1_ps(s);
  for (; j0 + 16 <= count; j0 += 16) {
    const __m128i flags = _mm_loadu_si128(reinterpret_cast<const __m128i*>(on + j0));
    const __mmask16 m = _mm_test_epi8_mask(flags, flags);
    __m512 w = _mm512_maskz_expandloadu_ps(m, v + k);
    if (perturb_) w = _mm512_mask_add_ps(w, m, w, _mm512_mul_ps(sv, _mm512_loadu_ps(out + j0)));
    _mm512_storeu_ps(out + j0, w);
    k += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(m)));
  }
#endif
  for (std::size_t j = j0; j < count; ++j) {
    const float next = k < kept ? v[k] : 0.0f;
    out[j] = on[j] != 0 ? (perturb_ ? next + s * out[j] : next) : 0.0f;
    k += on[j];
  }
  return std::span<const float>(out, count);
}

ZoTrainer::ZoTrainer(const RunConfig& cfg, model::Network& net, std::unique_ptr<ParamStore> store)
    : client_(cfg.client),
      zo_(cfg.zo),
      local_(cfg.client.trainer == ClientTrainer::kFedZo),
      net_(&net),
      store_(std::move(store)),
      perturbed_(net.layout(), store_->source(), store_->active(), zo_tile(examples_per_pass())),
      hyper_{static_cast<float>(cfg.client.lr), static_cast<float>(cfg.client.weight_decay), 0.0f,
             static_cast<float>(cfg.client.momentum)},
      d_(static_cast<std::size_t>(cfg.zo.directions)),
      after_(net.layout().size()),
      u_(net.layout().max_var_size()),
      batch_x_(static_cast<std::size_t>(cfg.client.batch_size) * net.input_size()),
      batch_y_(static_cast<std::size_t>(cfg.client.batch_size)) {
  if (local_) {
    grads_.resize(net.layout().size());
    velocity_.resize(cfg.client.momentum > 0 ? net.layout().size() : 0);
  }
}

void ZoTrainer::begin_round(int round, std::span<const float> global) {
  global_ = global;
  store_->begin_round(round, global);
}

double ZoTrainer::mean_loss(model::ParamSource& params, const float* x, const std::int32_t* y, std::int64_t n) {
  const int d = net_->input_size(), classes = net_->num_classes();
  double sum = 0.0;
  const int chunk = examples_per_pass();
  for (std::int64_t b = 0; b < n; b += chunk) {
    const int m = static_cast<int>(std::min<std::int64_t>(chunk, n - b));
    const auto logits = net_->forward(params, x + b * d, m);
    sum += model::softmax_cross_entropy(logits, y + b, m, classes, 1.0f, {}).loss_sum;
  }
  return sum / static_cast<double>(n);
}

void ZoTrainer::differences(std::uint64_t seed, const float* x, const std::int32_t* y, std::int64_t n,
                            LocalResult& res) {
  PerturbedSource& perturbed = perturbed_;
  if (reads_packed()) {
    perturbed.pack(store_->source(), store_->active());
  } else {
    perturbed.bind(store_->source(), store_->active());
  }
  perturbed.unperturbed();
  const bool central = zo_.differences == ZoDifferences::kCentral;
  const double L0 = central ? 0.0 : mean_loss(perturbed, x, y, n);
  if (!central) {
    res.loss_sum += L0 * static_cast<double>(n);
    res.examples_seen += n;
  }
  const auto sigma = static_cast<float>(zo_.sigma);
  for (int k = 0; k < zo_.directions; ++k) {
    perturbed.set(seed, k, sigma);
    const double plus = mean_loss(perturbed, x, y, n);
    double minus = L0;
    if (central) {
      perturbed.set(seed, k, -sigma);
      minus = mean_loss(perturbed, x, y, n);
      res.loss_sum += 0.5 * (plus + minus) * static_cast<double>(n);
      res.examples_seen += n;
    }
    d_[static_cast<std::size_t>(k)] = (plus - minus) / (central ? 2.0 * zo_.sigma : zo_.sigma);
  }
}

void ZoTrainer::expand(std::uint64_t seed, float scale, std::span<float> out) {
  std::fill(out.begin(), out.end(), 0.0f);
  const auto active = store_->active();
  const model::ParamLayout& layout = net_->layout();
  const float inv_k = scale / static_cast<float>(zo_.directions);
  for (int k = 0; k < zo_.directions; ++k) {
    const float c = static_cast<float>(d_[static_cast<std::size_t>(k)]) * inv_k;
    for (std::size_t i = 0; i < layout.num_vars(); ++i) {
      const auto& v = layout.var(i);
      const std::span<float> u(u_.data(), v.size);
      zo_direction(seed, k, i, u);
      for (std::size_t j = 0; j < v.size; ++j)
        if (active.empty() || active[v.offset + j] != 0) out[v.offset + j] += c * u[j];
    }
  }
}

LocalResult ZoTrainer::train(const data::ExampleView& data, ClientStreams& streams) {
  expects(data.n > 0, "ZoTrainer: client without examples");
  store_->start_client();
  LocalResult res;
  if (!local_) {
    // One estimate at the round's model over all the client's examples.
    const std::uint64_t seed = seed_ = streams.directions.next();
    const Stopwatch passes;
    differences(seed, data.x, data.y, data.n, res);
    pass_seconds_ += passes.seconds();  // the client's part; expanding below is the server's
    res.steps = 1;
    for (const double v : d_) res.diverged = res.diverged || !std::isfinite(v);
    expand(seed, 1.0f, after_);  // g, clipped, as the step -lr g
    const auto clip = static_cast<float>(zo_.clip), lr = static_cast<float>(client_.lr);
    for (float& v : after_) v = -lr * std::clamp(v, -clip, clip);
    bytes_ = 4 * static_cast<std::int64_t>(zo_.directions) + kZoHeaderBytes;
    return res;
  }
  // FedZO: local ZO-SGD steps on minibatches.
  if (!velocity_.empty()) std::fill(velocity_.begin(), velocity_.end(), 0.0f);
  order_.resize(static_cast<std::size_t>(data.n));
  std::iota(order_.begin(), order_.end(), 0);
  const int d = net_->input_size();
  std::int64_t cursor = data.n;
  for (int s = 0; s < zo_.local_steps; ++s) {
    if (cursor >= data.n) {
      streams.order.shuffle(std::span<std::int32_t>(order_));
      cursor = 0;
    }
    const int b = static_cast<int>(std::min<std::int64_t>(client_.batch_size, data.n - cursor));
    for (int i = 0; i < b; ++i) {
      const std::int64_t e = order_[static_cast<std::size_t>(cursor + i)];
      std::memcpy(batch_x_.data() + static_cast<std::size_t>(i) * d, data.x + e * d, sizeof(float) * static_cast<std::size_t>(d));
      batch_y_[static_cast<std::size_t>(i)] = data.y[e];
    }
    cursor += b;
    const std::uint64_t seed = streams.directions.next();
    differences(seed, batch_x_.data(), batch_y_.data(), b, res);
    expand(seed, 1.0f, grads_);  // the ZO gradient estimate
    store_->step(grads_, velocity_, hyper_, streams.rounding);
    ++res.steps;
  }
  store_->finish_client(after_);
  res.diverged = store_->diverged();
  bytes_ = store_->uplink_bytes();
  return res;
}

fl::ClientUpload ZoTrainer::upload() const {
  if (local_) return {after_, global_, bytes_};
  return {after_, {}, bytes_};
}

MemoryBreakdown ZoTrainer::peak_memory(std::int64_t num_samples) const {
  const std::uint64_t b = static_cast<std::uint64_t>(std::min<std::int64_t>(examples_per_pass(), num_samples));
  MemoryBreakdown mem;
  mem.params = store_->stored_bytes();
  // The perturbed copy of the range being read (a tile of a dense layer, a
  // whole conv kernel or bias) and one block of the direction.
  std::size_t whole = 0;  // largest variable a network reads whole (not a dense weight)
  for (const auto& v : net_->layout().vars())
    if (v.kind != model::VarKind::kDenseWeight) whole = std::max(whole, v.size);
  const std::size_t copy = std::max(whole, std::min(zo_tile(examples_per_pass()), net_->layout().max_var_size()));
  // A packed copy is decoded and perturbed in that same buffer.
  mem.decoded = (reads_packed() ? 0 : store_->transient_bytes()) + 4ull * (copy + kZoBlock);
  // Inference: one layer's input and output at a time, the batch input, the logits.
  mem.activations = b * (2ull * net_->max_layer_bytes() + 4ull * net_->input_size() + 4ull * net_->num_classes()) +
                    net_->workspace_bytes();
  mem.gradients = 8ull * static_cast<std::uint64_t>(zo_.directions);  // the K differences
  if (local_) {
    mem.gradients += 4ull * net_->layout().size();  // the step's estimate
    mem.optimizer = client_.momentum > 0 ? 4ull * net_->layout().size() : 0;
  }
  return mem;
}

double ZoTrainer::flops(std::int64_t num_samples) const {
  const double passes = zo_.differences == ZoDifferences::kCentral ? 2.0 * zo_.directions : zo_.directions + 1.0;
  // Each direction: its generation twice (perturb, expand) is not counted as FLOPs; 2 per weight to perturb and expand.
  const double P = static_cast<double>(net_->layout().size());
  if (!local_) return passes * net_->forward_flops() * static_cast<double>(num_samples) + 4.0 * P * zo_.directions;
  const double b = static_cast<double>(std::min<std::int64_t>(client_.batch_size, num_samples));
  return zo_.local_steps * (passes * net_->forward_flops() * b + 4.0 * P * zo_.directions);
}

}  // namespace fedhpc::train
