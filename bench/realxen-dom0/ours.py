# The dom0 side of our toolstack in bench/realxen.py: xen.domain_create with our own
# xenstore and console servers (this process), timed like xl (benchlib).
import _xen
import xen
import benchlib as b


def one(cfg):
    """Console output is seen by a callback in the console server itself, so the times
    do not depend on how often this loop looks."""
    b.settle()
    seen = {"first": None, "up": None, "tail": b""}
    t0 = b.ticks()

    def on_output(con, data):
        if seen["first"] is None:
            seen["first"] = b.since(t0)
        seen["tail"] = seen["tail"][-len(b.MARK):] + data
        if seen["up"] is None and b.MARK in seen["tail"]:
            seen["up"] = b.since(t0)
    d = xen.domain_create(cfg, paused=True)
    d.console.add_callback(on_output)
    d.unpause()
    create = b.since(t0)
    while seen["up"] is None and b.since(t0) < 120000:
        b.time.sleep_ms(50)
    d.destroy()
    return {"create_ms": create, "first_output_ms": seen["first"], "guest_up_ms": seen["up"]}


class Timed:
    """Stands in for _xen inside the builder: the time spent in each primitive."""

    def __init__(self, real, acc):
        self._real = real
        self._acc = acc

    def __getattr__(self, name):
        f = getattr(self._real, name)
        if not callable(f):
            return f
        acc = self._acc

        def timed(*a, **k):
            t = b.time.ticks_us()
            try:
                return f(*a, **k)
            finally:
                acc[name] = acc.get(name, 0) + b.time.ticks_diff(b.time.ticks_us(), t)
        return timed


def profile(cfg):
    """One more build with the builder's hypercalls and image loads timed (ms)."""
    from xen.domain import builder, entries as xs_entries
    b.settle()
    acc = {}
    real_load, real_entries = builder.load, xs_entries.write

    def load(*a):
        t = b.time.ticks_us()
        r = real_load(*a)
        acc["load images"] = acc.get("load images", 0) + b.time.ticks_diff(b.time.ticks_us(), t)
        return r

    def entries(*a):
        t = b.time.ticks_us()
        r = real_entries(*a)
        acc["xenstore entries"] = acc.get("xenstore entries", 0) + b.time.ticks_diff(b.time.ticks_us(), t)
        return r
    builder._xen = Timed(_xen, acc)
    builder.load, xs_entries.write = load, entries
    try:
        t0 = b.time.ticks_us()
        d = xen.domain_create(cfg)
        total = b.time.ticks_diff(b.time.ticks_us(), t0)
    finally:
        builder._xen = _xen
        builder.load, xs_entries.write = real_load, real_entries
    d.destroy()
    out = {k: round(v / 1000, 1) for k, v in acc.items()}
    out["total"] = round(total / 1000, 1)
    return out


