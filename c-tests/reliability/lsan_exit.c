/* For the sanitizer build of the C tests (mk/reliability.mk, `make asan-test`): the runner
 * ends each test's forked child with _exit, which skips LeakSanitizer's at-exit check, so the
 * test binary is linked with -Wl,--wrap=_exit and a test child's successful exit checks for
 * leaks first. A leak makes the child exit with LSan's exit code (23), which the runner reports
 * as a failed test, with the leak's stacks on stderr.
 *
 * Only the runner's own children are checked: a process a test forks (and that exits with
 * _exit) has lost every thread but one, so whatever only those threads referenced would look
 * leaked. Failed tests (status != 0) leave at once: their half-done state is no leak worth
 * reading about. */
#define _GNU_SOURCE
#include <sanitizer/lsan_interface.h>
#include <sys/types.h>
#include <unistd.h>

_Noreturn void __real__exit(int status);
_Noreturn void __wrap__exit(int status);

static pid_t runner_pid;

__attribute__((constructor)) static void remember_runner(void) { runner_pid = getpid(); }

_Noreturn void __wrap__exit(int status) {
    if (status == 0 && getppid() == runner_pid) __lsan_do_leak_check();
    __real__exit(status);
}

/* Tests the sanitizer run leaves out (-Wl,--wrap=runner_register): those whose own code ASan
 * faults, not the library's. $ASAN_SKIP_TESTS holds their exact names, separated by spaces;
 * each skipped one is named on stderr so that it is not forgotten. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void __real_runner_register(struct runner_test *test);
void __wrap_runner_register(struct runner_test *test);

void __wrap_runner_register(struct runner_test *test) {
    const char *skip = getenv("ASAN_SKIP_TESTS");
    size_t len = strlen(test->name);
    for (const char *at = skip; at && (at = strstr(at, test->name)) != NULL; at += len) {
        int starts = at == skip || at[-1] == ' ';
        int ends = at[len] == '\0' || at[len] == ' ';
        if (starts && ends) {
            fprintf(stderr, "asan-test: skipping %s (ASAN_SKIP_TESTS)\n", test->name);
            return;
        }
    }
    __real_runner_register(test);
}
