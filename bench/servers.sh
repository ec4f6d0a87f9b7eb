# Shared by the benchmark scripts (sourced first thing, not run): --help from the script's header,
# logging, servers started in sessions of their own (start_in_session) so that each one's whole
# process tree can be stopped, on exit or Ctrl-C too, the Java bench classes, and the summary each
# run leaves in bench/results/.
# The sourcing script fills PGID (server name -> session id) and LOG (server name -> log file),
# sets READY_TIMEOUT, and sets LOAD_PID (one pid, or several separated by spaces) while its load
# generator runs.
export LC_ALL=C

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The settings this run got from the environment (the names the script's header lists), so that
# its summary says the command that produced it. Read before the script fills in its defaults.
SETTINGS=$(sed -n '/^# Environment/,/^set -euo/p' "$0" | grep -oE '\b[A-Z][A-Z0-9_]*[A-Z0-9]\b' | sort -u |
    while read -r name; do
        if [[ ! -v $name ]]; then continue; fi
        if [[ ${!name} =~ ^[A-Za-z0-9_./:,+-]+$ ]]; then printf '%s=%s ' "$name" "${!name}"; else printf '%s=%s ' "$name" "${!name@Q}"; fi
    done)
COMMAND="${SETTINGS}bench/$(basename "$0")${*:+ $*}"

declare -A PGID=() LOG=()
LOAD_PID=

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Starts CMD in a session of its own, output to ${LOG[NAME]}, and records the session in PGID.
# Not a process-group leader (no job control here), so setsid execs in place: $! is the new
# session id. Until setsid() has run, though, the group -$! does not exist: a check for a live
# server, or a stop, made in that moment (a loaded machine makes it longer) would find none and
# leave the server running. So this waits (up to 10 s) until the child leads its session.
start_in_session() {
    local name=$1 cmd=$2 pid
    setsid bash -c "$cmd" </dev/null >"${LOG[$name]}" 2>&1 &
    pid=$!
    PGID[$name]=$pid
    for _ in $(seq 100); do
        [[ -r /proc/$pid/stat ]] || return 0 # exited already: wait_ready reports it
        [[ $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $4 }') == "$pid" ]] && return 0
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    die "$name (process $pid) did not start a session of its own within 10 s"
}

# TERM to the server's session, up to STOP_WAIT seconds' grace, then KILL.
stop_server() {
    local name=$1 pgid=${PGID[$1]:-}
    [[ -n $pgid ]] || return 0
    if kill -0 -- "-$pgid" 2>/dev/null; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        for _ in $(seq $(( ${STOP_WAIT:-10} * 5 ))); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    unset "PGID[$name]"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # shellcheck disable=SC2086 # one pid or several
    [[ -z ${LOAD_PID:-} ]] || kill $LOAD_PID 2>/dev/null || true
    for name in "${!PGID[@]}"; do stop_server "$name"; done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until the server's port accepts connections (up to READY_TIMEOUT seconds), failing
# early with the end of its log when it exits first.
wait_ready() {
    local name=$1 port=$2 deadline=$((SECONDS + READY_TIMEOUT))
    until port_open "$port"; do
        if ! kill -0 -- "-${PGID[$name]}" 2>/dev/null; then
            tail -n 20 "${LOG[$name]}" >&2
            die "$name exited before listening on $port"
        fi
        (( SECONDS < deadline )) || { tail -n 20 "${LOG[$name]}" >&2; die "$name not listening on $port after ${READY_TIMEOUT}s"; }
        sleep 0.25
    done
    for _ in $(seq 20); do grep -q 'Listening on' "${LOG[$name]}" && break; sleep 0.1; done
    log "$name ready on $port: $(grep -m1 'Listening on' "${LOG[$name]}" || echo '(port open)')"
}

# The median of the numbers on stdin, one per line; 0 when there are none.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# CPU time (user + system, in clock ticks) process PID has used so far: fields 14 and 15 of its
# stat, counted after the command name, which may contain spaces; 0 once it is gone.
process_cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}

# RSS of every process in a server's session (the JVM, plus any launcher shell), from /proc.
rss_kb() {
    local field=$1 total=0 pid kb
    for pid in $(pgrep -s "${PGID[$2]}" || true); do
        kb=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# Compiles the Java bench classes (bench/java) into target/bench-classes against Piston's compiled
# core (target/classes) and its dependencies (target/cp.txt), when a source or the core is newer
# than the last build. Sets CP, the classpath to run them with.
build_bench_classes() {
    local out=target/bench-classes stamp=target/bench-classes/.built
    [[ -d target/classes/io/piston ]] || die "build Piston first: mvn -q -o -DskipTests package"
    if [[ ! -s target/cp.txt ]]; then
        log "resolving the dependency classpath (target/cp.txt)"
        mvn -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt >&2 || die "mvn dependency:build-classpath failed"
    fi
    CP="$ROOT/$out:$ROOT/target/classes:$(cat target/cp.txt)"
    if [[ ! -f $stamp ]] || [[ -n $(find bench/java target/classes -newer "$stamp" -print -quit) ]]; then
        log "compiling the bench classes (bench/java) into $out"
        rm -rf "$out"
        mkdir -p "$out"
        find bench/java -name '*.java' -print0 | xargs -0 javac --release 17 -d "$out" -cp "$CP" || die "javac failed"
        touch "$stamp"
    fi
}

# For the summaries: the commit measured (its own results files aside), and the machine.
commit_measured() {
    local commit
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
    [[ -z $(git status --porcelain -- . ':!bench/results' 2>/dev/null) ]] || commit="$commit (with uncommitted changes)"
    echo "$commit"
}
machine() { echo "$(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)"; }

# Prints a run's summary (markdown, on stdin) and appends it to bench/results/DAY-NAME.md: one
# file per day and benchmark, the day's runs in the order they ended.
save_summary() {
    local name=$1 summary file
    summary=$(cat)
    file=bench/results/$(date -u +%F)-$name.md
    printf '\n----- summary, also in %s -----\n%s\n----- end -----\n' "$file" "$summary"
    mkdir -p bench/results
    { [[ ! -s $file ]] || echo; echo "$summary"; } >>"$file"
}
