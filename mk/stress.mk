# make stress: the reliability tests of issue 6 at full length (`make test` runs the same
# tests short, through nextest, as tests/*.rs). Release build, plain `cargo test` (nextest
# would end a test after 2 minutes); each step and the whole run print how long they took.
#   STRESS_CYCLES        stop/continue cycles of tests/stress.rs            (make test: 1000)
#   STRESS_BP_HITS       breakpoint hits by 8 threads in tests/stress.rs    (make test: 8000)
#   STRESS_RANDOM_CALLS  random API calls of tests/random_driver.rs          (make test: 100000)
#   STRESS_RANDOM_SEED   the driver's seed (default: its fixed one); a failure prints it
#   STRESS_FAULT_ROUNDS  repetitions of every scenario of tests/faults.rs    (make test: 1-3)
#   STRESS_DETACH_ROUNDS attach/hit/detach rounds of tests/gdb_cases.rs      (make test: 6)
#   STRESS_FOLLOW_BOMB   depth,width of the followed fork bomb of tests/follow.rs (make test:
#                        2,4 = 21 processes; 2,13 = 183, bounded at 200)
# The fault tests run one at a time so that their leak checks (threads, fds, children of the
# host) are strict.
STRESS_CYCLES ?= 10000
STRESS_BP_HITS ?= 100000
STRESS_RANDOM_CALLS ?= 1000000
STRESS_RANDOM_SEED ?=
STRESS_FAULT_ROUNDS ?= 100
STRESS_DETACH_ROUNDS ?= 200
STRESS_FOLLOW_BOMB ?= 2,13
STRESS_STEP_TIMEOUT ?= 3600

.PHONY: stress
stress: tracees
	$(CARGO) test --release --no-run --test stress --test random_driver --test faults \
		--test gdb_cases --test follow
	@set -e; t0=$$(date +%s); \
	step() { name=$$1; shift; s=$$(date +%s); echo "== stress: $$name"; \
		timeout $(STRESS_STEP_TIMEOUT) "$$@"; \
		echo "== stress: $$name: passed in $$(( $$(date +%s) - s )) s"; }; \
	step "tests/stress.rs, $(STRESS_CYCLES) cycles, $(STRESS_BP_HITS) breakpoint hits" \
		env STRESS_CYCLES=$(STRESS_CYCLES) STRESS_BP_HITS=$(STRESS_BP_HITS) \
		$(CARGO) test --release --test stress -- --nocapture; \
	step "tests/random_driver.rs, $(STRESS_RANDOM_CALLS) calls" env RANDOM_CALLS=$(STRESS_RANDOM_CALLS) \
		$(if $(STRESS_RANDOM_SEED),RANDOM_SEED=$(STRESS_RANDOM_SEED)) \
		$(CARGO) test --release --test random_driver -- --nocapture --test-threads=2; \
	step "tests/faults.rs, $(STRESS_FAULT_ROUNDS) rounds" env FAULT_ROUNDS=$(STRESS_FAULT_ROUNDS) \
		$(CARGO) test --release --test faults -- --nocapture --test-threads=1; \
	step "tests/gdb_cases.rs, $(STRESS_DETACH_ROUNDS) detach rounds" \
		env DETACH_ROUNDS=$(STRESS_DETACH_ROUNDS) \
		$(CARGO) test --release --test gdb_cases -- --nocapture; \
	step "tests/follow.rs, fork bomb $(STRESS_FOLLOW_BOMB)" \
		env FOLLOW_BOMB=$(STRESS_FOLLOW_BOMB) RUST_TEST_THREADS=1 \
		$(CARGO) test --release --test follow fork_bomb -- --nocapture; \
	echo "make stress: everything passed in $$(( $$(date +%s) - t0 )) s"
