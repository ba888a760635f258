# Shared by tests/host's event scenarios (mp/xen_events.py,
# mp/sim_wake_locked.py): a guest domain with an interdomain channel to dom0,
# from a clean start.
import time

import _xen


def settle():
    for _ in range(3):
        time.sleep_ms(1)


class Guest:
    """d: the guest; gport: its end of the channel; ch: dom0's binding;
    initial: what ch had pending after the bind (Xen marks a freshly bound
    interdomain port pending; the channel starts from zero after it)."""

    def __init__(self):
        self.d = _xen.createdomain()
        self.gport = _xen.evtchn_alloc_unbound(self.d, 0)
        self.ch = _xen.bind_interdomain(self.d, self.gport)
        settle()
        self.initial = self.ch.consume()
