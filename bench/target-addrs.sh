#!/bin/sh
# usage: bench/target-addrs.sh BENCH_TARGET > target_addrs.h
# The addresses the tracers need, from the symbol table of the (non-PIE) bench target.
set -eu
nm "$1" | awk '
    / [Tt] bench_hit$/    { print "#define BENCH_HIT_ADDR 0x" $1 "ull"; n++ }
    / [Tt] bench_unused$/ { print "#define BENCH_UNUSED_ADDR 0x" $1 "ull"; n++ }
    / [Tt] bench_spin$/   { print "#define BENCH_SPIN_ADDR 0x" $1 "ull"; n++ }
    / [Tt] bench_ready$/  { print "#define BENCH_READY_ADDR 0x" $1 "ull"; n++ }
    / [Bb] bench_mem$/    { print "#define BENCH_MEM_ADDR 0x" $1 "ull"; n++ }
    / [BbDd] bench_counter$/ { print "#define BENCH_COUNTER_ADDR 0x" $1 "ull"; n++ }
    / [Tt] bench_call_site$/ { print "#define BENCH_CALL_SITE_ADDR 0x" $1 "ull"; n++ }
    END { if (n != 7) { print "target-addrs.sh: symbols missing" > "/dev/stderr"; exit 1 } }'
# BENCH_MEM_SIZE and friends.
echo "#include \"bench_target.h\""
