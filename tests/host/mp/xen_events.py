# tests/host/test_xen_events.py's firmware side: event channels between dom0
# and a guest (upcalls, pairing, close, VIRQ_DOM_EXC, poll, asyncio, delivery
# from other threads and while the interpreter sleeps or idles in the REPL).
import time

import _thread
import _xen
from guestlib import Guest, settle
from simlib import sim, err

_kept = []      # what must outlive a scenario that returns to the REPL


def upcall_and_callback():
    g = Guest()
    seen = []
    g.ch.callback = lambda c: seen.append(c.port)
    sim.guest_notify(g.d, g.gport)
    settle()
    return [g.initial, seen == [g.ch.port], g.ch.pending, g.ch.consume(), g.ch.pending]


def dom0_to_guest():
    g = Guest()
    g.ch.notify()
    g.ch.notify()
    return [sim.guest_pending(g.d, g.gport), sim.guest_pending(g.d, g.gport)]


def pairing_rules():
    g = Guest()
    d, ch = g.d, g.ch
    e_bound = err(_xen.bind_interdomain, d, g.gport)     # already bound to us
    e_noport = err(_xen.bind_interdomain, d, 999)
    e_nodom = err(_xen.bind_interdomain, 999, 1)
    p2 = _xen.evtchn_alloc_unbound(d, 0)
    ch.close()
    # the guest's end of a closed interdomain channel is unbound again: re-bindable
    ch2 = _xen.bind_interdomain(d, g.gport)
    # dom0 offers a port; the guest binds it
    offer = _xen.alloc_unbound(d)
    g2 = sim.guest_bind_interdomain(d, 0, offer.port)
    settle()
    offer.consume()
    sim.guest_notify(d, g2)
    settle()
    return [e_bound, e_noport, e_nodom, p2 != g.gport, ch2.port is not None, offer.consume()]


def close_never_touches_a_reused_port():
    g = Guest()
    d, ch = g.d, g.ch
    ch.close()
    # a new channel may get the same port number
    p = _xen.evtchn_alloc_unbound(d, 0)
    ch2 = _xen.bind_interdomain(d, p)
    settle()
    ch2.consume()
    ch.close()                       # second close: must not touch ch2's port
    sim.guest_notify(d, p)
    settle()
    return [ch.port, err(ch.notify), err(ch.unmask), ch2.consume()]


def virq_dom_exc():
    g = Guest()
    exc = _xen.bind_virq(_xen.VIRQ_DOM_EXC)
    sim.guest_shutdown(g.d, 'crash')
    settle()
    a = exc.consume()
    info = _xen.getdomaininfo(g.d)
    g.ch.close()
    _xen.destroydomain(g.d)
    settle()
    return [a, info['shutdown'], info['shutdown_reason'], exc.consume()]


def poll_pending():
    import select
    g = Guest()
    p = select.poll()
    p.register(g.ch, select.POLLIN)
    before = p.poll(0)
    sim.guest_notify(g.d, g.gport)
    settle()
    after = p.poll(100)
    return [len(before), len(after), after[0][0] is g.ch if after else None]


def asyncio_wait():
    import asyncio
    g = Guest()

    async def waiter():
        yield asyncio.core._io_queue.queue_read(g.ch)
        return g.ch.consume()

    async def poker():
        await asyncio.sleep_ms(20)
        sim.guest_notify(g.d, g.gport)

    async def main():
        t = asyncio.create_task(poker())
        n = await asyncio.wait_for(waiter(), 2)
        await t
        return n
    return asyncio.run(main())


def no_lost_wakeup(n):
    """A guest thread bumps a counter in shared memory and notifies n times:
    [the last value the handler saw, times it ran]."""
    g = Guest()
    d = g.d
    _xen.max_mem(d, 64)
    _xen.populate_physmap(d, [0x39000])
    m = _xen.map(d, 0x39000)
    seen = [0, 0]

    def handler(c):
        seen[0] += 1
        seen[1] = m[0] | (m[1] << 8)
    g.ch.callback = handler
    done = [False]

    def guest():
        v = memoryview(sim.guest_map(d, 0x39000))
        for i in range(1, n + 1):
            v[0] = i & 255
            v[1] = i >> 8
            sim.guest_notify(d, g.gport)
        done[0] = True
    _thread.start_new_thread(guest, ())
    t0 = time.ticks_ms()
    while (not done[0] or seen[1] != n) and time.ticks_diff(time.ticks_ms(), t0) < 5000:
        time.sleep_ms(1)
    return [seen[1], seen[0]]


def _notify_after(g, ms):
    def guest():
        time.sleep_ms(ms)
        sim.guest_notify(g.d, g.gport)
    _thread.start_new_thread(guest, ())


def upcall_during_sleep():
    """[upcalls, ms from the sleep's start to the upcall, ms from the upcall
    to the sleep's end] for a notify 100 ms into a 1 s sleep."""
    g = Guest()
    at = []
    g.ch.callback = lambda c: at.append(time.ticks_ms())
    _notify_after(g, 100)
    t0 = time.ticks_ms()
    time.sleep(1)
    t1 = time.ticks_ms()
    return [len(at), time.ticks_diff(at[0], t0) if at else None,
            time.ticks_diff(t1, at[0]) if at else None]


def repl_idle(flag):
    """Left running in the REPL: 300 ms on, a guest notifies and the
    handler writes 'ran' to the file flag."""
    g = Guest()
    _kept.append(g)
    g.ch.callback = lambda c: open(flag, 'w').write('ran')
    _notify_after(g, 300)


def lost_wake_recovered():
    """The sim drops the next wake signal: [upcalls, ms to the upcall]."""
    g = Guest()
    at = []
    g.ch.callback = lambda c: at.append(time.ticks_ms())
    sim.drop_wakeups(1)
    _notify_after(g, 50)
    t0 = time.ticks_ms()
    time.sleep(2)
    return [len(at), time.ticks_diff(at[0], t0) if at else None]


def ctrl_c_during_upcall():
    import _xenboard
    g = Guest()

    def busy(c):
        t = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t) < 300:
            pass
    g.ch.callback = busy

    def guest():
        sim.guest_notify(g.d, g.gport)
        time.sleep_ms(100)
        _xenboard.interrupt_main()
    _thread.start_new_thread(guest, ())
    try:
        t0 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t0) < 3000:
            time.sleep_ms(1)
        return 'not interrupted'
    except KeyboardInterrupt:
        return 'interrupted'
