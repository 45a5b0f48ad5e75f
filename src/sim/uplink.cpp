#include "fedhpc/sim/uplink.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/memory_limits.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {
namespace {

/// The float update of an upload into out: after - before, or after.
void form_update(const fl::ClientUpload& up, std::span<float> out) {
  if (up.before.empty()) std::copy(up.after.begin(), up.after.end(), out.begin());
  else
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = up.after[j] - up.before[j];
}

bool all_fit(std::span<const float> x) {
  for (const float v : x)
    if (!comm::fits_fixed(v)) return false;
  return true;
}

}  // namespace

bool client_feedback(const UplinkSection& u) noexcept {
  return u.error_feedback == ErrorFeedback::kClient || u.error_feedback == ErrorFeedback::kBoth ||
         u.error_feedback == ErrorFeedback::kEf21;
}
bool server_feedback(const UplinkSection& u) noexcept {
  return u.error_feedback == ErrorFeedback::kServer || u.error_feedback == ErrorFeedback::kBoth;
}

// ---- Uplink: the residual series every uplink writes ----------------------

void Uplink::declare(fl::Metrics& m, fl::TallyLayout& t) {
  round_bytes_ = m.declare("/rounds/residual_bytes", fl::Axis::kRound);
  round_stateful_ = m.declare("/rounds/stateful_clients", fl::Axis::kRound);
  client_bytes_ = m.declare("/clients/residual_bytes", fl::Axis::kClientRow);
  client_ratio_ = m.declare("/clients/residual_norm_ratio", fl::Axis::kClientRow, false);
  client_age_ = m.declare("/clients/residual_age", fl::Axis::kClientRow);
  slot_bytes_ = t.reserve("residual_bytes");
  slot_stateful_ = t.reserve("stateful_clients");
}

void Uplink::record_client(int client, std::size_t row, fl::Metrics& m) const {
  m.set_client_int(client_bytes_, row, client_state_bytes(client));
  const Diagnostics d = client_diagnostics(client);
  m.set_client_real(client_ratio_, row, d.norm_ratio);
  m.set_client_int(client_age_, row, d.age);
}

void Uplink::tally(fl::RoundTally& t) const {
  t.add(slot_bytes_, shard_state_bytes());
  t.add(slot_stateful_, stateful_clients());
}

void Uplink::record_round(const fl::RoundTally& t, fl::Metrics& m) const {
  m.set_int(round_bytes_, t.get(slot_bytes_));
  m.set_int(round_stateful_, t.get(slot_stateful_));
}

// ---- PlainUplink ------------------------------------------------------------

Sent PlainUplink::send(int, int, std::int64_t weight, const fl::ClientUpload& up) {
  Sent s;
  s.bytes = up.bytes;
  s.contribution = {up.after, up.before};
  if (up.before.empty()) {
    s.ok = comm::all_fit_weighted(up.after, weight);
    return s;
  }
  // The update is exact in double.
  for (std::size_t j = 0; j < up.after.size(); ++j)
    if (!comm::fits_weighted(static_cast<double>(up.after[j]) - up.before[j], weight)) return s;
  s.ok = true;
  return s;
}

// ---- CodecUplink ------------------------------------------------------------

CodecUplink::CodecUplink(const compress::UpdateCodecSpec& spec, const UplinkSection& schedule,
                         std::size_t n, std::uint64_t seed)
    : spec_(spec), schedule_(schedule), codec_(compress::make_update_codec(spec)), seed_(seed), update_(n),
      decoded_(n) {}

Sent CodecUplink::send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) {
  Sent s;
  // Checked before encoding: a quantizer would hide a non-finite value.
  form_update(up, update_);
  if (!all_fit(update_)) return s;
  if (const double r = schedule_.ratio_at(round); r != spec_.ratio) {  // density warm-up
    spec_.ratio = r;
    codec_ = compress::make_update_codec(spec_);
  }
  Rng rng(seed_, Purpose::kUplink, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(client));
  s.bytes = static_cast<std::int64_t>(codec_->encode(update_, rng, message_));
  codec_->decode(message_, decoded_);
  if (!comm::all_fit_weighted(decoded_, weight)) return s;
  s.contribution = {decoded_, {}};
  s.ok = true;
  return s;
}

// ---- ClientFeedbackUplink ---------------------------------------------------

ClientFeedbackUplink::ClientFeedbackUplink(std::unique_ptr<Uplink> inner, const UplinkSection& cfg,
                                           std::size_t n, std::span<const int> own_clients, int num_clients,
                                           std::size_t max_guests, std::uint64_t seed)
    : inner_(std::move(inner)),
      ef21_(cfg.error_feedback == ErrorFeedback::kEf21),
      decay_(cfg.residual_decay),
      max_age_(cfg.residual_max_age),
      store_(cfg.residual, n, own_clients.size()),
      stored_round_(own_clients.size(), -1),
      slot_of_(static_cast<std::size_t>(num_clients), -1),
      guests_(cfg.residual, n, max_guests),
      guest_round_(max_guests, -1),
      device_bytes_(compress::residual_bytes(cfg.residual, n, compress::kept_count(n, cfg.residual.sparse_ratio))),
      seed_(seed),
      u_(n),
      state_(n) {
  for (const int c : own_clients) {
    slot_of_[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(slot_client_.size());
    slot_client_.push_back(c);
  }
}

ClientFeedbackUplink::Slot ClientFeedbackUplink::slot(int client) const {
  const std::int32_t own = slot_of_.at(static_cast<std::size_t>(client));
  if (own >= 0) return {false, static_cast<std::size_t>(own)};
  const auto g = std::find(guest_client_.begin(), guest_client_.end(), client);
  if (g == guest_client_.end())
    throw InternalError("uplink: client " + std::to_string(client) + " is neither this rank's nor a guest");
  return {true, static_cast<std::size_t>(g - guest_client_.begin())};
}

void ClientFeedbackUplink::pack_state(int client, std::vector<std::byte>& out) const {
  const Slot s = slot(client);
  const std::int32_t round = s.guest ? guest_round_[s.index] : stored_round_[s.index];
  const auto blob = store(s).blob(s.index);
  const auto at = out.size();
  out.resize(at + sizeof round + blob.size());
  std::memcpy(out.data() + at, &round, sizeof round);
  std::copy(blob.begin(), blob.end(), out.begin() + static_cast<std::ptrdiff_t>(at + sizeof round));
}

void ClientFeedbackUplink::unpack_state(int client, std::span<const std::byte> in) {
  std::int32_t round = -1;
  expects(in.size() >= sizeof round, "uplink: client state shorter than its header");
  std::memcpy(&round, in.data(), sizeof round);
  Slot s{false, 0};
  if (slot_of_.at(static_cast<std::size_t>(client)) >= 0) {
    s = slot(client);
  } else {
    expects(guest_client_.size() < guests_.slots(), "uplink: more guests than max_guests");
    s = {true, guest_client_.size()};
    guest_client_.push_back(client);
  }
  store(s).set_blob(s.index, in.subspan(sizeof round));
  stored_round(s) = round;
}

void ClientFeedbackUplink::drop_guests() {
  for (std::size_t g = 0; g < guest_client_.size(); ++g) {
    guests_.clear(g);
    guest_round_[g] = -1;
  }
  guest_client_.clear();
}

Sent ClientFeedbackUplink::send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) {
  const Slot slot = this->slot(client);
  compress::ResidualStore& store = this->store(slot);
  last_client_ = -1;
  form_update(up, u_);
  if (!all_fit(u_)) return {};
  double update_sq = 0.0;
  for (const float v : u_) update_sq += static_cast<double>(v) * v;
  const int stored = stored_round(slot);
  const int age = stored < 0 ? -1 : round - stored;
  if (ef21_) {
    // u = update - g; the server adds g + delivered.
    store.load(slot.index, state_);
    for (std::size_t j = 0; j < u_.size(); ++j) u_[j] -= state_[j];
  } else if (age >= 0 && (max_age_ == 0 || age <= max_age_)) {
    if (decay_ == 1.0) {
      store.add_to(slot.index, u_);
    } else {
      const auto a = static_cast<float>(std::pow(decay_, age));
      store.load(slot.index, state_);
      for (std::size_t j = 0; j < u_.size(); ++j) u_[j] += a * state_[j];
    }
  }
  Sent s = inner_->send(round, client, weight, fl::ClientUpload{u_, {}, up.bytes});
  if (!s.ok) return s;  // residual untouched
  // The delivered part: EF keeps the rest as its residual, EF21 adds it to g.
  const std::span<const float> delivered = s.contribution.values;
  double rest_sq = 0.0;
  for (std::size_t j = 0; j < u_.size(); ++j) {
    u_[j] -= delivered[j];
    rest_sq += static_cast<double>(u_[j]) * u_[j];
  }
  if (ef21_) {
    for (std::size_t j = 0; j < u_.size(); ++j) state_[j] += delivered[j];
    if (!comm::all_fit_weighted(state_, weight)) return {};
    s.contribution = {state_, {}};
  }
  last_client_ = client;
  last_ = {update_sq > 0.0 ? std::sqrt(rest_sq / update_sq) : 0.0, age};
  Rng rr(seed_, Purpose::kResidual, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(client));
  try {
    store.store(slot.index, ef21_ ? std::span<const float>(state_) : std::span<const float>(u_), rr);
    stored_round(slot) = round;
  } catch (const std::bad_alloc&) {
    throw_out_of_memory("the error-feedback residual of client " + std::to_string(client) + " (this rank holds " +
                            std::to_string(store_.stored_slots()) + " residuals, " +
                            format_bytes(static_cast<double>(store_.total_bytes())) + ")",
                        device_bytes_);
  }
  return s;
}

void ClientFeedbackUplink::load_shard(const std::string& path) {
  read_shard_state(path, slot_of_, store_, stored_round_);
}

Uplink::Diagnostics ClientFeedbackUplink::client_diagnostics(int client) const {
  return client == last_client_ ? last_ : Diagnostics{};
}

std::int64_t ClientFeedbackUplink::client_state_bytes(int client) const {
  const Slot s = slot(client);
  return static_cast<std::int64_t>(store(s).bytes(s.index));
}

compress::UpdateCodecSpec uplink_codec_spec(const RunConfig& cfg, const model::ParamLayout& layout) {
  compress::UpdateCodecSpec spec = cfg.uplink.codec;
  // Error feedback needs a contractive compressor: rand-k then sends its kept
  // values unscaled (scaled by n/k the residual would grow without bound).
  spec.unbiased = cfg.uplink.error_feedback == ErrorFeedback::kNone;
  spec.segment_ends.clear();
  if (spec.scope == compress::TopKScope::kLayer)
    for (const auto& v : layout.vars()) spec.segment_ends.push_back(v.offset + v.size);
  return spec;
}

std::unique_ptr<Uplink> make_uplink(const RunConfig& cfg, const model::ParamLayout& layout,
                                    std::span<const int> own_clients) {
  if (cfg.uplink.codec.kind == compress::UpdateCodecKind::kIdentity) return std::make_unique<PlainUplink>();
  const std::size_t n = layout.size();
  std::unique_ptr<Uplink> up = std::make_unique<CodecUplink>(uplink_codec_spec(cfg, layout), cfg.uplink, n, cfg.run.seed);
  if (client_feedback(cfg.uplink))
    up = std::make_unique<ClientFeedbackUplink>(std::move(up), cfg.uplink, n, own_clients, cfg.data.num_clients,
                                                static_cast<std::size_t>(cfg.clients_per_round()), cfg.run.seed);
  return up;
}

}  // namespace fedhpc::sim
