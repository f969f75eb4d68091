# make mutants: mutation testing with cargo-mutants (`cargo install cargo-mutants --locked`) of
# the code where a wrong answer is silent rather than loud: the x86 decoder and emulator
# (src/sys/x86.rs), the breakpoint table and tracee memory (src/engine/breakpoints.rs), and the
# errno -> result code mapping (src/engine/error.rs, src/ffi/error.rs, src/ffi/codes.rs, and
# thread_error/attach_error in src/engine/tracer/mod.rs). Each group runs the fast tests that
# cover it, one mutant at a time. Not part of `make test`: 40-60 minutes on a busy 2-core box.
# Results: build/mutants/{x86,memory}/mutants.out/{caught,missed,timeout,unviable}.txt; a
# summary is printed at the end. Missed mutants judged equivalent are listed in README.md
# ("Mutation testing"); any other missed one wants a test.
#   MUTANTS_FLAGS   extra cargo-mutants flags (e.g. --shard 1/4, or --iterate to retest only
#                   what the last run missed)
MUTANTS_FLAGS ?=
MUTANTS_COMMON := -j 1 --timeout 60 --build-timeout 300 $(MUTANTS_FLAGS)
MUTANTS_MEMORY_FILES := src/engine/breakpoints.rs src/engine/error.rs src/ffi/error.rs \
	src/ffi/codes.rs src/engine/tracer/mod.rs
MUTANTS_MEMORY_ONLY := thread_error|attach_error|src/engine/breakpoints.rs|src/engine/error.rs|src/ffi/error.rs|src/ffi/codes.rs

.PHONY: mutants
mutants: tracees
	@$(CARGO) mutants --version >/dev/null 2>&1 || { echo "cargo-mutants is not installed: cargo install cargo-mutants --locked"; exit 1; }
	@mkdir -p $(BUILD)/mutants/x86 $(BUILD)/mutants/memory
	@# Exit codes 2 (missed) and 3 (timed out) still leave results to report.
	CARGO_PROFILE_DEV_DEBUG=0 $(CARGO) mutants $(MUTANTS_COMMON) -f src/sys/x86.rs \
		-o $(BUILD)/mutants/x86 -- --lib --test emulation || [ $$? -eq 2 -o $$? -eq 3 ]
	CARGO_PROFILE_DEV_DEBUG=0 $(CARGO) mutants $(MUTANTS_COMMON) \
		$(addprefix -f ,$(MUTANTS_MEMORY_FILES)) -F '$(MUTANTS_MEMORY_ONLY)' \
		-o $(BUILD)/mutants/memory -- --lib --test primitives --test thread_death --test emulation --test engine \
		|| [ $$? -eq 2 -o $$? -eq 3 ]
	@for g in x86 memory; do d=$(BUILD)/mutants/$$g/mutants.out; \
		printf 'mutants %-6s caught %s, missed %s, timed out %s, unviable %s\n' $$g \
			$$(cat $$d/caught.txt | wc -l) $$(cat $$d/missed.txt | wc -l) \
			$$(cat $$d/timeout.txt | wc -l) $$(cat $$d/unviable.txt | wc -l); \
		sed 's/^/  missed: /' $$d/missed.txt; done
