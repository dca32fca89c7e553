#!/usr/bin/env bash
# Runs Redis 7.0.15's own Tcl test suite against ferrokv, one unit at a time,
# in both of the suite's modes, and prints a per-unit table beside Redis
# 7.0.15's own counts. Not part of `cargo test` (it takes an hour or more).
#
#   tests/support/redis_suite.sh [-m external|normal|both] [-s ferrokv|redis] [-t] [unit ...]
#
#   -m external  the harness talks to one server we start per unit
#                (--host/--port); tests tagged external:skip are skipped.
#   -m normal    the harness starts the server itself, as Redis's CI does:
#                src/redis-server of a private copy of the suite is our
#                binary (redis-cli, redis-benchmark, redis-check-aof and
#                redis-check-rdb stay Debian's), with its generated configs.
#   -m both      (default) external, then normal.
#   -s redis     run Debian's redis-server instead, to measure the reference
#                counts; with REF_UPDATE=1 they replace
#                tests/support/redis_suite_ref.tsv.
#   -t           over TLS: the harness's --tls (it needs tcl-tls and the
#                openssl command, installed from Debian when missing), with
#                certificates made by the suite's utils/gen-test-certs.sh;
#                in external mode the server listens on tls-port only. The
#                unit list then includes unit/tls, and results are kept
#                apart (mode names external-tls / normal-tls).
#
# Results go to $WORK/results/<server>-<mode>.tsv (unit, passed, failed,
# how it ended) and logs to $WORK/logs/<server>-<mode>/. At the end the table
# (markdown) compares ferrokv's results with the reference file; a unit whose
# run did not reach the harness's final summary is marked "STOPPED" with the
# first exception/timeout line, because a unit that stops hides every test
# after the stop.
#
# Needs: tclsh 8.6, apt-get with deb-src, redis-server/redis-tools 7.0.15
# (apt), a release build (cargo build --release). Environment: WORK (default
# /tmp/ferrokv-redis-suite), PORT (external mode, default 7600), BIN,
# UNIT_TIMEOUT (seconds per unit, default 1500), TEST_TIMEOUT (the harness's
# per-test --timeout, default 600), BASEPORT (the harness's --baseport: its
# own port is just below it, the servers it starts above; the default differs
# per server, 21111 for redis and 25211 for ferrokv, so both can run at once;
# set it when several runs share a machine, since the harness's free-port
# check cannot see a port another run bound on 127.0.0.1 only; keep it and the
# 4000 ports above it below the ephemeral range, 32768 on Linux).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FERROKV_BIN:-${BIN:-$ROOT/target/release/ferrokv-server}}
WORK=${WORK:-/tmp/ferrokv-redis-suite}
PORT=${PORT:-7600}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-1500}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
REF=$ROOT/tests/support/redis_suite_ref.tsv
BASEPORT=${BASEPORT:-}
mode=both
server=ferrokv
tls=
ext_pid=
while getopts "m:s:t" o; do
    case $o in
    m) mode=$OPTARG ;;
    s) server=$OPTARG ;;
    t) tls=-tls ;;
    *) sed -n 2,30p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $server in ferrokv | redis) ;; *) echo "-s ferrokv|redis" >&2; exit 2 ;; esac

# --- Redis's source, through the package client, with Debian's patches ---
# shellcheck source=tests/support/redis_source.sh
. "$ROOT/tests/support/redis_source.sh"

# A private copy of the suite per server and mode (the harness empties its
# tests/tmp when it starts, so two runs must not share a tree): src/redis-server
# is the server under test, the other tools are Debian's.
if [ "$server" = ferrokv ]; then
    [ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
    SERVER_BIN=$BIN
else
    SERVER_BIN=/usr/bin/redis-server
fi
prepare_tree() {
    TREE=$WORK/$server-$1$tls/redis-7.0.15
    if [ ! -d "$TREE" ]; then
        mkdir -p "$WORK/$server-$1$tls" && cp -a "$PRISTINE" "$WORK/$server-$1$tls/" || exit 1
    fi
    mkdir -p "$TREE/src"
    for b in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
        ln -sf "/usr/bin/$b" "$TREE/src/$b"
    done
    ln -sf "$SERVER_BIN" "$TREE/src/redis-server"
    if [ -n "$tls" ] && [ ! -f "$TREE/tests/tls/redis.crt" ]; then
        (cd "$TREE" && ./utils/gen-test-certs.sh >/dev/null 2>&1) ||
            { echo "utils/gen-test-certs.sh failed" >&2; exit 1; }
    fi
}
if [ -n "$tls" ]; then
    if ! echo 'package require tls' | tclsh >/dev/null 2>&1 || ! command -v openssl >/dev/null; then
        apt-get install -y -qq tcl-tls openssl >/dev/null || { echo "needs tcl-tls and openssl" >&2; exit 1; }
    fi
fi
# The harness's and redis-cli's TLS options, relative to the tree.
TLS_CLI=(--tls --cert tests/tls/client.crt --key tests/tls/client.key --cacert tests/tls/ca.crt)
if [ -z "$BASEPORT" ]; then
    if [ "$server" = redis ]; then BASEPORT=21111; else BASEPORT=25211; fi
fi

# Units: the suite's own list (test_helper.tcl), less what needs modules
# or TLS. External mode runs only unit/ (integration/ units start servers
# themselves) and not the cluster units (all tagged external:skip).
all_units() {
    sed -n '/^set ::all_tests {/,/^}/p' "$PRISTINE/tests/test_helper.tcl" | sed '1d;$d' |
        awk '{print $1}' | grep -v -e moduleapi |
        if [ -n "$tls" ]; then cat; else grep -v '^unit/tls$'; fi
}

# Prints "passed failed ending" for a log.
summarize() {
    local plain ok err stop
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$1")
    ok=$(grep -c '^\[ok\]' <<<"$plain")
    err=$(grep -c '^\[err\]' <<<"$plain")
    # A timeout or exception ends the unit even though the harness still
    # prints "The following tests failed" after it.
    stop=$(grep -m1 -E '^\[(exception|TIMEOUT)\]|^\*\*\* \[TIMEOUT\]|couldn.t|No PID detected' <<<"$plain" |
        cut -c1-90 | tr '\t' ' ')
    if [ -n "$stop" ]; then
        stop="STOPPED $stop"
    elif grep -q -e 'All tests passed without errors' -e 'The following tests failed' <<<"$plain"; then
        stop=done
    else
        stop="STOPPED (unit timeout $UNIT_TIMEOUT s)"
    fi
    printf '%s\t%s\t%s\n' "$ok" "$err" "$stop"
}

run_mode() {
    local m=$1
    shift
    local units=("$@") logs=$WORK/logs/$server-$m$tls res=$WORK/results/$server-$m$tls.tsv
    local cli=() harness=()
    [ -n "$tls" ] && cli=("${TLS_CLI[@]}") harness=(--tls)
    prepare_tree "$m"
    mkdir -p "$logs" "$WORK/results"
    if [ ${#units[@]} -eq 0 ]; then
        if [ "$m" = external ]; then
            mapfile -t units < <(all_units | grep '^unit/' | grep -v cluster)
        else
            mapfile -t units < <(all_units)
        fi
        : >"$res"
    fi
    for u in "${units[@]}"; do
        local log=$logs/$(echo "$u" | tr '/' '_').log
        if [ "$m" = external ]; then
            # (redis-server renames its process title: kill by pid.)
            [ -n "$ext_pid" ] && kill -9 "$ext_pid" 2>/dev/null
            for _ in $(seq 50); do
                (cd "$TREE" && redis-cli -p "$PORT" "${cli[@]}" ping >/dev/null 2>&1) || break
                sleep 0.1
            done
            local sdir=$WORK/ext-data listen=(--port "$PORT")
            [ -n "$tls" ] && listen=(--port 0 --tls-port "$PORT"
                --tls-cert-file "$TREE/tests/tls/server.crt"
                --tls-key-file "$TREE/tests/tls/server.key"
                --tls-client-cert-file "$TREE/tests/tls/client.crt"
                --tls-client-key-file "$TREE/tests/tls/client.key"
                --tls-ca-cert-file "$TREE/tests/tls/ca.crt")
            rm -rf "$sdir" && mkdir -p "$sdir"
            "$SERVER_BIN" "${listen[@]}" --bind 127.0.0.1 --save "" --dir "$sdir" \
                --logfile "$sdir/server.log" --enable-debug-command yes >/dev/null 2>&1 &
            ext_pid=$!
            disown
            for _ in $(seq 50); do
                (cd "$TREE" && redis-cli -p "$PORT" "${cli[@]}" ping 2>/dev/null) | grep -q PONG && break
                sleep 0.1
            done
            (cd "$TREE" && timeout "$UNIT_TIMEOUT" tclsh tests/test_helper.tcl \
                --host 127.0.0.1 --port "$PORT" --clients 1 --timeout "$TEST_TIMEOUT" \
                --baseport "$BASEPORT" --portcount 4000 "${harness[@]}" --single "$u") >"$log" 2>&1
        else
            (cd "$TREE" && timeout "$UNIT_TIMEOUT" tclsh tests/test_helper.tcl \
                --clients 1 --timeout "$TEST_TIMEOUT" --baseport "$BASEPORT" \
                --portcount 4000 "${harness[@]}" --single "$u") >"$log" 2>&1
            # A harness killed by the unit timeout leaves its servers.
            for p in $(pgrep -f '^src/redis-server '); do
                [ "$(readlink /proc/"$p"/cwd 2>/dev/null)" = "$TREE" ] && kill -9 "$p"
            done
        fi
        local line
        line=$(summarize "$log")
        # Replace an earlier result for the same unit.
        grep -v -P "^\Q$u\E\t" "$res" >"$res.tmp" 2>/dev/null
        printf '%s\t%s\n' "$u" "$line" >>"$res.tmp"
        mv "$res.tmp" "$res"
        printf '%-13s %-40s %s\n' "$m$tls" "$u" "$line" | tr '\t' ' '
    done
    [ -n "$ext_pid" ] && kill -9 "$ext_pid" 2>/dev/null
    ext_pid=
    return 0
}

case $mode in
external | normal) run_mode "$mode" "$@" ;;
both) run_mode external "$@" && run_mode normal "$@" ;;
*) echo "-m external|normal|both" >&2; exit 2 ;;
esac

if [ "$server" = redis ]; then
    if [ "${REF_UPDATE:-0}" = 1 ]; then
        {
            echo -e "# mode\tunit\tpassed\tfailed\tending  (Debian redis-server 7.0.15, $(nproc) cores, $(date -u +%F))"
            for m in external normal external-tls normal-tls; do
                [ -f "$WORK/results/redis-$m.tsv" ] &&
                    sed "s/^/$m\t/" "$WORK/results/redis-$m.tsv"
            done
        } >"$REF"
        echo "reference written to $REF"
    fi
    exit 0
fi

# --- The table: ferrokv against the reference ---
echo
echo "| mode | unit | Redis 7.0.15 passes | ferrokv passes | ferrokv fails | ferrokv run |"
echo "|---|---|---:|---:|---:|---|"
tot_r=0 tot_f=0 tot_e=0
for m in external normal external-tls normal-tls; do
    res=$WORK/results/ferrokv-$m.tsv
    [ -f "$res" ] || continue
    while IFS=$'\t' read -r u ok err stop; do
        r=$(awk -F'\t' -v m="$m" -v u="$u" '$1==m && $2==u {print $3}' "$REF" 2>/dev/null)
        echo "| $m | $u | ${r:-?} | $ok | $err | $stop |"
        tot_r=$((tot_r + ${r:-0})) tot_f=$((tot_f + ok)) tot_e=$((tot_e + err))
    done <"$res"
done
echo "| | **total** | **$tot_r** | **$tot_f** | **$tot_e** | |"
