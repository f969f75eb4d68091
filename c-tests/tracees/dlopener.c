/* dlopener LIBRARY: after 100 ms dlopens LIBRARY, calls its f 1,000 times, dlcloses it, maps
 * fresh memory where f was (if the page is free) and calls checkpoint(old f) so a test can
 * look at that memory. Exits 0 when every f(i) returned i + 1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

__attribute__((noinline)) void checkpoint(void *old_f) {
    __asm__ volatile("" : : "r"(old_f) : "memory");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        return 2;
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    int (*f)(int) = (int (*)(int))dlsym(h, "f");
    if (!f) {
        return 4;
    }
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        sum += f(i) - i;
    }
    void *old = (void *)f;
    dlclose(h);
    void *page = (void *)((uintptr_t)old & ~(uintptr_t)4095);
    void *m = mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (m == page) {
        memset(m, 0x90, 4096);
    }
    checkpoint(old);
    return sum == 1000 ? 0 : 5;
}
