#!/bin/sh
# Seed workloads, whole training steps (zero_grad, forward, loss, backward, step): nnlua vs
# PyTorch, each at 1 and 2 threads (the best count of each side counts), run alternately for
# several rounds; each process reports its median step time and its peak RSS (VmHWM). Rewrites
# the <!-- workloads --> section of scripts/bench/RESULTS.md.
#   scripts/bench/bench.sh [BUILD_DIR] [ROUNDS] [WORKLOAD...]
set -e
build=${1:-build}
rounds=${2:-3}
[ $# -ge 2 ] && shift 2 || shift $#
workloads=${*:-xor lenet4 lenet128 mlp64 mlp64adam resnet18}
here=$(dirname "$0")
out=$here/out/workloads
mkdir -p "$out"
py=/usr/bin/python3
$py -c 'import torch' 2>/dev/null || { echo "bench: python3-torch is needed (NNLUA_SETUP_TORCH=1 sh scripts/setup.sh)" >&2; exit 1; }
# steps per timed round: each round takes roughly 0.05-1 s on one core, and the 3 rounds outlast
# OpenBLAS's start-up (its idle pool threads spin ~0.1 s after loading, which doubled the
# process CPU time of runs shorter than that)
steps() { case $1 in xor) echo 3000;; lenet4) echo 300;; lenet128) echo 20;; mlp64|mlp64adam) echo 40;; resnet18) echo 3;; *) echo 10;; esac; }
rm -f "$out"/*.txt
cat /proc/loadavg > "$out/load_before.txt"
for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  for w in $workloads; do
    n=$(steps "$w")
    "$build/nnlua" "$here/workloads.lua" "$w" "$n" 3 1 >> "$out/nnlua.txt"
    $py "$here/workloads.py" "$w" "$n" 3 1 >> "$out/torch1.txt"
    "$build/nnlua" "$here/workloads.lua" "$w" "$n" 3 2 >> "$out/nnlua2.txt"
    $py "$here/workloads.py" "$w" "$n" 3 2 >> "$out/torch2.txt"
  done
  $py "$here/startup.py" startup 5 "$build/nnlua" -e '' >> "$out/nnlua.txt"
  $py "$here/startup.py" startup 5 $py -c 'import torch' >> "$out/torch1.txt"
done
cat /proc/loadavg > "$out/load_after.txt"
OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} $py "$here/report_workloads.py" "$out" "$here/RESULTS.md"
