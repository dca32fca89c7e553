#!/usr/bin/env bash
# Runs Redis 7.0.15's own test suite (tests/unit/*.tcl) against ferrokv in
# the suite's external-server mode, one unit at a time with a fresh server,
# and prints passed/failed counts per unit. Not part of `cargo test`: it
# fetches Redis's source with `apt-get source` and takes ~15 minutes.
#
#   tests/support/redis_suite.sh [unit ...]      e.g. unit/type/list unit/expire
#
# Needs: tclsh 8.6, apt-get with deb-src, redis-server/redis-cli 7.0 (apt), a release build
# (cargo build --release). Tests tagged external:skip are skipped by the suite.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FERROKV_BIN:-$ROOT/target/release/ferrokv-server}
WORK=${WORK:-/tmp/ferrokv-redis-suite}
PORT=${PORT:-7600}
SRC=$WORK/redis-7.0.15
mkdir -p "$WORK"
if [ ! -d "$SRC" ]; then
    # Redis's source through the package client (deb-src enabled on the
    # sources' Types: lines), never a hard-coded download address.
    if ! ls "$WORK"/redis_7.0.15.orig.tar.gz >/dev/null 2>&1; then
        f=/etc/apt/sources.list.d/debian.sources
        if [ -f "$f" ] && ! grep -q '^Types:.*deb-src' "$f"; then
            sed -i 's/^Types: deb$/Types: deb deb-src/' "$f" && apt-get update -qq
        fi
        (cd "$WORK" && apt-get source --download-only redis) || exit 1
    fi
    tar xzf "$WORK"/redis_7.0.15.orig.tar.gz -C "$WORK" || exit 1
    mkdir -p "$SRC/src"
    for b in redis-server redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
        ln -sf "/usr/bin/$b" "$SRC/src/$b"
    done
fi
units=("$@")
if [ ${#units[@]} -eq 0 ]; then
    mapfile -t units < <(cd "$SRC/tests" && ls unit/*.tcl unit/type/*.tcl | sed 's/\.tcl$//' |
        grep -v -e moduleapi -e cluster -e '^unit/tls$' -e oom-score-adj)
fi
total_ok=0
total_err=0
for u in "${units[@]}"; do
    pkill -9 -f "ferrokv-server --port $PORT" 2>/dev/null
    sleep 0.3
    "$BIN" --port "$PORT" --bind 127.0.0.1 --save "" --dir "$WORK" \
        --logfile "$WORK/ferrokv.log" --enable-debug-command yes &
    disown
    sleep 0.4
    log="$WORK/$(echo "$u" | tr '/' '_').log"
    (cd "$SRC" && timeout 300 tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$PORT" \
        --clients 1 --timeout 30 --single "$u") >"$log" 2>&1
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
    ok=$(grep -c '^\[ok\]' <<<"$plain")
    err=$(grep -c '^\[err\]' <<<"$plain")
    stop=$(grep -m1 -E '^\[(exception|TIMEOUT)\]' <<<"$plain" | cut -c1-120)
    printf '%-28s ok=%-4s err=%-3s %s\n' "$u" "$ok" "$err" "$stop"
    total_ok=$((total_ok + ok))
    total_err=$((total_err + err))
done
pkill -9 -f "ferrokv-server --port $PORT" 2>/dev/null
echo "total: ok=$total_ok err=$total_err (logs in $WORK)"
