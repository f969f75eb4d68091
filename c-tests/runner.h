/* A small test runner for the C tests of ptrace_dbg.
 *
 * Tests register themselves with TEST(name) { ... } (or TEST_TIMEOUT(name, seconds)). Each runs
 * in its own forked child, in its own process group, so a test that hangs or leaves tracees
 * behind is killed as a whole when it ends or times out. The first failing CHECK ends the test.
 *
 * Output: one line per test, "ok NAME" or "FAIL NAME: file:line: message", then the last line
 * "N passed, N failed". Usage: runner [SUBSTRING] runs only tests whose name contains it.
 * The exit status is 1 when any test failed.
 *
 * The runner itself does not use the library; CHECK_OK expands to calls of
 * ptrace_dbg_strerror/ptrace_dbg_last_error, so files using it include ptrace_dbg.h. */
#ifndef PTRACE_DBG_TEST_RUNNER_H
#define PTRACE_DBG_TEST_RUNNER_H

#define RUNNER_DEFAULT_TIMEOUT_S 60

struct runner_test {
    const char *name;
    void (*body)(void);
    int timeout_s;
    const char *file;
    int line;
    struct runner_test *next;
};

void runner_register(struct runner_test *test);
_Noreturn void runner_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST_TIMEOUT(name, seconds)                                                    \
    static void test_body_##name(void);                                                \
    static struct runner_test test_entry_##name = {#name, test_body_##name, (seconds), \
                                                   __FILE__, __LINE__, 0};             \
    __attribute__((constructor)) static void test_register_##name(void) {             \
        runner_register(&test_entry_##name);                                           \
    }                                                                                  \
    static void test_body_##name(void)

#define TEST(name) TEST_TIMEOUT(name, RUNNER_DEFAULT_TIMEOUT_S)

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) runner_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
    do {                                                                                  \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
        if (check_a_ != check_b_)                                                         \
            runner_fail(__FILE__, __LINE__, "%s == %s failed: %lld != %lld", #a, #b,      \
                        check_a_, check_b_);                                              \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                               \
    do {                                                                                 \
        const char *check_a_ = (a), *check_b_ = (b);                                     \
        if (check_a_ == 0 || check_b_ == 0 || strcmp(check_a_, check_b_) != 0)           \
            runner_fail(__FILE__, __LINE__, "%s == %s failed: \"%s\" != \"%s\"", #a, #b, \
                        check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
    } while (0)

/* The call returns `code`; on a mismatch, shows what it returned and the library's detail. */
#define CHECK_CODE(call, code)                                                             \
    do {                                                                                   \
        int check_rc_ = (call);                                                            \
        if (check_rc_ != (code))                                                           \
            runner_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %s: %s", #call, \
                        check_rc_, ptrace_dbg_strerror(check_rc_), #code,                  \
                        ptrace_dbg_last_error());                                          \
    } while (0)

#define CHECK_OK(call) CHECK_CODE(call, PTRACE_DBG_OK)

/* WITHIN(seconds, call): evaluates the int expression `call` under its own deadline. If it has
 * not returned after `seconds`, the test fails at once with "CALL did not return within N s"
 * at this line, instead of hanging until the test's own timeout. For tests of timeouts. */
void runner_deadline_arm(const char *file, int line, int seconds, const char *what);
int runner_deadline_disarm(int result);
#define WITHIN(seconds, call) \
    (runner_deadline_arm(__FILE__, __LINE__, (seconds), #call), runner_deadline_disarm(call))

#endif
