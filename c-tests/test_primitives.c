/* The debugging primitives through the header, against the tracee: breakpoints, single step,
 * registers, a function called by hand, memory (bulk, partial, read-only text, our int3s
 * hidden). Addresses come from the tracee's ELF symbol table plus its load base. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 10000

static uint64_t symbol(ptrace_dbg_process *p, const char *name) {
    uint64_t addr = symbol_address(pid_of(p), tracee_path(), name);
    if (!addr) runner_fail(__FILE__, __LINE__, "no symbol %s in the tracee", name);
    return addr;
}

/* Continues until the main thread hits the breakpoint at `addr`; fails on anything else than
 * stops of the start-up. */
static void run_to_breakpoint(ptrace_dbg_process *p, uint64_t addr) {
    for (int i = 0; i < 100; i++) {
        int32_t trigger = 0;
        CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
        if (cause.kind == PTRACE_DBG_CAUSE_BREAKPOINT) {
            CHECK_EQ_INT(cause.pc, addr);
            return;
        }
    }
    CHECK(!"no breakpoint hit within 100 stops");
}

static int32_t run_to_exit_code(ptrace_dbg_process *p) {
    for (int i = 0; i < 1000; i++) {
        int rc = continue_and_wait(p, WAIT_MS, NULL);
        if (rc == PTRACE_DBG_E_EXITED) {
            int32_t code = -1000;
            CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
            return code;
        }
        CHECK_OK(rc);
    }
    CHECK(!"no exit within 1000 stops");
    return -1;
}

/* Reads tracee memory directly through /proc/PID/mem (what the kernel really holds). */
static void raw_read(pid_t pid, uint64_t addr, void *buf, size_t len) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, buf, len, (off_t)addr), (ssize_t)len);
    close(fd);
}

TEST(breakpoint_hits_report_cause_pc_and_stay_armed) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"bp_loop", "5", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    CHECK_CODE(ptrace_dbg_add_breakpoint(p, target), PTRACE_DBG_E_BREAKPOINT_EXISTS);
    CHECK_CODE(ptrace_dbg_remove_breakpoint(p, target + 1), PTRACE_DBG_E_NO_BREAKPOINT);
    for (int hit = 0; hit < 5; hit++) {
        int32_t trigger = 0;
        CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
        CHECK_EQ_INT(trigger, pid);
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, pid, &cause));
        CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_BREAKPOINT);
        CHECK_EQ_INT(cause.pc, target);
        int32_t state = -1;
        CHECK_OK(ptrace_dbg_thread_state(p, pid, &state));
        CHECK_EQ_INT(state, PTRACE_DBG_STATE_STOPPED_BREAKPOINT);
        uint64_t pc = 0;
        CHECK_OK(ptrace_dbg_get_pc(p, pid, &pc));
        CHECK_EQ_INT(pc, target);
        uint64_t rdi = 99; /* target_fn(i): the loop counter is its argument */
        size_t rdi_index = 0;
        CHECK_OK(ptrace_dbg_reg_index("rdi", &rdi_index));
        CHECK_OK(ptrace_dbg_get_reg(p, pid, rdi_index, &rdi));
        CHECK_EQ_INT(rdi, hit);
    }
    CHECK_OK(ptrace_dbg_remove_breakpoint(p, target));
    CHECK_CODE(ptrace_dbg_remove_breakpoint(p, target), PTRACE_DBG_E_NO_BREAKPOINT);
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(stopped_only_calls_give_bad_state_while_running) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "0", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn");
    CHECK_OK(ptrace_dbg_continue(p));
    ptrace_dbg_regs regs;
    uint64_t value;
    unsigned char buf[8];
    size_t done = 99;
    CHECK_CODE(ptrace_dbg_add_breakpoint(p, target), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_remove_breakpoint(p, target), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_get_regs(p, pid, &regs), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_get_pc(p, pid, &value), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_set_sp(p, pid, 0), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_step(p, pid), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_peek(p, pid, target, buf, sizeof buf, &done), PTRACE_DBG_E_BAD_STATE);
    CHECK_EQ_INT(done, 0);
    CHECK_CODE(ptrace_dbg_poke(p, pid, target, buf, sizeof buf, NULL), PTRACE_DBG_E_BAD_STATE);
    CHECK_OK(ptrace_dbg_stop(p));
    CHECK_OK(ptrace_dbg_get_regs(p, pid, &regs));
    ptrace_dbg_process_free(p);
}

TEST(step_executes_one_instruction_and_steps_over_a_breakpoint) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"bp_loop", "3", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn");
    uint64_t size = symbol_size(tracee_path(), "target_fn");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);
    uint64_t pc = 0, prev = target;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ptrace_dbg_step(p, pid));
        CHECK_OK(ptrace_dbg_get_pc(p, pid, &pc));
        CHECK(pc > prev && pc < target + size); /* straight-line code at the function's start */
        CHECK(pc - prev <= 15);                  /* one x86 instruction at most */
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, pid, &cause));
        CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_STOPPED);
        prev = pc;
    }
    /* The breakpoint stayed armed: the next call hits it again. */
    run_to_breakpoint(p, target);
    CHECK_CODE(ptrace_dbg_step(p, 0x3ffffff0), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(registers_by_struct_index_name_pc_and_sp_agree) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"bp_loop", "1", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);
    ptrace_dbg_regs regs;
    CHECK_OK(ptrace_dbg_get_regs(p, pid, &regs));
    CHECK_EQ_INT(regs.rip, target);
    const uint64_t *as_array = (const uint64_t *)&regs;
    for (size_t i = 0; i < ptrace_dbg_reg_count(); i++) {
        uint64_t value = 0;
        CHECK_OK(ptrace_dbg_get_reg(p, pid, i, &value));
        if (value != as_array[i])
            runner_fail(__FILE__, __LINE__, "%s: %#" PRIx64 " != %#" PRIx64,
                        ptrace_dbg_reg_name(i), value, as_array[i]);
    }
    uint64_t sp = 0, pc = 0;
    CHECK_OK(ptrace_dbg_get_sp(p, pid, &sp));
    CHECK_EQ_INT(sp, regs.rsp);
    CHECK_OK(ptrace_dbg_get_pc(p, pid, &pc));
    CHECK_EQ_INT(pc, regs.rip);

    /* Writes by each route read back by the others. */
    size_t rax = 0, r12 = 0;
    CHECK_OK(ptrace_dbg_reg_index("rax", &rax));
    CHECK_OK(ptrace_dbg_reg_index("r12", &r12));
    CHECK_OK(ptrace_dbg_set_reg(p, pid, rax, 0x1122334455667788ull));
    ptrace_dbg_regs changed;
    CHECK_OK(ptrace_dbg_get_regs(p, pid, &changed));
    CHECK_EQ_INT(changed.rax, 0x1122334455667788ull);
    CHECK_EQ_INT(changed.rbx, regs.rbx);
    changed.r12 = 0xabcdef;
    CHECK_OK(ptrace_dbg_set_regs(p, pid, &changed));
    uint64_t value = 0;
    CHECK_OK(ptrace_dbg_get_reg(p, pid, r12, &value));
    CHECK_EQ_INT(value, 0xabcdef);
    CHECK_OK(ptrace_dbg_set_sp(p, pid, regs.rsp - 64));
    CHECK_OK(ptrace_dbg_get_sp(p, pid, &sp));
    CHECK_EQ_INT(sp, regs.rsp - 64);
    CHECK_OK(ptrace_dbg_set_pc(p, pid, target + 1));
    CHECK_OK(ptrace_dbg_get_pc(p, pid, &pc));
    CHECK_EQ_INT(pc, target + 1);
    /* Put everything back; the program runs on to a clean exit. */
    CHECK_OK(ptrace_dbg_set_regs(p, pid, &regs));
    CHECK_OK(ptrace_dbg_remove_breakpoint(p, target));
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(a_function_called_by_hand_returns_its_result_in_rax) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"bp_loop", "1", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn"), add = symbol(p, "add_numbers"),
             landing = symbol(p, "landing");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);
    ptrace_dbg_regs saved, call;
    CHECK_OK(ptrace_dbg_get_regs(p, pid, &saved));
    call = saved;
    /* add_numbers(40, 2), returning to `landing`, which holds a breakpoint. The stack below
     * the red zone, 16-byte aligned before the call pushed its return address. */
    uint64_t sp = ((saved.rsp - 512) & ~(uint64_t)15) - 8;
    CHECK_OK(ptrace_dbg_poke(p, pid, sp, &landing, sizeof landing, NULL));
    call.rsp = sp;
    call.rip = add;
    call.rdi = 40;
    call.rsi = 2;
    call.rax = 0;
    CHECK_OK(ptrace_dbg_set_regs(p, pid, &call));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, landing));
    run_to_breakpoint(p, landing);
    uint64_t rax = 0;
    size_t rax_index = 0;
    CHECK_OK(ptrace_dbg_reg_index("rax", &rax_index));
    CHECK_OK(ptrace_dbg_get_reg(p, pid, rax_index, &rax));
    CHECK_EQ_INT(rax, 42);
    /* Back to where it was: the program finishes as if nothing happened. */
    CHECK_OK(ptrace_dbg_set_regs(p, pid, &saved));
    CHECK_OK(ptrace_dbg_remove_breakpoint(p, landing));
    CHECK_OK(ptrace_dbg_remove_breakpoint(p, target));
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(peek_reads_a_megabyte_and_hides_our_breakpoint_bytes) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"pattern", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn"), pattern = symbol(p, "pattern");
    unsigned char before[16], hidden[16], raw[16];
    CHECK_OK(ptrace_dbg_peek(p, pid, target, before, sizeof before, NULL));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);

    size_t done = 0;
    CHECK_OK(ptrace_dbg_peek(p, pid, target, hidden, sizeof hidden, &done));
    CHECK_EQ_INT(done, sizeof hidden);
    CHECK(memcmp(before, hidden, sizeof before) == 0);
    raw_read(pid, target, raw, sizeof raw);
    CHECK_EQ_INT(raw[0], 0xcc); /* the kernel holds our int3 ... */
    CHECK(hidden[0] != 0xcc);   /* ... peek shows the original byte */
    CHECK(memcmp(raw + 1, hidden + 1, sizeof raw - 1) == 0);
    /* A read that starts inside the range and one that ends on the breakpoint. */
    unsigned char one = 0;
    CHECK_OK(ptrace_dbg_peek(p, pid, target, &one, 1, NULL));
    CHECK_EQ_INT(one, before[0]);
    unsigned char tail[8];
    CHECK_OK(ptrace_dbg_peek(p, pid, target - 7, tail, 8, NULL));
    CHECK_EQ_INT(tail[7], before[0]);

    size_t len = 1 << 20;
    unsigned char *buf = malloc(len);
    CHECK(buf != NULL);
    CHECK_OK(ptrace_dbg_peek(p, pid, pattern, buf, len, &done));
    CHECK_EQ_INT(done, len);
    for (size_t i = 0; i < len; i++)
        if (buf[i] != (unsigned char)(i * 7 % 251))
            runner_fail(__FILE__, __LINE__, "pattern byte %zu is %d", i, buf[i]);
    free(buf);
    done = 99;
    CHECK_OK(ptrace_dbg_peek(p, pid, pattern, NULL, 0, &done)); /* len 0: nothing, fine */
    CHECK_EQ_INT(done, 0);
    ptrace_dbg_process_free(p);
}

/* The end of a readable mapping with nothing mapped right after it, from /proc/PID/maps. */
static uint64_t end_before_a_gap(pid_t pid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    unsigned long long prev_end = 0, found = 0;
    int prev_writable = 0;
    while (fgets(line, sizeof line, f) && !found) {
        unsigned long long start, end;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3) continue;
        if (prev_end && prev_writable && start > prev_end) found = prev_end;
        prev_end = end;
        prev_writable = perms[0] == 'r' && perms[1] == 'w';
    }
    fclose(f);
    CHECK(found != 0);
    return found;
}

TEST(peek_and_poke_into_unmapped_memory_transfer_up_to_it_and_fault) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"pattern", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);
    uint64_t end = end_before_a_gap(pid);
    unsigned char buf[200], copy[200];
    memset(buf, 0x5a, sizeof buf);
    size_t done = 0;
    CHECK_CODE(ptrace_dbg_peek(p, pid, end - 100, buf, sizeof buf, &done), PTRACE_DBG_E_FAULT);
    CHECK_EQ_INT(done, 100);
    CHECK(ptrace_dbg_last_error()[0] != '\0');
    raw_read(pid, end - 100, copy, 100);
    CHECK(memcmp(buf, copy, 100) == 0);
    /* Write back the same 100 bytes plus 100 that cannot land. */
    done = 0;
    CHECK_CODE(ptrace_dbg_poke(p, pid, end - 100, buf, sizeof buf, &done), PTRACE_DBG_E_FAULT);
    CHECK_EQ_INT(done, 100);
    done = 99;
    CHECK_CODE(ptrace_dbg_peek(p, pid, end, buf, 8, &done), PTRACE_DBG_E_FAULT);
    CHECK_EQ_INT(done, 0);
    CHECK_CODE(ptrace_dbg_peek(p, pid, 0, buf, 8, NULL), PTRACE_DBG_E_FAULT);
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(poke_patches_read_only_text) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"poke", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn"), check = symbol(p, "check_poke");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    run_to_breakpoint(p, target);
    /* check_poke() returns 1; make it `xor eax, eax; ret`: return 0. */
    static const unsigned char code[] = {0x31, 0xc0, 0xc3};
    size_t done = 0;
    CHECK_OK(ptrace_dbg_poke(p, pid, check, code, sizeof code, &done));
    CHECK_EQ_INT(done, sizeof code);
    unsigned char back[3], raw[3];
    CHECK_OK(ptrace_dbg_peek(p, pid, check, back, sizeof back, NULL));
    CHECK(memcmp(back, code, sizeof code) == 0);
    raw_read(pid, check, raw, sizeof raw);
    CHECK(memcmp(raw, code, sizeof code) == 0);
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}

TEST(detach_leaves_the_text_as_it_was_and_the_program_working) {
    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"sleeper", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_attach(child, &p));
    uint64_t target = symbol(p, "target_fn"), add = symbol(p, "add_numbers");
    unsigned char before[32], after[32];
    raw_read(child, target, before, sizeof before);
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, add));
    raw_read(child, target, after, sizeof after);
    CHECK_EQ_INT(after[0], 0xcc);
    CHECK_OK(ptrace_dbg_detach(p));
    ptrace_dbg_process_free(p);
    raw_read(child, target, after, sizeof after);
    CHECK(memcmp(before, after, sizeof before) == 0);
    raw_read(child, add, after, 1);
    CHECK(after[0] != 0xcc);
    CHECK_EQ_INT(kill(child, SIGUSR1), 0);
    kill_child(child);
}

/* A poke over a breakpoint: the breakpoint stays (int3 in memory, it still hits), peek shows the
 * poked bytes, and the poked byte under it is the new original, executed when the thread goes
 * on: poked while elsewhere (the breakpoint inside the range), then again while the thread sits
 * on it. check_poke() decides the exit code: 1 as built, 5 after the first poke, 0 after the
 * second. */
TEST(poke_over_a_breakpoint_keeps_it_and_the_poked_bytes_run) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"poke", NULL});
    pid_t pid = pid_of(p);
    uint64_t target = symbol(p, "target_fn"), check = symbol(p, "check_poke");
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    CHECK_OK(ptrace_dbg_add_breakpoint(p, check));
    run_to_breakpoint(p, target);

    /* 4 bytes as they are, then `xor eax, eax; add eax, 5; ret` from check_poke on (its first
     * byte differs from the one built there, b8 of `mov eax, 1`): the breakpoint is in the
     * middle of the range. */
    unsigned char range[10];
    CHECK_OK(ptrace_dbg_peek(p, pid, check - 4, range, 4, NULL));
    static const unsigned char mov5[] = {0x31, 0xc0, 0x83, 0xc0, 0x05, 0xc3};
    memcpy(range + 4, mov5, sizeof mov5);
    size_t done = 0;
    CHECK_OK(ptrace_dbg_poke(p, pid, check - 4, range, sizeof range, &done));
    CHECK_EQ_INT(done, sizeof range);
    unsigned char raw[10], back[10];
    raw_read(pid, check - 4, raw, sizeof raw);
    CHECK_EQ_INT(raw[4], 0xcc); /* our int3 stays in memory */
    CHECK(memcmp(raw, range, 4) == 0 && memcmp(raw + 5, range + 5, 5) == 0);
    CHECK_OK(ptrace_dbg_peek(p, pid, check - 4, back, sizeof back, NULL));
    CHECK(memcmp(back, range, sizeof range) == 0); /* peek shows the poked byte, not int3 */

    /* It still hits; sitting on it, poke `nop; xor eax, eax; ret` (the nop executed in place). */
    run_to_breakpoint(p, check);
    static const unsigned char xor0[] = {0x90, 0x31, 0xc0, 0xc3};
    CHECK_OK(ptrace_dbg_poke(p, pid, check, xor0, sizeof xor0, NULL));
    raw_read(pid, check, raw, sizeof xor0);
    CHECK_EQ_INT(raw[0], 0xcc);
    CHECK(memcmp(raw + 1, xor0 + 1, sizeof xor0 - 1) == 0);
    CHECK_OK(ptrace_dbg_peek(p, pid, check, back, sizeof xor0, NULL));
    CHECK(memcmp(back, xor0, sizeof xor0) == 0);
    CHECK_EQ_INT(run_to_exit_code(p), 0);
    ptrace_dbg_process_free(p);
}
