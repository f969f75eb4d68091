/* A program that single-steps itself: it sets the trap flag, runs `stepped_block` (six
 * instructions the library could execute in place of a step: nop, push, mov, pop, nop, ret),
 * clears the flag, and exits with the number of SIGTRAPs its handler counted. A tracer must
 * not change that number, breakpoints on the block included (tests/emulation.rs). Each of those
 * traps must look as it does natively: si_code TRAP_TRACE, the PC past a new instruction (not
 * the previous trap's); one that does not sets bit 6 (64) of the exit code.
 * With the argument "int3_long": executes `int $3` in its two-byte form (CD 03) twice instead,
 * a SIGTRAP like an int3's whose byte before the PC is not 0xCC; exits with the count (2). */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <ucontext.h>

static volatile int traps;
static volatile int stepping, odd;
static volatile greg_t last_pc;

static void on_trap(int sig, siginfo_t *info, void *context) {
    (void)sig;
    greg_t pc = ((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
    if (stepping && (info->si_code != TRAP_TRACE || pc == last_pc))
        odd = 64;
    last_pc = pc;
    traps++;
}

void stepped_block(void);
__asm__(".text\n"
        ".globl stepped_block\n"
        ".type stepped_block, @function\n"
        "stepped_block:\n"
        "  nop\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  pop %rbp\n"
        "  nop\n"
        "  ret\n"
        ".size stepped_block, .-stepped_block\n");

int main(int argc, char **argv) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    if (argc > 1 && !strcmp(argv[1], "int3_long")) {
        __asm__ volatile(".byte 0xcd, 0x03\n nop\n .byte 0xcd, 0x03\n nop\n" ::: "memory");
        return traps;
    }
    stepping = 1;
    __asm__ volatile("pushfq\n orq $0x100, (%%rsp)\n popfq\n"
                     "sub $128, %%rsp\n" /* keep the red zone */
                     "call stepped_block\n"
                     "add $128, %%rsp\n"
                     "pushfq\n andq $~0x100, (%%rsp)\n popfq\n"
                     :
                     :
                     : "memory", "cc");
    return traps | odd;
}
