#!/usr/bin/env bash
# Builds .deps/puma: Puma 6 for JRuby, a server to compare Piston with in the benchmarks (neither
# the tests nor CI need it). Run it with bench/run_puma.sh.
#
# Puma: its source as Debian trixie ships it (the package's upstream tarball, downloaded with a
# private apt configuration as bin/setup does for .deps/rack3; Debian's own patches are not
# needed), its Ruby lib and executable, and lib/puma/puma_http11.jar, its Java HTTP parser,
# compiled with javac against the jruby-complete the project uses (pom.xml's jruby.version).
# Puma uses nio4r, whose Ruby lib Debian's ruby-nio4r installs (bin/setup) with a C engine only.
# nio4r's Java engine, lib/nio4r_ext.jar, is compiled from the first of:
#   NIO4R_JAVA_SRC  a folder with nio4r's Java sources (org/nio4r/*.java, from ext/nio4r of its
#                   gem or repository), for a machine whose mirror does not serve the next one
#   the source package of the installed ruby-nio4r, when the mirror serves it
# Without either, Puma runs on nio4r's pure-Ruby engine, and bench/run_puma.sh sets NIO4R_PURE.
#
# Skips the build when .deps/puma is up to date (same suite, JRuby, nio4r sources and this
# script). Prints, on its last line, the RUBYLIB that loads this Puma and nio4r.
#
# Environment (defaults in brackets):
#   PUMA_SUITE       the Debian suite whose puma source package is built [trixie]
#   NIO4R_JAVA_SRC   see above [none]
#   MIRROR           the Debian archive to download from [the one apt is configured with]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PUMA="$ROOT/.deps/puma"
TMP="$ROOT/.deps/puma.tmp"
PUMA_SUITE=${PUMA_SUITE:-trixie}

log() { printf 'build_puma: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

JRUBY_VERSION=$(sed -n 's:.*<jruby.version>\(.*\)</jruby.version>.*:\1:p' pom.xml | head -1)
JRUBY_JAR="$HOME/.m2/repository/org/jruby/jruby-complete/$JRUBY_VERSION/jruby-complete-$JRUBY_VERSION.jar"
[[ -f $JRUBY_JAR ]] || die "no $JRUBY_JAR: run bin/setup"
NIO4R_LIB=$(dpkg -L ruby-nio4r 2>/dev/null | sed -n 's:/nio\.rb$::p' | grep '/lib$' | head -1 || true)
[[ -n $NIO4R_LIB ]] || die "Debian's ruby-nio4r is not installed: run bin/setup"
NIO4R_VERSION=$(dpkg-query -W -f='${source:Version}' ruby-nio4r)
if [[ -n ${NIO4R_JAVA_SRC:-} ]]; then
    [[ -f $NIO4R_JAVA_SRC/org/nio4r/Nio4r.java ]] || die "NIO4R_JAVA_SRC=$NIO4R_JAVA_SRC has no org/nio4r/Nio4r.java"
    NIO4R_KEY="$(cat "$NIO4R_JAVA_SRC"/org/nio4r/*.java | sha256sum | cut -c1-16)"
else
    NIO4R_KEY="ruby-nio4r=$NIO4R_VERSION"
fi
KEY="$PUMA_SUITE $JRUBY_VERSION $NIO4R_KEY $(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"

print_rubylib() { echo "RUBYLIB=$PUMA/lib:$NIO4R_LIB"; }
if [[ -f $PUMA/.complete && $(cat "$PUMA/.complete") == "$KEY" ]]; then
    log ".deps/puma up to date ($(cat "$PUMA/version"))"
    print_rubylib
    exit 0
fi

# --- the sources, with a private apt configuration: nothing under /etc changes ------------------
APT_SOURCES=(/etc/apt/sources.list.d/debian.sources /etc/apt/sources.list)
MIRROR=${MIRROR:-$({ awk '/^URIs:/{print $2}' "${APT_SOURCES[0]}"; awk '$1=="deb"{print $2}' "${APT_SOURCES[1]}"; } 2>/dev/null | head -1 || true)}
[[ -n $MIRROR ]] || die "no Debian mirror configured for apt (read ${APT_SOURCES[*]}): set MIRROR"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT   # a failed build leaves nothing behind; a finished one is moved away
mkdir -p "$TMP"/apt/lists/partial "$TMP"/apt/cache/archives/partial "$TMP/src" "$TMP/classes" "$TMP/lib"
# PUMA_SUITE for Puma, the machine's own suite for the installed ruby-nio4r's source.
OWN_SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
printf 'deb-src %s %s main\n' "$MIRROR" "$PUMA_SUITE" "$MIRROR" "$OWN_SUITE" | sort -u > "$TMP/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$TMP/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o "Dir::State::Lists=$TMP/apt/lists" -o "Dir::Cache=$TMP/apt/cache" -o Debug::NoLocking=1
     -o APT::Sandbox::User=root)   # the _apt user cannot write into the work tree
log "reading the source package lists ($PUMA_SUITE, $OWN_SUITE)"
apt-get "${APT[@]}" update -q >/dev/null || die "apt-get update of the source lists failed"

# Downloads the upstream tarball (*.orig.tar.*) of source package PKG (a name, or name=version)
# into $TMP/src, checked against the hash the package lists give, and prints its path.
# Only that file: Debian's patches are not needed here, and a mirror may serve the tarball alone.
fetch_orig() {
    local line uri file hash
    line=$(apt-get "${APT[@]}" source --print-uris "$1" 2>/dev/null | grep "\.orig\.tar\." | head -1) || true
    [[ -n $line ]] || { log "no source package $1 in the lists"; return 1; }
    read -r uri file _ hash <<<"$line"
    uri=${uri//\'/}
    /usr/lib/apt/apt-helper "${APT[@]}" download-file "$uri" "$TMP/src/$file" "$hash" >/dev/null 2>&1 ||
        { log "the mirror did not serve $file ($1)"; return 1; }
    echo "$TMP/src/$file"
}

# --- Puma --------------------------------------------------------------------------------------
tarball=$(fetch_orig "puma/$PUMA_SUITE") || die "could not download Puma's source (puma/$PUMA_SUITE)"
PUMA_VERSION=$(basename "$tarball" | sed 's/^puma_\(.*\)\.orig\.tar\..*/\1/')
log "Puma $PUMA_VERSION from Debian's source package"
mkdir -p "$TMP/src/puma"
tar xf "$tarball" -C "$TMP/src/puma" --strip-components=1
P="$TMP/src/puma"
# The files Puma's Rakefile hands its JavaExtensionTask (the parser, and MiniSSL for TLS).
javac -nowarn --release 8 -cp "$JRUBY_JAR" -d "$TMP/classes" "$P/ext/puma_http11/PumaHttp11Service.java" \
    "$P"/ext/puma_http11/org/jruby/puma/*.java || die "javac failed on Puma's Java extension"
cp -r "$P/lib/." "$TMP/lib/"
jar cf "$TMP/lib/puma/puma_http11.jar" -C "$TMP/classes" .
mkdir -p "$TMP/bin"
cp "$P/bin/puma" "$TMP/bin/puma"
version="puma $PUMA_VERSION"

# --- nio4r's Java engine -----------------------------------------------------------------------
NIO4R_SRC=${NIO4R_JAVA_SRC:-}
if [[ -z $NIO4R_SRC ]] && tarball=$(fetch_orig "ruby-nio4r=$NIO4R_VERSION"); then
    mkdir -p "$TMP/src/nio4r"
    tar xf "$tarball" -C "$TMP/src/nio4r" --strip-components=1
    NIO4R_SRC="$TMP/src/nio4r/ext/nio4r"
fi
if [[ -n $NIO4R_SRC ]]; then
    rm -rf "$TMP/classes" && mkdir -p "$TMP/classes"
    javac -nowarn --release 8 -cp "$JRUBY_JAR" -d "$TMP/classes" "$NIO4R_SRC"/org/nio4r/*.java ||
        die "javac failed on nio4r's Java sources in $NIO4R_SRC"
    jar cf "$TMP/lib/nio4r_ext.jar" -C "$TMP/classes" .
    version="$version, nio4r's Java engine (from ${NIO4R_JAVA_SRC:-ruby-nio4r $NIO4R_VERSION})"
else
    log "WARNING: no source for nio4r's Java engine: Puma will run on nio4r's pure-Ruby engine" \
        "(set NIO4R_JAVA_SRC, or rm -rf .deps/puma to try the mirror again)"
    version="$version, nio4r's pure-Ruby engine"
fi

rm -rf "$TMP/apt" "$TMP/src" "$TMP/classes"
echo "$JRUBY_JAR" > "$TMP/jruby-jar"
echo "$NIO4R_LIB" > "$TMP/nio4r-lib"
echo "$version" > "$TMP/version"
echo "$KEY" > "$TMP/.complete"
rm -rf "$PUMA"
mv "$TMP" "$PUMA"
log ".deps/puma: $version"
print_rubylib
