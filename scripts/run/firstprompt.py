"""make run's output filter (scripts/run/run.sh): copies QEMU's output to the terminal
unchanged and, at the first ">>> " (the dom0 REPL's prompt), says how long it took
from `make run` and appends that to TIMES.
    firstprompt.py T0 TIMES RELEASE     T0: `date +%s.%N` when make run started ('' = none)
"""
import os
import sys
import time

t0 = float(sys.argv[1]) if sys.argv[1] else None
times, rel = sys.argv[2], sys.argv[3]
tail = b""
seen = False
while True:
    try:
        data = os.read(0, 65536)
    except KeyboardInterrupt:
        continue
    if not data:
        break
    if seen:
        os.write(1, data)
        continue
    i = (tail + data).find(b">>> ")
    if i < 0:
        os.write(1, data)
        tail = (tail + data)[-3:]
        continue
    # the prompt is in this chunk: show it, then the time, then the prompt again
    seen = True
    os.write(1, data)
    if t0 is not None:
        dt = time.time() - t0
        os.write(1, b"\r\n[make run: %.1f s from `make run` to this prompt (Xen %s)]\r\n>>> " % (dt, rel.encode()))
        try:
            with open(times, "a") as f:
                f.write("%s xen=%s to_prompt_s=%.1f\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), rel, dt))
        except OSError:
            pass
