#!/bin/sh
# Installs what nnlua needs on Debian 12 and does nothing when everything is there.
# Build: cmake, a C compiler, Lua 5.4 headers, OpenBLAS, zlib, readline, pkg-config.
# Tests: busted (lua-busted), tmux (REPL spec through a pseudo-terminal).
# Distributed (optional, like CUDA: the build works without it): libopenmpi-dev openmpi-bin
# (torch.distributed's "mpi" backend, mpirun for spec/distributed_spec.lua).
# Data:  dataset-fashion-mnist (real Fashion-MNIST in /usr/share/datasets/fashion-mnist).
# Reference values and benchmarks use python3-torch, never needed to build or run nnlua:
# set NNLUA_SETUP_TORCH=1 to install it too (scripts/bench and fixture generation need it).
set -e
pkgs="build-essential cmake pkg-config lua5.4 liblua5.4-dev libopenblas-dev zlib1g-dev
libreadline-dev lua-busted tmux dataset-fashion-mnist libopenmpi-dev openmpi-bin strace"
[ "${NNLUA_SETUP_TORCH:-0}" = 1 ] && pkgs="$pkgs python3-torch python3-numpy"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
