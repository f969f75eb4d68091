#!/bin/sh
# usage: bench/run.sh BENCH_DIR [smoke]
# Runs the harness twice, as is and with the whole process pinned to CPU 0 (taskset -c 0:
# tracer, the library's monitor thread, baselines and tracees all inherit it), and combines
# the two JSON files into BENCH_DIR/results.json. "smoke": tiny counts, one round, files named
# results-smoke*.json (a smoke run never overwrites a real one), and a check that the JSON is
# complete; it never judges speed. Extra arguments for bench go in BENCH_ARGS.
set -eu
dir=$1
mode=${2:-full}
case $mode in
full) args="" tag="" ;;
smoke) tag="-smoke" args="--rounds 1 --hits 200 --steps 500 --mem-mib 4 --peekdata-mib 1 --small 200 --threads 20 --gdb-hits 20 --gdb-rounds 1 --forks 20 --sys-rounds 1 --sys-getpid 2000 --sys-write 10 --sys-all 200 --smoke --lookups 2000" ;;
*) echo "usage: $0 BENCH_DIR [smoke]" >&2; exit 2 ;;
esac
# A bound on each pass in all, on top of the harness's own per-wait deadlines.
limit=""
command -v timeout >/dev/null 2>&1 && limit="timeout -s KILL 900"

status=0
# shellcheck disable=SC2086
$limit "$dir/bench" --bin "$dir" --pass unpinned --json "$dir/results$tag-unpinned.json" $args ${BENCH_ARGS:-} || status=1
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    # shellcheck disable=SC2086
    $limit taskset -c 0 "$dir/bench" --bin "$dir" --pass pinned --json "$dir/results$tag-pinned.json" \
        $args ${BENCH_ARGS:-} || status=1
    pinned="$dir/results$tag-pinned.json"
else
    echo "bench: no taskset (or CPU 0 not allowed): no pinned pass" >&2
    pinned=""
fi

{
    printf '{"unpinned": '
    cat "$dir/results$tag-unpinned.json"
    printf ', "pinned": '
    if [ -n "$pinned" ]; then cat "$pinned"; else printf 'null'; fi
    printf '}\n'
} > "$dir/results$tag.json"
echo "bench: both passes in $dir/results$tag.json"

if [ "$mode" = smoke ]; then
    python3 - "$dir/results$tag.json" <<'PY'
import json, math, sys
doc = json.load(open(sys.argv[1]))
want = {"1", "2", "3", "4a", "4b", "4c", "5", "7a", "7b", "8a", "8b", "8e", "9", "10a", "10b", "11", "12a", "12c", "12d", "12s", "12n"}
for name, run in doc.items():
    if run is None:
        continue
    for key in ("machine", "date", "rounds", "workloads", "many_threads", "failures"):
        assert key in run, (name, key)
    assert run["failures"] == 0, (name, "failures", run["failures"])
    ids = {w["id"] for w in run["workloads"]}
    assert want <= ids, (name, "workloads missing", want - ids)
    for w in run["workloads"]:
        for key in ("library_rates", "baseline_rates", "ratios"):
            assert len(w[key]) == run["rounds"] or w["id"].startswith("6") or w["id"] in ("12b", "12e", "12f"), (name, w["id"], key)
        r = w["median_ratio"]
        if w["id"].startswith("6") or w["id"] in ("12b", "12e", "12f"):
            continue  # gdb's few hits can drown in its startup noise at smoke counts
        assert isinstance(r, (int, float)) and math.isfinite(r) and r > 0, (name, w["id"], r)
    assert run["many_threads"]["host_threads_during"] > 0, name
print("bench-smoke: results-smoke.json is complete (%s)" % ", ".join(k for k, v in doc.items() if v))
PY
fi
exit $status
