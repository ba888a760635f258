# tests/host/test_xen_wait.py's firmware side: _xen.wait() and xen.serve()
# on the sim, where a guest's events come from the interpreter's own thread
# or from another thread (a signal then ends the wait).
import time

import _thread
import _xen
import xen
from guestlib import Guest
from simlib import sim


def _elapsed(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


def timeout_without_events(ms):
    Guest()
    t0 = time.ticks_ms()
    _xen.wait(ms)
    return _elapsed(t0)


def _guest_notifies_after(delay_ms):
    """A guest with a channel to dom0 whose thread notifies after delay_ms;
    returns the list its callbacks append to."""
    g = Guest()
    seen = []
    g.ch.callback = lambda c: (seen.append(1), c.consume())

    def guest():
        time.sleep_ms(delay_ms)
        sim.guest_notify(g.d, g.gport)
    _thread.start_new_thread(guest, ())
    return seen


def event_from_another_thread(delay_ms, limit_ms):
    """dom0 waits up to limit_ms for a guest thread's event: [callbacks run
    when wait returned, ms waited]."""
    seen = _guest_notifies_after(delay_ms)
    t0 = time.ticks_ms()
    _xen.wait(limit_ms)
    return [len(seen), _elapsed(t0)]


def no_lost_wakeup(rounds, limit_ms):
    """Each round a thread notifies while dom0 heads into wait(): every
    round's event must end a wait well before limit_ms. Returns [events,
    rounds that needed the whole limit]."""
    g = Guest()
    seen = []
    g.ch.callback = lambda c: (seen.append(1), c.consume())
    late = 0
    for i in range(rounds):
        _thread.start_new_thread(sim.guest_notify, (g.d, g.gport))
        t0 = time.ticks_ms()
        while len(seen) <= i and _elapsed(t0) < limit_ms:
            _xen.wait(limit_ms)
        if _elapsed(t0) >= limit_ms:
            late += 1
    return [len(seen), late]


def serve_for(seconds, delay_ms):
    """xen.serve(seconds) with a guest's event meanwhile: [callbacks run,
    ms served]."""
    xen.start(consoles=False)
    seen = _guest_notifies_after(delay_ms)
    t0 = time.ticks_ms()
    xen.serve(seconds)
    return [len(seen), _elapsed(t0)]


def interrupted(after_s, limit_ms):
    """SIGINT (Ctrl-C) sent to this process after_s into a wait of
    limit_ms: [what the wait raised, ms waited]."""
    import os
    Guest()
    pid = open("/proc/self/stat").read().split()[0]
    os.system("(sleep %s; kill -INT %s) &" % (after_s, pid))
    t0 = time.ticks_ms()
    try:
        _xen.wait(limit_ms)
        got = None
    except KeyboardInterrupt:
        got = "KeyboardInterrupt"
    return [got, _elapsed(t0)]


def bad_timeout():
    from mptest import fails
    return fails(_xen.wait, "soon")
