#!/usr/bin/env bash
# Runs Puma, as bench/build_puma.sh built it into .deps/puma, on the project's JRuby: the
# arguments go to Puma's own executable, e.g.
#   bench/run_puma.sh -b tcp://127.0.0.1:9292 -t 16:16 -e production bench/hello.ru
# The JVM gets bin/piston's default heap and collector options (G1, giving memory back when
# idle), so that the two servers compare on the same footing; PUMA_JAVA_OPTS adds options after
# them. Puma's lib and
# nio4r's come first in RUBYLIB, before the caller's own (an app's load path, e.g. Rails's).
# nio4r runs its Java engine when .deps/puma has one (see bench/build_puma.sh), its pure-Ruby
# engine (NIO4R_PURE=true) otherwise.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PUMA="$ROOT/.deps/puma"
[[ -f $PUMA/.complete ]] || { echo "run_puma: no .deps/puma: run bench/build_puma.sh" >&2; exit 1; }

[[ -f $PUMA/lib/nio4r_ext.jar ]] || export NIO4R_PURE=true
export RUBYLIB="$PUMA/lib:$(cat "$PUMA/nio4r-lib")${RUBYLIB:+:$RUBYLIB}"
# shellcheck disable=SC2086 # PUMA_JAVA_OPTS is a list of JVM options, split on spaces
exec java -Xmx1g -XX:+UseG1GC -XX:G1PeriodicGCInterval=30000 -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10 ${PUMA_JAVA_OPTS:-} -jar "$(cat "$PUMA/jruby-jar")" "$PUMA/bin/puma" "$@"
