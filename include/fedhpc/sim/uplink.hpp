#pragma once
/// The uplink seam (docs/design.md, "Seams"): what a client's upload becomes
/// on the wire and what the server adds for it.
///
///   PlainUplink           the upload as it is (exact update, trainer's bytes)
///   CodecUplink           encoded with an update codec (compress/update_codec.hpp)
///   ClientFeedbackUplink  decorator: adds the client's residual before the
///                         inner uplink and keeps what it did not deliver
///                         (owns the residual store and the client -> slot map)
///
/// Every uplink rejects (ok = false, nothing changed) an upload that is not
/// finite or whose weighted values could not be summed exactly, so a
/// diverged client can never reach the model, whatever the codec.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/fl/client_upload.hpp"
#include "fedhpc/fl/component.hpp"
#include "fedhpc/sim/checkpoint.hpp"

namespace fedhpc::sim {

/// What the server receives from one client.
struct Sent {
  bool ok = false;                  ///< false: diverged (not finite or too large); nothing changed
  std::int64_t bytes = 0;           ///< exact uplink bytes
  comm::Contribution contribution;  ///< what the server adds (valid until the next send)
};

/// A client's way to the server. One instance per rank, reused for its clients.
class Uplink : public fl::Component {
 public:
  /// Sends `up` of `client` in `round`; `weight` is its aggregation weight.
  virtual Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) = 0;
  /// Persistent uplink state a client holds on its device (memory model).
  virtual std::uint64_t device_state_bytes() const { return 0; }
  /// This rank's per-client state for a checkpoint (null store: none).
  virtual ShardState shard() const { return {}; }
  /// Restores this rank's per-client state from checkpoint `path`.
  virtual void load_shard(const std::string& path) {}
  /// The uplink series (/rounds/residual_bytes, /rounds/stateful_clients,
  /// /clients/residual_bytes): every uplink writes them, 0 without client state.
  void declare(fl::Metrics& m, fl::TallyLayout& t) override;
  void record_client(int client, std::size_t row, fl::Metrics& m) const override;
  void tally(fl::RoundTally& t) const override;
  void record_round(const fl::RoundTally& t, fl::Metrics& m) const override;

 protected:
  /// Encoded state bytes of one client, of all this rank's clients, and how many hold state.
  virtual std::int64_t client_state_bytes(int client) const { return 0; }
  virtual std::int64_t shard_state_bytes() const { return 0; }
  virtual std::int64_t stateful_clients() const { return 0; }

 private:
  fl::Metrics::Id round_bytes_ = 0, round_stateful_ = 0, client_bytes_ = 0;
  fl::TallyLayout::Slot slot_bytes_ = 0, slot_stateful_ = 0;
};

/// The upload as it is: the update after - before (exact, in double) and the trainer's bytes.
class PlainUplink final : public Uplink {
 public:
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;
};

/// The update (after - before in float) through an update codec, keyed by
/// (seed, uplink, round, client); the server adds the decoded message.
class CodecUplink final : public Uplink {
 public:
  CodecUplink(const compress::UpdateCodecSpec& spec, std::size_t n, std::uint64_t seed);
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;

 private:
  std::unique_ptr<compress::UpdateCodec> codec_;
  std::uint64_t seed_;
  compress::EncodedUpdate message_;
  std::vector<float> update_;   // (n) the update before the codec
  std::vector<float> decoded_;  // (n) what the server decodes
};

/// Client error feedback around an inner uplink: sends u = update + e and keeps
/// e = u - delivered, stored per client in the residual store (rounding keyed by
/// (seed, residual, round, client)).
class ClientFeedbackUplink final : public Uplink {
 public:
  /// own_clients: this rank's clients, ascending (one residual slot each).
  ClientFeedbackUplink(std::unique_ptr<Uplink> inner, const compress::ResidualSpec& spec,
                       std::size_t n, std::span<const int> own_clients, int num_clients,
                       std::uint64_t seed);
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;
  std::uint64_t device_state_bytes() const override { return device_bytes_; }
  ShardState shard() const override { return {&store_, slot_client_}; }
  void load_shard(const std::string& path) override;
  const compress::ResidualStore& residuals() const noexcept { return store_; }

 protected:
  std::int64_t client_state_bytes(int client) const override;
  std::int64_t shard_state_bytes() const override { return static_cast<std::int64_t>(store_.total_bytes()); }
  std::int64_t stateful_clients() const override { return static_cast<std::int64_t>(store_.stored_slots()); }

 private:
  std::unique_ptr<Uplink> inner_;
  compress::ResidualStore store_;
  std::vector<std::int32_t> slot_of_;      // (num_clients) slot of an own client, -1 otherwise
  std::vector<std::int32_t> slot_client_;  // (own clients) client of each slot
  std::uint64_t device_bytes_;             // a client's residual on its device
  std::uint64_t seed_;
  std::vector<float> u_;                   // (n) update + residual
};

/// The uplink of a run: plain for uplink.codec = none, else the codec (contractive
/// under error feedback), wrapped in client error feedback when configured.
std::unique_ptr<Uplink> make_uplink(const RunConfig& cfg, std::size_t n,
                                    std::span<const int> own_clients);

/// Whether the run's client or server keeps error-feedback state.
bool client_feedback(const UplinkSection& u) noexcept;
bool server_feedback(const UplinkSection& u) noexcept;

}  // namespace fedhpc::sim
