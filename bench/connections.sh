#!/usr/bin/env bash
# Idle connections on loopback: how many one Piston process holds and what each one costs. For
# each protocol and count N, a fresh Piston runs bench/connections.ru (each connection gets a
# handler object whose on_open subscribes to :bench and writes "ready"), is warmed up with a few
# hundred connections opened and closed, and measured at rest; then io.piston.bench.WsLoadGenerator
# --mode hold opens N connections (several processes, each from its own 127.0.0.x source
# addresses: a process has 20,000 fds at most here), Piston is measured again with all of them
# open and idle, and they close. Usage: bench/connections.sh
#
# Measured at rest and with N open, each time right after a full GC (jcmd GC.run): the server's
# resident memory (VmRSS of the JVM, /proc/PID/status), its live heap (the total of jcmd
# GC.class_histogram, which counts live objects only) and its open fds; per connection, the
# difference divided by N. The connections first stay idle for IDLE_WAIT seconds, and the RSS with
# N open is also taken just before that GC: what the server holds when nothing forces a collection
# (bin/piston's collector collects on its own after 30 s without a collection, and gives back
# what it does not need). Also how many connections were held, how many failed,
# how fast they opened, whether the fds went back to the resting count after they closed, and
# the classes whose live bytes grew most per connection (the histogram at N minus the one at
# rest, divided by N).
# Prints a markdown summary and appends it to bench/results/DAY-connections.md.
#
# Environment (defaults in brackets):
#   COUNTS              connection counts, space separated ["1000 5000 19000"]
#   PROTOCOLS           any of websocket sse ["websocket sse"]
#   PER_PROCESS         connections per load-client process [10000]
#   PER_SOURCE_ADDRESS  client sockets per 127.0.0.x source address [1000]
#   WARMUP_CONNECTIONS  connections opened and closed before the measure at rest [500]
#   HISTOGRAM_TOP       classes listed per protocol in the summary, at the largest count [15]
#   PORT                [9492]
#   PISTON_CMD          command starting Piston; {PORT} and {APP} substituted
#                       ['bin/piston -b 127.0.0.1 -p {PORT} {APP}', its default options]
#   PISTON_LABEL        what the summary calls the server [Piston]
#   PISTON_JAVA_OPTS    JVM options bin/piston adds after its own (e.g. another collector) []
#   GEN_JAVA_OPTS       [-XX:+UseSerialGC -Xms64m -Xmx512m]
#   IDLE_WAIT           seconds the N connections stay idle before they are measured [60]
#   CONNECT_TIMEOUT     seconds for N connections to be ready [300]
#   READY_TIMEOUT       seconds to wait for the server's port [120]
#   RESULTS_DIR         where logs, histograms and client output go [a new /tmp/piston-connections.XXXXXX]
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

COUNTS=${COUNTS:-"1000 5000 19000"}
PROTOCOLS=${PROTOCOLS:-"websocket sse"}
PER_PROCESS=${PER_PROCESS:-10000}
PER_SOURCE_ADDRESS=${PER_SOURCE_ADDRESS:-1000}
WARMUP_CONNECTIONS=${WARMUP_CONNECTIONS:-500}
HISTOGRAM_TOP=${HISTOGRAM_TOP:-15}
PORT=${PORT:-9492}
PISTON_CMD=${PISTON_CMD:-'bin/piston -b 127.0.0.1 -p {PORT} {APP}'}
PISTON_LABEL=${PISTON_LABEL:-Piston}
GEN_JAVA_OPTS=${GEN_JAVA_OPTS:-"-XX:+UseSerialGC -Xms64m -Xmx512m"}
IDLE_WAIT=${IDLE_WAIT:-60}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-300}
READY_TIMEOUT=${READY_TIMEOUT:-120}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-connections.XXXXXX")}
mkdir -p "$RESULTS_DIR"
STOP_WAIT=15

for p in $PROTOCOLS; do [[ $p == websocket || $p == sse ]] || die "unknown protocol $p (websocket, sse)"; done
command -v jcmd >/dev/null || die "jcmd (from the JDK) is needed to measure the heap"
build_bench_classes

# The JVM of the server's session (bin/piston execs it in place of its shell).
jvm_pid() { pgrep -s "${PGID[piston]}" java | head -n1; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# measure PID NAME: "rss_kb_before_gc rss_kb live_bytes fds", all but the first after a full GC;
# the live-object histogram goes to NAME.histo.
measure() {
    local pid=$1 name=$2 before
    before=$(rss "$pid")
    jcmd "$pid" GC.run >/dev/null
    jcmd "$pid" GC.class_histogram >"$RESULTS_DIR/$name.histo"
    echo "$before $(rss "$pid") $(awk '$1 == "Total" { print $3 }' "$RESULTS_DIR/$name.histo") $(fds "$pid")"
}

# Source addresses: a fresh range for each client process, so that no two reuse ports in TIME_WAIT.
SRC_SEQ=0
src_args() {
    local count=$(( ($1 + PER_SOURCE_ADDRESS - 1) / PER_SOURCE_ADDRESS )) base
    base=$(( 2 + (SRC_SEQ * 20) % 230 ))
    SRC_SEQ=$((SRC_SEQ + 1))
    echo "--src 127.0.0.$base --src-count $count"
}

# hold N PROTOCOL TAG: opens N connections from ceil(N / PER_PROCESS) client processes and waits
# (bounded) until each reported; leaves them holding. Sets CLIENT_PIDS and CLIENT_OUTS.
hold() {
    local n=$1 protocol=$2 tag=$3 procs i share out
    procs=$(( (n + PER_PROCESS - 1) / PER_PROCESS ))
    CLIENT_PIDS=() CLIENT_OUTS=()
    RELEASE=$RESULTS_DIR/$tag.release
    rm -f "$RELEASE"
    for i in $(seq "$procs"); do
        share=$(( n / procs + (i <= n % procs ? 1 : 0) ))
        out=$RESULTS_DIR/$tag-client-$i.txt
        # shellcheck disable=SC2086,SC2046
        timeout $((CONNECT_TIMEOUT + 900)) java $GEN_JAVA_OPTS -cp "$CP" io.piston.bench.WsLoadGenerator --mode hold \
            --protocol "$protocol" --port "$PORT" --connections "$share" $(src_args "$share") --concurrency 200 \
            --connect-timeout "$CONNECT_TIMEOUT" --duration 600 --release-file "$RELEASE" >"$out" 2>&1 &
        CLIENT_PIDS+=($!) CLIENT_OUTS+=("$out")
    done
    LOAD_PID="${CLIENT_PIDS[*]}"
    local deadline=$((SECONDS + CONNECT_TIMEOUT + 60)) waiting
    while :; do
        waiting=0
        for i in "${!CLIENT_OUTS[@]}"; do
            grep -q '^RESULT' "${CLIENT_OUTS[$i]}" 2>/dev/null || { kill -0 "${CLIENT_PIDS[$i]}" 2>/dev/null && waiting=1; }
        done
        (( waiting && SECONDS < deadline )) || break
        sleep 0.5
    done
}

# Ends the holding clients: they close their connections and exit (bounded).
release() {
    touch "$RELEASE"
    local pid
    for pid in "${CLIENT_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    LOAD_PID=
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $(grep -h '^RESULT' "$1" | tail -n1)"; }

# Per-connection growth of the live heap by class: "bytes/conn instances/conn class", largest first.
histogram_diff() {
    awk -v n="$3" '
        FNR == 1 { file++ }
        $1 ~ /^[0-9]+:$/ { key = $4; if (file == 1) { b0[key] = $3; i0[key] = $2 } else { b1[key] = $3; i1[key] = $2 } }
        END { for (k in b1) { d = (b1[k] - b0[k]) / n; if (d >= 1) printf "%.1f %.2f %s\n", d, (i1[k] - i0[k]) / n, k } }
    ' "$1" "$2" | sort -gr
}

kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

TABLE=$RESULTS_DIR/table.md HISTOS=$RESULTS_DIR/histograms.md
: >"$TABLE"; : >"$HISTOS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

for protocol in $PROTOCOLS; do
    largest=0
    for n in $COUNTS; do
        tag=$protocol-$n
        ! port_open "$PORT" || die "port $PORT is already in use (set PORT)"
        LOG[piston]=$RESULTS_DIR/piston-$tag.log
        cmd=${PISTON_CMD//\{PORT\}/$PORT}
        cmd=${cmd//\{APP\}/bench/connections.ru}
        log "starting piston for $n $protocol connections: $cmd"
        start_in_session piston "exec $cmd"
        wait_ready piston "$PORT"
        pid=$(jvm_pid)
        [[ -n $pid ]] || die "no JVM in the server's session"

        log "warming up: $WARMUP_CONNECTIONS connections opened and closed"
        hold "$WARMUP_CONNECTIONS" "$protocol" "$tag-warmup"
        release
        sleep 1
        read -r _ rss0 heap0 fds0 <<<"$(measure "$pid" "$tag-rest")"

        log "opening $n $protocol connections"
        hold "$n" "$protocol" "$tag"
        held=0 failures=0 connect_s=0
        for out in "${CLIENT_OUTS[@]}"; do
            h=$(field "$out" held)
            held=$((held + ${h:-0}))
            connect_s=$(awk -v a="$connect_s" -v b="$(field "$out" connect_s)" 'BEGIN { print (b + 0 > a + 0 ? b : a) }')
        done
        failures=$((n - held))
        log "leaving them idle for $IDLE_WAIT s"
        sleep "$IDLE_WAIT"
        read -r rss1_nogc rss1 heap1 fds1 <<<"$(measure "$pid" "$tag-held")"
        log "$tag: held $held, RSS $(mib "$rss0") -> $(mib "$rss1") MiB, live heap $(kib "$heap0") -> $(kib "$heap1") KiB, fds $fds0 -> $fds1"

        release
        fds2=$(fds "$pid")
        for _ in $(seq 60); do (( fds2 <= fds0 )) && break; sleep 0.5; fds2=$(fds "$pid"); done
        stop_server piston

        rate=$(awk -v n="$held" -v s="$connect_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
        rss_per=$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
        rss_per_nogc=$(awk -v a="$rss0" -v b="$rss1_nogc" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
        heap_per=$(awk -v a="$heap0" -v b="$heap1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')
        back=$( (( fds2 <= fds0 )) && echo yes || echo "no ($fds2)")
        printf '| %s | %d | %d | %d | %s | %s → %s MiB | **%s KB** | %s KB | %s → %s MiB | **%s KB** | %d → %d, %s |\n' \
            "$protocol" "$n" "$held" "$failures" "$rate" "$(mib "$rss0")" "$(mib "$rss1")" "$rss_per" "$rss_per_nogc" \
            "$(mib $((heap0 / 1024)))" "$(mib $((heap1 / 1024)))" "$heap_per" "$fds0" "$fds1" "$back" >>"$TABLE"
        histogram_diff "$RESULTS_DIR/$tag-rest.histo" "$RESULTS_DIR/$tag-held.histo" "$n" >"$RESULTS_DIR/$tag.diff"
        (( n > largest )) && largest=$n
    done
    {
        echo
        echo "Live heap per $protocol connection by class at $largest connections (top $HISTOGRAM_TOP; all in \`$RESULTS_DIR/$protocol-$largest.diff\`):"
        echo
        echo "| bytes/conn | objects/conn | class |"
        echo "|---:|---:|---|"
        head -n "$HISTOGRAM_TOP" "$RESULTS_DIR/$protocol-$largest.diff" | awk '{ printf "| %s | %s | `%s` |\n", $1, $2, $3 }'
    } >>"$HISTOS"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

save_summary connections <<EOF
### $(date -u '+%Y-%m-%d %H:%M UTC'), $(commit_measured), idle connections

- Command: \`$COMMAND\`
- Machine: $(machine), shared by the server and the clients; load average $LOAD_START at start, $LOAD_END at end
- $(java -version 2>&1 | awk 'NR == 1'); $PISTON_LABEL: \`$PISTON_CMD\`, app \`bench/connections.ru\`
- Clients: WsLoadGenerator --mode hold, up to $PER_PROCESS connections per process, $PER_SOURCE_ADDRESS per source address, \`$GEN_JAVA_OPTS\`
- Each count on a fresh server, warmed up with $WARMUP_CONNECTIONS connections opened and closed; measured after a full GC at rest and with N open (idle for $IDLE_WAIT s, RSS also before that GC)

| protocol | N | held | failures | opened/s | RSS | RSS/conn | RSS/conn idle, before the GC | live heap | heap/conn | fds (rest → N, back after close) |
|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|
$(cat "$TABLE")
$(cat "$HISTOS")
EOF
log "raw output: $RESULTS_DIR"
