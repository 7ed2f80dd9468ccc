#!/bin/sh
# scripts/gpu/run.sh: the CUDA checks for a machine with a GPU (a later session runs this).
#   1. builds with CUDA (build-cuda, Release),
#   2. runs the whole suite; run_tests.sh includes the `gpu`-tagged specs when the binary
#      sees a GPU (spec/cuda_spec.lua, spec/cuda_consistency_spec.lua),
#   3. runs the CUDA specs under compute-sanitizer (memcheck, then racecheck on the
#      reductions' shared memory), when the tool is installed.
# Exits non-zero on the first failing step.
set -e
cd "$(dirname "$0")/../.."
jobs=${JOBS:-8}
cmake -S . -B build-cuda -DNNLUA_CUDA=ON -DCMAKE_BUILD_TYPE=Release
cmake --build build-cuda -j"$jobs"
build-cuda/nnlua -e 'assert(torch.cuda.is_available(), "no GPU visible"); print(torch.cuda.get_device_name())'
sh scripts/run_tests.sh build-cuda
busted --lua=build-cuda/nnlua --tags=gpu spec/cuda_spec.lua spec/cuda_consistency_spec.lua
san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$san" ]; then
  # busted re-executes build-cuda/nnlua: the sanitizer follows child processes
  "$san" --tool memcheck --target-processes all --error-exitcode 1 busted --lua=build-cuda/nnlua --tags=gpu spec/cuda_spec.lua
  "$san" --tool racecheck --error-exitcode 1 build-cuda/nnlua -e \
    'local x = torch.randn(1000, 300):cuda(); x:sum(1); x:sum(2); x:softmax(2); x:max(1); torch.cuda.synchronize()'
else
  echo "gpu/run.sh: compute-sanitizer not found; skipped" >&2
fi
echo "gpu/run.sh: all CUDA checks passed"
