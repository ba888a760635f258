"""Lost wake-up: an event that arrives while a scheduled Python callback runs.

time.sleep's select is interrupted by an event; the event's callback schedules a
Python callback, which runs right away with the scheduler locked. A second event
arriving meanwhile is queued, and becomes runnable only when that callback has
returned and sleep is back in select for its remaining time: the backend must
wake the interpreter again then (the same check runs on real Xen in
tests/xen/dom0/test_xen_api.py). The firmware side is
mp/sim_wake_locked.py."""
from mpfirmware import mp


def test_event_during_a_scheduled_callback_wakes_sleep():
    n, when = mp("sim_wake_locked.event_during_a_scheduled_callback")
    assert n == 2, "the second event's callback had not run when sleep ended"
    assert when < 1200, when
