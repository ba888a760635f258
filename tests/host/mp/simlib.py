# Shared by the sim scenarios of tests/host: the firmware's `_xen` and the
# sim's test module, raw hypercalls through the sim's scratch area, and a
# refusal as its errno. Errnos go back to pytest as numbers; pytest names them
# with its own errno module (the host's numbering, which the firmware uses).
import struct

import _xen
import _xensim as sim

S = sim.scratch_addr()


def err(f, *a, **k):
    """None if f(*a, **k) succeeds, its errno if it raises OSError, the
    exception's type name for a ValueError or TypeError."""
    try:
        f(*a, **k)
    except OSError as e:
        return e.errno
    except (ValueError, TypeError) as e:
        return type(e).__name__
    return None


def rc_errno(rc):
    """A raw hypercall's return: the errno for a negative Xen error, else rc."""
    return -rc if rc < 0 else rc


def ids():
    return [i['domid'] for i in _xen.domain_list()]


# struct xen_domctl: cmd, interface_version, domain and padding, then the
# command's union from byte 16; the whole struct is 144 bytes on Arm64.
DOMCTL_SIZE = 144
DOMCTL_U = 16


def domctl(nr, cmd, dom, payload, ver):
    """A raw domctl through hypercall nr (__HYPERVISOR_domctl) at interface
    version ver: (rc, the struct as Xen left it)."""
    b = bytearray(DOMCTL_SIZE)
    struct.pack_into('<IIH', b, 0, cmd, ver, dom)
    b[DOMCTL_U:DOMCTL_U + len(payload)] = payload
    sim.scratch_write(0, b)
    rc = sim.hypercall(nr, S)
    return rc, sim.scratch_read(0, DOMCTL_SIZE)


def domid_of(out):
    """The domain field of a raw domctl's struct."""
    return struct.unpack_from('<H', out, 8)[0]
