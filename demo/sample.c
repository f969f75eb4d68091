/* The program `make demo` traces: main starts three worker threads; each calls compute() three
 * times, says what it got, and exits; main joins them and exits with status 0.
 * compute() is the function the demo puts a breakpoint on: noinline and global, so it exists
 * as a real function with its own symbol. Built with -O1 -g -pthread (a PIE, gcc's default). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define WORKERS 3
#define STEPS 3

/* Some work whose arguments the demo reads from rdi (worker) and rsi (step). */
__attribute__((noinline)) int compute(int worker, int step) {
    int sum = 0;
    for (int i = 1; i <= step; i++) {
        sum += worker * i;
    }
    __asm__ volatile("" : "+r"(sum)); /* keep the loop: no closed form folded in */
    return sum;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    int total = 0;
    for (int step = 1; step <= STEPS; step++) {
        total += compute(id, step);
    }
    printf("worker %d: done, total %d\n", id, total);
    return NULL;
}

int main(void) {
    /* One write per line, so a reader on a pipe sees each line as soon as it is printed. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t threads[WORKERS];
    printf("main: starting %d workers\n", WORKERS);
    for (int i = 0; i < WORKERS; i++) {
        if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1)) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
    }
    printf("main: all workers joined, exiting with status 0\n");
    return 0;
}
