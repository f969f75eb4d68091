/* What bench/target.c and its tracers agree on, besides the addresses the Makefile takes from
 * its symbol table (build/bench/target_addrs.h, which includes this file). */
#ifndef BENCH_TARGET_H
#define BENCH_TARGET_H
#define BENCH_MEM_SIZE (64u << 20) /* bench_mem, read by workload 4 */
#endif
