# redis-py as applications use it: Lock across threads, transactional and
# plain pipelines, WATCH, scan_iter family, pubsub listen/run_in_thread, RESP3.
import sys, threading, time, redis
from redis.exceptions import LockError, WatchError
port=int(sys.argv[1])
r=redis.Redis(port=port, decode_responses=True)
r.flushall()
# Lock across threads
lock=r.lock("L", timeout=5, blocking_timeout=5)
assert lock.acquire()
got=[]
def other():
    l2=redis.Redis(port=port).lock("L", timeout=5, blocking_timeout=5, sleep=0.05)
    ok=l2.acquire(); got.append(ok)
    if ok:
        assert l2.owned(); l2.release()
t=threading.Thread(target=other); t.start()
time.sleep(0.3)
assert lock.extend(10); assert 9000 < r.pttl("L") <= 15000, r.pttl("L")
assert lock.reacquire(); assert lock.locked() and lock.owned()
lock.release(); t.join(); assert got==[True], got
assert not r.exists("L")
l3=r.lock("L2", timeout=0.2); assert l3.acquire(); time.sleep(0.4)
try: l3.release(); raise SystemExit("release of expired lock must fail")
except LockError: pass
nb=r.lock("L3"); assert nb.acquire(blocking=False); assert not r.lock("L3").acquire(blocking=False); nb.release()
# counters with threads contending on lock
r.set("cnt", 0)
def inc():
    c=redis.Redis(port=port)
    for _ in range(20):
        with c.lock("LC", timeout=5, sleep=0.001):
            v=int(c.get("cnt")); c.set("cnt", v+1)
ts=[threading.Thread(target=inc) for _ in range(4)]
[x.start() for x in ts]; [x.join() for x in ts]
assert r.get("cnt")=="80", r.get("cnt")
# transactional pipeline
p=r.pipeline(); p.set("a",1).incr("a").lpush("l","x","y").lrange("l",0,-1).hset("h",mapping={"f":"v"}).hgetall("h").expire("a",100).ttl("a")
res=p.execute(); assert res==[True,2,2,["y","x"],1,{"f":"v"},True,100], res
p=r.pipeline(); p.set("b","x").incr("b").get("b")
res=p.execute(raise_on_error=False); assert isinstance(res[1], redis.ResponseError) and res[2]=="x", res
# WATCH via transaction()
def tx(pipe):
    v=int(pipe.get("a")); pipe.multi(); pipe.set("a", v*10)
assert r.transaction(tx, "a")==[True]; assert r.get("a")=="20"
with r.pipeline() as pipe:
    pipe.watch("a"); r.set("a", 5); pipe.multi(); pipe.set("a", 6)
    try: pipe.execute(); raise SystemExit("watch should abort")
    except WatchError: pass
# non-transactional pipeline
p=r.pipeline(transaction=False)
for i in range(1000): p.set(f"k:{i}", i)
assert all(p.execute())
assert set(r.scan_iter("k:*", count=50))=={f"k:{i}" for i in range(1000)}
assert len(list(r.scan_iter(match="k:1*", _type="string")))==111
r.sadd("s", *range(300)); assert len(set(r.sscan_iter("s", count=10)))==300
r.hset("hh", mapping={f"f{i}":i for i in range(300)}); assert len(dict(r.hscan_iter("hh")))==300
r.zadd("z", {f"m{i}":i for i in range(300)}); assert len(list(r.zscan_iter("z")))==300
# pubsub listen
ps=r.pubsub(); ps.subscribe("ch"); ps.psubscribe("p*")
msgs=[]
def listener():
    for m in ps.listen():
        msgs.append(m)
        if m["type"] in ("message","pmessage") and m["data"]=="stop": break
t=threading.Thread(target=listener); t.start(); time.sleep(0.2)
assert r.publish("ch","hello")==1; assert r.publish("px","hi")==1; r.publish("ch","stop")
t.join(5); assert not t.is_alive()
types=[(m["type"],m["data"]) for m in msgs]
assert types[:2]==[("subscribe",1),("psubscribe",2)], types
assert ("message","hello") in types and ("pmessage","hi") in types, types
assert r.pubsub_numsub("ch")==[("ch",1)] and r.pubsub_numpat()==1
ps.unsubscribe(); ps.punsubscribe(); ps.close()
# run_in_thread + get_message
ps=r.pubsub(ignore_subscribe_messages=True); got=[]
ps.subscribe(**{"c2": lambda m: got.append(m["data"])}); th=ps.run_in_thread(sleep_time=0.01)
time.sleep(0.1); r.publish("c2","x"); time.sleep(0.3); th.stop(); th.join(); assert got==["x"], got
# RESP3
r3=redis.Redis(port=port, protocol=3, decode_responses=True)
assert r3.hgetall("h")=={"f":"v"}; assert r3.zrange("z",0,1,withscores=True)==[["m0",0.0],["m1",1.0]] or r3.zrange("z",0,1,withscores=True)==[("m0",0.0),("m1",1.0)]
l4=r3.lock("L4", timeout=5); assert l4.acquire(); assert l4.extend(5); l4.release()
print("redis-py OK")
