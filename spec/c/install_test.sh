#!/bin/sh
# install_test.sh BUILD SOURCE: installs BUILD into a temporary prefix, then checks that the
# install tree works for its users: the nnlua binary, examples/embed.c compiled with
# pkg-config against the installed header and libraries (shared and static), and torch.so
# from lib/lua/5.4 in a stock lua5.4.
set -e
build=$(cd "${1:?usage: install_test.sh BUILD SOURCE}" && pwd)
src=$(cd "${2:?usage: install_test.sh BUILD SOURCE}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
for f in bin/nnlua include/nnlua.h include/nl_tensor.h lib/libnnlua.a lib/libnnlua.so \
         lib/pkgconfig/nnlua.pc lib/pkgconfig/nnlua-static.pc lib/lua/5.4/torch.so \
         lib/lua/5.4/nn.so lib/lua/5.4/optim.so lib/lua/5.4/data.so; do
  [ -e "$prefix/$f" ] || fail "missing $f in the install tree"
done

# The installed host.
out=$("$prefix/bin/nnlua" -e 'print(torch.zeros(2, 3):numel())') || fail "installed nnlua failed"
[ "$out" = 6 ] || fail "installed nnlua printed '$out', expected 6"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc=${CC:-cc}
# A sanitizer build (make asan) installs instrumented libraries: the embedder links the
# sanitizer runtime too, and a stock lua5.4 cannot load the module.
sanitize=0
if grep -q '^NNLUA_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  sanitize=1
  cc="$cc -fsanitize=address,undefined"
fi
expected="shares memory: yes
numel * 2 = 12
result: float64 [3, 2] = 6 6 6 6 6 6
released buf"

# Shared: libnnlua.so from the prefix (and nothing from the build or source tree).
cflags=$(pkg-config --cflags nnlua) || fail "pkg-config --cflags nnlua"
case "$cflags" in *"$src"*|*"$build"*) fail "cflags point into the source/build tree: $cflags" ;; esac
# shellcheck disable=SC2046
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/embed_shared" "$src/examples/embed.c" \
  $(pkg-config --cflags --libs nnlua) || fail "compiling examples/embed.c (shared) failed"
LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/embed_shared" | grep -q "$prefix/lib/libnnlua.so" ||
  fail "embed_shared does not load the installed libnnlua.so"
got=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/embed_shared") || fail "embed_shared exited with an error"
[ "$got" = "$expected" ] || fail "embed_shared printed:
$got
expected:
$expected"

# Static: libnnlua.a linked in, no libnnlua.so needed at run time.
# shellcheck disable=SC2046
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/embed_static" "$src/examples/embed.c" \
  $(pkg-config --cflags --libs nnlua-static) || fail "compiling examples/embed.c (static) failed"
if ldd "$tmp/embed_static" | grep -q libnnlua; then fail "embed_static still needs libnnlua.so"; fi
got=$("$tmp/embed_static") || fail "embed_static exited with an error"
[ "$got" = "$expected" ] || fail "embed_static printed:
$got
expected:
$expected"

# A stock lua5.4 with the installed module.
if [ $sanitize = 0 ] && command -v lua5.4 >/dev/null 2>&1; then
  got=$(lua5.4 -e "package.cpath='$prefix/lib/lua/5.4/?.so;'..package.cpath" \
    -e 'local torch = require "torch"; print(torch.zeros(4):numel())') || fail "lua5.4 could not require torch"
  [ "$got" = 4 ] || fail "lua5.4 printed '$got', expected 4"
fi
echo "install_test: ok (shared, static, lua5.4 module)"
