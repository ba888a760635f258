# tests/domain/test_domain_config_mutations.py's firmware side: every mutated
# xl.cfg file given to xen.domain_create in one firmware process; what each
# ended as, and whether anything (domain, xenstore entry) was left behind.
import json
import xen
import _xen
from xen import xenstore
from xen.domain import config


def domids():
    return sorted(i['domid'] for i in _xen.domain_list())


def ls(p):
    return sorted(xenstore.ls(p)) if xenstore.exists(p) else []


def store():
    # dom0's own node stays; a guest's home, its /vm and /libxl entries and the
    # backend nodes dom0 served for it must go
    return ([x for x in ls('/local/domain') if x != '0'], ls('/vm'), ls('/libxl'),
            ls('/local/domain/0/backend/vif'), ls('/local/domain/0/backend/vbd'))


def world():
    return domids(), store(), [d.name for d in xen.domains()]


def outcome(fn):
    """How xen.domain_create(fn) ended: ['created', name] (then destroyed),
    ['ConfigError', message, key, line, file], or [type name, message,
    step, name, type name of the cause] for anything else."""
    try:
        d = xen.domain_create(fn)
    except config.ConfigError as e:
        return ['ConfigError', str(e), e.key, e.line, getattr(e, 'fname', None)]
    except Exception as e:
        return [type(e).__name__, str(e), getattr(e, 'step', None), getattr(e, 'name', None),
                type(e.cause).__name__ if hasattr(e, 'cause') else None]
    d.destroy()
    return ['created', d.name]


def create_each(files):
    """{file: [outcome, the world as before it, the world after if not]}.
    Each file's name is printed before it is tried, so a firmware that dies
    shows on which."""
    xen.start()
    base = world()
    out = {}
    for fn in files:
        print('@@start ' + json.dumps(fn))
        r = outcome(fn)
        now = world()
        out[fn] = [r, now == base, repr(now) if now != base else None]
    return out
