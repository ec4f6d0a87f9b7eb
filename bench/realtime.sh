#!/usr/bin/env bash
# Real-time benchmarks on loopback: Piston running a rack.upgrade config.ru against a plain-Netty
# ceiling (io.piston.bench.RealtimeCeilingServer), driven by io.piston.bench.WsLoadGenerator (Java,
# Netty epoll, one thread). Usage: bench/realtime.sh [echo] [sse] [fanout] [paced]
# (default: echo, sse and fanout)
#
#   echo    WebSocket echo, bench/ws_echo.ru: ECHO_CONNECTIONS clients, each sends a message, waits
#           for the echo, sends the next. Round-trips/s, round-trip latency p50/p99.
#   sse     SSE streaming, bench/sse_stream.ru: SSE_CONNECTIONS EventSource clients; the server
#           streams one event after another to each, as fast as its outbound queue allows. Events/s.
#   fanout  Pub/sub fan-out, bench/pubsub.ru: N WebSocket subscribers of one channel (each N of
#           FANOUT_SUBSCRIBERS); one publisher sends bursts of FANOUT_BURST messages. Deliveries/s
#           and delivery latency p50/p99 (publish time carried in each message).
#   paced   Pub/sub fan-out at a steady rate, bench/pubsub.ru: N subscribers (each N of
#           PACED_SUBSCRIBERS); the server publishes PACED_SECONDS worth of messages at a steady
#           rate, for each load of PACED_DELIVERIES (deliveries/s asked, rising: the message rate
#           is that divided by N). Latency p50/p99/max and deliveries/s per load, and the highest
#           load each server keeps up with: everything delivered, p99 within PACED_P99_MS (a
#           server stops climbing at its first miss). Then PACED_LARGE (N:messages per second,
#           e.g. 19000:20): that one setting on both servers, for the latency at scale.
#
# Each benchmark starts both servers, warms them up, then alternates measured runs (ceiling,
# Piston, ceiling, Piston, ...) for ROUNDS rounds; a run is one generator process. Prints every
# run, the medians, Piston/ceiling ratios, each server's RSS, and a markdown summary, which it
# also appends to bench/results/DAY-realtime.md. Server logs and generator output are kept in
# $RESULTS_DIR. The generator, the ceiling and the other Java bench classes (bench/java) are
# compiled against Piston's compiled core, target/classes: build Piston first.
#
# Environment (defaults in brackets):
#   ROUNDS              measured runs per server and setting [3]
#   SIZE                message / event payload bytes [64]
#   DURATION            seconds measured per echo / sse run [5]
#   RUN_WARMUP          seconds of load at the start of each echo / sse run, not measured [2]
#   WARMUP_PISTON       seconds of echo / sse load against Piston after it starts [20]
#   WARMUP_CEILING      seconds of echo / sse load against the ceiling after it starts [5]
#   ECHO_CONNECTIONS    [100]                 SSE_CONNECTIONS   [100]
#   FANOUT_SUBSCRIBERS  subscriber counts, space separated ["1000 10000"]
#   FANOUT_BURST        messages per burst [200]
#   FANOUT_BURSTS       measured bursts per run [5]
#   FANOUT_WARMUP_BURSTS bursts per run before the measured ones [2]
#   FANOUT_WARMUP_PISTON / FANOUT_WARMUP_CEILING  warm-up bursts (1,000 subscribers) after start [20 / 5]
#   PACED_SUBSCRIBERS   subscriber counts, space separated ["1000 5000"]
#   PACED_DELIVERIES    deliveries/s asked, rising ["25000 50000 100000 150000 200000 300000 400000 500000 600000 800000"]
#   PACED_SECONDS       seconds of messages per paced run [10]
#   PACED_P99_MS        p99 latency a sustained rate must keep, in ms [50]
#   PACED_LARGE         "SUBSCRIBERS:RATE" run once per round after the climb; empty to skip [19000:20]
#   PER_SOURCE_ADDRESS  client sockets per 127.0.0.x source address [1000]
#   PISTON_PORT [9392]  CEILING_PORT [9393]
#   PISTON_THREADS      Ruby worker threads, substituted for {THREADS} [5, Piston's default]
#   PISTON_JAVA_OPTS    substituted for {JAVA_OPTS}, e.g. a JFR recording [bin/piston's: -Xmx1g -XX:+UseG1GC
#                       -XX:G1PeriodicGCInterval=30000 -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10]
#   PISTON_CMD          command starting Piston; {PORT}, {THREADS}, {APP}, {JAVA_OPTS} and {CP} substituted
#                       ['java {JAVA_OPTS} -jar target/jruby/jruby-complete.jar -I ruby/lib ruby/exe/piston
#                         -b 127.0.0.1 -p {PORT} -t {THREADS} {APP}']
#   PISTON_TRANSPORT    Piston's transport: auto, io_uring, epoll or nio (read by Piston itself) [auto]
#   CEILING_THREADS     ceiling IO threads [number of cores]
#   CEILING_JAVA_OPTS   [-XX:+UseParallelGC -Xmx1g]
#   GEN_THREADS         generator event-loop threads [1]
#   GEN_JAVA_OPTS       [-XX:+UseSerialGC -Xms256m -Xmx256m]
#   READY_TIMEOUT       seconds to wait for each server's port [120]
#   RESULTS_DIR         where logs go [a new /tmp/piston-realtime.XXXXXX]
#
# Example, a quick check of the script with a second ceiling standing in for Piston:
#   ROUNDS=1 DURATION=2 WARMUP_PISTON=2 FANOUT_SUBSCRIBERS=1000 \
#   PISTON_CMD='java -cp {CP} io.piston.bench.RealtimeCeilingServer --port {PORT}' bench/realtime.sh
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

BENCHES=("$@")
(( ${#BENCHES[@]} > 0 )) || BENCHES=(echo sse fanout)
for b in "${BENCHES[@]}"; do
    [[ $b == echo || $b == sse || $b == fanout || $b == paced ]] ||
        { echo "unknown benchmark: $b (echo, sse, fanout, paced)" >&2; exit 2; }
done

ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-64}
DURATION=${DURATION:-5}
RUN_WARMUP=${RUN_WARMUP:-2}
WARMUP_PISTON=${WARMUP_PISTON:-20}
WARMUP_CEILING=${WARMUP_CEILING:-5}
ECHO_CONNECTIONS=${ECHO_CONNECTIONS:-100}
SSE_CONNECTIONS=${SSE_CONNECTIONS:-100}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-"1000 10000"}
FANOUT_BURST=${FANOUT_BURST:-200}
FANOUT_BURSTS=${FANOUT_BURSTS:-5}
FANOUT_WARMUP_BURSTS=${FANOUT_WARMUP_BURSTS:-2}
FANOUT_WARMUP_PISTON=${FANOUT_WARMUP_PISTON:-20}
FANOUT_WARMUP_CEILING=${FANOUT_WARMUP_CEILING:-5}
PACED_SUBSCRIBERS=${PACED_SUBSCRIBERS:-"1000 5000"}
PACED_DELIVERIES=${PACED_DELIVERIES:-"25000 50000 100000 150000 200000 300000 400000 500000 600000 800000"}
PACED_SECONDS=${PACED_SECONDS:-10}
PACED_P99_MS=${PACED_P99_MS:-50}
PACED_LARGE=${PACED_LARGE-19000:20}
PER_SOURCE_ADDRESS=${PER_SOURCE_ADDRESS:-1000}
PISTON_PORT=${PISTON_PORT:-9392}
CEILING_PORT=${CEILING_PORT:-9393}
PISTON_THREADS=${PISTON_THREADS:-5}
PISTON_JAVA_OPTS=${PISTON_JAVA_OPTS:-"-Xmx1g -XX:+UseG1GC -XX:G1PeriodicGCInterval=30000 -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10"}
PISTON_CMD=${PISTON_CMD:-'java {JAVA_OPTS} -jar target/jruby/jruby-complete.jar -I ruby/lib ruby/exe/piston -b 127.0.0.1 -p {PORT} -t {THREADS} {APP}'}
CEILING_THREADS=${CEILING_THREADS:-$(nproc)}
CEILING_JAVA_OPTS=${CEILING_JAVA_OPTS:-"-XX:+UseParallelGC -Xmx1g"}
GEN_THREADS=${GEN_THREADS:-1}
GEN_JAVA_OPTS=${GEN_JAVA_OPTS:-"-XX:+UseSerialGC -Xms256m -Xmx256m"}
READY_TIMEOUT=${READY_TIMEOUT:-120}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-realtime.XXXXXX")}
mkdir -p "$RESULTS_DIR"

STOP_WAIT=15   # seconds of grace for a server with thousands of connections to close

[[ $PISTON_PORT != "$CEILING_PORT" ]] || die "PISTON_PORT and CEILING_PORT must differ"
[[ -f target/jruby/jruby-complete.jar && -f ruby/lib/piston/jars/piston_core.jar ]] ||
    [[ $PISTON_CMD != *jruby-complete* ]] || die "build Piston first: mvn -q -o -DskipTests package"

# --- the load generator, the ceiling and the other Java bench classes (bench/java) ---
build_bench_classes

# --- servers: each in its own session so the whole tree can be stopped ---
start_server() {
    local name=$1 port=$2 cmd=$3
    LOG[$name]=$RESULTS_DIR/$name-$BENCH.log
    log "starting $name: ${cmd//"$CP"/\$CP}"
    start_in_session "$name" "$cmd"
}

start_pair() {
    local app=$1 cmd
    for port in "$CEILING_PORT" "$PISTON_PORT"; do
        ! port_open "$port" || die "port $port is already in use (set CEILING_PORT / PISTON_PORT)"
    done
    cmd=${PISTON_CMD//\{PORT\}/$PISTON_PORT}
    cmd=${cmd//\{THREADS\}/$PISTON_THREADS}
    cmd=${cmd//\{APP\}/$app}
    cmd=${cmd//\{JAVA_OPTS\}/$PISTON_JAVA_OPTS}
    cmd=${cmd//\{CP\}/$CP}
    start_server ceiling "$CEILING_PORT" "exec java $CEILING_JAVA_OPTS -cp '$CP' io.piston.bench.RealtimeCeilingServer --bind 127.0.0.1 --port $CEILING_PORT --threads $CEILING_THREADS --size $SIZE"
    start_server piston "$PISTON_PORT" "BENCH_SIZE=$SIZE exec $cmd"
    wait_ready ceiling "$CEILING_PORT"
    wait_ready piston "$PISTON_PORT"
}

port_of() { if [[ $1 == ceiling ]]; then echo "$CEILING_PORT"; else echo "$PISTON_PORT"; fi; }

# gen NAME OUTFILE TIMEOUT ARGS...: one generator process against a server; its RESULT line on stdout.
RUN_SEQ=0
gen() {
    local name=$1 out=$2 limit=$3
    shift 3
    RUN_SEQ=$((RUN_SEQ + 1))
    # shellcheck disable=SC2086
    timeout "$limit" java $GEN_JAVA_OPTS -cp "$CP" io.piston.bench.WsLoadGenerator --port "$(port_of "$name")" \
        --threads "$GEN_THREADS" --size "$SIZE" "$@" >"$out" 2>&1 &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=
    kill -0 -- "-${PGID[$name]}" 2>/dev/null || { tail -n 20 "${LOG[$name]}" >&2; die "$name died (see $out)"; }
    grep -q '^RESULT' "$out" || { cat "$out" >&2; die "generator against $name failed (exit $rc)"; }
    (( rc == 0 )) || log "warning: generator against $name reported problems (exit $rc, see $out)"
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $(grep '^RESULT' "$1" | tail -n1)"; }

# Source addresses for N client sockets; a fresh range for each run so no two runs share ports.
src_args() {
    local n=$1 count=$(( ($1 + PER_SOURCE_ADDRESS - 1) / PER_SOURCE_ADDRESS ))
    local base=$(( 2 + (RUN_SEQ * count) % (250 - count) ))
    echo "--src 127.0.0.$base --src-count $count --concurrency 200"
}


# Results: one line per run: "bench setting server round rate p50 p99 problems"
RUNS=$RESULTS_DIR/runs.txt
: >"$RUNS"
record() {
    local bench=$1 setting=$2 name=$3 round=$4 out=$5 problems
    problems=$(( $(field "$out" errors) + $(field "$out" closed) + $( [[ $bench == fanout || $bench == paced ]] && field "$out" missing || echo 0) ))
    echo "$bench $setting $name $round $(field "$out" rate) $(field "$out" p50_ms) $(field "$out" p99_ms) $problems $(field "$out" max_ms)" >>"$RUNS"
    local p50 p99
    p50=$(field "$out" p50_ms); p99=$(field "$out" p99_ms)
    [[ $bench != sse ]] || { p50=-; p99=-; }
    printf '%-7s %-7s %-8s %5s %14.0f %10s %10s %8s\n' "$bench" "$setting" "$name" "$round" "$(field "$out" rate)" \
        "$p50" "$p99" "$problems"
}
col() { awk -v b="$1" -v s="$2" -v n="$3" -v c="$4" '$1 == b && $2 == s && $3 == n { print $c }' "$RUNS"; }
med() { col "$@" | median; }
runs_list() { col "$1" "$2" "$3" 5 | awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }'; }
problems_of() { col "$1" "$2" "$3" 8 | awk '{ s += $1 } END { print s + 0 }'; }

declare -A RSS=() HWM=()
MD=$RESULTS_DIR/results.md
: >"$MD"

table() {
    local bench=$1 setting=$2 unit=$3 label=$4 c p ratio
    c=$(med "$bench" "$setting" ceiling 5); p=$(med "$bench" "$setting" piston 5)
    ratio=$(awk -v p="$p" -v c="$c" 'BEGIN { printf "%.2f", (c > 0 ? p / c : 0) }')
    {
        echo
        echo "$label"
        echo
        echo "| Server | $unit (median) | p50 | p99 | $unit per run | problems |"
        echo "|---|---:|---:|---:|---|---:|"
        for name in ceiling piston; do
            local p50="$(med "$bench" "$setting" "$name" 6) ms" p99="$(med "$bench" "$setting" "$name" 7) ms"
            [[ $bench != sse ]] || { p50=-; p99=-; }
            printf '| %s | %.0f | %s | %s | %s | %s |\n' \
                "$([[ $name == ceiling ]] && echo 'Ceiling (plain Netty)' || echo Piston)" "$(med "$bench" "$setting" "$name" 5)" \
                "$p50" "$p99" "$(runs_list "$bench" "$setting" "$name")" "$(problems_of "$bench" "$setting" "$name")"
        done
        echo
        echo "Piston/ceiling: **${ratio}x**."
    } >>"$MD"
    log "$bench $setting: piston/ceiling = ${ratio}x"
}

finish_bench() {
    local bench=$1
    RSS[$bench]="$(( $(rss_kb VmRSS ceiling) / 1024 )) MiB ($(( $(rss_kb VmHWM ceiling) / 1024 )) MiB peak) / $(( $(rss_kb VmRSS piston) / 1024 )) MiB ($(( $(rss_kb VmHWM piston) / 1024 )) MiB peak)"
    echo "RSS at end, ceiling / Piston: ${RSS[$bench]}" >>"$MD"
    log "$bench RSS ceiling / piston: ${RSS[$bench]}"
    stop_server ceiling
    stop_server piston
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%-7s %-7s %-8s %5s %14s %10s %10s %8s\n' bench setting server round rate p50_ms p99_ms problems

# --- echo / sse: steady load for DURATION seconds per run ---
steady() {
    local bench=$1 app conns mode
    BENCH=$bench
    if [[ $bench == echo ]]; then app=bench/ws_echo.ru; conns=$ECHO_CONNECTIONS; mode=echo
    else app=bench/sse_stream.ru; conns=$SSE_CONNECTIONS; mode=sse; fi
    start_pair "$app"
    local limit=$(( ${DURATION%.*} + ${RUN_WARMUP%.*} + 120 ))
    (( WARMUP_CEILING <= 0 )) || { log "warming up ceiling for ${WARMUP_CEILING}s"; gen ceiling "$RESULTS_DIR/$bench-ceiling-warmup.txt" $((WARMUP_CEILING + 120)) --mode "$mode" --connections "$conns" --warmup 0 --duration "$WARMUP_CEILING"; }
    (( WARMUP_PISTON <= 0 )) || { log "warming up piston for ${WARMUP_PISTON}s"; gen piston "$RESULTS_DIR/$bench-piston-warmup.txt" $((WARMUP_PISTON + 120)) --mode "$mode" --connections "$conns" --warmup 0 --duration "$WARMUP_PISTON"; }
    for round in $(seq "$ROUNDS"); do
        for name in ceiling piston; do
            out=$RESULTS_DIR/$bench-$name-$round.txt
            gen "$name" "$out" "$limit" --mode "$mode" --connections "$conns" --warmup "$RUN_WARMUP" --duration "$DURATION"
            record "$bench" "$conns" "$name" "$round" "$out"
        done
    done
    if [[ $bench == echo ]]; then
        table echo "$conns" "round-trips/s" "**WebSocket echo**, $conns connections, one $SIZE-byte message in flight per connection, ${DURATION} s per run:"
    else
        table sse "$conns" "events/s" "**SSE streaming**, $conns connections, $SIZE-byte events (\`data: ...\\n\\n\`), ${DURATION} s per run (latency not measured):"
    fi
    finish_bench "$bench"
}

fanout() {
    BENCH=fanout
    start_pair bench/pubsub.ru
    local limit n out
    (( FANOUT_WARMUP_CEILING <= 0 )) || { log "warming up ceiling with $FANOUT_WARMUP_CEILING bursts"; gen ceiling "$RESULTS_DIR/fanout-ceiling-warmup.txt" 600 --mode fanout --connections 1000 $(src_args 1000) --burst "$FANOUT_BURST" --bursts "$FANOUT_WARMUP_CEILING" --warmup-bursts 0; }
    (( FANOUT_WARMUP_PISTON <= 0 )) || { log "warming up piston with $FANOUT_WARMUP_PISTON bursts"; gen piston "$RESULTS_DIR/fanout-piston-warmup.txt" 600 --mode fanout --connections 1000 $(src_args 1000) --burst "$FANOUT_BURST" --bursts "$FANOUT_WARMUP_PISTON" --warmup-bursts 0; }
    for n in $FANOUT_SUBSCRIBERS; do
        limit=$(( 300 + n / 20 ))
        for round in $(seq "$ROUNDS"); do
            for name in ceiling piston; do
                out=$RESULTS_DIR/fanout-$n-$name-$round.txt
                # shellcheck disable=SC2046
                gen "$name" "$out" "$limit" --mode fanout --connections "$n" $(src_args "$n") --burst "$FANOUT_BURST" \
                    --bursts "$FANOUT_BURSTS" --warmup-bursts "$FANOUT_WARMUP_BURSTS" --connect-timeout $((limit - 60))
                record fanout "$n" "$name" "$round" "$out"
            done
        done
        table fanout "$n" "deliveries/s" "**Pub/sub fan-out**, $n subscribers, bursts of $FANOUT_BURST x $SIZE-byte messages, $FANOUT_BURSTS measured bursts per run:"
    done
    finish_bench fanout
}

# One paced run: N subscribers, PACED_SECONDS of messages at RATE per second; recorded as "N@RATE".
paced_run() {
    local name=$1 n=$2 rate=$3 round=$4 out messages limit
    out=$RESULTS_DIR/paced-$n-$rate-$name-$round.txt
    messages=$(awk -v r="$rate" -v s="$PACED_SECONDS" 'BEGIN { printf "%d", r * s }')
    limit=$(( 300 + n / 20 + ${PACED_SECONDS%.*} ))
    # shellcheck disable=SC2046
    gen "$name" "$out" "$limit" --mode fanout --connections "$n" $(src_args "$n") --burst "$messages" --rate "$rate" \
        --bursts 1 --warmup-bursts 0 --connect-timeout $((limit - 60))
    record paced "$n@$rate" "$name" "$round" "$out"
}

# Whether a paced run kept up: everything delivered, p99 within PACED_P99_MS.
kept_up() {
    awk -v b="paced" -v s="$1" -v n="$2" -v r="$3" -v lim="$PACED_P99_MS" \
        '$1 == b && $2 == s && $3 == n && $4 == r { ok = ($8 == 0 && $7 <= lim) } END { exit !ok }' "$RUNS"
}

paced() {
    BENCH=paced
    start_pair bench/pubsub.ru
    local n load rate round name large_n large_rate
    (( FANOUT_WARMUP_CEILING <= 0 )) || { log "warming up ceiling with $FANOUT_WARMUP_CEILING bursts"; gen ceiling "$RESULTS_DIR/paced-ceiling-warmup.txt" 600 --mode fanout --connections 1000 $(src_args 1000) --burst "$FANOUT_BURST" --bursts "$FANOUT_WARMUP_CEILING" --warmup-bursts 0; }
    (( FANOUT_WARMUP_PISTON <= 0 )) || { log "warming up piston with $FANOUT_WARMUP_PISTON bursts"; gen piston "$RESULTS_DIR/paced-piston-warmup.txt" 600 --mode fanout --connections 1000 $(src_args 1000) --burst "$FANOUT_BURST" --bursts "$FANOUT_WARMUP_PISTON" --warmup-bursts 0; }
    SUSTAINED=$RESULTS_DIR/sustained.txt
    for n in $PACED_SUBSCRIBERS; do
        for round in $(seq "$ROUNDS"); do
            declare -A climbing=([ceiling]=1 [piston]=1) best=([ceiling]=0 [piston]=0)
            for load in $PACED_DELIVERIES; do
                rate=$(paced_rate "$load" "$n")
                for name in ceiling piston; do
                    (( ${climbing[$name]} )) || continue
                    paced_run "$name" "$n" "$rate" "$round"
                    if kept_up "$n@$rate" "$name" "$round"; then best[$name]=$load; else climbing[$name]=0; fi
                done
                (( ${climbing[ceiling]} + ${climbing[piston]} > 0 )) || break
            done
            for name in ceiling piston; do echo "$n $name $round ${best[$name]}" >>"$SUSTAINED"; done
            log "paced $n subscribers, round $round: kept up with ceiling ${best[ceiling]}, piston ${best[piston]} deliveries/s"
        done
        paced_table "$n"
    done
    if [[ -n $PACED_LARGE ]]; then
        large_n=${PACED_LARGE%%:*} large_rate=${PACED_LARGE##*:}
        for round in $(seq "$ROUNDS"); do
            for name in ceiling piston; do paced_run "$name" "$large_n" "$large_rate" "$round"; done
        done
        paced_large_table "$large_n" "$large_rate"
    fi
    finish_bench paced
}

# The message rate that asks LOAD deliveries/s of N subscribers.
paced_rate() { awk -v d="$1" -v n="$2" 'BEGIN { printf "%g", d / n }'; }

# Per load: median p50 / p99 / max and deliveries/s of the runs made at it (a server that missed a
# lower load has none), then the highest load each server kept up with (median of rounds) and the ratio.
paced_table() {
    local n=$1 load rate c p ratio
    {
        echo
        echo "**Paced fan-out**, $n subscribers, $SIZE-byte messages, ${PACED_SECONDS} s per load; kept up = all delivered and p99 <= ${PACED_P99_MS} ms:"
        echo
        echo "| deliveries/s asked | messages/s | ceiling: delivered/s, p50, p99, max | Piston: delivered/s, p50, p99, max |"
        echo "|---:|---:|---|---|"
        for load in $PACED_DELIVERIES; do
            rate=$(paced_rate "$load" "$n")
            [[ -n $(col paced "$n@$rate" ceiling 5)$(col paced "$n@$rate" piston 5) ]] || continue
            printf '| %s | %s | %s | %s |\n' "$load" "$rate" \
                "$(paced_cell "$n@$rate" ceiling)" "$(paced_cell "$n@$rate" piston)"
        done
        c=$(awk -v n="$n" '$1 == n && $2 == "ceiling" { print $4 }' "$SUSTAINED" | median)
        p=$(awk -v n="$n" '$1 == n && $2 == "piston" { print $4 }' "$SUSTAINED" | median)
        ratio=$(awk -v p="$p" -v c="$c" 'BEGIN { printf "%.2f", (c > 0 ? p / c : 0) }')
        echo
        echo "Highest load kept up (median of rounds): ceiling $c, Piston $p deliveries/s: Piston/ceiling **${ratio}x**."
    } >>"$MD"
    log "paced $n: kept up with piston/ceiling = ${ratio}x ($p vs $c deliveries/s)"
}

paced_cell() {
    local runs
    runs=$(col paced "$1" "$2" 5)
    [[ -n $runs ]] || { echo "-"; return; }
    printf '%.0f, %s ms, %s ms, %s ms%s' "$(med paced "$1" "$2" 5)" "$(med paced "$1" "$2" 6)" "$(med paced "$1" "$2" 7)" \
        "$(med paced "$1" "$2" 9)" "$( (( $(problems_of paced "$1" "$2") == 0 )) || echo ", $(problems_of paced "$1" "$2") missing/errors")"
}

paced_large_table() {
    local n=$1 rate=$2
    {
        echo
        echo "**Paced fan-out at scale**, $n subscribers, $rate messages/s ($(( n * rate )) deliveries/s asked), ${PACED_SECONDS} s, median of $ROUNDS:"
        echo
        echo "| Server | delivered/s, p50, p99, max |"
        echo "|---|---|"
        echo "| Ceiling (plain Netty) | $(paced_cell "$n@$rate" ceiling) |"
        echo "| Piston | $(paced_cell "$n@$rate" piston) |"
    } >>"$MD"
    log "paced $n@$rate: ceiling $(paced_cell "$n@$rate" ceiling); piston $(paced_cell "$n@$rate" piston)"
}

for b in "${BENCHES[@]}"; do
    case $b in
        echo|sse) steady "$b" ;;
        fanout) fanout ;;
        paced) paced ;;
    esac
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary ---
JAVA=$(java -version 2>&1 | awk 'NR == 1')

save_summary realtime <<EOF
### $(date -u '+%Y-%m-%d %H:%M UTC'), $(commit_measured), real-time

- Command: \`$COMMAND\`
- Machine: $(machine), shared by the servers and the generator; load average $LOAD_START at start, $LOAD_END at end
- $JAVA; generator: 1 process, $GEN_THREADS event-loop thread(s), \`$GEN_JAVA_OPTS\`
- $ROUNDS alternating rounds per setting; warm-up after start: ${WARMUP_CEILING} s / ${WARMUP_PISTON} s (echo, sse), ${FANOUT_WARMUP_CEILING} / ${FANOUT_WARMUP_PISTON} bursts (fan-out), ceiling / Piston
- Piston: \`${PISTON_CMD}\` with {THREADS}=$PISTON_THREADS, {JAVA_OPTS}=\`$PISTON_JAVA_OPTS\`; ceiling: $CEILING_THREADS IO threads, \`$CEILING_JAVA_OPTS\`
$(cat "$MD")
EOF
log "raw output: $RESULTS_DIR"
