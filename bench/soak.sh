#!/usr/bin/env bash
# Soak test on loopback: one Piston process (bin/piston bench/soak.ru) under mixed load for
# SOAK_SECONDS, sampled every SAMPLE_SECONDS, with a verdict on whether it grows.
#
# Load, all at once, each at a modest rate so that none starves the others of CPU:
#   HTTP        wrk bursts: WRK_CONNECTIONS connections for WRK_BURST s, then WRK_PAUSE s idle
#   the rest    bench/soak_clients.js (Node, ws): WebSocket echo, pub/sub fan-out to WebSocket
#               subscribers and SSE clients, connect/close churn, clients that never read (see
#               its header for the counts and rates, SOAK_* variables)
#
# Every sample runs a full GC in the server (jcmd GC.run) and prints RSS, heap used after it
# (jcmd GC.heap_info), open fds (/proc/PID/fd) and threads (/proc/PID/status). The heap is
# committed and touched at start (PISTON_JAVA_OPTS), so RSS moves only with memory outside it:
# direct buffers, metaspace, compiled code, thread stacks. The verdict compares the last sample
# with the first, taken SAMPLE_SECONDS into the load (after warm-up): "grows" past these
# margins, which allow for pools and compiled code settling and for the connections in flight
# at the moment of a sample (about 260 fds):
#   heap after GC  +25 %, at least +32 MiB     RSS      +64 MiB
#   fds            +50                         threads  +10
# Ends with a markdown summary (the samples, the clients' results and the verdict), which it also
# appends to bench/results/DAY-soak.md. Exits 1 on "grows", a server that died, or clients that
# saw wrong answers.
#
# Environment (defaults in brackets):
#   SOAK_SECONDS      length of the load [600]
#   SAMPLE_SECONDS    between samples [30]
#   WRK_CONNECTIONS   [4]     WRK_BURST [2]     WRK_PAUSE [3]
#   SOAK_PORT         [9394]
#   PISTON_THREADS    Ruby worker threads [5]
#   PISTON_ARGS       more bin/piston options [--max-outbound 1m]
#   PISTON_JAVA_OPTS  JVM options (bin/piston adds -Xmx1g) [-Xms1g -XX:+AlwaysPreTouch]
#   READY_TIMEOUT     seconds to wait for the server's port [120]
#   RESULTS_DIR       logs and samples [a new /tmp/piston-soak.XXXXXX]
#
# Example, a short check of the script:  SOAK_SECONDS=90 bench/soak.sh
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-30}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-4}
WRK_BURST=${WRK_BURST:-2}
WRK_PAUSE=${WRK_PAUSE:-3}
SOAK_PORT=${SOAK_PORT:-9394}
PISTON_THREADS=${PISTON_THREADS:-5}
PISTON_ARGS=${PISTON_ARGS:---max-outbound 1m}
export PISTON_JAVA_OPTS=${PISTON_JAVA_OPTS:--Xms1g -XX:+AlwaysPreTouch}
READY_TIMEOUT=${READY_TIMEOUT:-120}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-soak.XXXXXX")}
mkdir -p "$RESULTS_DIR"

STOP_WAIT=15

for tool in wrk jcmd node; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ -d node_modules/ws ]] || die "node_modules/ws is missing: run bin/setup"
(( SOAK_SECONDS >= SAMPLE_SECONDS )) || die "SOAK_SECONDS must be at least SAMPLE_SECONDS ($SAMPLE_SECONDS)"
! port_open "$SOAK_PORT" || die "port $SOAK_PORT is already in use (set SOAK_PORT)"

start() {
    LOG[$1]=$RESULTS_DIR/$1.log
    start_in_session "$1" "$2"
}

# --- the server ---
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
SERVER_CMD="bin/piston -b 127.0.0.1 -p $SOAK_PORT -t $PISTON_THREADS $PISTON_ARGS bench/soak.ru"
start piston "exec $SERVER_CMD"
wait_ready piston "$SOAK_PORT"
JVM=$(pgrep -s "${PGID[piston]}" java | head -n1)
[[ -n $JVM ]] || die "no java process in the server's session"

# --- the load, each part in a session of its own, bounded: it runs LOAD_SECONDS, a little
# past the last sample, so that the last sample sees it still running ---
LOAD_SECONDS=$((SOAK_SECONDS + 15))
start wrk "end=\$((SECONDS + $LOAD_SECONDS)); while (( SECONDS + $WRK_BURST <= end )); do
    timeout $((WRK_BURST + 30)) wrk -t1 -c$WRK_CONNECTIONS -d${WRK_BURST}s http://127.0.0.1:$SOAK_PORT/; sleep $WRK_PAUSE; done"
start clients "exec timeout $((LOAD_SECONDS + 60)) node bench/soak_clients.js --port $SOAK_PORT --seconds $LOAD_SECONDS"
log "load running for ${SOAK_SECONDS}s; logs in $RESULTS_DIR"

# --- samples ---
SAMPLES=$RESULTS_DIR/samples.txt
REPORT=$RESULTS_DIR/report.txt # what is printed from here on, for the summary
: >"$SAMPLES"
: >"$REPORT"
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$JVM/status"; }
# Heap used after a full GC, in KiB: the sum of the "used" of the heap's spaces (Parallel's
# young and old generations, G1's one heap); Metaspace is not heap.
heap_after_gc() {
    jcmd "$JVM" GC.run >/dev/null
    jcmd "$JVM" GC.heap_info | awk '/(Gen|heap) +total/ { for (i = 1; i < NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); s += v } } END { print s + 0 }'
}
sample() {
    local t=$1 rss heap fds threads
    rss=$(kib VmRSS); heap=$(heap_after_gc); fds=$(ls "/proc/$JVM/fd" | wc -l); threads=$(kib Threads)
    echo "$t $rss $heap $fds $threads" >>"$SAMPLES"
    printf '%8s %10.1f %14.1f %8s %8s\n' "$t" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$heap" 'BEGIN { print k / 1024 }')" "$fds" "$threads" | tee -a "$REPORT"
}

printf '%8s %10s %14s %8s %8s\n' seconds rss_MiB heap_gc_MiB fds threads | tee -a "$REPORT"
t0=$SECONDS
for (( t = SAMPLE_SECONDS; t <= SOAK_SECONDS; t += SAMPLE_SECONDS )); do
    while (( SECONDS - t0 < t )); do
        kill -0 "$JVM" 2>/dev/null || { tail -n 20 "${LOG[piston]}" >&2; die "the server died after $((SECONDS - t0))s"; }
        sleep 1
    done
    sample "$t"
done

# --- the clients' own results ---
for _ in $(seq 90); do kill -0 -- "-${PGID[clients]}" 2>/dev/null || break; sleep 1; done
clients_ok=1
grep -q '^RESULT' "${LOG[clients]}" || clients_ok=0
grep -q '^problems' "${LOG[clients]}" && clients_ok=0
{
    echo
    echo "clients: $(grep '^RESULT' "${LOG[clients]}" || echo 'no RESULT line')"
    grep '^problems' "${LOG[clients]}" || true
    echo "wrk: $(awk '/requests in/ { r += $1; b++ } /Non-2xx|Socket errors/ { e++ } END { printf "%d requests in %d bursts, %d with errors", r, b, e }' "${LOG[wrk]}")"
} | tee -a "$REPORT"

# --- verdict: last sample against the first ---
read -r _ rss0 heap0 fds0 thr0 < <(head -n1 "$SAMPLES")
read -r _ rss1 heap1 fds1 thr1 < <(tail -n1 "$SAMPLES")
grows=0
verdict() { # name first last allowed-growth unit
    local word=steady
    if awk -v a="$2" -v b="$3" -v m="$4" 'BEGIN { exit !(b > a + m) }'; then word=GROWS; grows=1; fi
    printf '%-14s %10s -> %-10s (margin %s %s): %s\n' "$1" "$2" "$3" "$4" "$5" "$word" | tee -a "$REPORT"
}
printf '\nverdict, sample at %ss against the one at %ss:\n' "$SAMPLE_SECONDS" "$(tail -n1 "$SAMPLES" | cut -d' ' -f1)" | tee -a "$REPORT"
verdict "heap after GC" "$heap0" "$heap1" "$(awk -v a="$heap0" 'BEGIN { m = a / 4; print int(m > 32768 ? m : 32768) }')" KiB
verdict "RSS" "$rss0" "$rss1" 65536 KiB
verdict "fds" "$fds0" "$fds1" 50 ""
verdict "threads" "$thr0" "$thr1" 10 ""
if (( grows )); then echo "verdict: grows"; else echo "verdict: steady"; fi | tee -a "$REPORT"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

save_summary soak <<EOF
### $(date -u '+%Y-%m-%d %H:%M UTC'), $(commit_measured), soak

- Command: \`$COMMAND\`
- Machine: $(machine), shared by the server and the load; load average $LOAD_START at start, $LOAD_END at end
- $(java -version 2>&1 | awk 'NR == 1'); $( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $1, $2 }'); Node $(node --version)
- Server: \`$SERVER_CMD\` with PISTON_JAVA_OPTS=\`$PISTON_JAVA_OPTS\`; ${SOAK_SECONDS} s of load, a sample every ${SAMPLE_SECONDS} s

\`\`\`
$(cat "$REPORT")
\`\`\`
EOF
(( clients_ok )) || log "the clients saw problems (see above and ${LOG[clients]})"
(( grows == 0 && clients_ok ))
