#!/bin/sh
# Runs the benchmark suites side by side: nnlua and PyTorch (python3-torch, 1 and 2 threads)
# alternately for several rounds, then prints medians and ratios and rewrites the suite's
# section of scripts/bench/RESULTS.md.   Usage: scripts/bench/run.sh [BUILD_DIR] [ROUNDS]
set -e
build=${1:-build}
rounds=${2:-3}
here=$(dirname "$0")
out=$here/out
mkdir -p "$out"
py=/usr/bin/python3
$py -c 'import torch' 2>/dev/null || { echo "bench: python3-torch is needed (NNLUA_SETUP_TORCH=1 sh scripts/setup.sh)" >&2; exit 1; }
cc -O2 "$here/sgemm.c" -o "$out/sgemm" $(pkg-config --cflags --libs openblas)
rm -f "$out"/*.txt
for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  "$build/nnlua" "$here/tensor_ops.lua" 5 >> "$out/nnlua.txt"
  $py "$here/tensor_ops.py" 5 1 >> "$out/torch1.txt"
  $py "$here/tensor_ops.py" 5 2 >> "$out/torch2.txt"
  "$out/sgemm" >> "$out/sgemm.txt"
done
$py "$here/report.py" "$out" "$here/RESULTS.md"
