#!/bin/sh
# End-to-end Fashion-MNIST comparison (RESULTS.md, section "fashion"): the whole process of
# scripts/train_fashion_mnist.lua and of its PyTorch twin, timed with /usr/bin/time -v (wall
# time, peak RSS), one thread count at a time, the load average noted before each run.
#   scripts/bench/fashion.sh [BUILD_DIR] [THREADS...]      (default threads: 1 2)
build=${1:-build}
[ $# -ge 1 ] && shift
threads=${*:-1 2}
here=$(dirname "$0")
out=$here/out
mkdir -p "$out"
for t in $threads; do
  for side in nnlua torch; do
    log=$out/fashion_${side}_$t.txt
    echo "== $side, $t thread(s); load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$log"
    if [ $side = nnlua ]; then
      /usr/bin/time -v "$build/nnlua" scripts/train_fashion_mnist.lua --threads "$t" --no-progress --out "$out/fashion_$t" >> "$log" 2>&1
    else
      /usr/bin/time -v /usr/bin/python3 "$here/train_fashion_mnist.py" --threads "$t" >> "$log" 2>&1
    fi
    grep -E "Test accuracy|Elapsed \(wall|Maximum resident" "$log"
  done
done
