#!/usr/bin/env bash
# Two builds of Piston side by side on the WebSocket echo workload (bench/ws_echo.ru), to tell a
# real change in the per-message path from the noise of the machine: both servers run at once
# (BASE on 9501, NEW on 9502), are warmed up alike, then measured in alternating generator runs
# (BASE first in odd rounds, NEW first in even ones), and the pair is restarted PAIRS times, since
# each JVM start compiles its hot code a little differently. Per run: round-trips/s and the
# server's CPU time per round trip (user + system from /proc, less sensitive than the rate to
# what else the machine runs). Prints every run, the medians and NEW/BASE per pair.
#
#   git worktree add /tmp/base <commit> && (cd /tmp/base && mvn -q -o -DskipTests package)
#   BASE=/tmp/base bench/compare_builds.sh
#
# On a machine that cannot be kept quiet, run it with `nice -n -19` (and, where the kernel
# groups processes by session, `echo 0 > /proc/sys/kernel/sched_autogroup_enabled`, or the nice
# value counts only inside the session): the servers and the generator then get the CPU first.
#
# Environment (defaults in brackets):
#   BASE        checkout of the build to compare against, built (required)
#   NEW         checkout of the build under test, built [this checkout]
#   PAIRS       server pairs started one after the other [3]
#   ROUNDS      alternating runs per server and pair [4]
#   DURATION    seconds per run [5]
#   WARMUP      seconds of echo load on each server after it starts [20]
#   CONNECTIONS echo connections [100]
#   READY_TIMEOUT seconds to wait for each server's port [180]
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

BASE=${BASE:-}
NEW=${NEW:-$ROOT}
PAIRS=${PAIRS:-3}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-20}
CONNECTIONS=${CONNECTIONS:-100}
READY_TIMEOUT=${READY_TIMEOUT:-180}
[[ -n $BASE ]] || die "BASE must name the checkout to compare against (see --help)"
for dir in "$BASE" "$NEW"; do
    [[ -f $dir/target/jruby/jruby-complete.jar && -f $dir/ruby/lib/piston/jars/piston_core.jar ]] ||
        die "$dir is not built: (cd $dir && mvn -q -o -DskipTests package)"
done
build_bench_classes
RESULTS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/piston-compare.XXXXXX")
declare -A DIR=([base]=$BASE [new]=$NEW) PORT=([base]=9501 [new]=9502)

server_pid() { pgrep -s "${PGID[$1]}" java | head -n1; }
generator() {
    java -XX:+UseSerialGC -Xmx256m -cp "$CP" io.piston.bench.WsLoadGenerator --port "${PORT[$1]}" --threads 1 \
        --size 64 --mode echo --connections "$CONNECTIONS" --warmup 0 --duration "$2" >"$3" 2>&1 ||
        { cat "$3" >&2; die "generator against $1 failed"; }
}

RUNS=$RESULTS_DIR/runs.txt
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%-5s %-6s %-5s %12s %10s\n' pair build round round-trips/s cpu_us
for pair in $(seq "$PAIRS"); do
    for name in base new; do
        LOG[$name]=$RESULTS_DIR/$name-$pair.log
        start_in_session "$name" "cd '${DIR[$name]}' && exec java -XX:+UseParallelGC -Xmx1g -jar target/jruby/jruby-complete.jar -I ruby/lib ruby/exe/piston -b 127.0.0.1 -p ${PORT[$name]} -t 5 '$ROOT/bench/ws_echo.ru'"
    done
    for name in base new; do wait_ready "$name" "${PORT[$name]}"; done
    for name in base new; do generator "$name" "$WARMUP" "$RESULTS_DIR/warmup-$name-$pair.txt"; done
    for round in $(seq "$ROUNDS"); do
        order="base new"; (( round % 2 )) || order="new base"
        for name in $order; do
            out=$RESULTS_DIR/$name-$pair-$round.txt pid=$(server_pid "$name")
            before=$(process_cpu_ticks "$pid")
            generator "$name" "$DURATION" "$out"
            after=$(process_cpu_ticks "$pid")
            rate=$(sed -n 's/.* rate=\([^ ]*\).*/\1/p' <<<" $(grep '^RESULT' "$out")")
            cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$rate" -v d="$DURATION" \
                'BEGIN { printf "%.2f", (r > 0 ? t / hz * 1e6 / (r * d) : 0) }')
            echo "$pair $name $round $rate $cpu" >>"$RUNS"
            printf '%-5s %-6s %-5s %12s %10s\n' "$pair" "$name" "$round" "$rate" "$cpu"
        done
    done
    stop_server base
    stop_server new
done

col() { awk -v n="$1" -v c="$2" -v p="${3:-}" '$2 == n && (p == "" || $1 == p) { print $c }' "$RUNS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
save_summary compare-builds <<EOF
### $(date -u '+%Y-%m-%d %H:%M UTC'), WebSocket echo, $(git -C "$NEW" rev-parse --short HEAD) against $(git -C "$BASE" rev-parse --short HEAD)

- Command: \`$COMMAND\`
- Machine: $(machine); load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end
- $PAIRS pairs x $ROUNDS alternating runs of ${DURATION} s, $CONNECTIONS connections, after ${WARMUP} s of warm-up each

| Build | round-trips/s (median) | server CPU per round trip (median) |
|---|---:|---:|
| base | $(col base 4 | median) | $(col base 5 | median) us |
| new | $(col new 4 | median) | $(col new 5 | median) us |

New/base, round-trips/s: $(for p in $(seq "$PAIRS"); do printf '%s ' "$(ratio "$(col new 4 "$p" | median)" "$(col base 4 "$p" | median)")"; done)(per pair), **$(ratio "$(col new 4 | median)" "$(col base 4 | median)")** overall; CPU per round trip: **$(ratio "$(col new 5 | median)" "$(col base 5 | median)")**.
EOF
log "raw output: $RESULTS_DIR"
