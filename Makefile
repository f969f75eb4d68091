# ptrace_dbg: the C world's front door; cargo does the Rust building.
#   make            the release library (target/release/libptrace_dbg.{so,a}) and the header
#   make test       every check: fmt, clippy, Rust tests, header freshness, C tests, install
#   make install    PREFIX=/usr/local DESTDIR= LIBDIR=$(PREFIX)/lib : library, header, .pc file
#   make uninstall  the same variables: removes what install put there
#   make demo       launch a multi-threaded sample under the library and show every stop
#   make clean
# Build outputs go to target/ (cargo) and build/ (everything else); both are gitignored.

CARGO ?= cargo
CC := $(if $(filter default,$(origin CC)),gcc,$(CC))
CXX := $(if $(filter default,$(origin CXX)),g++,$(CXX))
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR := $(firstword $(subst ., ,$(VERSION)))
RELEASE := target/release
SO := $(RELEASE)/libptrace_dbg.so
ARCHIVE := $(RELEASE)/libptrace_dbg.a
HEADER := include/ptrace_dbg.h
BUILD := build
# What the static archive needs besides itself, from
# `cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs`.
LIBS_PRIVATE := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# Rust test binaries are killed after this many seconds in all (nextest also ends a single
# test after 2 minutes, see .config/nextest.toml).
RUST_TEST_TIMEOUT ?= 1200

# Hook: C tests. Every c-tests/test_*.c is linked with the runner into one binary,
# $(C_TEST_BIN), against the shared library; add sources here that are not named test_*.c.
C_TEST_SRCS := $(sort $(wildcard c-tests/test_*.c)) c-tests/tracee_util.c
C_TEST_BIN := $(BUILD)/c-tests/ptrace_dbg_tests
# The tests' shared helpers (finding and starting tracees, /proc, ELF symbols).
$(C_TEST_BIN): c-tests/tracee_util.h
C_WARN := -Wall -Wextra -Wpedantic -Werror
C_TEST_CFLAGS := -std=c11 $(C_WARN) -g -pthread -Iinclude -Ic-tests
# The C tests load the library by its SONAME, libptrace_dbg.so.0, which cargo does not create:
# $(DEV_LIB) holds links to the freshly built library under both names.
DEV_LIB := $(BUILD)/lib
DEV_SO := $(DEV_LIB)/libptrace_dbg.so.$(MAJOR)
C_TEST_LDFLAGS := -L$(DEV_LIB) -Wl,-rpath,$(abspath $(DEV_LIB)) -lptrace_dbg -pthread

# Hook: tracee programs. Every c-tests/tracees/NAME.c becomes $(BUILD)/tracees/NAME.
TRACEE_SRCS := $(sort $(wildcard c-tests/tracees/*.c))
TRACEES := $(TRACEE_SRCS:c-tests/tracees/%.c=$(BUILD)/tracees/%)
TRACEE_CFLAGS := -O1 -g -pthread

# Hook: further parts live in mk/*.mk (Python binding, C++ wrapper, reliability, ...). Each
# may add targets to EXTRA_TESTS, which `make test` runs after the C tests.
EXTRA_TESTS :=
-include $(sort $(wildcard mk/*.mk))

.PHONY: all test install uninstall clean demo tracees c-tests rust-test header-check FORCE

all: $(SO) $(ARCHIVE) $(HEADER)

# cargo knows when to rebuild; make asks it every time and then looks at the file times.
$(SO) $(ARCHIVE) &: FORCE
	$(CARGO) build --release
$(HEADER): $(SO) ;

$(DEV_SO): $(SO)
	@mkdir -p $(@D)
	ln -sfn $(abspath $(SO)) $@
	ln -sfn $(@F) $(DEV_LIB)/libptrace_dbg.so

tracees: $(TRACEES)
$(BUILD)/tracees/%: c-tests/tracees/%.c
	@mkdir -p $(@D)
	$(CC) $(TRACEE_CFLAGS) -o $@ $<

$(C_TEST_BIN): c-tests/runner.c c-tests/runner.h $(C_TEST_SRCS) $(DEV_SO) $(HEADER) Makefile
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) -o $@ c-tests/runner.c $(C_TEST_SRCS) $(C_TEST_LDFLAGS)

# The C examples of examples/c (the C tests run them): built against the development library.
$(C_TEST_BIN): | $(BUILD)/examples/trace_pipeline
$(BUILD)/examples/%: examples/c/%.c $(DEV_SO) $(HEADER)
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) -o $@ $< $(C_TEST_LDFLAGS)

$(BUILD)/c-tests/runner_selftest: c-tests/runner.c c-tests/runner.h c-tests/runner_selftest.c
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) -o $@ c-tests/runner.c c-tests/runner_selftest.c

# The dlopen test is not linked against the library; its function list comes from the header.
$(BUILD)/c-tests/header_functions.h: $(HEADER) c-tests/header-functions.sh
	@mkdir -p $(@D)
	c-tests/header-functions.sh $(HEADER) | sed 's/.*/PTRACE_DBG_FUNCTION(&)/' > $@.tmp && mv $@.tmp $@
$(BUILD)/c-tests/dlopen_check: c-tests/runner.c c-tests/runner.h c-tests/dlopen_check.c $(BUILD)/c-tests/header_functions.h
	$(CC) $(C_TEST_CFLAGS) -I$(BUILD)/c-tests -DPTRACE_DBG_SO_PATH='"$(abspath $(SO))"' \
		-o $@ c-tests/runner.c c-tests/dlopen_check.c -ldl

test: demo-check bench-smoke
	$(CARGO) fmt --check
	$(MAKE) --no-print-directory all tracees
	$(MAKE) --no-print-directory header-check
	$(CARGO) clippy --all-targets -- -D warnings
	$(MAKE) --no-print-directory rust-test
	$(MAKE) --no-print-directory c-tests
	timeout 120 python3 -B -m unittest -v tests/python/test_ctypes.py
	$(if $(strip $(EXTRA_TESTS)),$(MAKE) --no-print-directory $(EXTRA_TESTS))
	c-tests/install-test.sh

# The committed header must be what the build generates.
header-check: $(HEADER)
	@git ls-files --error-unmatch $(HEADER) >/dev/null 2>&1 || { echo "$(HEADER) is not committed"; exit 1; }
	@test -z "$$(git status --porcelain -- include/)" || { git status --short -- include/; \
		git diff -- include/ | head -50; echo "the build changed include/: commit the header"; exit 1; }

rust-test: tracees
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "timeout $(RUST_TEST_TIMEOUT) $(CARGO) nextest run --no-fail-fast && $(CARGO) test --doc"; \
		timeout $(RUST_TEST_TIMEOUT) $(CARGO) nextest run --no-fail-fast && \
		timeout $(RUST_TEST_TIMEOUT) $(CARGO) test --doc; \
	else \
		echo "timeout $(RUST_TEST_TIMEOUT) $(CARGO) test"; \
		timeout $(RUST_TEST_TIMEOUT) $(CARGO) test; \
	fi

c-tests: $(C_TEST_BIN) $(BUILD)/c-tests/dlopen_check $(BUILD)/c-tests/runner_selftest $(DEV_SO) tracees
	$(C_TEST_BIN)
	$(BUILD)/c-tests/dlopen_check
	SO=$(SO) DEV_LIB=$(DEV_LIB) BUILD=$(BUILD) c-tests/abi-checks.sh

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 755 $(SO) $(DESTDIR)$(LIBDIR)/libptrace_dbg.so.$(VERSION)
	ln -sfn libptrace_dbg.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libptrace_dbg.so.$(MAJOR)
	ln -sfn libptrace_dbg.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libptrace_dbg.so
	install -m 644 $(ARCHIVE) $(DESTDIR)$(LIBDIR)/libptrace_dbg.a
	install -m 644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/ptrace_dbg.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
		ptrace_dbg.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/ptrace_dbg.pc
	@$(LDCONFIG_STEP)

# A real install (no DESTDIR) as root refreshes the dynamic linker's cache, as most C
# libraries' install rules do; then, if the linker still cannot find the library (a LIBDIR
# outside /etc/ld.so.conf*, or no root), it says what to do.
define LDCONFIG_STEP
if [ -z "$(DESTDIR)" ]; then \
	if [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then echo ldconfig; ldconfig; fi; \
	if ! { command -v ldconfig >/dev/null && ldconfig -p | grep -qF "$(LIBDIR)/libptrace_dbg.so.$(MAJOR)"; }; then \
		echo "note: the dynamic linker does not find $(LIBDIR)/libptrace_dbg.so.$(MAJOR) yet: run 'sudo ldconfig' if $(LIBDIR) is in /etc/ld.so.conf*, else set LD_LIBRARY_PATH=$(LIBDIR) or link with -Wl,-rpath,$(LIBDIR)"; \
	fi; \
fi
endef

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libptrace_dbg.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libptrace_dbg.so.$(MAJOR) \
		$(DESTDIR)$(LIBDIR)/libptrace_dbg.so $(DESTDIR)$(LIBDIR)/libptrace_dbg.a \
		$(DESTDIR)$(INCLUDEDIR)/ptrace_dbg.h $(DESTDIR)$(LIBDIR)/pkgconfig/ptrace_dbg.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# make demo: build/demo/demo launches build/demo/sample (three worker threads) under the
# library, breaks on its function compute, and prints every stop until the sample exits.
# demo-check (part of make test) runs it and looks for the lines that prove each part worked.
DEMO := $(BUILD)/demo
DEMO_CFLAGS := -std=c11 $(C_WARN) -g
.PHONY: demo-check

$(DEMO)/demo: demo/demo.c $(DEV_SO) $(HEADER) Makefile
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -Iinclude -o $@ demo/demo.c $(C_TEST_LDFLAGS)
$(DEMO)/sample: demo/sample.c Makefile
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -O1 -pthread -o $@ demo/sample.c

demo: $(DEMO)/demo $(DEMO)/sample
	$(DEMO)/demo $(DEMO)/sample

demo-check: $(DEMO)/demo $(DEMO)/sample
	@$(DEMO)/demo $(DEMO)/sample > $(DEMO)/demo.out 2>&1 || { cat $(DEMO)/demo.out; echo "demo-check: the demo failed"; exit 1; }
	@for want in "created a new thread" "hit the breakpoint at compute" "step 3" \
		"return address, in worker" "is exiting with status 0" "[sample] worker 3: done, total 30" \
		"The program exited with status 0." "was hit 9 times" "bytes, read by name)"; do \
		grep -qF "$$want" $(DEMO)/demo.out || { cat $(DEMO)/demo.out; echo "demo-check: no line with '$$want'"; exit 1; }; \
	done
	@echo "demo-check: ok"

clean:
	$(CARGO) clean
	rm -rf $(BUILD) bindings/python/build
	find bindings/python -name '*.egg-info' -prune -exec rm -rf {} +

# make bench: the benchmark harness of bench/ (bench/README.md): the library, through the
# header, against a raw-ptrace baseline (and gdb where installed), two passes (as is, then
# pinned to CPU 0), a table on stdout and build/bench/results.json. A few minutes.
# make bench-smoke (part of make test): the same with tiny counts; checks the JSON, not speed.
BENCH := $(BUILD)/bench
BENCH_CFLAGS := -std=c11 $(C_WARN) -O2 -g -pthread -Ibench -I$(BENCH)
.PHONY: bench bench-smoke bench-build

# Non-PIE, so the addresses are known at link time; endbr64 first in functions, as distros build.
$(BENCH)/bench-target: bench/target.c bench/bench_target.h Makefile
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -no-pie -fcf-protection=full -o $@ bench/target.c
$(BENCH)/target_addrs.h: $(BENCH)/bench-target bench/target-addrs.sh
	bench/target-addrs.sh $< > $@.tmp && mv $@.tmp $@
$(BENCH)/bench-baseline: bench/baseline.c $(BENCH)/target_addrs.h Makefile
	$(CC) $(BENCH_CFLAGS) -o $@ bench/baseline.c
$(BENCH)/bench: bench/bench.c $(BENCH)/target_addrs.h $(DEV_SO) $(HEADER) Makefile
	$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ bench/bench.c $(C_TEST_LDFLAGS) -lm

bench-build: $(BENCH)/bench $(BENCH)/bench-baseline $(BENCH)/bench-target

bench: bench-build
	bench/run.sh $(BENCH)

bench-smoke: bench-build
	bench/run.sh $(BENCH) smoke
