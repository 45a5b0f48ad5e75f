#include "fedhpc/train/sgd_trainer.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/loss.hpp"
#include "fedhpc/model/param_source.hpp"
#include "fedhpc/train/mixed_trainer.hpp"
#include "fedhpc/train/zo_trainer.hpp"

namespace fedhpc::train {

SgdTrainer::SgdTrainer(const ClientSection& cfg, model::Network& net,
                       std::unique_ptr<ParamStore> store, bool delta_uplink)
    : cfg_(cfg),
      delta_uplink_(delta_uplink),
      net_(&net),
      store_(std::move(store)),
      hyper_{static_cast<float>(cfg.lr), static_cast<float>(cfg.weight_decay),
             static_cast<float>(cfg.prox_mu), static_cast<float>(cfg.momentum)},
      local_(net.layout().size()),
      grads_(net.layout().size()),
      velocity_(cfg.momentum > 0 ? net.layout().size() : 0),
      batch_x_(static_cast<std::size_t>(cfg.batch_size) * net.input_size()),
      batch_y_(static_cast<std::size_t>(cfg.batch_size)),
      dlogits_(static_cast<std::size_t>(cfg.batch_size) * net.num_classes()) {}

std::int64_t SgdTrainer::total_steps(std::int64_t n) const {
  if (cfg_.steps > 0) return cfg_.steps;
  const std::int64_t per_epoch = (n + cfg_.batch_size - 1) / cfg_.batch_size;
  return per_epoch * cfg_.epochs;
}

void SgdTrainer::begin_round(int round, std::span<const float> global) {
  global_ = global;
  store_->begin_round(round, global);
}

fl::ClientUpload SgdTrainer::upload() const { return {local_, global_, store_->uplink_bytes()}; }

LocalResult SgdTrainer::train(const data::ExampleView& data, ClientStreams& streams) {
  expects(data.n > 0, "SgdTrainer: client without examples");
  store_->start_client();
  if (!velocity_.empty()) std::fill(velocity_.begin(), velocity_.end(), 0.0f);
  if (order_.size() < static_cast<std::size_t>(data.n)) order_.resize(static_cast<std::size_t>(data.n));
  const std::span<std::int32_t> order(order_.data(), static_cast<std::size_t>(data.n));

  const int d = net_->input_size();
  const int classes = net_->num_classes();

  LocalResult result;
  const std::int64_t steps = total_steps(data.n);
  std::int64_t cursor = data.n;  // forces a reshuffle before the first step
  for (std::int64_t s = 0; s < steps; ++s) {
    if (cursor >= data.n) {
      std::iota(order.begin(), order.end(), 0);
      streams.order.shuffle(order);
      cursor = 0;
    }
    const int b = static_cast<int>(std::min<std::int64_t>(cfg_.batch_size, data.n - cursor));
    for (int i = 0; i < b; ++i) {
      const std::int64_t e = order[static_cast<std::size_t>(cursor + i)];
      std::memcpy(batch_x_.data() + static_cast<std::size_t>(i) * d, data.x + e * d,
                  sizeof(float) * static_cast<std::size_t>(d));
      batch_y_[static_cast<std::size_t>(i)] = data.y[e];
    }
    cursor += b;

    model::ParamSource& params = store_->source();
    const auto logits = net_->forward(params, batch_x_.data(), b);
    const std::span<float> dlog(dlogits_.data(), static_cast<std::size_t>(b) * classes);
    const auto stats = model::softmax_cross_entropy(logits, batch_y_.data(), b, classes,
                                                    1.0f / static_cast<float>(b), dlog);
    net_->backward(params, dlog, grads_);
    result.loss_sum += stats.loss_sum;
    result.examples_seen += b;
    ++result.steps;
    store_->step(grads_, velocity_, hyper_, streams.rounding);
  }
  store_->finish_client(local_);
  result.diverged = store_->diverged();
  return result;
}

MemoryBreakdown SgdTrainer::peak_memory(std::int64_t num_samples) const {
  const std::uint64_t P = net_->layout().size();
  const std::uint64_t b = static_cast<std::uint64_t>(std::min<std::int64_t>(cfg_.batch_size, num_samples));
  MemoryBreakdown mem;
  mem.params = store_->stored_bytes();
  mem.decoded = store_->transient_bytes();
  // Network buffers per example (activations kept for backward, their
  // gradients, logits), the batch input and dlogits, and batch-independent scratch.
  mem.activations = b * (net_->activation_bytes() + 4ull * net_->input_size() +
                         4ull * net_->num_classes()) +
                    net_->workspace_bytes();
  mem.gradients = 4 * P;
  mem.optimizer = (cfg_.momentum > 0 ? 4 * P : 0) + (cfg_.prox_mu > 0 ? store_->anchor_bytes() : 0);
  // A delta uplink needs the received model after training (already held as
  // the FedProx anchor when prox_mu > 0) and the fp32 update it encodes.
  if (delta_uplink_) {
    mem.received = cfg_.prox_mu > 0 ? 0 : store_->anchor_bytes();
    mem.workspace = 4 * P;
  }
  return mem;
}

double SgdTrainer::flops(std::int64_t num_samples) const {
  const std::int64_t steps = total_steps(num_samples);
  // Every step but possibly the last of an epoch is a full batch; count exactly.
  std::int64_t examples = 0;
  if (cfg_.steps > 0) {
    std::int64_t cursor = num_samples;
    for (std::int64_t s = 0; s < steps; ++s) {
      if (cursor >= num_samples) cursor = 0;
      const std::int64_t b = std::min<std::int64_t>(cfg_.batch_size, num_samples - cursor);
      examples += b;
      cursor += b;
    }
  } else {
    examples = num_samples * cfg_.epochs;
  }
  // forward + backward (input and weight gradients) = 3 x forward.
  return 3.0 * net_->forward_flops() * static_cast<double>(examples);
}

std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net,
                                           const std::function<std::unique_ptr<ParamStore>()>& make_store) {
  const bool delta = cfg.uplink.codec.kind != compress::UpdateCodecKind::kIdentity;
  switch (cfg.client.trainer) {
    case ClientTrainer::kZo:
    case ClientTrainer::kFedZo: return std::make_unique<ZoTrainer>(cfg, net, make_store());
    case ClientTrainer::kAuto: {
      RunConfig zo = cfg;
      zo.client.trainer = ClientTrainer::kZo;
      return std::make_unique<MixedTrainer>(std::make_unique<SgdTrainer>(cfg.client, net, make_store(), delta),
                                            std::make_unique<ZoTrainer>(zo, net, make_store()));
    }
    case ClientTrainer::kBackprop: break;
  }
  return std::make_unique<SgdTrainer>(cfg.client, net, make_store(), delta);
}

std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net,
                                           std::unique_ptr<ParamStore> store) {
  expects(cfg.client.trainer != ClientTrainer::kAuto, "make_trainer: a mixed fleet needs a store per trainer");
  return make_trainer(cfg, net, [&] { return std::move(store); });
}

std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net) {
  return make_trainer(cfg, net, [&] { return make_param_store(cfg, net.layout()); });
}

}  // namespace fedhpc::train
