#!/bin/bash
# Prints the name of every function the header declares, one a line, sorted. Comments are
# removed by the preprocessor first, so a name mentioned in documentation does not count.
set -euo pipefail
header=${1:-include/ptrace_dbg.h}
"${CC:-gcc}" -E -P -x c "$header" |
    grep -oE '\bptrace_dbg_[a-z0-9_]+[[:space:]]*\(' |
    sed -E 's/[[:space:]]*\($//' |
    sort -u
