# Shared by the sim scenarios of tests/host: the firmware's `_xen` and the
# sim's test module, raw hypercalls through the sim's scratch area, and a
# refusal as its errno. Errnos go back to pytest as numbers; pytest names them
# with its own errno module (the host's numbering, which the firmware uses).
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
