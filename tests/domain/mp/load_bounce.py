# tests/domain/test_domain_load_bounce.py's firmware side: builder.load from
# a file that refuses (EFAULT) reads too large to pin, as Linux's 9p client
# does for a read straight into a foreign mapping.
import _xen
from xen.domain import builder, image
from domlib import refusal

RAM = 0x40000000
RAM_PFN = RAM >> 12
ROOM = 8 << 20


class PinningFile:
    """Fails reads above zc bytes with errno_ (nothing read), like 9p into
    a foreign mapping; counts the faults and the reads after the first."""

    def __init__(self, path, zc, errno_):
        self.f = open(path, 'rb')
        self.zc = zc
        self.errno_ = errno_
        self.faults = 0
        self.after = []

    def readinto(self, b):
        if len(b) > self.zc:
            self.faults += 1
            raise OSError(self.errno_)
        if self.faults:
            self.after.append(len(b))
        return self.f.readinto(b)

    def close(self):
        self.f.close()


def guest_sha(domid, addr, n):
    import hashlib
    import binascii
    h = hashlib.sha256()
    while n:
        with _xen.map(domid, addr >> 12) as m:
            off = addr & 4095
            k = min(n, 4096 - off)
            h.update(bytes(memoryview(m)[off:off + k]))
        addr += k
        n -= k
    return binascii.hexlify(h.digest()).decode()


def fresh():
    d = _xen.createdomain()
    _xen.max_vcpus(d, 1)
    _xen.max_mem(d, 16 * 1024)
    _xen.populate_physmap(d, range(RAM_PFN, RAM_PFN + 2048))
    return d


def load(path, pin_limit, efault, eio):
    """The load through a file that EFAULTs reads above pin_limit: [bytes loaded, their
    digest in guest memory, faults, largest read after, reads after]; the
    same with EIO: what builder.load raised; and the bounce buffer's size."""
    d = fresh()
    src = PinningFile(path, pin_limit, efault)
    n = builder.load(d, image.open_kernel(src, name='ninep-kernel'), RAM, ROOM)
    ok = [n, guest_sha(d, RAM, n), src.faults, max(src.after), len(src.after)]
    _xen.destroydomain(d)

    d = fresh()
    src = PinningFile(path, pin_limit, eio)
    bad = refusal(builder.load, d, image.open_kernel(src, name='eio-kernel'), RAM, ROOM)
    _xen.destroydomain(d)
    return [ok, bad, builder.BOUNCE]
