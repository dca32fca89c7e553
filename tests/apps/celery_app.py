# Celery with the Redis broker and result backend: a solo worker subprocess
# processes 50 add() tasks sent with .delay(); results fetched with .get().
import os, subprocess, sys, tempfile, time
port = int(sys.argv[1])
d = tempfile.mkdtemp()
open(os.path.join(d, "tasks.py"), "w").write(f'''
from celery import Celery
url = "redis://127.0.0.1:{port}/0"
app = Celery("tasks", broker=url, backend=url)
app.conf.broker_connection_retry_on_startup = True
@app.task
def add(x, y):
    return x + y
''')
sys.path.insert(0, d)
log = open(os.path.join(d, "worker.log"), "w")
w = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool=solo", "-c", "1", "-l", "info"],
                     cwd=d, stdout=log, stderr=subprocess.STDOUT)
try:
    from tasks import add
    rs = [add.delay(i, i * 2) for i in range(50)]
    vals = [r.get(timeout=60) for r in rs]
    assert vals == [i * 3 for i in range(50)], vals
    assert all(r.status == "SUCCESS" for r in rs)
    print("celery OK")
finally:
    w.terminate()
    try:
        w.wait(15)
    except subprocess.TimeoutExpired:
        w.kill()
    out = open(os.path.join(d, "worker.log")).read()
    if "Traceback" in out or "ERROR" in out:
        print(out[-4000:])
        sys.exit(1)
