#!/usr/bin/env python3
"""Pub/Sub fan-out benchmark: SUBS subscribers on one channel, one publisher
pipelining MSGS publishes; measures until every subscriber has every message.

Usage: pubsub_fanout.py PORT [PID]  (prints "msgs_per_s delivered_per_s cpu_us_per_publish")
Env: SUBS (1000), MSGS (2000), SIZE (64 bytes).
"""
import os, resource, selectors, socket, sys, time

port = int(sys.argv[1]); pid = sys.argv[2] if len(sys.argv) > 2 else None
SUBS = int(os.environ.get("SUBS", 1000)); MSGS = int(os.environ.get("MSGS", 2000))
SIZE = int(os.environ.get("SIZE", 64))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, SUBS + 64)), hard))

def cpu_ticks():
    if not pid: return 0
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

payload = b"x" * SIZE
frame = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n" % (SIZE, payload)
sub_ack = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
sel = selectors.DefaultSelector()
subs = []
for _ in range(SUBS):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"SUBSCRIBE ch\r\n")
    subs.append(s)
for s in subs:  # wait for every subscription to be confirmed
    got = b""
    while len(got) < len(sub_ack):
        got += s.recv(len(sub_ack) - len(got))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, [0])
expected = MSGS * len(frame)
pub = socket.create_connection(("127.0.0.1", port))
cmd = b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$%d\r\n%s\r\n" % (SIZE, payload)
c0 = cpu_ticks(); t0 = time.time()
batch = 100
for i in range(0, MSGS, batch):
    pub.sendall(cmd * min(batch, MSGS - i))
done = 0
while done < SUBS:
    for key, _ in sel.select(timeout=10):
        try:
            data = key.fileobj.recv(1 << 20)
        except BlockingIOError:
            continue
        if not data:
            raise SystemExit("subscriber disconnected")
        key.data[0] += len(data)
        if key.data[0] >= expected:
            sel.unregister(key.fileobj); done += 1
t1 = time.time(); c1 = cpu_ticks()
# drain the publisher's integer replies
pub.settimeout(5); rep = b""
while rep.count(b"\r\n") < MSGS:
    rep += pub.recv(1 << 20)
assert rep.count(b":%d\r\n" % SUBS) == MSGS, rep[:200]
hz = os.sysconf("SC_CLK_TCK")
dt = t1 - t0
print("%.0f %.0f %.2f" % (MSGS / dt, MSGS * SUBS / dt, (c1 - c0) * 1e6 / hz / MSGS))
