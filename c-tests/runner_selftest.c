/* Tests of the runner itself, run by abi-checks.sh, which expects exactly these outcomes.
 * Not part of the suite: most of these fail on purpose. */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

TEST(passes) { CHECK(1 + 1 == 2); }

TEST(fails_a_check) { CHECK(1 + 1 == 3); }

TEST(fails_an_int_comparison) { CHECK_EQ_INT(2 + 2, 5); }

TEST(crashes) { raise(SIGSEGV); }

TEST_TIMEOUT(hangs, 1) { pause(); }

/* Leaves a process in its group; it writes the pid where the script can check it was killed. */
TEST(leaves_a_process_behind) {
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        for (;;) pause();
    }
    const char *path = getenv("RUNNER_SELFTEST_PIDFILE");
    if (path) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "%d\n", (int)child);
        fclose(f);
    }
}

static int never_returns(void) {
    for (;;) pause();
    return 0;
}

/* A call under WITHIN that overstays fails at once, named, long before the test's timeout;
 * one that returns in time passes through its result. */
TEST_TIMEOUT(overstays_its_deadline, 30) {
    CHECK_EQ_INT(WITHIN(1, 40 + 2), 42);
    CHECK_EQ_INT(WITHIN(1, never_returns()), 0);
}
