# Shared by tests/domain's scenarios on the sim (domain_create, the image
# store, last words, dom0less): a refusal as one line, waiting for dom0's
# event loop, reading guest memory, the domains the hypervisor holds.
import time
import _xen
import _xensim as sim


def err(f, *a, **k):
    """None if f(*a, **k) returns, else 'TypeName: message'."""
    try:
        f(*a, **k)
    except Exception as e:
        return type(e).__name__ + ': ' + str(e)
    return None


def settle(n=3, ms=1):
    """Let dom0's event handling run: n sleeps of ms milliseconds."""
    for _ in range(n):
        time.sleep_ms(ms)


def domids():
    return [i['domid'] for i in _xen.domain_list()]


def guest_bytes(domid, addr, n):
    """n bytes of the guest's memory from guest address addr."""
    out = bytearray()
    while n:
        pg = memoryview(sim.guest_map(domid, addr >> 12))
        off = addr & 4095
        k = min(n, 4096 - off)
        out += pg[off:off + k]
        addr += k
        n -= k
    return bytes(out)
