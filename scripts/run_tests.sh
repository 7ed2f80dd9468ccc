#!/bin/sh
# Runs every test: the busted specs inside the real host, then the C tests through ctest.
#   scripts/run_tests.sh BUILD_DIR [spec|ctest]
set -e
build=${1:-build}
what=${2:-all}
cd "$(dirname "$0")/.."
status=0
if [ "$what" = all ] || [ "$what" = spec ]; then
  busted --lua="$build/nnlua" --output=utfTerminal spec || status=1
fi
if [ "$what" = all ] || [ "$what" = ctest ]; then
  (cd "$build" && ctest --output-on-failure) || status=1
fi
exit $status
