#!/usr/bin/env bash
# Installs everything fedhpc needs on Debian 12 (apt only). Idempotent.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools zlib1g-dev
      libeigen3-dev libboost-program-options-dev libgtest-dev
      dataset-fashion-mnist
      python3 python3-h5py python3-numpy python3-pandas python3-matplotlib
      jupyter-nbconvert python3-ipykernel
      slurm-wlm munge iproute2   # iproute2: the two-node test cluster's network namespaces
      strace   # tests: the fsync order of checkpoints and results (tests/integration)
      clang-16 libclang-rt-16-dev llvm-16)  # fuzz stage: libFuzzer, clang's sanitizers, llvm-symbolizer
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
