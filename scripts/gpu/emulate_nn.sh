#!/bin/sh
# scripts/gpu/emulate_nn.sh [spec files...]: exercises the nn/optim DEVICE paths without a GPU.
# Builds build-emu (CPU-only, -DNL_NN_EMULATE) in which every nn front end with a device path
# takes it for CPU tensors too (every nn front end has one), with the kernel files
# cuda/nn_conv.cu, nn_pool.cu, nn_adaptive.cu, nn_pad.cu, nn_misc.cu, nn_norm.cu, nn_loss.cu
# and optim.cu compiled as sequential host C++ (launch
# syntax stripped, scripts/gpu/emu/nl_cu.cuh as the shim: one block of one thread), then runs
# the nn/optim specs (PyTorch fixtures) on that binary.
# What it checks: the kernels' index math and the device-path algebra of the front ends
# (im2col + batched GEMM convolutions, pooling windows (max/avg, adaptive, 1-d), dropout,
# embedding, one_hot, pad and its gather backward, optimizer formulas, norms, class and
# pointwise losses with their on-device input checks).
# What it cannot: anything about real GPUs (races, launches, device numerics), nor the
# shuffle/shared-memory tree of nl_cu_block_sum2 (with one thread the sum is the partial).
set -e
cd "$(dirname "$0")/../.."
root=$(pwd)
emu=build-emu/emu
mkdir -p "$emu"
cp scripts/gpu/emu/nl_cu.cuh "$emu/"
for f in nn_conv nn_pool nn_adaptive nn_pad nn_misc nn_norm nn_loss optim; do
  sed -e 's/<<<[^>]*>>>//g' -e 's|#include "\.\./nn/|#include "nn/|' "cuda/$f.cu" > "$emu/$f.cpp"
done
cp scripts/gpu/emu/emu_table.cpp "$emu/"
objs=
for f in nn_conv nn_pool nn_adaptive nn_pad nn_misc nn_norm nn_loss optim emu_table; do
  g++ -std=c++17 -O1 -Wall -Wextra -Wno-unused-parameter -Wno-unused-variable -I"$emu" -I"$root" -I"$root/tensor" -I"$root/cuda" \
    -c "$emu/$f.cpp" -o "$emu/$f.o"
  objs="$objs $root/$emu/$f.o"
done
cmake -S . -B build-emu -DNNLUA_CUDA=OFF -DNNLUA_MPI=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-DNL_NN_EMULATE >/dev/null
cmake --build build-emu -j2 --target nnlua
# relink nnlua with the host-compiled kernels (their constructor fills the nn table)
(cd build-emu && sh -c "$(cat CMakeFiles/nnlua.dir/link.txt) $objs -lstdc++")
[ $# -gt 0 ] || set -- spec/nn_kernels_spec.lua spec/nn_functional_spec.lua spec/nn_layers_spec.lua spec/optim_spec.lua spec/gradcheck_spec.lua
busted --lua=build-emu/nnlua "$@"
