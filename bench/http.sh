#!/usr/bin/env bash
# Hello-world HTTP benchmark on loopback: Piston running bench/hello.ru against the
# plain-Netty ceiling (io.piston.bench.HelloCeilingServer), measured with wrk.
#
# Both servers are started once, warmed up, then measured in alternating runs
# (ceiling, piston, ceiling, piston, ...) so drift in machine load hits both alike.
# Prints a per-run table (with each server's CPU time per request, read from /proc), medians,
# the piston/ceiling ratio (of the medians, and the median of each round's own ratio), the
# servers' RSS, and a markdown summary, which it also appends to bench/results/DAY-http.md.
# Raw wrk output and server logs are kept in $RESULTS_DIR. The ceiling and the other Java bench
# classes (bench/java) are compiled against Piston's compiled core, target/classes: build that
# first (bin/piston does when the sources are newer than its jar, or mvn -q -DskipTests package).
#
# Environment (defaults in brackets):
#   ROUNDS            measured runs per server [5]
#   WRK_THREADS       wrk -t [1]
#   WRK_CONNECTIONS   wrk -c [50]
#   WRK_DURATION      wrk -d of each measured run, e.g. 5s, 1m [5s]
#   WARMUP_PISTON     seconds of wrk against Piston before measuring [20]
#   WARMUP_CEILING    seconds of wrk against the ceiling before measuring [5]
#   PISTON_PORT       [9292]        CEILING_PORT      [9293]
#   PISTON_THREADS    Ruby worker threads, substituted for {THREADS} [5, Piston's default]
#   CEILING_THREADS   ceiling IO threads [number of cores]
#   CEILING_JAVA_OPTS JVM options for the ceiling [-XX:+UseParallelGC, the collector that spends the least CPU]
#   PISTON_CMD        command starting Piston; {PORT}, {THREADS} and {CP} (the bench
#                     classes' classpath) are substituted ['bin/piston -b 127.0.0.1 -p {PORT} -t {THREADS} bench/hello.ru']
#   PISTON_TRANSPORT  Piston's transport: auto, io_uring, epoll or nio (read by Piston itself) [auto]
#   PISTON_LABEL      the measured server's name in the summary; the prose uses the part before
#                     the first comma [Piston, `bench/hello.ru`]
#   READY_TIMEOUT     seconds to wait for each server's port [120]
#   RESULTS_DIR       where logs and raw wrk output go [a new /tmp/piston-bench.XXXXXX]
#
# Example, Piston's HTTP core with a Java app on its worker threads instead of JRuby (its Java
# request path, hand-offs included, without Ruby):
#   PISTON_LABEL='HelloWorkerServer (Java app on the workers)' \
#   PISTON_CMD='java -XX:+UseParallelGC -Xmx1g -cp {CP} io.piston.bench.HelloWorkerServer --port {PORT} --threads {THREADS}' bench/http.sh
#
# Example, quick check of the script itself with a second ceiling standing in for Piston:
#   ROUNDS=2 WRK_DURATION=2s WARMUP_PISTON=2 WARMUP_CEILING=2 \
#   PISTON_CMD='java -cp {CP} io.piston.bench.HelloCeilingServer --bind 127.0.0.1 --port {PORT}' bench/http.sh
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

ROUNDS=${ROUNDS:-5}
WRK_THREADS=${WRK_THREADS:-1}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-50}
WRK_DURATION=${WRK_DURATION:-5s}
WARMUP_PISTON=${WARMUP_PISTON:-20}
WARMUP_CEILING=${WARMUP_CEILING:-5}
PISTON_PORT=${PISTON_PORT:-9292}
CEILING_PORT=${CEILING_PORT:-9293}
PISTON_THREADS=${PISTON_THREADS:-5}
CEILING_THREADS=${CEILING_THREADS:-$(nproc)}
CEILING_JAVA_OPTS=${CEILING_JAVA_OPTS--XX:+UseParallelGC}
PISTON_CMD=${PISTON_CMD:-'bin/piston -b 127.0.0.1 -p {PORT} -t {THREADS} bench/hello.ru'}
PISTON_LABEL=${PISTON_LABEL:-'Piston, `bench/hello.ru`'}
PISTON_NAME=${PISTON_LABEL%%,*}
READY_TIMEOUT=${READY_TIMEOUT:-120}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-bench.XXXXXX")}
mkdir -p "$RESULTS_DIR"

WRK_OPTS=(-t"$WRK_THREADS" -c"$WRK_CONNECTIONS")
declare -A URL=()

command -v wrk >/dev/null || die "wrk not found"
command -v curl >/dev/null || die "curl not found"
[[ $PISTON_PORT != "$CEILING_PORT" ]] || die "PISTON_PORT and CEILING_PORT must differ"

# Seconds in a wrk duration ("5s", "2m", "30").
seconds() {
    case $1 in
        *m) echo $(( ${1%m} * 60 )) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}


# --- the ceiling and the other Java bench classes (bench/java) ---
build_bench_classes

# --- servers: each in its own session so the whole tree can be stopped ---
start_server() {
    local name=$1 port=$2 cmd=$3
    LOG[$name]=$RESULTS_DIR/$name.log
    URL[$name]=http://127.0.0.1:$port/
    log "starting $name: ${cmd//"$CP"/\$CP}"
    start_in_session "$name" "$cmd"
}

# Both must give the same 200 "Hello World!" or the comparison means nothing.
check_response() {
    local name=$1 out
    out=$(curl -s -m 10 -o - -w '\n%{http_code}' "${URL[$name]}") || die "$name: request failed"
    [[ $out == $'Hello World!\n200' ]] || die "$name: unexpected response: $out"
}


# --- measuring ---
# wrk latency ("274.00us", "4.18ms", "1.02s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# run_wrk NAME SECONDS OUTFILE [--latency]
run_wrk() {
    local name=$1 secs=$2 out=$3
    shift 3
    # In the background so a signal to this script is handled at once, not after the run.
    timeout $((secs + 60)) wrk "${WRK_OPTS[@]}" -d"${secs}s" "$@" "${URL[$name]}" >"$out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || { cat "$out" >&2; die "wrk against $name failed"; }
    LOAD_PID=
}

# CPU time (clock ticks) the server's process has used so far. The command must exec the server
# (as both defaults do), or this reads the shell's.
cpu_ticks() { process_cpu_ticks "${PGID[$1]}"; }

# The machine's CPU time so far, as "steal total" (clock ticks, all CPUs, from /proc/stat): on a
# virtual machine, steal is the time the host ran something else while this guest wanted a CPU.
host_ticks() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat
}

declare -a RUN_ROUND=() RUN_NAME=() RUN_RPS=() RUN_P50=() RUN_P99=() RUN_ERR=() RUN_CPU=() RUN_STEAL=()
measure() {
    local name=$1 round=$2 out=$RESULTS_DIR/$1-$2.txt
    local ticks_before ticks_after host_before host_after
    ticks_before=$(cpu_ticks "$name")
    host_before=$(host_ticks)
    run_wrk "$name" "$(seconds "$WRK_DURATION")" "$out" --latency
    host_after=$(host_ticks)
    ticks_after=$(cpu_ticks "$name")
    local rps p50 p99 err cpu steal
    # Share of the machine's CPU time the host took during the run: the runs to distrust.
    steal=$(echo "$host_before $host_after" |
        awk '{ t = $4 - $2; printf "%.1f", (t > 0 ? 100 * ($3 - $1) / t : 0) }')
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    # Server CPU per request in microseconds: less sensitive than req/s to how busy the host is.
    cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
        '/ requests in / { n = $1 } END { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    # Socket errors (connect/read/write/timeout) plus non-2xx responses.
    err=$(awk '/Socket errors:/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 }
               /Non-2xx or 3xx responses:/ { s += $5 } END { print s + 0 }' "$out")
    [[ -n $rps ]] || { cat "$out" >&2; die "could not parse wrk output ($out)"; }
    RUN_ROUND+=("$round") RUN_NAME+=("$name") RUN_RPS+=("$rps") RUN_P50+=("$p50") RUN_P99+=("$p99") RUN_ERR+=("$err")
    RUN_CPU+=("$cpu") RUN_STEAL+=("$steal")
    printf '%-5s %-8s %12.0f %10.3f %10.3f %7s %8s %8s\n' "$round" "$name" "$rps" "$p50" "$p99" "$err" "$cpu" "$steal"
}

# run_median NAME FIELD: median of one column over a server's runs.
run_median() {
    local -n col=RUN_$2
    local i
    for i in "${!RUN_NAME[@]}"; do
        if [[ ${RUN_NAME[$i]} == "$1" ]]; then echo "${col[$i]}"; fi
    done | median
}

# Median over the rounds of piston's req/s divided by the ceiling's in the same round: the two
# runs of a round are seconds apart, so a slow spell of the shared host hits both.
paired_ratio() {
    local i
    for i in "${!RUN_NAME[@]}"; do
        if [[ ${RUN_NAME[$i]} == piston && ${RUN_NAME[$((i - 1))]} == ceiling ]]; then
            awk -v p="${RUN_RPS[$i]}" -v c="${RUN_RPS[$((i - 1))]}" 'BEGIN { if (c > 0) print 100 * p / c }'
        fi
    done | median | xargs printf '%.1f'
}

# values_of NAME FIELD FORMAT: one column over a server's runs, each printed with FORMAT, comma-separated.
values_of() {
    local -n col=RUN_$2
    local i out=()
    for i in "${!RUN_NAME[@]}"; do
        if [[ ${RUN_NAME[$i]} == "$1" ]]; then out+=("$(printf "$3" "${col[$i]}")"); fi
    done
    (IFS=,; echo "${out[*]}" | sed 's/,/, /g')
}

# --- run ---
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
piston_cmd=${PISTON_CMD//\{PORT\}/$PISTON_PORT}
piston_cmd=${piston_cmd//\{THREADS\}/$PISTON_THREADS}
piston_cmd=${piston_cmd//\{CP\}/$CP}
for port in "$CEILING_PORT" "$PISTON_PORT"; do
    ! port_open "$port" || die "port $port is already in use (set CEILING_PORT / PISTON_PORT)"
done
start_server ceiling "$CEILING_PORT" \
    "exec java $CEILING_JAVA_OPTS -cp '$CP' io.piston.bench.HelloCeilingServer --bind 127.0.0.1 --port $CEILING_PORT --threads $CEILING_THREADS"
start_server piston "$PISTON_PORT" "$piston_cmd"
wait_ready ceiling "$CEILING_PORT"
wait_ready piston "$PISTON_PORT"
check_response ceiling
check_response piston

if (( WARMUP_CEILING > 0 )); then
    log "warming up ceiling for ${WARMUP_CEILING}s"
    run_wrk ceiling "$WARMUP_CEILING" "$RESULTS_DIR/ceiling-warmup.txt"
fi
if (( WARMUP_PISTON > 0 )); then
    log "warming up piston for ${WARMUP_PISTON}s"
    run_wrk piston "$WARMUP_PISTON" "$RESULTS_DIR/piston-warmup.txt"
fi

echo
echo "wrk ${WRK_OPTS[*]} -d$WRK_DURATION --latency, $ROUNDS alternating rounds"
printf '%-5s %-8s %12s %10s %10s %7s %8s %8s\n' round server req/s p50_ms p99_ms errors cpu_us steal_%
for round in $(seq "$ROUNDS"); do
    measure ceiling "$round"
    measure piston "$round"
done

C_RPS=$(run_median ceiling RPS); P_RPS=$(run_median piston RPS)
C_P50=$(run_median ceiling P50); P_P50=$(run_median piston P50)
C_P99=$(run_median ceiling P99); P_P99=$(run_median piston P99)
C_CPU=$(run_median ceiling CPU); P_CPU=$(run_median piston CPU)
C_STEAL=$(printf '%.1f' "$(run_median ceiling STEAL)"); P_STEAL=$(printf '%.1f' "$(run_median piston STEAL)")
RATIO=$(awk -v p="$P_RPS" -v c="$C_RPS" 'BEGIN { printf "%.1f", (c > 0 ? 100 * p / c : 0) }')
PAIRED=$(paired_ratio)
C_RSS=$(rss_kb VmRSS ceiling); P_RSS=$(rss_kb VmRSS piston)
C_HWM=$(rss_kb VmHWM ceiling); P_HWM=$(rss_kb VmHWM piston)
ERRORS=0; for e in "${RUN_ERR[@]}"; do ERRORS=$((ERRORS + e)); done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
printf '%-8s %12s %10s %10s %8s %10s %10s\n' median req/s p50_ms p99_ms cpu_us RSS_MiB peak_MiB
printf '%-8s %12.0f %10.3f %10.3f %8s %10d %10d\n' ceiling "$C_RPS" "$C_P50" "$C_P99" "$C_CPU" $((C_RSS / 1024)) $((C_HWM / 1024))
printf '%-8s %12.0f %10.3f %10.3f %8s %10d %10d\n' piston "$P_RPS" "$P_P50" "$P_P99" "$P_CPU" $((P_RSS / 1024)) $((P_HWM / 1024))
echo "piston/ceiling: $RATIO% of the requests/s (medians); $PAIRED% (median of the rounds' ratios)"
echo "host steal: $C_STEAL% of the CPU time during the ceiling's runs, $P_STEAL% during $PISTON_NAME's (medians)"
(( ERRORS == 0 )) || echo "WARNING: $ERRORS socket errors or non-2xx responses (see $RESULTS_DIR)"

# --- summary ---
JAVA=$(java -version 2>&1 | awk 'NR == 1')
WRK_VERSION=$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $1, $2 }')

save_summary http <<EOF
### $(date -u '+%Y-%m-%d %H:%M UTC'), $(commit_measured)

- Command: \`$COMMAND\`
- Machine: $(machine), shared by the servers and wrk; load average $LOAD_START at start, $LOAD_END at end
- $JAVA; $WRK_VERSION
- \`wrk ${WRK_OPTS[*]} -d$WRK_DURATION --latency\`, $ROUNDS alternating rounds after ${WARMUP_CEILING} s (ceiling) / ${WARMUP_PISTON} s ($PISTON_NAME) of warm-up
- $PISTON_NAME: \`${PISTON_CMD}\` with {THREADS}=$PISTON_THREADS; ceiling: $CEILING_THREADS IO threads

| Server | req/s (median) | p50 | p99 | server CPU per request | req/s per run | RSS at end (peak) |
|---|---:|---:|---:|---:|---|---:|
| Ceiling (plain Netty) | $(printf '%.0f' "$C_RPS") | $C_P50 ms | $C_P99 ms | $C_CPU µs | $(values_of ceiling RPS %.0f) | $((C_RSS / 1024)) MiB ($((C_HWM / 1024)) MiB) |
| $PISTON_LABEL | $(printf '%.0f' "$P_RPS") | $P_P50 ms | $P_P99 ms | $P_CPU µs | $(values_of piston RPS %.0f) | $((P_RSS / 1024)) MiB ($((P_HWM / 1024)) MiB) |

$PISTON_NAME reaches **$RATIO %** of the ceiling's requests/s (ratio of the medians); the median of
the rounds' own ratios is $PAIRED %.$( (( ERRORS == 0 )) || echo " ($ERRORS socket errors or non-2xx responses during the runs.)")
The host took $C_STEAL % of the CPU time during the ceiling's runs and $P_STEAL % during those of
$PISTON_NAME (medians of the steal time in \`/proc/stat\`; per run, ceiling: $(values_of ceiling STEAL %s);
$PISTON_NAME: $(values_of piston STEAL %s)).
EOF
log "raw output: $RESULTS_DIR"
