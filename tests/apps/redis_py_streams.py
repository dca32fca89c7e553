# Streams as RQ (>= 1.12) uses them for job results, through redis-py:
# XADD MAXLEN ~, XREVRANGE COUNT 1, XRANGE, XLEN, XREAD (also blocking), XDEL, XTRIM.
import sys, threading, time, redis
port = int(sys.argv[1])
for proto in (2, 3):
    r = redis.Redis(port=port, protocol=proto, decode_responses=True)
    r.delete("res", "other")
    ids = [r.xadd("res", {"type": "1", "n": str(i)}, maxlen=10) for i in range(15)]
    assert r.xlen("res") == 15  # approximate trim keeps whole 100-entry nodes
    assert r.xrevrange("res", "+", "-", count=1) == [(ids[-1], {"type": "1", "n": "14"})]
    assert [e[0] for e in r.xrange("res")] == ids
    assert r.xread({"res": "0-0"}, count=2) in ([["res", [(ids[0], {"type": "1", "n": "0"}), (ids[1], {"type": "1", "n": "1"})]]],
                                                {"res": [[(ids[0], {"type": "1", "n": "0"}), (ids[1], {"type": "1", "n": "1"})]]})
    assert r.xadd("res", {"a": "b"}, maxlen=3, approximate=False) and r.xlen("res") == 3
    assert r.xdel("res", ids[-1], "1-1") == 1 and r.xtrim("res", maxlen=0, approximate=False) == 2
    assert r.type("res") == "stream" and r.xlen("nokey") == 0 and r.xrange("nokey") == []
    def later():
        time.sleep(0.3)
        redis.Redis(port=port).xadd("other", {"k": "v"}, id="5-1")
    th = threading.Thread(target=later); th.start()
    res = r.xread({"res": "$", "other": "$"}, block=10000)
    th.join()
    assert res in ([["other", [("5-1", {"k": "v"})]]], {"other": [[("5-1", {"k": "v"})]]}), res
    assert not r.xread({"other": "$"}, block=100)
    try:
        r.xadd("other", {"k": "v"}, id="5-1"); raise SystemExit("XADD with a small ID must fail")
    except redis.ResponseError as e:
        assert "equal or smaller" in str(e)
print("streams OK")
