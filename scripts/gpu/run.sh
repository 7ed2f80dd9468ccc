#!/bin/sh
# scripts/gpu/run.sh: the CUDA checks for a machine with a GPU (a later session runs this).
#   1. builds with CUDA (build-cuda, Release),
#   2. runs the whole suite; run_tests.sh includes the `gpu`-tagged specs when the binary
#      sees a GPU (spec/cuda_spec.lua, spec/cuda_consistency_spec.lua),
#   3. runs the CUDA specs under compute-sanitizer (memcheck, then racecheck on the
#      reductions' shared memory), when the tool is installed,
#   4. trains scripts/train_fashion_mnist.lua --device cuda (when that script exists), and
#      scripts/train_fashion_mnist.lua --distributed under mpirun with the NCCL backend,
#   5. benchmarks training steps against PyTorch on the same GPU (scripts/bench/gpu_bench.lua
#      and gpu_bench.py: lenet128, resnet18 at batch 64, mlp at batch 1024) and writes the
#      ratios into scripts/bench/RESULTS.md's gpu section (skipped when /usr/bin/python3 has
#      no CUDA-enabled torch).
# Exits non-zero on the first failing step.
set -e
cd "$(dirname "$0")/../.."
jobs=${JOBS:-8}
cmake -S . -B build-cuda -DNNLUA_CUDA=ON -DCMAKE_BUILD_TYPE=Release
cmake --build build-cuda -j"$jobs"
build-cuda/nnlua -e 'assert(torch.cuda.is_available(), "no GPU visible"); print(torch.cuda.get_device_name())'
sh scripts/run_tests.sh build-cuda
busted --lua=build-cuda/nnlua --tags=gpu spec/cuda_spec.lua spec/cuda_consistency_spec.lua spec/cuda_nn_spec.lua
# the whole CPU suite again with cuda as the default device (torch.set_default_device): every
# tensor a spec creates without device= lives on the GPU. Failures are reported at the end,
# after the remaining steps (specs that assert .device == "cpu" or time CPU-only paths are
# expected to need a device-aware tweak on the first run).
suite_cuda=0
NNLUA_TEST_DEVICE=cuda sh scripts/run_tests.sh build-cuda spec > build-cuda/suite_default_cuda.txt 2>&1 || suite_cuda=1
tail -n 3 build-cuda/suite_default_cuda.txt
san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$san" ]; then
  # busted re-executes build-cuda/nnlua: the sanitizer follows child processes
  "$san" --tool memcheck --target-processes all --error-exitcode 1 busted --lua=build-cuda/nnlua --tags=gpu spec/cuda_spec.lua spec/cuda_nn_spec.lua
  "$san" --tool racecheck --error-exitcode 1 build-cuda/nnlua -e \
    'local x = torch.randn(1000, 300):cuda(); x:sum(1); x:sum(2); x:softmax(2); x:max(1); torch.cuda.synchronize()'
else
  echo "gpu/run.sh: compute-sanitizer not found; skipped" >&2
fi
if [ -f scripts/train_fashion_mnist.lua ]; then
  build-cuda/nnlua scripts/train_fashion_mnist.lua --device cuda
fi
# NCCL (issue 12): the DDP Fashion-MNIST job on one GPU through the NCCL backend (one rank per
# GPU; the gpu-tagged NCCL spec already ran in the suite above), next to the MPI/CPU run.
if build-cuda/nnlua -e 'os.exit(torch.distributed.is_nccl_available() and 0 or 1)' && command -v mpirun >/dev/null; then
  ngpu=$(build-cuda/nnlua -e 'print(torch.cuda.device_count())')
  mpirun --allow-run-as-root --oversubscribe -np "$ngpu" build-cuda/nnlua scripts/train_fashion_mnist.lua --distributed --device cuda --limit 12800 --epochs 1 --no-progress --out build-cuda/ddp_nccl
  mpirun --allow-run-as-root --oversubscribe -np 1 build-cuda/nnlua scripts/train_fashion_mnist.lua --distributed --limit 12800 --epochs 1 --no-progress --out build-cuda/ddp_mpi
fi
# benchmarks: "name ms" lines from both sides, ratio = nnlua / PyTorch (lower is better)
build-cuda/nnlua scripts/bench/gpu_bench.lua > build-cuda/gpu_bench_nnlua.txt
cat build-cuda/gpu_bench_nnlua.txt
if /usr/bin/python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  /usr/bin/python3 scripts/bench/gpu_bench.py > build-cuda/gpu_bench_torch.txt
  cat build-cuda/gpu_bench_torch.txt
  gpu=$(build-cuda/nnlua -e 'print(torch.cuda.get_device_name())')
  /usr/bin/python3 - "$gpu" <<'PY'
import re, sys, datetime
def load(p):
    return dict(l.split()[:2] for l in open(p) if len(l.split()) >= 2)
a, b = load("build-cuda/gpu_bench_nnlua.txt"), load("build-cuda/gpu_bench_torch.txt")
rows = ["Measured %s on %s (float32, TF32 off; ms per training step: forward + cross_entropy + "
        "backward + SGD step)." % (datetime.date.today(), sys.argv[1]), "",
        "| model | nnlua ms | PyTorch ms | nnlua / PyTorch |", "|---|---|---|---|"]
for k in a:
    if k in b:
        rows.append("| %s | %.3f | %.3f | %.2f |" % (k, float(a[k]), float(b[k]), float(a[k]) / float(b[k])))
    else:
        rows.append("| %s | %.3f | - | - |" % (k, float(a[k])))
p = "scripts/bench/RESULTS.md"
s = open(p).read()
s = re.sub(r"<!-- gpu:begin -->.*<!-- gpu:end -->", lambda m: "<!-- gpu:begin -->\n" + "\n".join(rows) + "\n<!-- gpu:end -->", s, flags=re.S)
open(p, "w").write(s)
PY
else
  echo "gpu/run.sh: /usr/bin/python3 has no CUDA torch; PyTorch side of the benchmark skipped" >&2
fi
if [ "$suite_cuda" != 0 ]; then
  echo "gpu/run.sh: the suite with cuda as the default device failed: build-cuda/suite_default_cuda.txt" >&2
  exit 1
fi
echo "gpu/run.sh: all CUDA checks passed"
