# nnlua: a thin wrapper over CMake so the README's two commands work on a fresh machine.
#   make          release build into build/
#   make demo     install what is missing, build, run the main job on real data
#   make test     install what is missing, build, run every test (busted specs + ctest)
#   make install PREFIX=/usr/local   bin/nnlua, include/nnlua.h + nl_tensor.h, lib/libnnlua.{a,so},
#                                    lib/pkgconfig/nnlua{,-static}.pc, lib/lua/5.4/torch.so
#   make asan     sanitizer build in build-asan/ and the spec suite under it
#   make bench    the benchmark suites vs PyTorch (scripts/bench/run.sh, scripts/bench/bench.sh)
BUILD   ?= build
PREFIX  ?= /usr/local
NNLUA_CUDA ?= AUTO
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all setup configure demo test test-asan spec ctest install asan bench clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DNNLUA_CUDA=$(NNLUA_CUDA) $(CMAKE_FLAGS)

setup:
	@sh scripts/setup.sh

DEMO    = scripts/train_fashion_mnist.lua

# Trains seed 000's CNN on Fashion-MNIST (2 epochs), prints the test accuracy, writes
# fashion_out/{checkpoint.safetensors,loss_curve.png,predictions.png}.
demo:
	@$(MAKE) --no-print-directory setup all
	$(BUILD)/nnlua $(DEMO)

test: setup all
	@sh scripts/run_tests.sh $(BUILD)
	@$(MAKE) --no-print-directory test-asan

# Sanitizer build (ASan + UBSan + LeakSanitizer, CPU backend) and the whole test suite under it
# (issue 10); the caching allocator is off there so use-after-free cannot hide in its free lists.
test-asan: setup
	@$(MAKE) --no-print-directory BUILD=build-asan NNLUA_CUDA=OFF \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DNNLUA_SANITIZE=ON" all
	@ASAN_OPTIONS=allocator_may_return_null=1 NNLUA_CPU_CACHE_MB=0 sh scripts/run_tests.sh build-asan

spec: all
	@sh scripts/run_tests.sh $(BUILD) spec

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

asan: setup
	@$(MAKE) --no-print-directory BUILD=build-asan NNLUA_CUDA=OFF \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DNNLUA_SANITIZE=ON" all
	@ASAN_OPTIONS=allocator_may_return_null=1 sh scripts/run_tests.sh build-asan

bench: setup all
	@sh scripts/bench/run.sh $(BUILD)
	@sh scripts/bench/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
