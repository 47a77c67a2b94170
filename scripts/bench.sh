#!/usr/bin/env bash
# Runs the relay-bench scenarios of docs/benchmarks.md against a relayd that relay-bench spawns
# (RelWithDebInfo), RUNS times each, and appends every JSON line to OUT with the load average
# seen before the run, since other work on the machine moves these figures.
#
#   scripts/bench.sh                      # all five scenarios, 3 runs each
#   SCENARIOS="fanout rtt" RUNS=1 scripts/bench.sh --threads 2
#   QUIET=1 scripts/bench.sh              # before each run, wait (up to 15 min) for a moment
#                                         # when the CPUs are idle
#   PRIORITY=1 scripts/bench.sh           # (root) raise this session's scheduling weight
#                                         # while measuring; see "Shared machine" in the doc
#
# Extra arguments are passed to every relay-bench run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
runs=${RUNS:-3}
out=${OUT:-$build/bench-results.jsonl}
scenarios=${SCENARIOS:-"fanout rtt idle storm tunnel"}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Two jobs at most: the machine is shared.
cmake --build "$build" --target relay-bench relayd --parallel 2

# A shared machine: other work (compilers, test runs) steals the CPU the figures depend on.
# "Quiet" means the CPUs were at least 90% idle over the last second, five seconds running.
idle_percent() {
    local a b
    read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat
    sleep 1
    read -r _ b1 b2 b3 b4 b5 b6 b7 _ </proc/stat
    a=$((a1 + a2 + a3 + a4 + a5 + a6 + a7)) b=$((b1 + b2 + b3 + b4 + b5 + b6 + b7))
    echo $(((b4 - a4) * 100 / (b - a > 0 ? b - a : 1)))
}
wait_quiet() {
    local deadline=$((SECONDS + 900)) quiet=0
    while ((SECONDS < deadline)); do
        if (($(idle_percent) >= 90)); then quiet=$((quiet + 1)); else quiet=0; fi
        ((quiet >= 5)) && return 0
    done
    echo "# no quiet moment within 15 minutes; running anyway" | tee -a "$out"
}

# With autogroup scheduling every session gets an equal share of the CPUs whatever its
# processes' nice values, so a nice value alone does not help; the session's own weight does.
# It goes back to normal however the script ends.
if [[ ${PRIORITY:-0} == 1 ]]; then
    previous_nice=$(awk '{print $3}' /proc/self/autogroup)
    echo -20 >/proc/self/autogroup
    trap 'echo "$previous_nice" >/proc/self/autogroup' EXIT
fi

bench=$build/examples/relay-bench/relay-bench
relayd=$build/relayd/relayd
for scenario in $scenarios; do
    for run in $(seq 1 "$runs"); do
        [[ ${QUIET:-0} == 1 ]] && wait_quiet
        echo "# $scenario run $run/$runs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
        "$bench" "$scenario" --spawn "$relayd" "$@" | tee -a "$out"
        echo "# after: load average $(cut -d' ' -f1-3 /proc/loadavg); idle now: $(idle_percent)%" | tee -a "$out"
    done
done
echo "results appended to $out"
