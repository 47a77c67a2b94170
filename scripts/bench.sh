#!/usr/bin/env bash
# Runs the relay-bench scenarios of docs/benchmarks.md against a relayd that relay-bench spawns
# (RelWithDebInfo), RUNS times each, and appends every JSON line to OUT with the load average
# seen before the run, since other work on the machine moves these figures.
#
#   scripts/bench.sh                      # all six scenarios, 3 runs each
#   SCENARIOS="fanout rtt" RUNS=1 scripts/bench.sh --threads 2
#   STORES=1 scripts/bench.sh             # api and storm on a SQLite file and on a PostgreSQL
#                                         # server the script starts (PG_BIN, default
#                                         # /usr/lib/postgresql/15/bin; PG_OPTIONS, e.g.
#                                         # "-c synchronous_commit=off", go to its postgres)
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
stores=${STORES:-0}
if [[ $stores == 1 ]]; then
    scenarios=${SCENARIOS:-"api storm"}
else
    scenarios=${SCENARIOS:-"api fanout rtt idle storm tunnel"}
fi

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

# PostgreSQL for STORES=1: its own server on a free loopback port, data in a temp directory,
# run as the postgres user when this is root (it refuses root), stopped and removed at exit.
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir='' pg_port=''
as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_postgres() {
    [[ -n $pg_dir ]] || return 0
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
start_postgres() {
    pg_dir=$(mktemp -d /tmp/relay-bench-pg-XXXXXX)
    ((EUID == 0)) && chown postgres: "$pg_dir"
    as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U relay --auth=trust -E UTF8 >/dev/null
    # A port nobody answers on; postgres itself fails loudly should it be taken meanwhile.
    while pg_port=$((20000 + RANDOM % 40000)); (: <"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do :; done
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 ${PG_OPTIONS:-}" start >/dev/null
}
# Each run gets an empty database, as SQLite runs get a fresh file.
fresh_postgres_database() {
    PGOPTIONS=--client-min-messages=warning as_pg "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U relay -d postgres \
        -c 'DROP DATABASE IF EXISTS relay_bench' -c 'CREATE DATABASE relay_bench' >/dev/null
    echo "postgresql://relay@127.0.0.1:$pg_port/relay_bench"
}

# With autogroup scheduling every session gets an equal share of the CPUs whatever its
# processes' nice values, so a nice value alone does not help; the session's own weight does.
# It goes back to normal however the script ends, and the PostgreSQL server is stopped.
previous_nice=''
cleanup() {
    stop_postgres
    [[ -z $previous_nice ]] || echo "$previous_nice" >/proc/self/autogroup
}
trap cleanup EXIT
if [[ ${PRIORITY:-0} == 1 ]]; then
    previous_nice=$(awk '{print $3}' /proc/self/autogroup)
    echo -20 >/proc/self/autogroup
fi

if [[ $stores == 1 ]]; then
    start_postgres
    echo "# PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port ${PG_OPTIONS:-}" | tee -a "$out"
    databases="sqlite postgresql"
else
    databases=default
fi

bench=$build/examples/relay-bench/relay-bench
relayd=$build/relayd/relayd
# Backends alternate run by run, so that a change in the machine's load meets both alike.
for scenario in $scenarios; do
    for run in $(seq 1 "$runs"); do
        for database in $databases; do
            [[ ${QUIET:-0} == 1 ]] && wait_quiet
            case $database in
            default) db_args=() ;;
            sqlite) db_args=(--database temp-file) ;;
            postgresql) db_args=(--database "$(fresh_postgres_database)"
                --database-pid "$(head -1 "$pg_dir/data/postmaster.pid")") ;;
            esac
            echo "# $scenario on $database run $run/$runs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" |
                tee -a "$out"
            "$bench" "$scenario" --spawn "$relayd" "${db_args[@]}" "$@" | tee -a "$out"
            echo "# after: load average $(cut -d' ' -f1-3 /proc/loadavg); idle now: $(idle_percent)%" | tee -a "$out"
        done
    done
done
echo "results appended to $out"
