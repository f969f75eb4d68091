/* A program that single-steps itself: it sets the trap flag, runs `stepped_block` (six
 * instructions the library could execute in place of a step: nop, push, mov, pop, nop, ret),
 * clears the flag, and exits with the number of SIGTRAPs its handler counted. A tracer must
 * not change that number, breakpoints on the block included (tests/emulation.rs).
 * With the argument "int3_long": executes `int $3` in its two-byte form (CD 03) twice instead,
 * a SIGTRAP like an int3's whose byte before the PC is not 0xCC; exits with the count (2). */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

static volatile int traps;

static void on_trap(int sig) {
    (void)sig;
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
    sa.sa_handler = on_trap;
    sigaction(SIGTRAP, &sa, NULL);
    if (argc > 1 && !strcmp(argv[1], "int3_long")) {
        __asm__ volatile(".byte 0xcd, 0x03\n nop\n .byte 0xcd, 0x03\n nop\n" ::: "memory");
        return traps;
    }
    __asm__ volatile("pushfq\n orq $0x100, (%%rsp)\n popfq\n"
                     "sub $128, %%rsp\n" /* keep the red zone */
                     "call stepped_block\n"
                     "add $128, %%rsp\n"
                     "pushfq\n andq $~0x100, (%%rsp)\n popfq\n"
                     :
                     :
                     : "memory", "cc");
    return traps;
}
