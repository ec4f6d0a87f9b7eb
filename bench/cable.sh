#!/usr/bin/env bash
# ActionCable benchmark: N clients subscribed to one stream of spec/fixtures/cable_app (Rails 6.1
# in production mode on bin/piston), for each N in NS and each path in PATHS:
#   hijack          ActionCable's own path, as before Piston::Cable: rack.hijack, websocket-driver,
#                   nio4r's pure-Ruby selector (PISTON_ACTION_CABLE=hijack NIO4R_PURE=true), async adapter
#   upgrade         rack.upgrade (Piston::Cable), async adapter
#   upgrade+piston  rack.upgrade, piston adapter (a default stream written from Java)
#   puma            Puma 6 on JRuby (bench/build_puma.sh; nio4r's pure-Ruby engine unless .deps/puma
#                   has its Java one), async adapter, 16 threads: ActionCable on a peer server
# bench/java/.../CableLoadGenerator.java connects the clients (the time until all are subscribed),
# reads the server's RSS, threads and fds, its CPU for 10 s right after all subscribed, for 10 s
# after SETTLE more seconds (less of the JIT at work: nearer the idle cost that stays) and for
# 10 s after all left, and times 5 single broadcasts (a second apart) and a burst of 20 (back to
# back), from the moment one client performs "speak" to each client's receipt: p50 and p99, and
# deliveries per second for the burst; only when every client got subscribed. The load
# generator (Java, one event-loop thread) shares the machine's cores with the server.
#
# Environment (defaults in brackets):
#   NS              client counts [100 1000 5000]
#   PATHS           [upgrade+piston upgrade hijack]
#   PORT            [9495]
#   SETTLE          seconds between the two idle readings with all connected [60]
#   READY_TIMEOUT   seconds to wait for the server to listen [180]
#   RESULTS_DIR     server logs and raw results [a new /tmp/piston-cable.XXXXXX]
set -euo pipefail
# shellcheck source=bench/servers.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

NS=${NS:-100 1000 5000}
PATHS=${PATHS:-upgrade+piston upgrade hijack}
PORT=${PORT:-9495}
SETTLE=${SETTLE:-60}
READY_TIMEOUT=${READY_TIMEOUT:-180}
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/piston-cable.XXXXXX")}
mkdir -p "$RESULTS_DIR"
APP=spec/fixtures/cable_app/config.ru

[[ -f .deps/rails/rubylib ]] || die "no .deps/rails: run bin/setup"
[[ -f ruby/lib/piston/jars/piston_core.jar ]] || die "build first: mvn -q -DskipTests package"
build_bench_classes
[[ " $PATHS " != *" puma "* ]] || [[ -f .deps/puma/.complete ]] || die "no .deps/puma: run bench/build_puma.sh"
! port_open "$PORT" || die "port $PORT is in use"
RUBYLIB="$(paste -sd: .deps/rails/rubylib):$ROOT/.deps/shim"
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

path_env() {
    case $1 in
        hijack) echo "PISTON_ACTION_CABLE=hijack NIO4R_PURE=true CABLE_ADAPTER=async" ;;
        upgrade) echo "CABLE_ADAPTER=async" ;;
        upgrade+piston) echo "CABLE_ADAPTER=piston" ;;
        *) die "unknown path $1 (hijack, upgrade, upgrade+piston, puma)" ;;
    esac
}

# The command that starts PATH's server on $PORT (RUBYLIB and RAILS_ENV are set before it).
server_cmd() {
    case $1 in
        puma) echo "CABLE_ADAPTER=async exec bench/run_puma.sh -b tcp://127.0.0.1:$PORT -t 0:16 $APP" ;;
        *) echo "$(path_env "$1") exec bin/piston -b 127.0.0.1 -p $PORT $APP" ;;
    esac
}

RESULTS=$RESULTS_DIR/results.jsonl
for n in $NS; do
    for path in $PATHS; do
        name="$path N=$n"
        LOG[$name]=$RESULTS_DIR/server-${path/+/-}-$n.log
        start_in_session "$name" "RUBYLIB='$RUBYLIB' RAILS_ENV=production $(server_cmd "$path")"
        wait_ready "$name" "$PORT"
        jvm=$(pgrep -s "${PGID[$name]}" -x java | head -1)
        cookie=$(curl -si "http://127.0.0.1:$PORT/login?user=bench" | sed -n 's/^set-cookie: \(user=[^;]*\).*/\1/Ip' | tr -d '\r')
        log "$name: measuring"
        java -cp "$CP" io.piston.bench.CableLoadGenerator --port "$PORT" --connections "$n" --server-pid "$jvm" \
            --cookie "$cookie" --settle "$SETTLE" |
            sed "s/^{/{\"path\":\"$path\",/" | tee -a "$RESULTS" >&2
        stop_server "$name"
    done
done

save_summary cable <<SUMMARY
## ActionCable, $(date -u '+%F %H:%M') UTC

\`$COMMAND\` on commit $(commit_measured); $(machine); load average $LOAD_AVG_START at start,
$(cut -d' ' -f1-3 /proc/loadavg) at the end. spec/fixtures/cable_app (Rails 6.1, EchoChannel
\`stream_from "echo"\`) in production mode on bin/piston (on Puma for the puma path), N clients of CableLoadGenerator subscribed. Idle CPU in %
of one core: with N connected right after they subscribed, $SETTLE s later, and after all left; latencies in ms
from perform("speak") to receipt.

$(node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
console.log("| path | N | subscribed | connect s | idle CPU % (connected / settled / after) | RSS MiB | threads | fds | single p50 / p99 | burst deliveries/s | burst p50 / p99 | delivered (single / burst) |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  const pct = (x) => Math.round(x * 100) + " %";
  console.log(`| ${r.path} | ${r.n} | ${r.subscribed} | ${r.connectSeconds} | ${r.idleConnected} / ${r.idleSettled} / ${r.idleAfter} | ${Math.round(r.rssMiB)} | ${r.threads} | ${r.fds} | ${r.singleP50} / ${r.singleP99} | ${r.burstPerSecond} | ${r.burstP50} / ${r.burstP99} | ${pct(r.singleDelivered)} / ${pct(r.burstDelivered)} |`);
}' "$RESULTS")
SUMMARY
