#!/usr/bin/env bash
# Soak: a field-like load on one relayd for a long time, and whether it stays healthy (see
# docs/benchmarks.md "Soak"). relay-bench's soak scenario starts relayd from the build tree on a
# free 127.0.0.1 port with a fresh SQLite file, makes the households over HTTP, drives them and
# samples relayd's VmRSS, descriptors and CPU from /proc; this script builds what it needs,
# raises the descriptor limit, keeps the samples and the summary, and draws the plot when
# gnuplot is there (optional: nothing else needs it).
#
#   scripts/soak.sh                     # 30 minutes, 1,000 households
#   scripts/soak.sh --minutes 5
#   scripts/soak.sh --minutes 1 --households 50 --replace-percent 30 --sample-interval 10
#
# Environment: BUILD_DIR (default build), OUT_DIR (default $BUILD_DIR/soak-<UTC time>),
# NO_BUILD=1 (use the binaries as they are; ctest does), RELAY_BENCH and RELAYD (their paths). Other arguments go to relay-bench
# (see `relay-bench --help`, soak). Exit status: relay-bench's (0 pass, 1 a check failed, with
# the reasons in the summary, 2 a usage error).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
out=${OUT_DIR:-$build/soak-$(date -u +%Y%m%dT%H%M%SZ)}

if [[ ${NO_BUILD:-0} != 1 ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # Two jobs at most: the machine may be shared.
    cmake --build "$build" --target relay-bench relayd --parallel 2
fi
bench=${RELAY_BENCH:-$build/examples/relay-bench/relay-bench}
relayd=${RELAYD:-$build/relayd/relayd}
for f in "$bench" "$relayd"; do
    [[ -x $f ]] || { echo "soak.sh: $f is missing (build relay-bench and relayd)" >&2; exit 2; }
done

# 1,000 households are 2,000 connections on each side: relay-bench raises its soft limit to the
# hard one and relayd inherits it; raise the hard one too where allowed (root).
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < 65536)); then ulimit -Hn 65536 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)"

mkdir -p "$out"
csv=$out/samples.csv
summary=$out/summary.txt
echo "soak.sh: samples in $csv, summary in $summary"
{
    echo "# $(date -u +%FT%TZ) $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$summary"
status=0
"$bench" soak --spawn "$relayd" --csv "$csv" "$@" | tee -a "$summary" || status=${PIPESTATUS[0]}
echo "# $(date -u +%FT%TZ) exit status $status, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$summary"

# The plot: optional, only when gnuplot is installed.
if [[ -s $csv ]] && command -v gnuplot >/dev/null; then
    gnuplot <<EOF || echo "soak.sh: gnuplot failed; the CSV is complete without the plot" >&2
set terminal svg size 900,560 dynamic font "sans,11"
set output "$out/soak.svg"
set datafile separator ","
set multiplot layout 2,1
set grid
set key bottom right
set xrange [0:*]
set xlabel "minutes"
set ylabel "VmRSS (MiB)"
set y2label "descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "$csv" using (\$1/60):(\$2/1024) with linespoints title "relayd VmRSS (MiB)", \
     "" using (\$1/60):3 axes x1y2 with linespoints title "relayd descriptors"
unset y2label
unset y2tics
set ylabel "CPU %"
plot "$csv" every ::2 using (\$1/60):5 with linespoints title "relayd CPU % (of one core)"
unset multiplot
EOF
    [[ -s $out/soak.svg ]] && echo "soak.sh: plot in $out/soak.svg"
fi
if ((status == 0)); then
    echo "soak.sh: pass"
else
    echo "soak.sh: FAIL (exit $status); reasons in $summary (lines 'note: FAIL')" >&2
fi
exit "$status"
