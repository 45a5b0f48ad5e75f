#include "fedhpc/io/h5_handle.hpp"

namespace fedhpc::io {

void silence_hdf5_errors() noexcept { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

}  // namespace fedhpc::io
