#include "fedhpc/core/error.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/data/fashion_mnist.hpp"
#include "fedhpc/data/hdf5_dataset.hpp"
#include "fedhpc/data/synthetic.hpp"

namespace fedhpc::data {

std::unique_ptr<FederatedDataset> open_federated_dataset(const DataSection& cfg,
                                                         std::uint64_t seed) {
  switch (cfg.source) {
    case DataSource::kFashionMnist: return std::make_unique<FashionMnistDataset>(cfg, seed);
    case DataSource::kHdf5: return std::make_unique<Hdf5Dataset>(cfg, seed);
    case DataSource::kSynthetic: return std::make_unique<SyntheticDataset>(cfg, seed);
  }
  throw InternalError("open_federated_dataset: unknown DataSource");
}

}  // namespace fedhpc::data
