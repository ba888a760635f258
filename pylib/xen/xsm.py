# xen.xsm: XSM/FLASK labels.
import _xen


def context_to_sid(label):
    """The ssidref FLASK gives a security label such as
    'system_u:system_r:domU_t'. OSError(ENOSYS) when FLASK is not active."""
    return _xen.flask_context_to_sid(label)


def sid_to_context(sid):
    return _xen.flask_sid_to_context(sid)


def enforcing():
    return _xen.flask_getenforce() == 1
