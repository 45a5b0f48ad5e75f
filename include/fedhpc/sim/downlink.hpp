#pragma once
/// Compressed downlink as a server stage (EF21-P style; Gruntkowska et al.
/// 2023): clients hold a copy v of the server model w; after every server step
/// the server broadcasts c = C(w - v) with an update codec and both sides set
/// v += D(c). Clients train from v (the published model, which the test set
/// also sees); w - v is the server-side error feedback. v is replicated on
/// every rank and checkpointed as "downlink_model".
///
/// Bytes: a client that last received the model in round s (and has replayed
/// every broadcast since) needs the broadcasts of rounds s .. t-1 when it is
/// asked again in round t; it downloads whichever is smaller, those messages
/// or the model as the trainer sends it. A client's first download is the
/// whole model. The visits are replicated ("downlink_visit", the round each
/// client last received the model, -1 never) and so are the broadcast sizes
/// ("downlink_sizes"). Rounding is keyed by (seed, downlink, round).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/fl/server_stage.hpp"

namespace fedhpc::sim {

class DownlinkStage final : public fl::ServerStage {
 public:
  /// n parameters, num_clients clients, spec the broadcast's codec (contractive:
  /// rand-k unscaled).
  DownlinkStage(const compress::UpdateCodecSpec& spec, std::size_t n, int num_clients, std::uint64_t seed);
  void start(std::span<float> model) override;
  bool publish(std::span<const float> model, std::span<float> out) const override;
  void after_step(int round, std::span<float> model) override;
  std::int64_t update_bytes() const override { return bytes_; }
  std::int64_t downlink_bytes(int round, int client, std::int64_t model_bytes) override;
  void save(fl::NamedState& s) const override;
  void load(const fl::NamedState& s) override;

 private:
  std::unique_ptr<compress::UpdateCodec> codec_;
  std::uint64_t seed_;
  std::int64_t bytes_ = 0;
  std::vector<float> copy_;              // (n) v, the clients' model
  std::vector<float> change_;            // (n) w - v, then what v moves by
  std::vector<std::int64_t> sizes_;      // (rounds so far) broadcast bytes after each round's step
  std::vector<std::int32_t> visit_;      // (num_clients) round of each client's last download, -1 never
  compress::EncodedUpdate message_;
};

}  // namespace fedhpc::sim
