#!/usr/bin/env python3
"""Console service benchmark on the sim (host firmware).

- drain throughput: dom0 draining a full 2048-byte out ring into the backlog
  (Console.service: C copy loop, consumers, notify), as a ratio to memcpy
  bandwidth on the same machine (a 4 MiB bytearray slice copy in the same
  interpreter); the bare copy loop with the C primitive and the same loop in
  pure Python, for comparison; the cost of one notify; and the end-to-end
  rate of a guest flooding through events;
- latency from a guest write (a guest thread) to the Python callback, while
  dom0 sleeps (median and p99);
- heap per console at the default backlog (gc.mem_alloc delta over 10).

No pass/fail threshold. Prints JSON and writes build/bench/console.json.

  python3 bench/console.py [--smoke] [--out DIR]

--smoke: a few rounds and samples, a second (make test runs it to see that
the benchmark still runs and reports every field; its figures mean nothing).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.environ.get("MODXEN_FIRMWARE", os.path.join(ROOT, "build", "host", "micropython"))

CODE = r"""
import _xen, _xenring, time, gc, json, struct, _thread
import xen.console as xc
from conguest import Guest
OUT = _xenring.CONSOLE_OUT
RING = OUT[1]
g = Guest()
c = xc.serve(g.domid, g.gfn, g.port)
chunk = bytes(range(256)) * (RING // 256)

# -- dom0 drain of a full ring (guest writes without notifying: no upcall)
rounds = %(rounds)d
drain_us = 0
for i in range(rounds):
    g.write(chunk, notify=False)
    t = time.ticks_us()
    c.service()
    drain_us += time.ticks_diff(time.ticks_us(), t)
assert c.total == rounds * RING, c.total
drained = rounds * RING

# -- the same drain in pure Python (indices by struct, copies by slices)
page = g.page
bl = bytearray(xc.DEFAULT_BACKLOG)
pos = 0
cons = c._ocons
def py_drain():
    global pos, cons
    prod = struct.unpack_from('<I', page, OUT[3])[0]
    avail = (prod - cons) & 0xffffffff
    if avail > RING:
        raise OSError(74)
    while avail:
        start = cons & (RING - 1)
        n = min(avail, RING - start, len(bl) - pos)
        bl[pos:pos + n] = page[OUT[0] + start:OUT[0] + start + n]
        pos = (pos + n) %% len(bl)
        cons = (cons + n) & 0xffffffff
        avail -= n
    struct.pack_into('<I', page, OUT[2], cons)
c.close()
# -- the bare C primitive: ring_read into the backlog, no consumers, no notify
gr = Guest()
page = gr.page
pos = 0
cons = 0
c_us = 0
for i in range(rounds):
    gr.write(chunk, notify=False)
    t = time.ticks_us()
    while True:
        n = _xenring.read(page, OUT, cons, bl, pos)
        if not n:
            break
        cons = (cons + n) & 0xffffffff
        pos = (pos + n) %% len(bl)
    c_us += time.ticks_diff(time.ticks_us(), t)
# -- one event channel notify (the protocol's kick after consuming)
ch = _xen.bind_interdomain(gr.domid, _xen.evtchn_alloc_unbound(gr.domid, 0))
t = time.ticks_us()
for i in range(rounds):
    ch.notify()
notify_us = time.ticks_diff(time.ticks_us(), t) / rounds
ch.close()
g2 = Guest()
page = g2.page
cons = 0
py_us = 0
for i in range(rounds):
    g2.write(chunk, notify=False)
    t = time.ticks_us()
    py_drain()
    py_us += time.ticks_diff(time.ticks_us(), t)

# -- memcpy of the same amount, same interpreter: one big slice copy
src = bytearray(4 << 20)
dst = bytearray(4 << 20)
best = 1 << 60
for i in range(5):
    t = time.ticks_us()
    dst[:] = src
    best = min(best, time.ticks_diff(time.ticks_us(), t))
memcpy_bps = len(src) * 1e6 / best

# -- end to end: a guest flooding through events (guest and dom0 share the CPU)
g3 = Guest()
c3 = xc.serve(g3.domid, g3.gfn, g3.port)
big = chunk * 512
t = time.ticks_us()
off = 0
while off < len(big):
    off += g3.write(big, off)
time.sleep_ms(0)
e2e_us = time.ticks_diff(time.ticks_us(), t)
assert c3.total == len(big), (c3.total, len(big))

# -- latency: a guest thread writes; dom0 sleeps; the callback takes the time
g4 = Guest()
c4 = xc.serve(g4.domid, g4.gfn, g4.port)
time.sleep_ms(10)
lat = []
sent = [0]
def cb(con, data):
    lat.append(time.ticks_diff(time.ticks_us(), sent[0]))
c4.add_callback(cb)
def guest():
    for i in range(%(samples)d):
        time.sleep_ms(3)
        sent[0] = time.ticks_us()
        g4.write(b'x')
_thread.start_new_thread(guest, ())
t = time.ticks_ms()
while len(lat) < %(samples)d and time.ticks_diff(time.ticks_ms(), t) < 20000:
    time.sleep_ms(100)
lat.sort()

# -- heap per console at the default backlog
for con in list(xc.consoles().values()):
    con.close()
gs = [Guest() for i in range(10)]
gc.collect()
m0 = gc.mem_alloc()
cs = [xc.serve(x.domid, x.gfn, x.port) for x in gs]
gc.collect()
m1 = gc.mem_alloc()

print('@@' + json.dumps({
    'drain_bytes_per_s': drained * 1e6 / drain_us,
    'drain_python_bytes_per_s': drained * 1e6 / py_us,
    'drain_c_bytes_per_s': drained * 1e6 / c_us,
    'notify_us': notify_us,
    'memcpy_bytes_per_s': memcpy_bps,
    'flood_end_to_end_bytes_per_s': len(big) * 1e6 / e2e_us,
    'latency_us': lat,
    'heap_10': m1 - m0,
}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="a few iterations: does it run, is every field there")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"), help="directory for console.json")
    a = ap.parse_args()
    rounds, samples = (20, 5) if a.smoke else (2000, 200)
    env = dict(os.environ)
    base = os.path.join(ROOT, "pylib") if env.get("MODXEN_PYLIB") else ".frozen"
    env["MICROPYPATH"] = base + ":" + os.path.join(ROOT, "tests", "console", "mp")
    p = subprocess.run([FW, "-X", "heapsize=64M", "-c", CODE % {"rounds": rounds, "samples": samples}],
                       capture_output=True, timeout=300, env=env, cwd=ROOT)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        sys.exit("bench failed:\n" + out + p.stderr.decode(errors="replace"))
    r = json.loads([l for l in out.splitlines() if l.startswith("@@")][-1][2:])
    lat = r.pop("latency_us")
    if not lat:
        sys.exit("bench failed: no latency samples")
    res = {
        "drain_MBps": round(r["drain_bytes_per_s"] / 1e6, 1),
        "drain_ratio_to_memcpy": round(r["drain_bytes_per_s"] / r["memcpy_bytes_per_s"], 4),
        "drain_loop_c_MBps": round(r["drain_c_bytes_per_s"] / 1e6, 1),
        "drain_loop_python_MBps": round(r["drain_python_bytes_per_s"] / 1e6, 1),
        "drain_loop_c_over_python": round(r["drain_c_bytes_per_s"] / r["drain_python_bytes_per_s"], 2),
        "notify_us": round(r["notify_us"], 2),
        "memcpy_MBps": round(r["memcpy_bytes_per_s"] / 1e6, 1),
        "flood_end_to_end_MBps": round(r["flood_end_to_end_bytes_per_s"] / 1e6, 1),
        "latency_us_median": lat[len(lat) // 2],
        "latency_us_p99": lat[min(len(lat) - 1, len(lat) * 99 // 100)],
        "latency_samples": len(lat),
        "heap_per_console_bytes": r["heap_10"] // 10,
        "default_backlog_bytes": 16384,
        "rounds": rounds,
        "smoke": a.smoke,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "console.json"), "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
