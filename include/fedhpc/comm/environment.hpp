#pragma once
/// RAII MPI initialisation/finalisation; one per process, created in main.
namespace fedhpc::comm {

/// Initialises MPI (thread level FUNNELED) and finalises it on destruction.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment();
};

}  // namespace fedhpc::comm
