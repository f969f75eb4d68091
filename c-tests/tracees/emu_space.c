/* A scratch space for the emulation operand-space test (tests/emulation.rs): a 5 GiB
 * read+execute anonymous mapping (MAP_NORESERVE: nothing is allocated until written), so the
 * test can write any instruction in its middle and point rip-relative loads 2 GiB either way.
 * The test stops the program in arena_ready, runs its instructions there, then kills it. */
#include <stddef.h>
#include <sys/mman.h>

unsigned char *volatile arena;

__attribute__((noinline)) void arena_ready(void) { __asm__ volatile("" ::: "memory"); }

int main(void) {
    void *p = mmap(NULL, 5UL << 30, PROT_READ | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 2;
    arena = p;
    arena_ready();
    return 0;
}
