#!/usr/bin/env bash
# Start-up benchmark: the time from starting a server to its first answered HTTP request on
# loopback, for examples/hello/config.ru under
#   - bin/piston (with its start-up archive, and with PISTON_STARTUP_ARCHIVE=0 for comparison),
#     which starts JRuby without RubyGems when RubyGems would find no gem but JRuby's own, and
#     bin/piston with GEM_PATH on the system's gems (RubyGems loaded at start, Rack 2.2 found),
#   - `rackup -s piston` with the gem installed as users get it (target/piston-*-java.gem, from
#     `mvn package`, installed into a temporary GEM_HOME; Rack 2.2's rackup from the system gems),
#   - `rackup -s webrick` on JRuby, as a reference,
# each on Java 17 and Java 25 (JRuby 9.4). The variants take turns start after start, so drift in
# machine load hits them alike. Prints each variant's median of STARTS starts, with the CPU time
# the server used until its first response (less sensitive to other load on the machine than the
# wall time) and its RSS then, and a markdown table for bench/README.md. Before measuring, each
# Java gets one bin/piston start, which records its start-up archive if there is none yet.
#
# Environment (defaults in brackets):
#   STARTS          measured starts per variant [5]
#   JAVA17_HOME     [/usr/lib/jvm/java-17-openjdk-amd64]
#   JAVA25_HOME     [/usr/lib/jvm/temurin-25-jdk-amd64]; empty: Java 17 only
#   PORT            [9494]
#   ONLY            run only the variants whose name contains this text, e.g. "bin/piston"
#   READY_TIMEOUT   seconds to wait for one first response [120]
#   RESULTS_DIR     server logs [a new /tmp/piston-startup.XXXXXX]
set -euo pipefail
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C

STARTS=${STARTS:-5}
JAVA17_HOME=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
JAVA25_HOME=${JAVA25_HOME-/usr/lib/jvm/temurin-25-jdk-amd64}
PORT=${PORT:-9494}
ONLY=${ONLY:-}
READY_TIMEOUT=${READY_TIMEOUT:-120}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-startup.XXXXXX")}
mkdir -p "$RESULTS_DIR"
APP=examples/hello/config.ru
SYSTEM_GEMS=/usr/share/rubygems-integration/all
JRUBY_JAR=$ROOT/target/jruby/jruby-complete.jar
declare -A PGID=() LOG=()

# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

command -v curl >/dev/null || die "curl not found"
[[ -f $JRUBY_JAR ]] && compgen -G "target/piston-*-java.gem" >/dev/null || die "build first: mvn -DskipTests package"
! port_open "$PORT" || die "port $PORT is in use"

# The gem, installed once into a temporary GEM_HOME (removed at exit, after the servers stop).
GEM_HOME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/piston-startup-gems.XXXXXX")
trap 'rc=$?; rm -rf "$GEM_HOME_DIR"; (exit "$rc"); cleanup' EXIT
GEM=$(ls -t target/piston-*-java.gem | head -1)
log "installing $GEM into $GEM_HOME_DIR"
env -u RUBYOPT -u RUBYLIB GEM_HOME="$GEM_HOME_DIR" GEM_PATH="$GEM_HOME_DIR" \
    java -jar "$JRUBY_JAR" -S gem install --local --no-document "$GEM" >"$RESULTS_DIR/gem-install.log" 2>&1 ||
    { cat "$RESULTS_DIR/gem-install.log" >&2; die "gem install failed"; }
RACKUP=$(ls -d "$SYSTEM_GEMS"/gems/rack-2.2.*/bin/rackup | sort -V | tail -1)

# JVM options for JRuby 9.4 started with -jar on a given Java (the ones bin/piston uses).
jruby_java_opts() {
    local major=$1 opts="-Xmx1g -XX:+UseG1GC -XX:G1PeriodicGCInterval=30000 -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10"
    (( major < 21 )) || opts="$opts --enable-native-access=ALL-UNNAMED"
    (( major < 23 )) || opts="$opts --sun-misc-unsafe-memory-access=allow"
    echo "$opts"
}
# rackup from the system's Rack 2.2, the gem found only through GEM_HOME (no checkout on RUBYLIB).
rackup_cmd() {
    local java_home=$1 major=$2 server=$3
    echo "env -u RUBYOPT -u RUBYLIB GEM_HOME='$GEM_HOME_DIR' GEM_PATH='$GEM_HOME_DIR:$SYSTEM_GEMS:' \
$java_home/bin/java $(jruby_java_opts "$major") -jar '$JRUBY_JAR' '$RACKUP' -s $server -o 127.0.0.1 -p $PORT -E deployment $APP"
}

NAMES=()
declare -A CMD=()
add_variant() { [[ -z $ONLY || $1 == *"$ONLY"* ]] || return 0; NAMES+=("$1"); CMD[$1]=$2; }
JAVAS=("17:$JAVA17_HOME")
[[ -z $JAVA25_HOME ]] || JAVAS+=("25:$JAVA25_HOME")
for java in "${JAVAS[@]}"; do
    major=${java%%:*} home=${java#*:}
    [[ -x $home/bin/java ]] || die "no Java $major at $home"
    piston="env -u GEM_HOME -u GEM_PATH -u RUBYOPT -u RUBYLIB JAVA_HOME=$home"
    add_variant "bin/piston, Java $major" "$piston bin/piston -b 127.0.0.1 -p $PORT $APP"
    add_variant "bin/piston without archive, Java $major" "$piston PISTON_STARTUP_ARCHIVE=0 bin/piston -b 127.0.0.1 -p $PORT $APP"
    add_variant "bin/piston with gems (Rack 2.2), Java $major" "$piston GEM_PATH=$SYSTEM_GEMS bin/piston -b 127.0.0.1 -p $PORT $APP"
    add_variant "rackup -s piston, Java $major" "$(rackup_cmd "$home" "$major" piston)"
    add_variant "rackup -s webrick, Java $major" "$(rackup_cmd "$home" "$major" webrick)"
done
(( ${#NAMES[@]} > 0 )) || die "no variant matches ONLY=$ONLY"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# User + system CPU time, in ms, of every process in a server's session.
cpu_ms() {
    local total=0 pid ticks
    for pid in $(pgrep -s "${PGID[$1]}" || true); do
        ticks=$(process_cpu_ticks "$pid")
        total=$((total + ${ticks:-0}))
    done
    echo $(( total * 1000 / $(getconf CLK_TCK) ))
}

# Starts NAME, polls GET / every 20 ms until it answers, sets MS (to the first response), CPU_MS
# and RSS_KB (then), and stops it.
measure_start() {
    local name=$1 t0 deadline
    LOG[$name]="$RESULTS_DIR/$(tr -c 'a-zA-Z0-9\n' _ <<<"$name").log"
    t0=$(now_ms)
    deadline=$((t0 + READY_TIMEOUT * 1000))
    start_in_session "$name" "${CMD[$name]}"
    until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; do
        if ! kill -0 -- "-${PGID[$name]}" 2>/dev/null; then
            tail -n 20 "${LOG[$name]}" >&2
            die "$name exited before answering"
        fi
        (( $(now_ms) < deadline )) || { tail -n 20 "${LOG[$name]}" >&2; die "$name did not answer within ${READY_TIMEOUT}s"; }
        sleep 0.02
    done
    MS=$(( $(now_ms) - t0 )) CPU_MS=$(cpu_ms "$name") RSS_KB=$(rss_kb VmRSS "$name")
    stop_server "$name"
    for _ in $(seq 100); do port_open "$PORT" || break; sleep 0.1; done
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

log "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
declare -A FIRST=()
for name in "${NAMES[@]}"; do
    if [[ $name == "bin/piston, Java "* ]]; then
        measure_start "$name"
        FIRST[$name]=$MS
        log "$name: warm-up start (records the archive if none) $(secs "$MS") s"
    fi
done

declare -A WALL=() CPU=() RSS=()
for round in $(seq "$STARTS"); do
    for name in "${NAMES[@]}"; do
        measure_start "$name"
        WALL[$name]+="$MS " CPU[$name]+="$CPU_MS " RSS[$name]+="$RSS_KB "
        log "round $round/$STARTS  $name: $(secs "$MS") s, CPU $(secs "$CPU_MS") s, RSS $((RSS_KB / 1024)) MiB"
    done
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Time to first response of $APP, median of $STARTS starts (load average after: $LOAD, $(nproc) cores)"
echo
echo "| Server | First response | CPU until then | RSS then |"
echo "|---|---:|---:|---:|"
for name in "${NAMES[@]}"; do
    wall=$(tr ' ' '\n' <<<"${WALL[$name]}" | grep . | median)
    cpu=$(tr ' ' '\n' <<<"${CPU[$name]}" | grep . | median)
    rss=$(tr ' ' '\n' <<<"${RSS[$name]}" | grep . | median)
    echo "| $name | $(secs "$wall") s | $(secs "$cpu") s | $((rss / 1024)) MiB |"
done
for name in "${!FIRST[@]}"; do echo; echo "$name, warm-up start (records the archive if there is none): $(secs "${FIRST[$name]}") s"; done
echo
echo "Server logs: $RESULTS_DIR"
