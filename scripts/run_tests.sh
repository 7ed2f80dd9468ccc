#!/bin/sh
# Runs every test: the busted specs inside the real host (busted --lua=BUILD/nnlua), then the
# C tests through ctest (embedding API, install tree + pkg-config, torch.so in a stock lua5.4).
#   scripts/run_tests.sh [BUILD_DIR] [all|spec|ctest] [busted args...]
#   NNLUA_TEST_DEVICE=cuda scripts/run_tests.sh BUILD spec: the specs with cuda as the default
#   device of the creation functions (a GPU machine's second pass, scripts/gpu/run.sh)
# Exits non-zero on any failure; the last line is the summary "N passed, N failed".
build=${1:-build}
what=${2:-all}
[ $# -ge 2 ] && shift 2 || shift $#
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -x "$build/nnlua" ]; then
  echo "run_tests: no $build/nnlua: build first (make, or cmake --build $build)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export NNLUA_BIN="$build/nnlua"
# Specs tagged `gpu` (spec/cuda_spec.lua, spec/cuda_consistency_spec.lua) need a GPU: they
# are excluded unless this binary sees one (scripts/gpu/run.sh runs them on a GPU machine).
gpu_tags=--exclude-tags=gpu
if "$NNLUA_BIN" -e 'os.exit(torch.cuda.is_available() and 0 or 1)' >/dev/null 2>&1; then gpu_tags=; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM
passed=0
failed=0

strip() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }

if [ "$what" = all ] || [ "$what" = spec ]; then
  # NNLUA_TEST_DEVICE=cuda: every spec with cuda as the default device (spec/default_device.lua)
  busted --lua="$NNLUA_BIN" --helper=spec/default_device.lua --output=utfTerminal $gpu_tags "$@" spec 2>&1 | tee "$log"
  # Summary line: "12 successes / 0 failures / 1 errors / 0 pending : 0.5 seconds"
  summary=$(strip "$log" | grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' | tail -n 1)
  if [ -z "$summary" ]; then
    echo "run_tests: busted did not finish (no summary line)" >&2
    failed=$((failed + 1))
  else
    set -- $summary
    passed=$((passed + $1))
    failed=$((failed + $4 + $7))
  fi
fi

if [ "$what" = all ] || [ "$what" = ctest ]; then
  (cd "$build" && ctest --output-on-failure) 2>&1 | tee "$log"
  # "100% tests passed, 0 tests failed out of 3"
  summary=$(strip "$log" | grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' | tail -n 1)
  if [ -n "$summary" ]; then
    f=$(echo "$summary" | sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    t=$(echo "$summary" | sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
    passed=$((passed + t - f))
    failed=$((failed + f))
  elif ! strip "$log" | grep -q 'No tests were found'; then
    echo "run_tests: ctest did not finish (no summary line)" >&2
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
