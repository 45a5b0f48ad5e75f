#include "fedhpc/comm/environment.hpp"

#include <mpi.h>

#include "fedhpc/comm/communicator.hpp"

namespace fedhpc::comm {

Environment::Environment(int& argc, char**& argv) {
  int provided = 0;
  mpi_check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace fedhpc::comm
