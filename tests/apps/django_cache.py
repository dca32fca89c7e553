# Django cache (django.core.cache.backends.redis.RedisCache) against the server on argv[1].
import sys, time
import django
from django.conf import settings
port=int(sys.argv[1])
settings.configure(CACHES={"default":{"BACKEND":"django.core.cache.backends.redis.RedisCache","LOCATION":f"redis://127.0.0.1:{port}/1"}})
django.setup()
from django.core.cache import cache
cache.clear()
cache.set("a", 1); assert cache.get("a")==1
cache.set("s", "str"); assert cache.get("s")=="str"
cache.set("obj", {"x":[1,2]}); assert cache.get("obj")=={"x":[1,2]}
assert cache.incr("a")==2 and cache.incr("a", 10)==12 and cache.decr("a", 2)==10
try: cache.incr("nokey"); raise SystemExit("incr missing should fail")
except ValueError: pass
assert cache.add("a", 5) is False and cache.add("b", 5) is True
cache.set_many({"m1":1,"m2":"two","m3":3.5})
assert cache.get_many(["m1","m2","m3","zz"])=={"m1":1,"m2":"two","m3":3.5}
cache.delete_many(["m1","m2"]); assert cache.get_many(["m1","m2","m3"])=={"m3":3.5}
assert cache.delete("m3") is True and cache.delete("m3") is False
cache.set("t", 1, timeout=1); assert cache.touch("t", 100) is True
assert 90 < cache._cache.get_client("t").ttl(cache.make_and_validate_key("t")) <= 100
assert cache.touch("nokey", 10) is False
cache.set("p", 1, timeout=10); assert cache.touch("p", None) is True and cache._cache.get_client("p").ttl(cache.make_and_validate_key("p"))==-1
cache.set("e", 1, timeout=1); time.sleep(1.2); assert cache.get("e") is None
cache.set("z", 1, timeout=0); assert cache.get("z") is None
assert cache.get_or_set("g", 7)==7 and cache.has_key("g")
cache.set("big", "x"*100000); assert len(cache.get("big"))==100000
assert cache.incr_version("g")==2 and cache.get("g", version=2)==7
cache.clear(); assert cache.get("g", version=2) is None
print("django OK")
