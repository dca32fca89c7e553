#!/usr/bin/env bash
# Runs Redis 7.0.15's cluster test suite (tests/cluster: its own runner,
# tests/cluster/run.tcl, which starts 20 instances of src/redis-server with
# cluster-enabled and appendonly on) against ferrokv or Debian's
# redis-server, one test file at a time, and prints a per-file table beside
# Redis's own counts. Not part of `cargo test`.
#
#   tests/support/redis_cluster_suite.sh [-s ferrokv|redis] [-t] [file ...]
#
#   file         a test file's name or prefix (00-base, 04-resharding...);
#                default: every file of tests/cluster/tests.
#   -s redis     run Debian's redis-server, to measure the reference counts;
#                with REF_UPDATE=1 they replace
#                tests/support/redis_cluster_suite_ref.tsv.
#   -t           over TLS (the harness's --tls: tls-port, tls-cluster and
#                tls-replication on every instance, certificates made by
#                Redis's utils/gen-test-certs.sh); results and logs are
#                named with -tls. The reference column stays the plaintext
#                run's (over TLS 15-cluster-slots has one test more).
#
# Each file runs alone (run.tcl --single), under FILE_TIMEOUT seconds
# (default 900), with fresh instances: an assertion failure makes the
# harness jump to the next file, so one run per file keeps a hang or an
# early stop from hiding the other files, and the table says how each run
# ended ("done" when the harness reached its summary).
#
# Results: $WORK/results/cluster-<server>[-tls].tsv (file, passed, failed,
# ending), logs in $WORK/logs/cluster-<server>[-tls]/. Environment: WORK (default
# /tmp/ferrokv-redis-suite), BIN (ferrokv's binary, default
# target/release/ferrokv-server), CLUSTER_BASEPORT (first instance port; the
# harness also needs the bus ports 10000 above; default 30000 for redis and
# 36000 for ferrokv, so both can run at once).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FERROKV_BIN:-${BIN:-$ROOT/target/release/ferrokv-server}}
WORK=${WORK:-/tmp/ferrokv-redis-suite}
FILE_TIMEOUT=${FILE_TIMEOUT:-900}
REF=$ROOT/tests/support/redis_cluster_suite_ref.tsv
server=ferrokv
tls=()
tag=
while getopts "s:t" o; do
    case $o in
    s) server=$OPTARG ;;
    t) tls=(--tls) tag=-tls ;;
    *) sed -n 2,33p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $server in ferrokv | redis) ;; *) echo "-s ferrokv|redis" >&2; exit 2 ;; esac

# shellcheck source=tests/support/redis_source.sh
. "$ROOT/tests/support/redis_source.sh"

if [ "$server" = ferrokv ]; then
    [ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
    SERVER_BIN=$BIN
    BASE=${CLUSTER_BASEPORT:-36000}
else
    SERVER_BIN=/usr/bin/redis-server
    BASE=${CLUSTER_BASEPORT:-30000}
fi

# A private tree per server (the harness works in tests/cluster/tmp):
# src/redis-server is the server under test, redis-cli is Debian's (the
# tests call `redis-cli --cluster`), and the instances' base port is ours.
TREE=$WORK/cluster-$server/redis-7.0.15
if [ ! -d "$TREE" ]; then
    mkdir -p "$WORK/cluster-$server" && cp -a "$PRISTINE" "$WORK/cluster-$server/" || exit 1
fi
mkdir -p "$TREE/src" "$TREE/tests/cluster/tmp"
for b in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    ln -sf "/usr/bin/$b" "$TREE/src/$b"
done
ln -sf "$SERVER_BIN" "$TREE/src/redis-server"
sed -i "s/^set ::redis_base_port .*/set ::redis_base_port $BASE/" "$TREE/tests/instances.tcl"
if [ -n "$tag" ] && [ ! -f "$TREE/tests/tls/ca.crt" ]; then
    (cd "$TREE" && bash utils/gen-test-certs.sh >/dev/null 2>&1) || exit 1
fi

# Prints "passed failed ending" for a log.
summarize() {
    local plain ok err stop
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$1")
    # "HH:MM:SS> description: OK" / "...: FAILED: ..." (instances.tcl's test).
    ok=$(grep -c -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}> .*: OK$' <<<"$plain")
    # (An error that is not an assertion is printed right after the
    # test's progress output, on the same line.)
    err=$(grep -c -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}> .*: FAILED|FAILED: caught an error' <<<"$plain")
    stop=$(grep -m1 -o -E 'FAILED: caught an error.*|Jumping to next unit.*' <<<"$plain" | cut -c1-90 | tr '\t' ' ')
    if grep -q -e 'GOOD! No errors.' -e 'test(s) failed.' <<<"$plain"; then
        if [ -n "$stop" ]; then stop="STOPPED $stop"; else stop=done; fi
    else
        stop="STOPPED (file timeout $FILE_TIMEOUT s or harness error) ${stop}"
    fi
    printf '%s\t%s\t%s\n' "$ok" "$err" "$stop"
}

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    mapfile -t files < <(cd "$TREE/tests/cluster/tests" && ls -- *.tcl | sed 's/\.tcl$//')
fi
logs=$WORK/logs/cluster-$server$tag res=$WORK/results/cluster-$server$tag.tsv
mkdir -p "$logs" "$WORK/results"
touch "$res"
for f in "${files[@]}"; do
    f=${f%.tcl}
    log=$logs/$f.log
    (cd "$TREE" && timeout "$FILE_TIMEOUT" tclsh tests/cluster/run.tcl --single "$f" "${tls[@]}") >"$log" 2>&1
    # A run killed by the timeout leaves its instances.
    for p in $(pgrep -f 'src/redis-server'); do
        case "$(readlink /proc/"$p"/cwd 2>/dev/null)" in "$TREE"/*) kill -9 "$p" ;; esac
    done
    line=$(summarize "$log")
    grep -v -P "^\Q$f\E\t" "$res" >"$res.tmp" 2>/dev/null
    printf '%s\t%s\n' "$f" "$line" >>"$res.tmp"
    mv "$res.tmp" "$res"
    printf '%-36s %s\n' "$f" "$line" | tr '\t' ' '
done

if [ "$server" = redis ]; then
    if [ "${REF_UPDATE:-0}" = 1 ] && [ -z "$tag" ]; then
        {
            echo -e "# file\tpassed\tfailed\tending  (Debian redis-server 7.0.15, $(nproc) cores, $(date -u +%F))"
            sort "$res"
        } >"$REF"
        echo "reference written to $REF"
    fi
    exit 0
fi

echo
echo "| file | Redis 7.0.15 passes | ferrokv passes | ferrokv fails | ferrokv run |"
echo "|---|---:|---:|---:|---|"
tot_r=0 tot_f=0 tot_e=0
while IFS=$'\t' read -r f ok err stop; do
    r=$(awk -F'\t' -v f="$f" '$1==f {print $2}' "$REF" 2>/dev/null)
    echo "| $f | ${r:-?} | $ok | $err | $stop |"
    tot_r=$((tot_r + ${r:-0})) tot_f=$((tot_f + ok)) tot_e=$((tot_e + err))
done < <(sort "$res")
echo "| **total** | **$tot_r** | **$tot_f** | **$tot_e** | |"
