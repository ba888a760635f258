# tests/host/test_sim_wake_locked.py's firmware side: an event that arrives
# while a scheduled Python callback runs must still wake time.sleep.
import time

import _thread
import micropython
from guestlib import Guest
from simlib import sim


def event_during_a_scheduled_callback():
    """[callbacks run, ms from the sleep's start to the second one]."""
    g = Guest()
    seen = []

    def second():
        time.sleep_ms(20)
        sim.guest_notify(g.d, g.gport)

    def slow(_):
        _thread.start_new_thread(second, ())
        t = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t) < 300:
            pass

    def on_event(c):
        c.consume()
        seen.append(time.ticks_ms())
        if len(seen) == 1:
            micropython.schedule(slow, None)
    g.ch.callback = on_event

    def first():
        time.sleep_ms(50)
        sim.guest_notify(g.d, g.gport)
    _thread.start_new_thread(first, ())
    t0 = time.ticks_ms()
    time.sleep(2)
    return [len(seen), time.ticks_diff(seen[1], t0) if len(seen) > 1 else None]
