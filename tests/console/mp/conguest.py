# The guest side of a console page on the sim, for tests and the bench: a
# domain with one magic page and an unbound console port (what a builder
# leaves), and a driver that writes the `out` ring and reads the `in` ring as
# a guest kernel's hvc driver does, through _xensim's guest-side calls.
import _xen
import _xenring

import _xensim as sim
OUT = _xenring.CONSOLE_OUT
IN = _xenring.CONSOLE_IN
_M = 0xFFFFFFFF


class Guest:
    def __init__(self):
        d = _xen.createdomain()
        _xen.max_mem(d, 1024)
        self.gfn = _xen.GUEST_MAGIC_BASE >> 12
        _xen.populate_physmap(d, [self.gfn])
        self.domid = d
        self.port = _xen.evtchn_alloc_unbound(d, 0)     # the guest's console port
        self.page = sim.guest_map(d, self.gfn)
        self.oprod = 0
        self.icons = 0
        self.notifies = 0

    def notify(self):
        sim.guest_notify(self.domid, self.port)
        self.notifies += 1

    def write(self, data, off=0, notify=True):
        """Put what fits of data[off:] into the out ring; returns the count."""
        n = _xenring.write(self.page, OUT, self.oprod, data, off)
        self.oprod = (self.oprod + n) & _M
        if n and notify:
            self.notify()
        return n

    def read(self, buf, off=0):
        """Take waiting input into buf[off:]; returns the count."""
        n = _xenring.read(self.page, IN, self.icons, buf, off)
        self.icons = (self.icons + n) & _M
        if n:
            self.notify()
        return n

    def pending(self):
        return sim.guest_pending(self.domid, self.port)

    def poke(self, off, value):
        """A malicious guest: write a raw u32 into the page."""
        import struct
        struct.pack_into("<I", self.page, off, value)

    def destroy(self):
        self.page.close()
        _xen.destroydomain(self.domid)
