# tests/host/test_release_refusal.py's firmware side: what xen.start(), the
# domctls and the domain builder say on a release the firmware does not speak.
import _xen
import _xensim
import xen


def failure(f, *a, **k):
    """None, or what f raised: [type name] + its args."""
    try:
        f(*a, **k)
    except Exception as e:
        return [type(e).__name__] + list(e.args)
    return None


def outside_the_range(config):
    return [failure(xen.start), failure(_xen.createdomain), failure(_xen.domain_list),
            failure(xen.domain_create, config), _xen.version()[:2], len(_xensim.domain(0)['ports'])]


def eacces_from_xen(config, eacces):
    _xensim.fail('domctl.createdomain', 1, eacces)
    return [failure(xen.domain_create, config), len(_xen.domain_list())]


def abi():
    return _xen.abi()
