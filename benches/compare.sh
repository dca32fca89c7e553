#!/usr/bin/env bash
# Compare ferrokv with a real redis-server 7.0 on the same machine.
#
# Modes:
#   benches/compare.sh                   throughput / latency / CPU-per-request table
#   benches/compare.sh --callgrind       user-space instructions per SET and GET (valgrind)
#   benches/compare.sh --latency-growth  max latency while the keyspace grows to millions of keys
#   benches/compare.sh --memory          bytes per key for 1M small string keys
#   benches/compare.sh --fanout          PUBLISH to 1000 subscribers (benches/pubsub_fanout.py)
#   benches/compare.sh --collections-memory  bytes per key for hashes, sets and sorted sets, and per
#                                        member of one big (skiplist) sorted set (with RSS)
#   benches/compare.sh --save            SAVE and BGSAVE time per value shape (compressible,
#                                        incompressible, small, large strings, collections)
#   benches/compare.sh --tls             SET/GET over TLS (-P 1, -P 16), new TLS connections
#                                        per second, and the loss against each server's
#                                        own plaintext port (certificates made with the
#                                        openssl CLI in the temp dir)
#   benches/compare.sh --lazyfree        how long UNLINK of a big set and FLUSHALL of many keys
#                                        hold the event loop with lazyfree on (the commands'
#                                        own time, and the slowest PING of a client pinging
#                                        meanwhile)
#   benches/compare.sh --cow             BGSAVE under a write load (forked, fork-less, Redis): the whole server's peak
#                                        memory (parent RSS + the child's private dirty
#                                        pages, /proc smaps_rollup, sampled every 20 ms)
#                                        against the dataset, and rdb_last_cow_size
#   benches/compare.sh --cluster         scale-out: redis-benchmark --cluster against 3 masters
#                                        versus one node; requests per server CPU-second, the
#                                        cluster's CPU per request against one node's, the
#                                        cost of a MOVED reply, idle gossip CPU
#
# Environment (defaults in brackets):
#   ROUNDS [3]       alternating rounds (ferrokv, redis, ferrokv, redis, ...)
#   N [200000]       requests per redis-benchmark run
#   CLIENTS [50]     redis-benchmark -c
#   KEYSPACE [100000] redis-benchmark -r
#   PIPELINES ["1 16"]
#   TESTS [PING_INLINE,SET,GET,INCR,MSET]   redis-benchmark -t names, plus the
#                    custom workloads EVALSHA (INCR+EXPIRE script), LINDEX_MID
#                    (middle of a 1M list), ZRANK_1M (~630k-member zset; ZADD_1M,
#                    ZSCORE_1M and ZRANGE_1M (0 10) use the same set, -r 1000000 is
#                    best with them); collection
#                    tests work too (LPUSH,RPUSH,LPOP,RPOP,SADD,SPOP,HSET,ZADD,ZPOPMIN,
#                    LRANGE_100,LRANGE_300,LRANGE_500,LRANGE_600). redis-benchmark
#                    fills "mylist" with an LPUSH run before each LRANGE_* test; the
#                    CPU of an equal LPUSH-only run is subtracted from those rows.
#   CG_N [20000]     requests per callgrind run (a run of CG_N/10 is subtracted)
#   CG_TESTS ["set get"] redis-benchmark tests measured by --callgrind, plus the
#                    sorted-set workloads zadd_new (ZADD of new members, random
#                    scores), zadd_upd (ZADD new random scores to existing members),
#                    zscore, zrank, zrange (ZRANGE 0 10), zrem (random existing
#                    members), each run against a set of CG_ZSET_SIZES members
#                    ("m:%012d", random scores) loaded with redis-cli --pipe while
#                    instrumentation is off; e.g. CG_TESTS="zadd_new zadd_upd zscore zrank zrange zrem"
#   CG_ZSET_SIZES ["100000 1000000"] sorted-set sizes for the zset callgrind tests
#   CG_CACHE=1       also simulate the caches (--cache-sim=yes) and report D1 and LL
#                    data misses per request
#   LG_N [5000000]   requests for --latency-growth
#   LG_RANGE [LG_N]  -r range of its random keys (LG_RANGE=1000000000 with
#                    LG_N=20200000 grows the keyspace to ~20M distinct keys)
#   LG_PIN [unset]   1: --latency-growth pins redis-benchmark to CPU 0
#                    (taskset), so it does not hop onto the server's CPU; the
#                    servers stay unpinned (a server pinned to one CPU has its
#                    background threads preempt its event loop)
#   MEM_KEYS [1000000] keys for --memory (10000000 for the 10M-key variant: ~1-2 GB per server)
#   MEM_TTL [0]      1: --memory sets every key with EX 1000000 (a TTL on every key)
#   MEM_VSIZE [3]    value size in bytes for --memory (e.g. 100)
#   CM_KEYS [10000]  keys per type for --collections-memory
#   CM_ZSL [1000000] members of the one big sorted set (skiplist encoding) of
#                    --collections-memory (16-byte members, integer scores)
#   SAVE_KEYS [1000000] string keys per shape for --save (collections: SAVE_KEYS/100 keys)
#   LF_KEYS [10000000] keys (DEBUG POPULATE) FLUSHALL frees for --lazyfree
#   LF_SET [1000000] members of the set UNLINK frees for --lazyfree
#   COW_KEYS [2000000] keys of 100-byte values for --cow, named as redis-benchmark
#                    -r names them (key:000000000000 ..); the write load is
#                    redis-benchmark SET -P 16 -r COW_KEYS over those same keys (so
#                    the dataset keeps its size) until the BGSAVE ends
#   COW_CMD [BGSAVE] what --cow measures: BGSAVE, or BGREWRITEAOF (appendonly yes)
#   CL_TESTS [set,get] redis-benchmark tests for --cluster (at -P CL_PIPE [16])
#   CL_IDLE [10]     seconds of idle 3-node cluster measured for gossip CPU
#   SAVE_SHAPES [compressible,incompressible,small,large,hash,zset,set,list]
#   FPORT, RPORT     ports for ferrokv and redis [random free ports]
#   FERROKV_BIN      server binary [$CARGO_TARGET_DIR/release/ferrokv-server]
#   REDIS_SERVER     [/usr/bin/redis-server]
#   KEEP_WORK=1      keep the temp dir (logs; callgrind dumps for callgrind_annotate)
#   SERVER_ARGS      extra arguments for both servers, e.g.
#                    "--appendonly yes --appendfsync everysec" (each server has its own --dir)
#
# The script installs nothing. Servers it starts are killed on exit.
set -euo pipefail

MODE=compare
case "${1:-}" in
"") ;;
--callgrind) MODE=callgrind ;;
--fanout) MODE=fanout ;;
--latency-growth) MODE=latency ;;
--memory) MODE=memory ;;
--collections-memory) MODE=cmemory ;;
--tls) MODE=tls ;;
--save) MODE=save ;;
--cluster) MODE=cluster ;;
--cow) MODE=cow ;;
--lazyfree) MODE=lazyfree ;;
-h | --help)
    sed -n "2,$(($(grep -n "^set -euo" "$0" | cut -d: -f1) - 1))p" "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "unknown option: $1 (try --help)" >&2
    exit 2
    ;;
esac

ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-PING_INLINE,SET,GET,INCR,MSET}
CG_N=${CG_N:-20000}
CG_TESTS=${CG_TESTS:-set get}
CG_ZSET_SIZES=${CG_ZSET_SIZES:-100000 1000000}
LG_N=${LG_N:-5000000}
LG_RANGE=${LG_RANGE:-$LG_N}
LG_PIN=${LG_PIN:-}
LG_CLIENT_PIN=
if [ -n "$LG_PIN" ]; then
    LG_CLIENT_PIN="taskset -c 0"
fi
MEM_KEYS=${MEM_KEYS:-1000000}
MEM_TTL=${MEM_TTL:-0}
MEM_VSIZE=${MEM_VSIZE:-3}
CM_KEYS=${CM_KEYS:-10000}
SAVE_KEYS=${SAVE_KEYS:-1000000}
LF_KEYS=${LF_KEYS:-10000000}
LF_SET=${LF_SET:-1000000}
COW_KEYS=${COW_KEYS:-2000000}
CL_TESTS=${CL_TESTS:-set,get}
CL_PIPE=${CL_PIPE:-16}
CL_IDLE=${CL_IDLE:-10}
CM_ZSL=${CM_ZSL:-1000000}
SAVE_SHAPES=${SAVE_SHAPES:-compressible,incompressible,small,large,hash,zset,set,list}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FERROKV_BIN=${FERROKV_BIN:-$TARGET_DIR/release/ferrokv-server}

# ---------------------------------------------------------------- prerequisites
missing=()
for tool in redis-benchmark redis-cli getconf ss awk; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -x "$REDIS_SERVER" ] || missing+=("$REDIS_SERVER")
if [ "$MODE" = callgrind ]; then
    for tool in valgrind callgrind_control; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}" >&2
    echo "install with: apt install redis-server redis-tools valgrind iproute2 gawk" >&2
    exit 1
fi
if ! redis-benchmark --version 2>/dev/null | grep -q '^redis-benchmark 7\.'; then
    echo "warning: redis-benchmark 7.x expected (its --csv columns are parsed)" >&2
fi

if [ ! -x "$FERROKV_BIN" ]; then
    echo "building $FERROKV_BIN ..." >&2
    (cd "$ROOT" && cargo build --release --bin ferrokv-server) >&2
fi

CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/ferrokv-compare.XXXXXX)
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # valgrind can take a while to write its output
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "kept $WORK (server logs, callgrind dumps)" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return
        fi
    done
}

# start_server NAME PORT [WRAPPER...]  -> sets SERVER_PID
start_server() {
    local name=$1 port=$2
    shift 2
    local cmd
    # Each server gets its own directory (SERVER_ARGS may turn on the AOF).
    local dir="$WORK/$name-dir"
    rm -rf "$dir" && mkdir -p "$dir"
    # shellcheck disable=SC2206
    local extra=(${SERVER_ARGS:-})
    # Names may carry a suffix (ferrokv-c1, redis-c1: cluster nodes).
    if [ "${name%%-*}" = ferrokv ]; then
        cmd=("$FERROKV_BIN" --port "$port" --bind 127.0.0.1 --save '' --appendonly no
            --dir "$dir" "${extra[@]}")
    else
        cmd=("$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no
            --daemonize no --dir "$dir" "${extra[@]}")
    fi
    (cd "$WORK" && exec "$@" "${cmd[@]}") >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 1 600); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "$name did not start; log:" >&2
    tail -n 20 "$WORK/$name.log" >&2
    exit 1
}

# CPU ticks (utime+stime, all threads) of a pid.
cpu_ticks() {
    # Fields after the ")" closing comm: state is field 3, utime 14, stime 15.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# bench PORT PID TEST PIPELINE NREQ -> "rps p50 p99 max cpu_us_per_req"
bench() {
    local port=$1 pid=$2 test=$3 pipe=$4 n=$5 t0 t1 out prep=0
    local lc
    lc=$(echo "$test" | tr 'A-Z' 'a-z')
    case $lc in
    lrange_*)
        # redis-benchmark runs "LPUSH (needed to benchmark LRANGE)" with the
        # same -n first; charge the LRANGE row only for its own CPU by
        # subtracting an equal LPUSH-only run.
        t0=$(cpu_ticks "$pid")
        redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r "$KEYSPACE" -P "$pipe" \
            -t lpush -q >/dev/null 2>&1
        t1=$(cpu_ticks "$pid")
        prep=$((t1 - t0))
        ;;
    esac
    # Custom workloads that redis-benchmark has no -t name for.
    local custom=()
    case $lc in
    evalsha)
        # A short script as rate limiters use: INCR + EXPIRE.
        local sha
        sha=$(redis-cli -p "$port" SCRIPT LOAD \
            "local v = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return v")
        custom=(EVALSHA "$sha" 1 "counter:__rand_int__")
        ;;
    lindex_mid)
        # LINDEX in the middle of a 1M-element list.
        if [ "$(redis-cli -p "$port" LLEN biglist)" != 1000000 ]; then
            redis-cli -p "$port" DEL biglist >/dev/null
            redis-benchmark -p "$port" -c 1 -n 1000000 -P 1000 RPUSH biglist element >/dev/null 2>&1
        fi
        custom=(LINDEX biglist 500000)
        ;;
    zrank_1m)
        # ZRANK of random members of a sorted set with ~630k members.
        if [ "$(redis-cli -p "$port" EXISTS bigzset)" != 1 ]; then
            redis-benchmark -p "$port" -c 1 -n 1000000 -r 1000000 -P 1000 \
                ZADD bigzset __rand_int__ member:__rand_int__ >/dev/null 2>&1
        fi
        custom=(ZRANK bigzset member:__rand_int__)
        ;;
    zadd_1m | zscore_1m | zrange_1m)
        # The ~630k-member sorted set of ZRANK_1M: ZADD random scores to
        # random members (mostly updates), ZSCORE, ZRANGE 0 10.
        if [ "$(redis-cli -p "$port" EXISTS bigzset)" != 1 ]; then
            redis-benchmark -p "$port" -c 1 -n 1000000 -r 1000000 -P 1000 \
                ZADD bigzset __rand_int__ member:__rand_int__ >/dev/null 2>&1
        fi
        case $lc in
        zadd_1m) custom=(ZADD bigzset __rand_int__ member:__rand_int__) ;;
        zscore_1m) custom=(ZSCORE bigzset member:__rand_int__) ;;
        *) custom=(ZRANGE bigzset 0 10) ;;
        esac
        ;;
    esac
    t0=$(cpu_ticks "$pid")
    if [ ${#custom[@]} -gt 0 ]; then
        out=$(redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r "$KEYSPACE" -P "$pipe" \
            --csv "${custom[@]}" 2>/dev/null | sed "2s/^\"[^\"]*\"/\"$test\"/")
    else
        out=$(redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r "$KEYSPACE" -P "$pipe" \
            -t "$lc" --csv 2>/dev/null)
    fi
    t1=$(cpu_ticks "$pid")
    local ticks=$((t1 - t0 - prep))
    [ "$ticks" -lt 0 ] && ticks=0
    # Row whose test name (up to the first space, e.g. "MSET (10 keys)",
    # "LRANGE_100 (first 100 elements)") matches; the LPUSH preparation row
    # of LRANGE_* ("LPUSH (needed to benchmark LRANGE)") does not.
    echo "$out" | awk -F'"?,"?' -v t="$test" -v ticks=$ticks -v hz="$CLK_TCK" -v n="$n" '
        NR > 1 { gsub(/"/, ""); split($1, a, " ");
                 if (toupper(a[1]) == toupper(t)) {
                     printf "%s %s %s %s %.3f\n", $2, $5, $7, $8, ticks * 1e6 / hz / n; found = 1; exit } }
        END { if (!found) print "0 0 0 0 0" }'
}

info_field() { # PORT FIELD
    redis-cli -p "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'
}

# DBSIZE, or n/a if the server does not implement it.
dbsize() {
    local v
    v=$(redis-cli -p "$1" dbsize 2>/dev/null || true)
    case $v in '' | *[!0-9]*) echo n/a ;; *) echo "$v" ;; esac
}

rss_bytes() { awk '/^VmRSS:/ {printf "%.0f\n", $2 * 1024}' "/proc/$1/status"; }

header() {
    echo "<!-- $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cpus, $(uname -sr)," \
        "ferrokv $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')," \
        "redis $("$REDIS_SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') -->"
}

FPORT=${FPORT:-$(free_port)}
RPORT=${RPORT:-$(free_port)}
while [ "$RPORT" = "$FPORT" ]; do RPORT=$(free_port); done

# ---------------------------------------------------------------- compare
mode_compare() {
    start_server ferrokv "$FPORT"
    local fpid=$SERVER_PID
    start_server redis "$RPORT"
    local rpid=$SERVER_PID
    local results="$WORK/results" r test p
    : >"$results"
    IFS=, read -r -a tests <<<"$TESTS"
    for r in $(seq 1 "$ROUNDS"); do
        for test in "${tests[@]}"; do
            for p in $PIPELINES; do
                echo "round $r/$ROUNDS $test -P $p" >&2
                echo "ferrokv $test $p $(bench "$FPORT" "$fpid" "$test" "$p" "$N")" >>"$results"
                echo "redis $test $p $(bench "$RPORT" "$rpid" "$test" "$p" "$N")" >>"$results"
            done
        done
    done
    header
    echo
    echo "redis-benchmark -c $CLIENTS -n $N -r $KEYSPACE, median of $ROUNDS alternating rounds;" \
        "latency p50/p99 in ms; CPU = server utime+stime per request."
    echo
    echo "| test | -P | ferrokv ops/s | redis ops/s | ops/s ratio | ferrokv p50/p99 | redis p50/p99 | ferrokv CPU µs/req | redis CPU µs/req | CPU ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for test in "${tests[@]}"; do
        for p in $PIPELINES; do
            awk -v t="$test" -v p="$p" '
                function median(arr, k,   i, j, tmp) {
                    for (i = 2; i <= k; i++) { tmp = arr[i]; j = i - 1
                        while (j >= 1 && arr[j] > tmp) { arr[j + 1] = arr[j]; j-- }
                        arr[j + 1] = tmp }
                    return (k % 2) ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
                }
                $2 == t && $3 == p {
                    s = $1; c[s]++
                    rps[s, c[s]] = $4; p50[s, c[s]] = $5; p99[s, c[s]] = $6; cpu[s, c[s]] = $8
                }
                END {
                    for (si = 1; si <= 2; si++) {
                        s = si == 1 ? "ferrokv" : "redis"; k = c[s]
                        for (i = 1; i <= k; i++) { a[i] = rps[s, i] } R[s] = median(a, k)
                        for (i = 1; i <= k; i++) { a[i] = p50[s, i] } L50[s] = median(a, k)
                        for (i = 1; i <= k; i++) { a[i] = p99[s, i] } L99[s] = median(a, k)
                        for (i = 1; i <= k; i++) { a[i] = cpu[s, i] } C[s] = median(a, k)
                    }
                    printf "| %s | %s | %.0f | %.0f | %.2f | %.3f / %.3f | %.3f / %.3f | %.2f | %.2f | %s |\n",
                        t, p, R["ferrokv"], R["redis"],
                        (R["redis"] > 0 ? R["ferrokv"] / R["redis"] : 0),
                        L50["ferrokv"], L99["ferrokv"], L50["redis"], L99["redis"],
                        C["ferrokv"], C["redis"],
                        (C["redis"] > 0 ? sprintf("%.2f", C["ferrokv"] / C["redis"]) : "n/a")
                }' "$results"
        done
    done
}

# ---------------------------------------------------------------- callgrind
# Totals counted since the last zeroing, read from a fresh dump:
# "Ir D1-data-misses LL-data-misses" (the misses are 0 without CG_CACHE=1).
cg_dump_ir() { # PID OUTPREFIX
    local pid=$1 prefix=$2 before after f
    before=$( (ls "$prefix".* 2>/dev/null || true) | wc -l)
    callgrind_control -d "$pid" >/dev/null
    for _ in $(seq 1 300); do
        after=$( (ls "$prefix".* 2>/dev/null || true) | wc -l)
        [ "$after" -gt "$before" ] && break
        sleep 0.1
    done
    f=$(ls -t "$prefix".* | head -n 1)
    sleep 0.2 # let the dump finish writing
    awk '/^events:/ { for (i = 2; i <= NF; i++) ev[$i] = i - 1 }
         /^(summary|totals):/ { for (i = 2; i <= NF; i++) v[i - 1] = $i
             d1 = v[ev["D1mr"]] + v[ev["D1mw"]]; ll = v[ev["DLmr"]] + v[ev["DLmw"]]
             print v[ev["Ir"]] + 0, d1 + 0, ll + 0; exit }' "$f"
}

# The sorted-set callgrind workloads: redis-benchmark arguments for TEST on
# the key of a SIZE-member set (empty for other tests).
cg_zset_cmd() { # TEST SIZE
    local k="zs:$2"
    case $1 in
    zadd_new) echo "-r 1000000000 ZADD $k __rand_int__ new:__rand_int__" ;;
    zadd_upd) echo "-r $2 ZADD $k __rand_int__ m:__rand_int__" ;;
    zscore) echo "-r $2 ZSCORE $k m:__rand_int__" ;;
    zrank) echo "-r $2 ZRANK $k m:__rand_int__" ;;
    zrange) echo "-r $2 ZRANGE $k 0 10" ;;
    zrem) echo "-r $2 ZREM $k m:__rand_int__" ;;
    esac
}

mode_callgrind() {
    local small=$((CG_N / 10))
    local name port pid test n ir size sizes rows=() plain=() args
    declare -A IR
    for test in $CG_TESTS; do
        if [ -n "$(cg_zset_cmd "$test" 1)" ]; then
            for size in $CG_ZSET_SIZES; do rows+=("$test:$size"); done
            sizes=1
        else
            rows+=("$test")
            plain+=("$test")
        fi
    done
    if [ -n "${sizes:-}" ]; then
        # SIZE members "m:%012d" (redis-benchmark's __rand_int__ format) with
        # random integer scores, 1000 per ZADD, the same file for both servers.
        for size in $CG_ZSET_SIZES; do
            awk -v n="$size" 'BEGIN { srand(1); k = "zs:" n
                for (i = 0; i < n; i += 1000) { c = (n - i < 1000) ? n - i : 1000
                    printf "*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n", 2 + 2 * c, length(k), k
                    for (j = i; j < i + c; j++) { s = int(rand() * 1e9); m = sprintf("m:%012d", j)
                        printf "$%d\r\n%d\r\n$%d\r\n%s\r\n", length(s ""), s, length(m), m } } }' \
                >"$WORK/zs.$size.resp"
        done
    fi
    local cache=()
    [ -n "${CG_CACHE:-}" ] && cache=(--cache-sim=yes)
    for name in ferrokv redis; do
        port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
        start_server "$name" "$port" valgrind --tool=callgrind --instr-atstart=no "${cache[@]}" \
            --callgrind-out-file="$WORK/cg.$name.out" --dump-instr=no --compress-strings=no
        pid=$SERVER_PID
        # Warm up: create the keys and grow buffers before measuring; load the
        # sorted sets with instrumentation off (fast).
        if [ ${#plain[@]} -gt 0 ]; then
            redis-benchmark -p "$port" -c "$CLIENTS" -n "$CG_N" -r "$KEYSPACE" -P 16 \
                -t "$(IFS=,; echo "${plain[*]}")" -q >/dev/null 2>&1
        fi
        if [ -n "${sizes:-}" ]; then
            for size in $CG_ZSET_SIZES; do
                echo "callgrind $name: loading a $size-member sorted set" >&2
                redis-cli -p "$port" --pipe <"$WORK/zs.$size.resp" >/dev/null
            done
        fi
        callgrind_control -i on "$pid" >/dev/null
        for test in "${rows[@]}"; do
            for n in "$CG_N" "$small"; do
                echo "callgrind $name $test -n $n" >&2
                callgrind_control -z "$pid" >/dev/null
                if [ "$test" != "${test%:*}" ]; then
                    # shellcheck disable=SC2046
                    redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -P 16 \
                        $(cg_zset_cmd "${test%:*}" "${test#*:}") >/dev/null 2>&1
                else
                    redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -r "$KEYSPACE" -P 16 -t "$test" \
                        -q >/dev/null 2>&1
                fi
                ir=$(cg_dump_ir "$pid" "$WORK/cg.$name.out")
                IR[$name, $test, $n]=$ir
            done
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    header
    echo
    echo "User-space instructions (callgrind Ir) per request, -c $CLIENTS -P 16 -r $KEYSPACE:" \
        "(Ir(n=$CG_N) - Ir(n=$small)) / $((CG_N - small)), so connection setup cancels out." \
        "zset rows: the test on a sorted set of the size after the colon (see --help)."
    echo
    if [ -n "${CG_CACHE:-}" ]; then
        echo "| test | ferrokv Ir/req | redis Ir/req | ratio | ferrokv D1 miss/req | redis D1 miss/req | ferrokv LL miss/req | redis LL miss/req |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    else
        echo "| test | ferrokv Ir/req | redis Ir/req | ratio |"
        echo "|---|---:|---:|---:|"
    fi
    for test in "${rows[@]}"; do
        awk -v t="${test^^}" -v fb="${IR[ferrokv, $test, $CG_N]}" -v fs="${IR[ferrokv, $test, $small]}" \
            -v rb="${IR[redis, $test, $CG_N]}" -v rs="${IR[redis, $test, $small]}" -v d=$((CG_N - small)) \
            -v cache="${CG_CACHE:-}" \
            'BEGIN { split(fb, A, " "); split(fs, B, " "); split(rb, C, " "); split(rs, D, " ")
                     for (i = 1; i <= 3; i++) { f[i] = (A[i] - B[i]) / d; r[i] = (C[i] - D[i]) / d }
                     printf "| %s | %.0f | %.0f | %.2f |", t, f[1], r[1], (r[1] > 0 ? f[1] / r[1] : 0)
                     if (cache != "") printf " %.1f | %.1f | %.1f | %.1f |", f[2], r[2], f[3], r[3]
                     printf "\n" }'
    done
}

# ---------------------------------------------------------------- latency growth
# One growth run: redis-benchmark SET at -P 16 with random keys over
# LG_RANGE, LG_N requests, its full percentile distribution kept (no
# --csv). Prints "ops/s p50 p99 p99.9 max" in ms from that distribution.
growth_bench() {
    local port=$1 out
    out=$($LG_CLIENT_PIN redis-benchmark -p "$port" -c "$CLIENTS" -n "$LG_N" -r "$LG_RANGE" \
        -P 16 -t set 2>/dev/null | tr '\r' '\n')
    echo "$out" | awk '
        # "99.900% <= 2.345 milliseconds (cumulative count N)": the first
        # line at or past each percentile (HdrHistogram prints steps, not
        # every value).
        /^ *[0-9.]+% <= [0-9.]+ milliseconds/ {
            p = $1; sub(/%/, "", p); p += 0; v = $3 + 0
            if (p >= 50 && p50 == "") p50 = v
            if (p >= 99 && p99 == "") p99 = v
            if (p >= 99.9 && p999 == "") p999 = v
            max = v }
        /throughput summary:/ { ops = $3 }
        END { printf "%s %s %s %s %s\n", ops + 0, p50, p99, p999, max }'
}

mode_latency() {
    local name port pid out t0 t1
    header
    echo
    echo "Keyspace growth: redis-benchmark -t set -c $CLIENTS -n $LG_N -r $LG_RANGE -P 16" \
        "(random keys over the range: keys = the distinct ones that arrived)." \
        "$([ -n "$LG_PIN" ] && echo "redis-benchmark pinned to CPU 0 (LG_PIN=1).")"
    echo
    echo "Latencies (ms) from redis-benchmark's own percentile distribution; max: the slowest reply it saw;" \
        "monitor: the largest pause the server's own latency monitor recorded" \
        "(latency-monitor-threshold 1, LATENCY LATEST: max ms and event)."
    echo
    echo "| server | ops/s | p50 | p99 | p99.9 | max | monitor max ms | keys | server CPU s |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
    for name in ferrokv redis; do
        port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
        SERVER_ARGS="${SERVER_ARGS:-} --latency-monitor-threshold 1" start_server "$name" "$port"
        pid=$SERVER_PID
        echo "latency-growth $name" >&2
        t0=$(cpu_ticks "$pid")
        out=$(growth_bench "$port")
        t1=$(cpu_ticks "$pid")
        local keys mon
        keys=$(dbsize "$port")
        # LATENCY LATEST: event, time, latest ms, max ms per event.
        mon=$(redis-cli -p "$port" LATENCY LATEST | awk '
            NR % 4 == 1 { ev = $0 } NR % 4 == 0 && $0 + 0 > m { m = $0 + 0; e = ev }
            END { if (m == "") print "none"; else printf "%d (%s)", m, e }')
        echo "$name $out $keys $((t1 - t0))" | awk -v mon="$mon" -v hz="$CLK_TCK" '
            { printf "| %s | %.0f | %s | %s | %s | %s | %s | %s | %.1f |\n", $1, $2, $3, $4, $5, $6, mon, $7, $8 / hz }'
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- memory
# Polls DEBUG HTSTATS 0 until db 0's dict is not rehashing (deadline in
# seconds); says so on stderr if it still is.
wait_rehash_done() {
    local port=$1 deadline=$((SECONDS + $2))
    while redis-cli -p "$port" DEBUG HTSTATS 0 2>/dev/null | grep -q "rehashing target"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "port $port: still rehashing after $2 s" >&2
            return 0
        fi
        sleep 0.5
    done
}

mode_memory() {
    local name port pid um0 um1 rss0 rss1 irss0 irss1 keys
    # 16-byte names "key:%012d", MEM_VSIZE-byte values, as raw RESP for redis-cli --pipe.
    # With MEM_TTL=1 every SET carries EX 1000000 (a TTL on every key).
    awk -v n="$MEM_KEYS" -v ttl="$MEM_TTL" -v vs="$MEM_VSIZE" 'BEGIN {
        v = ""; for (j = 0; j < vs; j++) v = v "x"
        for (i = 0; i < n; i++)
        if (ttl == 1)
            printf "*5\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$7\r\n1000000\r\n", i, vs, v
        else
            printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n", i, vs, v }' >"$WORK/load.resp"
    header
    echo
    echo "$MEM_KEYS keys, 16-byte names, $MEM_VSIZE-byte values$([ "$MEM_TTL" = 1 ] && echo ', a TTL (EX 1000000) on every key'), loaded with redis-cli --pipe." \
        "Bytes per key = (after - before) / $MEM_KEYS; keys = DBSIZE after loading. RSS is VmRSS from /proc."
    echo
    echo "| server | used_memory B/key | used_memory_rss B/key | RSS B/key | keys |"
    echo "|---|---:|---:|---:|---:|"
    for name in ferrokv redis; do
        port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
        SERVER_ARGS="${SERVER_ARGS:-} --enable-debug-command yes" start_server "$name" "$port"
        pid=$SERVER_PID
        echo "memory $name" >&2
        sleep 1
        um0=$(info_field "$port" used_memory)
        irss0=$(info_field "$port" used_memory_rss)
        rss0=$(rss_bytes "$pid")
        redis-cli -p "$port" --pipe <"$WORK/load.resp" >/dev/null
        # Both servers finish an incremental rehash from their cron (1 ms per
        # tick): until then the old bucket array is counted too (at 10M keys
        # the 2^23-slot table). Wait for it, up to 15 minutes: at 10M keys
        # the 2^23 -> 2^24 rehash has ~6M entries left when the load ends,
        # and the cron moves ~25k a second (both servers: 1 ms per 100).
        wait_rehash_done "$port" 900
        sleep 1.5 # Redis refreshes used_memory_rss from its cron
        um1=$(info_field "$port" used_memory)
        irss1=$(info_field "$port" used_memory_rss)
        rss1=$(rss_bytes "$pid")
        keys=$(dbsize "$port")
        awk -v s="$name" -v k="$MEM_KEYS" -v shown="$keys" -v u0="$um0" -v u1="$um1" -v i0="$irss0" -v i1="$irss1" \
            -v r0="$rss0" -v r1="$rss1" '
            function per(a, b) { return (a == "" || b == "" || k == 0) ? "n/a" : sprintf("%.1f", (b - a) / k) }
            BEGIN { printf "| %s | %s | %s | %s | %s |\n", s, per(u0, u1), per(i0, i1), per(r0, r1), shown }'
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- collections memory
# One type at a time: FLUSHALL, used_memory, load CM_KEYS keys with redis-cli
# --pipe, used_memory again, MEMORY USAGE of one key.
mode_cmemory() {
    awk -v n="$CM_KEYS" 'BEGIN { for (i = 0; i < n; i++) {
        k = sprintf("hash:%010d", i); printf "*202\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k
        for (j = 0; j < 100; j++) { f = "field:" j; v = "value:" j
            printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(f), f, length(v), v } } }' >"$WORK/hash.resp"
    awk -v n="$CM_KEYS" 'BEGIN { for (i = 0; i < n; i++) {
        k = sprintf("set:%010d", i); printf "*502\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n", length(k), k
        for (j = 0; j < 500; j++) printf "$%d\r\n%d\r\n", length(j ""), j } }' >"$WORK/set.resp"
    awk -v n="$CM_KEYS" 'BEGIN { for (i = 0; i < n; i++) {
        k = sprintf("zset:%010d", i); printf "*202\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n", length(k), k
        for (j = 0; j < 100; j++) { m = "member:" j
            printf "$%d\r\n%d\r\n$%d\r\n%s\r\n", length(j ""), j, length(m), m } } }' >"$WORK/zset.resp"
    # One big sorted set (skiplist encoding): CM_ZSL 16-byte members
    # (member:%09d), integer scores, ZADDs of 1000 members.
    awk -v n="$CM_ZSL" 'BEGIN { k = "zsetsl:0000000001"
        for (i = 0; i < n; i += 1000) { c = (n - i < 1000) ? n - i : 1000
            printf "*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n", 2 + 2 * c, length(k), k
            for (j = i; j < i + c; j++) { m = sprintf("member:%09d", j)
                printf "$%d\r\n%d\r\n$%d\r\n%s\r\n", length(j ""), j, length(m), m } } }' >"$WORK/zsetsl.resp"
    local name port pid type um0 um1 usage enc keys rss0 rss1
    : >"$WORK/cm"
    for name in ferrokv redis; do
        port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
        start_server "$name" "$port"
        pid=$SERVER_PID
        # The big sorted set first: its RSS delta must not reuse pages freed
        # by an earlier FLUSHALL.
        for type in zsetsl hash set zset; do
            echo "collections-memory $name $type" >&2
            redis-cli -p "$port" flushall >/dev/null
            sleep 0.5
            um0=$(info_field "$port" used_memory)
            rss0=$(rss_bytes "$pid")
            redis-cli -p "$port" --pipe <"$WORK/$type.resp" >/dev/null
            sleep 0.5 # let the --pipe client's buffers be freed
            um1=$(info_field "$port" used_memory)
            rss1=$(rss_bytes "$pid")
            usage=$(redis-cli -p "$port" memory usage "$type:0000000001" samples 0)
            enc=$(redis-cli -p "$port" object encoding "$type:0000000001")
            keys=$(dbsize "$port")
            [ "$type" = zsetsl ] && keys=$(redis-cli -p "$port" zcard "$type:0000000001")
            echo "$name $type $um0 $um1 $usage $enc $keys $rss0 $rss1" >>"$WORK/cm"
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    header
    echo
    echo "$CM_KEYS keys per type loaded with redis-cli --pipe after FLUSHALL: hash = 100 fields" \
        "(field:N value:N), set = integers 0..499, zset = 100 members (score N, member:N);" \
        "zsetsl = one sorted set of $CM_ZSL members (member:%09d, score N; skiplist encoding)," \
        "per member. used_memory and RSS (VmRSS) B/key = delta over the load / keys (members" \
        "for zsetsl); MEMORY USAGE (SAMPLES 0) of one key."
    echo
    echo "| type | encoding (ferrokv / redis) | ferrokv used_memory B/key | redis used_memory B/key | ratio | ferrokv RSS B/key | redis RSS B/key | ratio | ferrokv MEMORY USAGE | redis MEMORY USAGE | ratio |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for type in hash set zset zsetsl; do
        awk -v t="$type" '
            $2 == t { u0[$1] = $3; u1[$1] = $4; mu[$1] = $5; en[$1] = $6; k[$1] = $7; r0[$1] = $8; r1[$1] = $9 }
            END {
                f = (k["ferrokv"] > 0) ? (u1["ferrokv"] - u0["ferrokv"]) / k["ferrokv"] : 0
                r = (k["redis"] > 0) ? (u1["redis"] - u0["redis"]) / k["redis"] : 0
                fr = (k["ferrokv"] > 0) ? (r1["ferrokv"] - r0["ferrokv"]) / k["ferrokv"] : 0
                rr = (k["redis"] > 0) ? (r1["redis"] - r0["redis"]) / k["redis"] : 0
                printf "| %s | %s / %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %s | %s | %s |\n", t, en["ferrokv"], en["redis"],
                    f, r, (r > 0 ? f / r : 0), fr, rr, (rr > 0 ? fr / rr : 0), mu["ferrokv"], mu["redis"],
                    (mu["redis"] > 0 ? sprintf("%.2f", mu["ferrokv"] / mu["redis"]) : "n/a")
            }' "$WORK/cm"
    done
}

# ---------------------------------------------------------------- save
# save_load SHAPE PORT: fills an empty server with one value shape.
save_load() {
    local shape=$1 port=$2 n=$SAVE_KEYS c=$((SAVE_KEYS / 100)) k=$((SAVE_KEYS / 10000))
    [ "$k" -lt 1 ] && k=1
    case $shape in
    compressible) redis-cli -p "$port" debug populate "$n" key 100 >/dev/null ;;
    small) redis-cli -p "$port" debug populate "$n" >/dev/null ;;
    *)
        [ -f "$WORK/$shape.resp" ] || awk -v shape="$shape" -v n="$n" -v c="$c" -v k="$k" '
            function rnd(len,   s, j) { s = ""; for (j = 0; j < len; j++) s = s sprintf("%c", 33 + int(rand() * 94)); return s }
            function words(len,   s) { s = ""; while (length(s) < len) s = s w[int(rand() * 8)] " "; return substr(s, 1, len) }
            function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
            BEGIN { srand(1); split("redis ferrokv snapshot value key:1234 the of 42", w, " ")
                if (shape == "incompressible") { for (i = 0; i < 997; i++) pool[i] = rnd(100)
                    for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n%s%s", bulk("key:" i), bulk(pool[i % 997]) }
                if (shape == "large") { for (i = 0; i < 97; i++) pool[i] = words(10240)
                    for (i = 0; i < c; i++) printf "*3\r\n$3\r\nSET\r\n%s%s", bulk("key:" i), bulk(pool[i % 97]) }
                if (shape == "hash") for (i = 0; i < c; i++) { printf "*202\r\n$4\r\nHSET\r\n%s", bulk("hash:" i)
                    for (j = 0; j < 100; j++) printf "%s%s", bulk("field:" j), bulk("value:" j) }
                if (shape == "zset") for (i = 0; i < k; i++) { printf "*%d\r\n$4\r\nZADD\r\n%s", 20002, bulk("zset:" i)
                    for (j = 0; j < 10000; j++) printf "%s%s", bulk(j ""), bulk("member:" j) }
                if (shape == "set") for (i = 0; i < k; i++) { printf "*%d\r\n$4\r\nSADD\r\n%s", 10002, bulk("set:" i)
                    for (j = 0; j < 10000; j++) printf "%s", bulk("member:" j) }
                if (shape == "list") for (i = 0; i < k; i++) { printf "*%d\r\n$5\r\nRPUSH\r\n%s", 10002, bulk("list:" i)
                    for (j = 0; j < 10000; j++) printf "%s", bulk("element:" j) }
            }' >"$WORK/$shape.resp"
        redis-cli -p "$port" --pipe <"$WORK/$shape.resp" >/dev/null
        ;;
    esac
}

# save_time PORT save|bgsave -> seconds until the RDB is written
save_time() {
    local port=$1 how=$2 t0 t1
    t0=$EPOCHREALTIME
    if [ "$how" = save ]; then
        redis-cli -p "$port" save >/dev/null
    else
        redis-cli -p "$port" bgsave >/dev/null
        while redis-cli -p "$port" info persistence | grep -q '^rdb_bgsave_in_progress:1'; do
            sleep 0.01
        done
    fi
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

mode_save() {
    SERVER_ARGS="${SERVER_ARGS:-} --enable-debug-command yes" start_server ferrokv "$FPORT"
    SERVER_ARGS="${SERVER_ARGS:-} --enable-debug-command yes" start_server redis "$RPORT"
    local shape r port name
    : >"$WORK/save"
    IFS=, read -r -a shapes <<<"$SAVE_SHAPES"
    for shape in "${shapes[@]}"; do
        for port in "$FPORT" "$RPORT"; do
            redis-cli -p "$port" flushall >/dev/null
            save_load "$shape" "$port"
        done
        for r in $(seq 1 "$ROUNDS"); do
            echo "save round $r/$ROUNDS $shape" >&2
            for name in ferrokv redis; do
                port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
                echo "$name $shape $(dbsize "$port") $(save_time "$port" save) $(save_time "$port" bgsave)" \
                    "$(stat -c %s "$WORK/$name-dir/dump.rdb")" >>"$WORK/save"
            done
        done
    done
    header
    echo
    echo "SAVE and BGSAVE (until rdb_bgsave_in_progress:0, fork included), median of $ROUNDS" \
        "alternating rounds; speed = redis time / ferrokv time (> 1: ferrokv faster)." \
        "compressible = DEBUG POPULATE $SAVE_KEYS key 100; small = DEBUG POPULATE $SAVE_KEYS;" \
        "incompressible = 100 random printable bytes; large = 10 KB of text; hash = 100 fields" \
        "(listpack); zset, set, list = 10000 elements per key."
    echo
    echo "| shape | keys | ferrokv SAVE s | redis SAVE s | SAVE speed | ferrokv BGSAVE s | redis BGSAVE s | BGSAVE speed | RDB bytes ferrokv / redis |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for shape in "${shapes[@]}"; do
        awk -v t="$shape" '
            function median(arr, k,   i, j, tmp) {
                for (i = 2; i <= k; i++) { tmp = arr[i]; j = i - 1
                    while (j >= 1 && arr[j] > tmp) { arr[j + 1] = arr[j]; j-- }
                    arr[j + 1] = tmp }
                return (k % 2) ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
            }
            $2 == t { s = $1; c[s]++; keys = $3; sv[s, c[s]] = $4; bg[s, c[s]] = $5; sz[s] = $6 }
            END {
                for (si = 1; si <= 2; si++) {
                    s = si == 1 ? "ferrokv" : "redis"; k = c[s]
                    for (i = 1; i <= k; i++) { a[i] = sv[s, i] } S[s] = median(a, k)
                    for (i = 1; i <= k; i++) { a[i] = bg[s, i] } B[s] = median(a, k)
                }
                printf "| %s | %s | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f | %s / %s |\n", t, keys,
                    S["ferrokv"], S["redis"], (S["ferrokv"] > 0 ? S["redis"] / S["ferrokv"] : 0),
                    B["ferrokv"], B["redis"], (B["ferrokv"] > 0 ? B["redis"] / B["ferrokv"] : 0),
                    sz["ferrokv"], sz["redis"]
            }' "$WORK/save"
    done
}

# ---------------------------------------------------------------- pub/sub fan-out
mode_fanout() {
    start_server ferrokv "$FPORT"
    local fpid=$SERVER_PID
    start_server redis "$RPORT"
    local rpid=$SERVER_PID
    local r
    : >"$WORK/fanout"
    for r in $(seq 1 "$ROUNDS"); do
        echo "fanout round $r/$ROUNDS" >&2
        echo "ferrokv $(python3 "$ROOT/benches/pubsub_fanout.py" "$FPORT" "$fpid")" >>"$WORK/fanout"
        echo "redis $(python3 "$ROOT/benches/pubsub_fanout.py" "$RPORT" "$rpid")" >>"$WORK/fanout"
    done
    header
    echo
    echo "PUBLISH of ${SIZE:-64}-byte messages to ${SUBS:-1000} subscribers of one channel," \
        "${MSGS:-2000} publishes pipelined; median of $ROUNDS alternating rounds."
    echo
    echo "| server | publishes/s | messages delivered/s | server CPU µs per publish |"
    echo "|---|---:|---:|---:|"
    for s in ferrokv redis; do
        # median by publishes/s (the row's other columns come from the same round)
        awk -v s=$s '$1 == s' "$WORK/fanout" | sort -k2 -n |
            awk '{ row[NR] = $0 } END { split(row[int((NR + 1) / 2)], f, " ")
                  printf "| %s | %.0f | %.0f | %.1f |\n", f[1], f[2], f[3], f[4] }'
    done
}

# ---------------------------------------------------------------- TLS
tls_certs() { # DIR: a CA, a server and a client certificate (v3, RSA 2048)
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        openssl req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key -sha256 -days 2 \
            -subj "/CN=bench CA" -out ca.crt
        for n in server client; do
            openssl req -new -nodes -newkey rsa:2048 -keyout $n.key -subj "/CN=$n" -out $n.csr
            printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >$n.ext
            openssl x509 -req -sha256 -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile $n.ext -in $n.csr -out $n.crt
        done
    ) >/dev/null 2>&1
}

# tls_bench PORT TLS? ARGS... -> requests per second of each test, space-separated
tls_bench() {
    local port=$1 tls=$2
    shift 2
    local t=()
    [ "$tls" = 1 ] && t=(--tls --cacert "$WORK/certs/ca.crt" --cert "$WORK/certs/client.crt"
        --key "$WORK/certs/client.key")
    redis-benchmark -p "$port" "${t[@]}" -c "$CLIENTS" -r "$KEYSPACE" --csv "$@" 2>/dev/null |
        grep -v '^"test"' | cut -d, -f2 | tr -d '"' | tr '\n' ' '
}

mode_tls() {
    tls_certs "$WORK/certs"
    local c=$WORK/certs r s port tport
    : >"$WORK/tls"
    for r in $(seq 1 "$ROUNDS"); do
        for s in ferrokv redis; do
            echo "tls round $r/$ROUNDS: $s" >&2
            port=$(free_port)
            tport=$(free_port)
            SERVER_ARGS="${SERVER_ARGS:-} --tls-port $tport --tls-cert-file $c/server.crt
                --tls-key-file $c/server.key --tls-ca-cert-file $c/ca.crt" start_server "$s" "$port"
            echo "$s $(tls_bench "$tport" 1 -t set,get -n "$N" -P 1)" \
                "$(tls_bench "$tport" 1 -t set,get -n "$N" -P 16)" \
                "$(tls_bench "$tport" 1 -t ping_mbulk -n $((N / 40)) -k 0)" \
                "$(tls_bench "$port" 0 -t set,get -n "$N" -P 1)" \
                "$(tls_bench "$port" 0 -t set,get -n "$N" -P 16)" >>"$WORK/tls"
            kill "$SERVER_PID"
            wait "$SERVER_PID" 2>/dev/null || true
        done
    done
    header
    echo
    echo "redis-benchmark --tls (client certificates, RSA 2048) -c $CLIENTS, median of" \
        "$ROUNDS alternating rounds; new connections: PING with -k 0 (a TLS handshake per" \
        "request); loss: TLS requests/s as a share of the same server's plaintext port."
    echo
    echo "| server | TLS SET -P1 | TLS GET -P1 | TLS SET -P16 | TLS GET -P16 | new TLS conns/s | TLS/plain SET -P1 | TLS/plain GET -P16 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for s in ferrokv redis; do
        # columns: 2 tSET1 3 tGET1 4 tSET16 5 tGET16 6 conn 7 pSET1 8 pGET1 9 pSET16 10 pGET16
        awk -v s=$s '$1 == s' "$WORK/tls" | awk -v s=$s '
            function med(col,   n, i, j, t, v) { n = 0
                for (i = 1; i <= NR; i++) v[++n] = row[i, col]
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                return v[int((n + 1) / 2)] }
            { for (k = 2; k <= NF; k++) row[NR, k] = $k }
            END { printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f%% | %.0f%% |\n", s,
                  med(2), med(3), med(4), med(5), med(6),
                  100 * med(2) / med(7), 100 * med(5) / med(10) }'
    done
}

# ---------------------------------------------------------------- cluster scale-out
# A port whose cluster bus port (+10000) is free too.
free_cluster_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] &&
            [ -z "$(ss -Htan "sport = :$((p + 10000))" 2>/dev/null)" ]; then
            echo "$p"
            return
        fi
    done
}

# Sum of the CPU ticks of the given pids.
cpu_ticks_sum() {
    local pid t=0
    for pid in "$@"; do t=$((t + $(cpu_ticks "$pid"))); done
    echo "$t"
}

# cl_run TEST PIDS... -- redis-benchmark ARGS...  -> "rps cpu_us_per_req"
cl_run() {
    local test=$1 pids=() t0 t1 out
    shift
    while [ "$1" != -- ]; do pids+=("$1"); shift; done
    shift
    t0=$(cpu_ticks_sum "${pids[@]}")
    out=$(redis-benchmark "$@" -c "$CLIENTS" -n "$N" -r "$KEYSPACE" -t "$test" --csv 2>/dev/null)
    t1=$(cpu_ticks_sum "${pids[@]}")
    echo "$out" | awk -F'"?,"?' -v t="$test" -v ticks=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$N" '
        NR > 1 { gsub(/"/, ""); split($1, a, " ");
                 if (toupper(a[1]) == toupper(t)) { printf "%s %.3f\n", $2, ticks * 1e6 / hz / n; found = 1; exit } }
        END { if (!found) print "0 0" }'
}

# One round for server kind $1: a plain node, a one-node cluster, a
# three-master cluster; rows "kind test setup rps cpu_us" into $WORK/cluster.
cluster_round() {
    local kind=$1 port pid ports=() pids=() i test cl_args
    cl_args="--cluster-enabled yes --cluster-node-timeout 5000"
    port=$(free_cluster_port)
    start_server "$kind-plain" "$port"
    pid=$SERVER_PID
    for test in ${CL_TESTS//,/ }; do
        echo "$kind $test plain $(cl_run "$test" "$pid" -- -p "$port" -P "$CL_PIPE")" >>"$WORK/cluster"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true

    # One node owning every slot: the cost of cluster mode itself.
    port=$(free_cluster_port)
    SERVER_ARGS="${SERVER_ARGS:-} $cl_args" start_server "$kind-one" "$port"
    pid=$SERVER_PID
    redis-cli -p "$port" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
    cluster_wait_ok "$port"
    for test in ${CL_TESTS//,/ }; do
        # (redis-benchmark --cluster refuses a one-node cluster; every key
        # is owned here, so nothing is redirected.)
        echo "$kind $test one $(cl_run "$test" "$pid" -- -p "$port" -P "$CL_PIPE")" >>"$WORK/cluster"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true

    for i in 1 2 3; do
        port=$(free_cluster_port)
        SERVER_ARGS="${SERVER_ARGS:-} $cl_args" start_server "$kind-c$i" "$port"
        ports+=("$port")
        pids+=("$SERVER_PID")
    done
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-yes >"$WORK/$kind-create.log" 2>&1
    for port in "${ports[@]}"; do cluster_wait_ok "$port"; done
    for test in ${CL_TESTS//,/ }; do
        echo "$kind $test three $(cl_run "$test" "${pids[@]}" -- -p "${ports[0]}" -P "$CL_PIPE" --cluster)" >>"$WORK/cluster"
    done
    # The cost of a MOVED reply: N GETs of a key the first node does not
    # own, against N GETs of one it owns, each sent with redis-cli --pipe
    # (redis-benchmark stops at the first error reply).
    local k own='' other=''
    for k in $(seq 0 99); do
        case $(redis-cli -p "${ports[0]}" GET "k$k" 2>&1) in
        MOVED*) [ -z "$other" ] && other=k$k ;;
        *) [ -z "$own" ] && own=k$k ;;
        esac
    done
    echo "$kind get served $(cl_pipe "${ports[0]}" "${pids[0]}" "$own")" >>"$WORK/cluster"
    echo "$kind get moved $(cl_pipe "${ports[0]}" "${pids[0]}" "$other")" >>"$WORK/cluster"
    local t0 t1
    t0=$(cpu_ticks_sum "${pids[@]}")
    sleep "$CL_IDLE"
    t1=$(cpu_ticks_sum "${pids[@]}")
    echo "$kind idle three 0 $(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$CL_IDLE" \
        'BEGIN { printf "%.3f", t * 1000 / hz / s / 3 }')" >>"$WORK/cluster"
    for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
}

# cl_pipe PORT PID KEY: N GETs of KEY through redis-cli --pipe -> "rps cpu_us_per_req"
cl_pipe() {
    local port=$1 pid=$2 key=$3 t0 t1 s0 s1
    awk -v n="$N" -v k="$key" 'BEGIN { for (i = 0; i < n; i++) printf "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", length(k), k }' >"$WORK/pipe.resp"
    s0=$(date +%s%N)
    t0=$(cpu_ticks "$pid")
    redis-cli -p "$port" --pipe <"$WORK/pipe.resp" >/dev/null 2>&1 || true
    t1=$(cpu_ticks "$pid")
    s1=$(date +%s%N)
    awk -v n="$N" -v ticks=$((t1 - t0)) -v hz="$CLK_TCK" -v ns=$((s1 - s0)) \
        'BEGIN { printf "%.0f %.3f\n", n * 1e9 / ns, ticks * 1e6 / hz / n }'
}

cluster_wait_ok() {
    local i
    for i in $(seq 1 300); do
        redis-cli -p "$1" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' && return 0
        sleep 0.1
    done
    echo "cluster on port $1 did not reach cluster_state:ok" >&2
    exit 1
}

mode_cluster() {
    : >"$WORK/cluster"
    local r kind
    for r in $(seq 1 "$ROUNDS"); do
        for kind in ferrokv redis; do
            echo "cluster round $r/$ROUNDS: $kind" >&2
            cluster_round "$kind"
        done
    done
    header
    echo
    echo "redis-benchmark -c $CLIENTS -n $N -r $KEYSPACE -P $CL_PIPE, median of $ROUNDS alternating" \
        "rounds. plain: one node, cluster mode off; one: one node owning all 16384 slots" \
        "(plain redis-benchmark: it refuses --cluster against one node); three: three masters (redis-cli --cluster create)," \
        "redis-benchmark --cluster, CPU summed over the three servers. CPU/req: server CPU" \
        "(utime+stime) per request; req per CPU-s: requests per second of server CPU." \
        "served / moved: redis-cli --pipe of $N GETs of one key to the first of the three," \
        "a key it owns / a key it answers MOVED for, CPU of that node per request. idle: CPU ms per second per node of the idle" \
        "three-node cluster over ${CL_IDLE} s (gossip; cluster-node-timeout 5000)." \
        "This machine has $(nproc) cores for all servers and the client together."
    echo
    echo "| server | test | setup | ops/s | CPU µs/req | req per CPU-s | vs plain CPU/req |"
    echo "|---|---|---|---:|---:|---:|---:|"
    for kind in ferrokv redis; do
        awk -v k=$kind '$1 == k' "$WORK/cluster" | awk '
            function med(key,   n, i, j, t, v, c) { n = 0
                for (i = 1; i <= cnt[key]; i++) v[++n] = val[key, i]
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                return v[int((n + 1) / 2)] }
            { key = $2 " " $3; if (!(key in cnt)) order[++nk] = key
              cnt[key]++; val[key " rps", cnt[key]] = $4; val[key " cpu", cnt[key]] = $5
              cnt[key " rps"] = cnt[key]; cnt[key " cpu"] = cnt[key]; kind = $1 }
            END { for (i = 1; i <= nk; i++) { split(order[i], a, " ")
                    rps = med(order[i] " rps"); cpu = med(order[i] " cpu")
                    if (a[1] == "idle") { printf "| %s | idle | three | | %.3f ms/s per node | | |\n", kind, cpu; continue }
                    base = med(a[1] " plain cpu")
                    printf "| %s | %s | %s | %.0f | %.3f | %.0f | %s |\n", kind, a[1], a[2], rps, cpu,
                        (cpu > 0 ? 1e6 / cpu : 0), (base > 0 ? sprintf("%.2f×", cpu / base) : "") } }'
    done
}

# ---------------------------------------------------------------- lazyfree
# usec_per_call of a command from INFO commandstats.
cmd_usec() { # PORT CMD
    redis-cli -p "$1" info commandstats | tr -d '\r' |
        awk -F'[:,=]' -v c="cmdstat_$2" '$1 == c { for (i = 2; i < NF; i++) if ($i == "usec") print $(i + 1) }'
}

mode_lazyfree() {
    local name port pid bpid
    awk -v n="$LF_SET" 'BEGIN { for (i = 0; i < n; i += 1000) {
        m = (n - i < 1000) ? n - i : 1000; printf "*%d\r\n$4\r\nSADD\r\n$6\r\nbigset\r\n", m + 2
        for (j = 0; j < m; j++) { e = sprintf("member:%010d", i + j); printf "$%d\r\n%s\r\n", length(e), e } } }' >"$WORK/set.resp"
    header
    echo
    echo "lazyfree-lazy-user-del / -user-flush yes. UNLINK of a $LF_SET-member set, then FLUSHALL" \
        "of $LF_KEYS keys (DEBUG POPULATE), while one client PINGs without pause (redis-benchmark" \
        "-c 1 -P 1 PING). usec: the command's own time (INFO commandstats); max PING ms: the" \
        "slowest PING reply of that client over the whole run."
    echo
    echo "| server | UNLINK usec | FLUSHALL usec | max PING ms | PING p99 ms | keys freed |"
    echo "|---|---:|---:|---:|---:|---:|"
    for name in ferrokv redis; do
        port=$([ $name = ferrokv ] && echo "$FPORT" || echo "$RPORT")
        SERVER_ARGS="${SERVER_ARGS:-} --lazyfree-lazy-user-del yes --lazyfree-lazy-user-flush yes --enable-debug-command yes" \
            start_server "$name" "$port"
        pid=$SERVER_PID
        echo "lazyfree $name: loading" >&2
        redis-cli -p "$port" DEBUG POPULATE "$LF_KEYS" key 10 >/dev/null
        redis-cli -p "$port" --pipe <"$WORK/set.resp" >/dev/null
        local keys
        keys=$(dbsize "$port")
        redis-cli -p "$port" CONFIG RESETSTAT >/dev/null
        redis-benchmark -p "$port" -c 1 -P 1 -n 300000 --precision 3 -t ping_mbulk --csv \
            >"$WORK/ping-$name.csv" 2>/dev/null &
        bpid=$!
        sleep 1
        redis-cli -p "$port" UNLINK bigset >/dev/null
        sleep 1
        redis-cli -p "$port" FLUSHALL >/dev/null
        wait "$bpid" || true
        echo "| $name | $(cmd_usec "$port" unlink) | $(cmd_usec "$port" flushall) |" \
            "$(awk -F'"?,"?' 'NR == 2 { gsub(/"/, ""); print $8 " | " $7 }' "$WORK/ping-$name.csv") |" \
            "$keys |"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- copy-on-write
# Private_Dirty bytes of a pid (0 once it is gone).
private_dirty() {
    # (%.0f: mawk prints big products as 2.1e+09.)
    awk '/^Private_Dirty:/ {printf "%.0f\n", $2 * 1024; found = 1} END {if (!found) print 0}' \
        "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

mode_cow() {
    local name port pid bpid child used0 rss0 peak t0 t1 cow
    header
    echo
    # COW_CMD=BGREWRITEAOF: the same for an AOF rewrite (appendonly yes,
    # RDB preamble), with aof_rewrite_in_progress / aof_last_cow_size.
    local cmd=${COW_CMD:-BGSAVE} prog=rdb_bgsave_in_progress cowf=rdb_last_cow_size aof=""
    if [ "$cmd" = BGREWRITEAOF ]; then
        # No automatic rewrite: one started by the fill would make the
        # measured BGREWRITEAOF a no-op ("already in progress").
        prog=aof_rewrite_in_progress cowf=aof_last_cow_size
        aof="--appendonly yes --auto-aof-rewrite-percentage 0"
    fi
    echo "$cmd of $COW_KEYS keys of 100-byte values while redis-benchmark" \
        "-c 50 -P 16 SETs 100-byte values over the same key names. dataset: used_memory before" \
        "the BGSAVE; peak: the largest parent RSS + child Private_Dirty sampled every 20 ms;" \
        "base: parent RSS before. $cowf as each server reports it."
    echo
    echo "| server | dataset MB | base RSS MB | peak MB | peak / dataset | parent RSS peak MB | child dirty peak MB | $cmd s | writes/s | $cowf MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    # ferrokv-forkless: the same binary with bgsave-forkless yes (no child;
    # its peak is the parent's RSS alone).
    for name in ferrokv ferrokv-forkless redis; do
        port=$([ $name = redis ] && echo "$RPORT" || echo "$FPORT")
        local more=""
        [ $name = ferrokv-forkless ] && more="--bgsave-forkless yes"
        SERVER_ARGS="${SERVER_ARGS:-} --enable-debug-command yes $more $aof" start_server "$name" "$port"
        pid=$SERVER_PID
        echo "cow $name: loading" >&2
        # The key names redis-benchmark -r writes: it overwrites, the
        # dataset does not grow during the run.
        awk -v n="$COW_KEYS" 'BEGIN { v = sprintf("%100s", ""); gsub(/ /, "x", v)
            for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v }' |
            redis-cli -p "$port" --pipe >/dev/null
        sleep 1
        used0=$(info_field "$port" used_memory)
        rss0=$(rss_bytes "$pid")
        redis-benchmark -p "$port" -c 50 -P 16 -n 100000000 -r "$COW_KEYS" -d 100 -t set --csv \
            >"$WORK/cow-$name.csv" 2>/dev/null &
        bpid=$!
        sleep 2
        local w0 w1
        w0=$(redis-cli -p "$port" info stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" {print $2}')
        t0=$(date +%s%N)
        redis-cli -p "$port" "$cmd" >/dev/null
        peak=0
        local peak_parent=0 peak_child=0
        while :; do
            child=$(pgrep -P "$pid" | head -n 1 || true)
            local cur prss pcd
            prss=$(rss_bytes "$pid")
            pcd=$([ -n "$child" ] && private_dirty "$child" || echo 0)
            cur=$((prss + pcd))
            [ "$cur" -gt "$peak" ] && peak=$cur
            [ "$prss" -gt "$peak_parent" ] && peak_parent=$prss
            [ "$pcd" -gt "$peak_child" ] && peak_child=$pcd
            if [ "$(redis-cli -p "$port" info persistence | tr -d '\r' |
                awk -F: -v f="$prog" '$1 == f {print $2}')" = 0 ]; then
                break
            fi
            sleep 0.02
        done
        t1=$(date +%s%N)
        w1=$(redis-cli -p "$port" info stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" {print $2}')
        kill "$bpid" 2>/dev/null || true
        wait "$bpid" 2>/dev/null || true
        cow=$(redis-cli -p "$port" info persistence | tr -d '\r' | awk -F: -v f="$cowf" '$1 == f {print $2}')
        awk -v s="$name" -v u="$used0" -v r="$rss0" -v p="$peak" -v t0="$t0" -v t1="$t1" \
            -v w0="$w0" -v w1="$w1" -v cow="$cow" -v pp="$peak_parent" -v pc="$peak_child" 'BEGIN { secs = (t1 - t0) / 1e9
            printf "| %s | %.0f | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f |\n", s, u / 1048576, r / 1048576,
                p / 1048576, p / u, pp / 1048576, pc / 1048576, secs, (w1 - w0) / secs, cow / 1048576 }'
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

case $MODE in
compare) mode_compare ;;
tls) mode_tls ;;
callgrind) mode_callgrind ;;
fanout) mode_fanout ;;
latency) mode_latency ;;
memory) mode_memory ;;
cmemory) mode_cmemory ;;
save) mode_save ;;
cluster) mode_cluster ;;
cow) mode_cow ;;
lazyfree) mode_lazyfree ;;
esac
