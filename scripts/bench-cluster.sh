#!/usr/bin/env bash
# Several relayd nodes on one Redis, on this host, measured with relay-bench (docs/benchmarks.md,
# "Several nodes"). Starts one redis-server (restarted by this script whenever it exits, as
# systemd's Restart=always would) and NODES relayd nodes sharing one SQLite file, a JWT secret and
# a sealing key, each under its own descriptor limit; runs the scenarios; stops everything.
#
#   scripts/bench-cluster.sh                          # idle fanout rtt recover, 4 nodes
#   SCENARIOS="fanout rtt" scripts/bench-cluster.sh
#   HOUSEHOLDS=20000 SHARDS=4 HOLD=90 SCENARIOS=idle scripts/bench-cluster.sh
#
# idle: HOUSEHOLDS households (1 robot and 2 phones of one user; 60,000 connections for 20,000)
#   held open by SHARDS relay-bench processes at once, since one process may not have more than
#   `ulimit -n` descriptors; each process spreads a household's three connections over three
#   nodes. Once all are connected this script reads each node's VmRSS and /stats and Redis's
#   VmRSS and used_memory.
# fanout: 1 robot on node 1 and 100 apps spread over the others (both phases).
# rtt: command round trips, app and robot on one node of the cluster, then on two nodes; and,
#   for reference, a single relayd without Redis (spawned by relay-bench).
# recover: relay-bench kills redis-server, this script's loop starts it again (empty: no
#   persistence), relay-bench measures until cross-node commands and events work again.
#
# Settings: NODES (4), NODE_THREADS (RELAY_THREADS per node, 1), NODE_FD_LIMIT (ulimit -n per
# node, 20000), NODE_ENV (more KEY=VALUE settings for every node, e.g. RELAY_BUSY_POLL_US=200;
# give the spawned reference relay the same with --relay-env), BENCH_THREADS (relay-bench io threads, 2), RTT_COUNT (5000), BUILD_DIR
# (build-bench), OUT (BUILD_DIR/bench-cluster-results.jsonl), SKIP_BUILD=1, PRIORITY=1 (root:
# raise this session's scheduling weight, as scripts/bench.sh). Extra arguments go to every
# relay-bench run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
out=${OUT:-$build/bench-cluster-results.jsonl}
nodes=${NODES:-4}
node_threads=${NODE_THREADS:-1}
node_fd_limit=${NODE_FD_LIMIT:-20000}
bench_threads=${BENCH_THREADS:-2}
households=${HOUSEHOLDS:-20000}
shards=${SHARDS:-4}
hold=${HOLD:-90}
rtt_count=${RTT_COUNT:-5000}
scenarios=${SCENARIOS:-"idle fanout rtt recover"}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # Two jobs at most: the machine is shared.
    cmake --build "$build" --target relay-bench relayd --parallel 2
fi
bench=$build/examples/relay-bench/relay-bench
relayd=$build/relayd/relayd
mkdir -p "$(dirname "$out")"

dir=$(mktemp -d /tmp/relay-bench-cluster-XXXXXX)
node_pids=() node_ports=() supervisor=''
previous_nice=''
cleanup() {
    local pid
    [[ -z $previous_nice ]] || echo "$previous_nice" >/proc/self/autogroup
    for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    touch "$dir/stop"
    [[ -s $dir/redis.pid ]] && kill -TERM "$(cat "$dir/redis.pid")" 2>/dev/null || true
    [[ -n $supervisor ]] && wait "$supervisor" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
# PRIORITY=1 (root): this session's scheduling weight raised while it runs, as scripts/bench.sh
# does (docs/benchmarks.md, "A shared machine"); the nodes and Redis it starts share it.
if [[ ${PRIORITY:-0} == 1 ]]; then
    previous_nice=$(awk '{print $3}' /proc/self/autogroup)
    echo -20 >/proc/self/autogroup
fi

free_port() {
    local p
    while p=$((20000 + RANDOM % 40000)); (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do :; done
    echo "$p"
}
wait_for() { # seconds, command…: polls every 50 ms
    local deadline=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
redis_pid() { cat "$dir/redis.pid"; }

# ---- Redis, started again whenever it exits until the script ends.
redis_port=$(free_port)
(
    while [[ ! -e $dir/stop ]]; do
        rm -f "$dir/redis.pid"
        redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$dir" \
            --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --maxclients 10000 || true
    done
) &
supervisor=$!
wait_for 10 test -s "$dir/redis.pid"
wait_for 10 redis-cli -p "$redis_port" ping >/dev/null

# ---- The nodes: one database file, one set of secrets, each its own port and node id.
jwt_secret=$(openssl rand -hex 32)
secret_key=$(openssl rand -hex 32)
start_node() {
    local i=$1 port
    port=$(free_port)
    (
        ulimit -n "$node_fd_limit"
        exec env -i PATH="$PATH" \
            RELAY_HOST=127.0.0.1 RELAY_PORT="$port" RELAY_NODE_ID="bench-$i" \
            RELAY_REDIS_URL="redis://127.0.0.1:$redis_port" \
            RELAY_DATABASE="$dir/relay.db" RELAY_JWT_SECRET="$jwt_secret" RELAY_SECRET_KEY="$secret_key" \
            RELAY_THREADS="$node_threads" RELAY_LOG_LEVEL=warn RELAY_SCRYPT_LN=10 \
            RELAY_APP_RATE=1000000/1000000 RELAY_ROBOT_RATE=1000000/1000000 \
            RELAY_SEND_QUEUE_MAX_MESSAGES=1000000 RELAY_SEND_QUEUE_MAX_BYTES=1073741824 \
            RELAY_ACCESS_TTL=86400 RELAY_AUTH_TIMEOUT=60 \
            ${NODE_ENV:-} \
            "$relayd" serve
    ) >"$dir/node-$i.log" 2>&1 &
    node_pids+=($!)
    node_ports+=("$port")
    if ! wait_for 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/health"; then
        echo "node $i did not become healthy:" >&2
        cat "$dir/node-$i.log" >&2
        exit 1
    fi
}
# The first node alone: it creates the database's tables.
for i in $(seq 1 "$nodes"); do start_node "$i"; done

urls=$(printf 'http://127.0.0.1:%s,' "${node_ports[@]}")
urls=${urls%,}
pids=$(
    IFS=,
    echo "${node_pids[*]}"
)
echo "# $(date -u +%FT%TZ) $nodes nodes (RELAY_THREADS=$node_threads, ulimit -n $node_fd_limit) on $urls," \
    "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$redis_port; $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"

cluster_args() { echo --relay "$urls" --relayd-pid "$pids" --redis-pid "$(redis_pid)"; }

run_idle() {
    local per=$((households / shards)) k before=() ready
    for i in "${!node_pids[@]}"; do before+=("$(rss_kb "${node_pids[$i]}")"); done
    local redis_before
    redis_before=$(rss_kb "$(redis_pid)")
    local bench_pids=()
    for k in $(seq 1 "$shards"); do
        rm -f "$dir/ready-$k"
        "$bench" idle $(cluster_args) --threads "$bench_threads" --robots "$per" --apps $((2 * per)) --users "$per" \
            --hold "$hold" --timeout 600 --ready-file "$dir/ready-$k" --json "$@" >"$dir/idle-$k.json" 2>"$dir/idle-$k.err" &
        bench_pids+=($!)
    done
    # Ready when every process has its connections up; not when one of them has ended already.
    all_ready() {
        local k
        for k in $(seq 1 "$shards"); do
            [[ -e $dir/ready-$k ]] || return 1
            kill -0 "${bench_pids[$((k - 1))]}" 2>/dev/null || return 1
        done
    }
    one_ended() {
        local p
        for p in "${bench_pids[@]}"; do kill -0 "$p" 2>/dev/null || return 0; done
        return 1
    }
    local deadline=$((SECONDS + 900))
    until all_ready || one_ended || ((SECONDS > deadline)); do sleep 0.2; done
    if all_ready; then
        sleep 2 # let deferred work settle, as relay-bench does before each reading
        local total=0 line='' i stats held rss
        for i in "${!node_pids[@]}"; do
            stats=$(curl -fsS "http://127.0.0.1:${node_ports[$i]}/stats")
            held=$(jq '.robots_online + .apps_connected' <<<"$stats")
            rss=$(rss_kb "${node_pids[$i]}")
            total=$((total + held))
            line+=$(jq -nc --argjson node $((i + 1)) --argjson held "$held" --argjson before "${before[$i]}" \
                --argjson rss "$rss" --argjson fds "$(ls "/proc/${node_pids[$i]}/fd" | wc -l)" \
                '{node:$node,connections:$held,open_fds:$fds,rss_before_kb:$before,rss_held_kb:$rss,
                  kb_per_connection:(if $held > 0 then (($rss - $before) / $held * 10 | round) / 10 else null end)}'),
        done
        local redis_rss redis_mem
        redis_rss=$(rss_kb "$(redis_pid)")
        redis_mem=$(redis-cli -p "$redis_port" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
        jq -nc --argjson nodes "[${line%,}]" --argjson total "$total" --argjson rb "$redis_before" \
            --argjson rr "$redis_rss" --argjson rm "$redis_mem" --argjson keys "$(redis-cli -p "$redis_port" dbsize)" \
            '{scenario:"idle-cluster",connections:$total,target:">= 60000",met:($total >= 60000),nodes:$nodes,
              redis_rss_before_kb:$rb,redis_rss_held_kb:$rr,redis_used_memory_bytes:$rm,redis_keys:$keys}' | tee -a "$out"
    else
        echo "# idle: not every relay-bench process got all its connections up" | tee -a "$out"
    fi
    for k in "${!bench_pids[@]}"; do
        wait "${bench_pids[$k]}" || echo "# idle shard $((k + 1)) failed: $(tail -3 "$dir/idle-$((k + 1)).err")" | tee -a "$out"
        cat "$dir/idle-$((k + 1)).json" >>"$out"
    done
}

for scenario in $scenarios; do
    echo "# $scenario, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    case $scenario in
    idle) run_idle "$@" ;;
    fanout)
        "$bench" fanout $(cluster_args) --threads "$bench_threads" "$@" | tee -a "$out" || true
        ;;
    rtt)
        echo "# rtt: app and robot on node 1" | tee -a "$out"
        "$bench" rtt --relay "http://127.0.0.1:${node_ports[0]}" --relayd-pid "${node_pids[0]}" \
            --count "$rtt_count" "$@" | tee -a "$out" || true
        echo "# rtt: app on node 1, robot on node 2" | tee -a "$out"
        "$bench" rtt $(cluster_args) --count "$rtt_count" "$@" | tee -a "$out" || true
        echo "# rtt: one relayd without Redis (RELAY_THREADS=$node_threads)" | tee -a "$out"
        "$bench" rtt --spawn "$relayd" --relay-threads "$node_threads" --count "$rtt_count" "$@" | tee -a "$out" || true
        ;;
    recover)
        "$bench" recover $(cluster_args) --redis "127.0.0.1:$redis_port" "$@" | tee -a "$out" || true
        wait_for 10 redis-cli -p "$redis_port" ping >/dev/null
        ;;
    *) echo "unknown scenario $scenario" >&2 ;;
    esac
    echo "# after $scenario: load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
done
for i in "${!node_pids[@]}"; do
    if [[ -s $dir/node-$((i + 1)).log ]]; then
        echo "# node $((i + 1)) logged:" | tee -a "$out"
        tail -5 "$dir/node-$((i + 1)).log" | sed 's/^/#   /' | tee -a "$out"
    fi
done
echo "results appended to $out"
