# Top-level wrapper around CMake. The two commands a newcomer needs:
#   make demo   - build and run the showcase (MILLION=1: a million goroutines)
#   make test   - build and run the whole test suite
# Others: make bench, make install PREFIX=..., make asan, make tsan,
# make fuzz, make stress, make trace-demo, make clean (docs/testing.md:
# fuzz and stress; docs/debugging.md: trace-demo).

BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test demo bench install asan tsan fuzz stress cross clean
.PHONY: test-deps trace-demo

all: build

# Install what is missing (as root via apt-get), or print the exact command.
deps:
	@tools/deps.sh build

$(BUILD)/CMakeCache.txt:
	@tools/deps.sh build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Builds only the library and the demo. 100,000 goroutines in its first
# two steps (peak ~0.4 GiB); MILLION=1 for a million (a few GiB).
MILLION ?=
demo: $(BUILD)/CMakeCache.txt
	MAKEFLAGS=--no-print-directory cmake --build $(BUILD) --target demo -j$(JOBS)
	$(BUILD)/examples/demo $(if $(MILLION),--million)

# The execution trace (docs/debugging.md): run examples/trace_demo with
# GOROUTINE_TRACE at TRACE_PROCS Ps, keep the JSON in $(BUILD)/trace_demo.json
# (open it in ui.perfetto.dev) and draw its busiest 4 ms as docs/trace.png.
TRACE_PROCS ?= 4

trace-demo: $(BUILD)/CMakeCache.txt
	@tools/deps.sh trace
	MAKEFLAGS=--no-print-directory cmake --build $(BUILD) --target trace_demo -j$(JOBS)
	GOMAXPROCS=$(TRACE_PROCS) GOROUTINE_TRACE=$(BUILD)/trace_demo.json $(BUILD)/examples/trace_demo
	tools/trace_render.py $(BUILD)/trace_demo.json $(BUILD)/trace_demo.svg
	rsvg-convert -w 1600 -b white -o docs/trace.png $(BUILD)/trace_demo.svg
	@echo "trace-demo: $(BUILD)/trace_demo.json (open in ui.perfetto.dev), docs/trace.png"

# run.sh: every workload in C and Go; hook.sh: libgoroutine-hook against
# real Redis and PostgreSQL (skipped when BENCH_ONLY picks a subset).
bench: test-deps build
	@tools/deps.sh bench
	bench/run.sh $(BUILD); s=$$?; \
	if [ -z "$(BENCH_ONLY)" ]; then bench/hook.sh $(BUILD) || s=1; fi; exit $$s

# The servers and client libraries the libc-hook tests use (before CMake
# looks for them).
test-deps:
	@tools/deps.sh test

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Sanitizer runs: the library and the tests built with ASan+UBSan / TSan.
# make tsan (and CI) runs only the tests labelled "tsan": each test at
# GOMAXPROCS 2 and 8, not 1 (see tests/CMakeLists.txt: at GOMAXPROCS 1 TSan
# sees every goroutine switch as a synchronisation, and the run would take
# half as long again). `make tsan TSAN_LABEL=` runs every test. Like Go's
# race builds, the TSan run also shuffles run order (GOROUTINE_SCHED_RANDOM=1),
# and checks the lock order (GO_LOCKRANK).
TSAN_LABEL ?= tsan

asan:
	@tools/deps.sh build
	@tools/deps.sh test
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGO_SANITIZE=address -DGO_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)

tsan:
	@tools/deps.sh tsan
	@tools/deps.sh test
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGO_SANITIZE=thread -DGO_LOCKRANK=ON -DGO_BUILD_BENCH=OFF
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && GOROUTINE_SCHED_RANDOM=1 ctest --output-on-failure -j$(JOBS) $(if $(TSAN_LABEL),-L $(TSAN_LABEL))

# libFuzzer targets (fuzz/), built with clang, ASan and UBSan in build-fuzz,
# each run for FUZZ_SECONDS from the seeds in fuzz/corpus/ (docs/testing.md).
FUZZ_SECONDS ?= 60

fuzz:
	@tools/deps.sh fuzz
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGO_SANITIZE=address -DGO_FUZZ=ON -DGO_BUILD_TESTS=OFF -DGO_BUILD_BENCH=OFF -DGO_BUILD_EXAMPLES=OFF
	cmake --build build-fuzz -j$(JOBS)
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# The conservation stress test (tests/test_stress.c) at STRESS_MESSAGES:
# at GOMAXPROCS 1, 2 and 8, then under ASan+UBSan and under TSan (with
# GOROUTINE_SCHED_RANDOM=1, as make tsan) at GOMAXPROCS 2 and 8.
STRESS_MESSAGES ?= 10000000

stress: build
	@for n in 1 2 8; do echo "stress: GOMAXPROCS=$$n"; \
	  GOMAXPROCS=$$n $(BUILD)/tests/test_stress $(STRESS_MESSAGES) || exit 1; done
	@tools/deps.sh tsan
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGO_SANITIZE=address -DGO_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS) --target test_stress
	@for n in 2 8; do echo "stress: ASan GOMAXPROCS=$$n"; \
	  GOMAXPROCS=$$n build-asan/tests/test_stress $(STRESS_MESSAGES) || exit 1; done
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGO_SANITIZE=thread -DGO_LOCKRANK=ON -DGO_BUILD_BENCH=OFF
	cmake --build build-tsan -j$(JOBS) --target test_stress
	@for n in 2 8; do echo "stress: TSan GOMAXPROCS=$$n"; \
	  GOROUTINE_SCHED_RANDOM=1 GOMAXPROCS=$$n build-tsan/tests/test_stress $(STRESS_MESSAGES) || exit 1; done

# The aarch64 context switch, cross-compiled and run under qemu-user.
cross:
	tools/cross-aarch64.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
