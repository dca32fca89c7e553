"""redis-py's RedisCluster against a ferrokv cluster (tests/cluster_proof.rs):
discovers the nodes from one seed port (argv[1]), writes N keys (argv[2],
default 100000) spread over every slot with its cluster pipeline, reads
them back and checks every value, then single commands with MOVED
following and a hash-tagged MULTI-less pipeline of one slot."""
import sys
from redis.cluster import RedisCluster, ClusterNode

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", port)], decode_responses=True)

masters = rc.get_primaries()
assert len(masters) == 3, masters

BATCH = 5000
for start in range(0, n, BATCH):
    p = rc.pipeline()
    for i in range(start, min(n, start + BATCH)):
        p.set(f"py:{i}", f"value-{i}")
    assert all(r is True for r in p.execute()), start

for start in range(0, n, BATCH):
    p = rc.pipeline()
    for i in range(start, min(n, start + BATCH)):
        p.get(f"py:{i}")
    got = p.execute()
    for k, v in enumerate(got):
        i = start + k
        assert v == f"value-{i}", (i, v)

# The keys really are spread over the three masters.
per_node = [rc.execute_command("DBSIZE", target_nodes=m) for m in masters]
assert sum(per_node) >= n and all(c > n // 5 for c in per_node), per_node

# Single commands routed by slot, and one slot's keys together.
for i in range(200):
    assert rc.incr(f"py:ctr:{i}") == 1
assert rc.mget("{t}a", "{t}b") == [None, None]
rc.mset({"{t}a": "1", "{t}b": "2"})
assert rc.mget("{t}a", "{t}b") == ["1", "2"]
print("ok", n, per_node)
