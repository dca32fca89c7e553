# RQ: enqueue 20 jobs (plus a failing and a scheduled one), run a burst
# worker, check statuses, results (stored in streams since RQ 1.12) and registries.
import datetime, os, sys, tempfile
import redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FinishedJobRegistry, FailedJobRegistry, ScheduledJobRegistry
port = int(sys.argv[1])
d = tempfile.mkdtemp()
open(os.path.join(d, "rqjobs.py"), "w").write("def add(x, y):\n    return x + y\ndef boom():\n    raise ValueError('boom')\n")
sys.path.insert(0, d)
from rqjobs import add, boom
r = redis.Redis(port=port)
r.flushall()
q = Queue(connection=r)
jobs = [q.enqueue(add, i, i) for i in range(20)]
bad = q.enqueue(boom)
delayed = q.enqueue_in(datetime.timedelta(seconds=100), add, 1, 1)
assert len(q) == 21 and jobs[0].get_status() == "queued" and delayed.get_status() == "scheduled"
SimpleWorker([q], connection=r).work(burst=True)
for k, j in enumerate(jobs):
    j = Job.fetch(j.id, connection=r)
    assert j.get_status() == "finished", (k, j.get_status())
    assert j.return_value() == 2 * k, j.return_value()
    assert j.latest_result().type.name == "SUCCESSFUL"
    assert len(j.results()) == 1
bad = Job.fetch(bad.id, connection=r)
assert bad.get_status() == "failed" and "boom" in bad.latest_result().exc_string
assert len(FinishedJobRegistry(queue=q)) == 20 and len(FailedJobRegistry(queue=q)) == 1
assert len(ScheduledJobRegistry(queue=q)) == 1 and len(q) == 0
print("rq OK")
