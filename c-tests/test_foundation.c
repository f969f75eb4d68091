/* The parts of the C API that need no traced process: codes, texts, versions, registers by
 * name, launch options, argument checks. */
#include "ptrace_dbg.h"
#include "runner.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int all_codes[] = {
    PTRACE_DBG_OK,
    PTRACE_DBG_E_INVALID_ARGUMENT,
    PTRACE_DBG_E_INVALID_HANDLE,
    PTRACE_DBG_E_BAD_STATE,
    PTRACE_DBG_E_NO_SUCH_THREAD,
    PTRACE_DBG_E_BREAKPOINT_EXISTS,
    PTRACE_DBG_E_NO_BREAKPOINT,
    PTRACE_DBG_E_PERMISSION,
    PTRACE_DBG_E_NO_SUCH_PROCESS,
    PTRACE_DBG_E_TIMEOUT,
    PTRACE_DBG_E_EXITED,
    PTRACE_DBG_E_FAULT,
    PTRACE_DBG_E_BUFFER_TOO_SMALL,
    PTRACE_DBG_E_OS,
    PTRACE_DBG_E_INTERNAL,
    PTRACE_DBG_E_NO_RESOURCE,
    PTRACE_DBG_E_NOT_SUPPORTED,
};
#define CODE_COUNT (sizeof all_codes / sizeof all_codes[0])

TEST(result_codes_are_zero_and_distinct_negatives) {
    CHECK_EQ_INT(PTRACE_DBG_OK, 0);
    for (size_t i = 1; i < CODE_COUNT; i++) {
        CHECK(all_codes[i] < 0);
        for (size_t j = 0; j < i; j++) CHECK(all_codes[i] != all_codes[j]);
    }
}

TEST(strerror_gives_distinct_nonempty_text_per_code) {
    const char *generic = ptrace_dbg_strerror(-1000);
    CHECK(generic != NULL && generic[0] != '\0');
    CHECK_STR_EQ(ptrace_dbg_strerror(1), generic);
    CHECK_STR_EQ(ptrace_dbg_strerror(-999), generic);
    CHECK_EQ_INT(PTRACE_DBG_E_NO_RESOURCE, -15);
    for (size_t i = 0; i < CODE_COUNT; i++) {
        const char *text = ptrace_dbg_strerror(all_codes[i]);
        CHECK(text != NULL && text[0] != '\0');
        CHECK(strcmp(text, generic) != 0);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(text, ptrace_dbg_strerror(all_codes[j])) != 0);
    }
}

static void *last_error_of_new_thread(void *arg) {
    (void)arg;
    /* Copied here: the thread-local text goes away with the thread. */
    const char *text = ptrace_dbg_last_error();
    char *copy = malloc(strlen(text) + 1);
    if (copy) memcpy(copy, text, strlen(text) + 1);
    return copy;
}

TEST(last_error_is_empty_then_set_by_a_failure_and_thread_local) {
    CHECK_STR_EQ(ptrace_dbg_last_error(), "");
    size_t index = 0;
    CHECK_CODE(ptrace_dbg_reg_index("no_such_register", &index), PTRACE_DBG_E_INVALID_ARGUMENT);
    const char *mine = ptrace_dbg_last_error();
    CHECK(strstr(mine, "no_such_register") != NULL);

    pthread_t thread;
    void *theirs = NULL;
    CHECK_EQ_INT(pthread_create(&thread, NULL, last_error_of_new_thread, NULL), 0);
    CHECK_EQ_INT(pthread_join(thread, &theirs), 0);
    CHECK(theirs != NULL);
    CHECK_STR_EQ((const char *)theirs, "");
    free(theirs);

    /* A successful call leaves the last failure's text. */
    CHECK_OK(ptrace_dbg_reg_index("rip", &index));
    CHECK(strstr(ptrace_dbg_last_error(), "no_such_register") != NULL);
}

TEST(invalid_argument_messages_name_the_argument) {
    size_t index = 7;
    CHECK_CODE(ptrace_dbg_reg_index(NULL, &index), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `name` is NULL");
    CHECK_CODE(ptrace_dbg_reg_index("rip", NULL), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `index` is NULL");
    CHECK(ptrace_dbg_reg_name(27) == NULL);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `index` is 27, out of range 0..27");
    CHECK_EQ_INT(index, 7); /* out-parameters are written only on success */
}

TEST(version_matches_the_header_macros) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", PTRACE_DBG_VERSION_MAJOR,
             PTRACE_DBG_VERSION_MINOR, PTRACE_DBG_VERSION_PATCH);
    CHECK_STR_EQ(ptrace_dbg_version(), expected);
}

TEST(signal_names_follow_the_kernel_numbers) {
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGHUP), "SIGHUP");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGTRAP), "SIGTRAP");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGBUS), "SIGBUS");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGSEGV), "SIGSEGV");
    CHECK_STR_EQ(ptrace_dbg_signal_name(16), "SIGSTKFLT");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGSTOP), "SIGSTOP");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGSYS), "SIGSYS");
    CHECK_STR_EQ(ptrace_dbg_signal_name(32), "SIG32");
    CHECK_STR_EQ(ptrace_dbg_signal_name(SIGRTMIN), "SIG34"); /* glibc keeps 32 and 33 */
    CHECK_STR_EQ(ptrace_dbg_signal_name(64), "SIG64");
    CHECK_STR_EQ(ptrace_dbg_signal_name(0), "<invalid>");
    CHECK_STR_EQ(ptrace_dbg_signal_name(-9), "<invalid>");
    CHECK_STR_EQ(ptrace_dbg_signal_name(65), "<invalid>");
}

TEST(register_names_and_indices_round_trip) {
    size_t count = ptrace_dbg_reg_count();
    CHECK_EQ_INT(count, sizeof(ptrace_dbg_regs) / sizeof(uint64_t));
    for (size_t i = 0; i < count; i++) {
        const char *name = ptrace_dbg_reg_name(i);
        CHECK(name != NULL);
        size_t index = (size_t)-1;
        CHECK_OK(ptrace_dbg_reg_index(name, &index));
        CHECK_EQ_INT(index, i);
    }
    CHECK(ptrace_dbg_reg_name(count) == NULL);
    CHECK(ptrace_dbg_reg_name((size_t)-1) == NULL);
    /* Index i names the i-th field of ptrace_dbg_regs. */
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, r15) / 8), "r15");
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, orig_rax) / 8), "orig_rax");
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, rip) / 8), "rip");
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, rsp) / 8), "rsp");
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, fs_base) / 8), "fs_base");
    CHECK_STR_EQ(ptrace_dbg_reg_name(offsetof(ptrace_dbg_regs, gs) / 8), "gs");
    size_t index = 0;
    CHECK_CODE(ptrace_dbg_reg_index("RIP", &index), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_reg_index("", &index), PTRACE_DBG_E_INVALID_ARGUMENT);
}

TEST(launch_options_init_sets_the_defaults) {
    ptrace_dbg_launch_options opts;
    memset(&opts, 0x5a, sizeof opts);
    ptrace_dbg_launch_options_init(&opts);
    CHECK(opts.cwd == NULL);
    CHECK_EQ_INT(opts.stdin_fd, -1);
    CHECK_EQ_INT(opts.stdout_fd, -1);
    CHECK_EQ_INT(opts.stderr_fd, -1);
    CHECK_EQ_INT(opts.flags, 0);
    ptrace_dbg_launch_options_init(NULL); /* a no-op, not a crash */
    CHECK(PTRACE_DBG_LAUNCH_DISABLE_ASLR != 0);
}

TEST(state_and_cause_constants_are_distinct) {
    const int states[] = {PTRACE_DBG_STATE_RUNNING,         PTRACE_DBG_STATE_SINGLE_STEPPING,
                          PTRACE_DBG_STATE_STOPPING,        PTRACE_DBG_STATE_STOPPED,
                          PTRACE_DBG_STATE_STOPPED_BREAKPOINT, PTRACE_DBG_STATE_STOPPED_SIGNAL,
                          PTRACE_DBG_STATE_STOPPED_THREAD_CREATE,
                          PTRACE_DBG_STATE_STOPPED_EXITING, PTRACE_DBG_STATE_EXITING,
                          PTRACE_DBG_STATE_EXITED,          PTRACE_DBG_STATE_DETACHED};
    const int causes[] = {PTRACE_DBG_CAUSE_STOPPED,       PTRACE_DBG_CAUSE_BREAKPOINT,
                          PTRACE_DBG_CAUSE_SIGNAL,        PTRACE_DBG_CAUSE_THREAD_CREATE,
                          PTRACE_DBG_CAUSE_THREAD_EXIT,   PTRACE_DBG_CAUSE_EXEC};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) CHECK_EQ_INT(states[i], i);
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++) CHECK_EQ_INT(causes[i], i);
    ptrace_dbg_cause cause = {0};
    CHECK_EQ_INT(sizeof cause.pc, 8);
    CHECK_EQ_INT(sizeof(ptrace_dbg_cause), 24);
}
