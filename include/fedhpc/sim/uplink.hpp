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
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/model/param_layout.hpp"
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
  /// The last send, if it was this client's, if it was this client's: residual norm over
  /// update norm after the send, and the age of the residual it added.
  struct Diagnostics {
    double norm_ratio = std::numeric_limits<double>::quiet_NaN();
    std::int64_t age = -1;
  };
  virtual Diagnostics client_diagnostics(int client) const { return {}; }

  /// Moving a client's state to the rank that trains it this round and back
  /// (ClientShard, run.balance = round). pack_state appends the client's
  /// state, wherever it is on this rank (own or guest), to out;
  /// unpack_state installs what pack_state made: a guest's before it trains,
  /// an own client's when it comes back; drop_guests forgets the guests.
  /// Without client state they do nothing.
  virtual void pack_state(int client, std::vector<std::byte>& out) const {}
  virtual void unpack_state(int client, std::span<const std::byte> in) {}
  virtual void drop_guests() {}

  /// The uplink series (/rounds/residual_bytes, /rounds/stateful_clients,
  /// /clients/residual_bytes, /clients/residual_norm_ratio, /clients/residual_age):
  /// every uplink writes them, 0 (ratio NaN, age -1) without client state.
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
  fl::Metrics::Id round_bytes_ = 0, round_stateful_ = 0, client_bytes_ = 0, client_ratio_ = 0, client_age_ = 0;
  fl::TallyLayout::Slot slot_bytes_ = 0, slot_stateful_ = 0;
};

/// The upload as it is: the update after - before (exact, in double) and the trainer's bytes.
class PlainUplink final : public Uplink {
 public:
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;
};

/// The update (after - before in float) through an update codec, keyed by
/// (seed, uplink, round, client); the server adds the decoded message. With a
/// density warm-up the sparse codecs keep uplink.ratio_at(round).
class CodecUplink final : public Uplink {
 public:
  CodecUplink(const compress::UpdateCodecSpec& spec, const UplinkSection& schedule, std::size_t n,
              std::uint64_t seed);
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;

 private:
  compress::UpdateCodecSpec spec_;
  UplinkSection schedule_;
  std::unique_ptr<compress::UpdateCodec> codec_;
  std::uint64_t seed_;
  compress::EncodedUpdate message_;
  std::vector<float> update_;   // (n) the update before the codec
  std::vector<float> decoded_;  // (n) what the server decodes
};

/// Client state around an inner uplink, stored per client in the residual
/// store (rounding keyed by (seed, residual, round, client)):
///  - error feedback (EF-SGD): sends u = update + a e and keeps e = u - delivered,
///    a = residual_decay^age (0 beyond residual_max_age), age = rounds since e
///    was stored; the server adds what was delivered;
///  - EF21: sends update - g and keeps g = g + delivered; the server adds g
///    (it holds a copy of every client's g; in the simulator it is this store).
class ClientFeedbackUplink final : public Uplink {
 public:
  /// own_clients: this rank's clients, ascending (one residual slot each);
  /// max_guests: the most clients of other ranks it trains in one round.
  ClientFeedbackUplink(std::unique_ptr<Uplink> inner, const UplinkSection& cfg, std::size_t n,
                       std::span<const int> own_clients, int num_clients, std::size_t max_guests,
                       std::uint64_t seed);
  Sent send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) override;
  std::uint64_t device_state_bytes() const override { return device_bytes_; }
  ShardState shard() const override { return {&store_, slot_client_, stored_round_}; }
  void load_shard(const std::string& path) override;
  const compress::ResidualStore& residuals() const noexcept { return store_; }
  Diagnostics client_diagnostics(int client) const override;
  /// State bytes: [int32 round of the last store, -1 if none][the residual's blob].
  void pack_state(int client, std::vector<std::byte>& out) const override;
  void unpack_state(int client, std::span<const std::byte> in) override;
  void drop_guests() override;

 protected:
  std::int64_t client_state_bytes(int client) const override;
  std::int64_t shard_state_bytes() const override { return static_cast<std::int64_t>(store_.total_bytes()); }
  std::int64_t stateful_clients() const override { return static_cast<std::int64_t>(store_.stored_slots()); }

 private:
  /// Where a client's state is on this rank: an own slot or a guest slot.
  struct Slot {
    bool guest;
    std::size_t index;
  };
  Slot slot(int client) const;
  compress::ResidualStore& store(Slot s) { return s.guest ? guests_ : store_; }
  const compress::ResidualStore& store(Slot s) const { return s.guest ? guests_ : store_; }
  std::int32_t& stored_round(Slot s) { return s.guest ? guest_round_[s.index] : stored_round_[s.index]; }

  std::unique_ptr<Uplink> inner_;
  bool ef21_;
  double decay_;
  int max_age_;
  compress::ResidualStore store_;
  std::vector<std::int32_t> stored_round_;  // (own clients) round of each slot's last store, -1 if none
  std::vector<std::int32_t> slot_of_;      // (num_clients) slot of an own client, -1 otherwise
  std::vector<std::int32_t> slot_client_;  // (own clients) client of each slot
  compress::ResidualStore guests_;         // (max_guests) this round's guests' residuals
  std::vector<std::int32_t> guest_round_;  // (max_guests) their rounds of the last store
  std::vector<int> guest_client_;          // the guests, in arrival order
  std::uint64_t device_bytes_;             // a client's residual on its device
  std::uint64_t seed_;
  std::vector<float> u_;                   // (n) what goes to the inner uplink
  std::vector<float> state_;               // (n) the stored residual / g
  int last_client_ = -1;                   // the last send's client and its diagnostics
  Diagnostics last_;
};

/// The run's update codec spec: uplink.codec, contractive under error
/// feedback (rand-k unscaled), with the model's variable ends for per-variable top-k.
compress::UpdateCodecSpec uplink_codec_spec(const RunConfig& cfg, const model::ParamLayout& layout);

/// The uplink of a run: plain for uplink.codec = none, else the codec (contractive
/// under error feedback), wrapped in client state (error feedback, EF21) when configured.
std::unique_ptr<Uplink> make_uplink(const RunConfig& cfg, const model::ParamLayout& layout,
                                    std::span<const int> own_clients);

/// Whether the run's client or server keeps error-feedback state.
bool client_feedback(const UplinkSection& u) noexcept;  ///< client residuals or EF21 state
bool server_feedback(const UplinkSection& u) noexcept;

}  // namespace fedhpc::sim
