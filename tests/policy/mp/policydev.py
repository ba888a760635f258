# The firmware side of tests/policy/policylib.py's Device, shared by the
# policy tests: xen.policy's module-level calls on the store MODXEN_STATE
# names, with what the policy (its boot.py, the product's own messages)
# prints caught and returned, since the test policies report themselves by
# printing "@@BOOTED <version>".
import builtins

import xen.policy as p


def printed(f, *a, **k):
    """Call f with print() caught: (its result, the printed text)."""
    lines = []
    real = builtins.print

    def catch(*args, sep=' ', end='\n', file=None):
        if file is not None:
            return real(*args, sep=sep, end=end, file=file)
        lines.append(sep.join(str(x) for x in args) + end)

    builtins.print = catch
    try:
        r = f(*a, **k)
    finally:
        builtins.print = real
    return r, ''.join(lines)


def booted(out):
    """The versions the policies printed as booted, in order."""
    return [int(l.split()[1]) for l in out.splitlines() if l.startswith('@@BOOTED')]


def install(path, confirm=False):
    """{'ok': status} or {'error': class name, 'msg': text} for a PolicyError."""
    try:
        return {'ok': p.install(path, confirm=confirm)}
    except p.PolicyError as e:
        return {'error': type(e).__name__, 'msg': str(e)}


def status():
    return p.status()


def confirm():
    return p.confirm()


def boot(timeout=None):
    """boot(): the versions booted, the status after, the printed text."""
    _, out = printed(p.boot, timeout)
    return {'booted': booted(out), 'status': p.status(), 'out': out}


def boot_refused():
    """boot() where it must refuse: [the PolicyError's text, the printed text]."""
    def attempt():
        try:
            p.boot()
        except p.PolicyError as e:
            return str(e)
        return None
    return list(printed(attempt))


def status_refused():
    """status() where it must refuse: the PolicyError's text (None if not)."""
    try:
        p.status()
    except p.PolicyError as e:
        return str(e)
    return None


def install_boot_confirm(path):
    p.install(path)
    p.boot()
    return p.confirm()


def install_and_boot(path):
    p.install(path)
    p.boot()
    return p.status()
