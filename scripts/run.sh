#!/usr/bin/env bash
# One command: install dependencies (apt), build (Release) and run the default
# experiment (LeNet-5, Fashion-MNIST, 1,000 Dirichlet(0.5) clients) on all cores.
# Extra arguments are passed to fedhpc, e.g. --server.rounds 20.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target fedhpc
mkdir -p results
out="results/default_$(date +%Y%m%d-%H%M%S).h5"
exec jobs/run-local.sh -c configs/default.ini --run.output "$out" "$@"
