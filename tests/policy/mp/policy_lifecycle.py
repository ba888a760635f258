# tests/policy/test_policy_lifecycle.py's firmware side: the trial
# deadline, confirm() refusals and install() from bytes, on the store
# MODXEN_STATE names (the plain install/boot/confirm calls are policydev's).
import time

import xen.policy as p
from policydev import printed


def confirm_refused():
    """confirm() with nothing installed: the TrialError's text."""
    try:
        p.confirm()
    except p.TrialError as e:
        return str(e)
    return None


def trial_timeout(timeout, wait):
    """Boot the trial with a deadline, let it pass, then try to confirm."""
    def run():
        p.boot(timeout=timeout)
        time.sleep(wait)
        st = p.status()
        try:
            p.confirm()
            err = None
        except p.PolicyError as e:
            err = type(e).__name__
        return [st['slot'], st['state'], err]
    r, out = printed(run)
    return {'slot': r[0], 'state': r[1], 'confirm_error': r[2], 'out': out}


def confirm_within(timeout, wait):
    """Boot the trial with a deadline, confirm at once, wait past it."""
    p.boot(timeout=timeout)
    p.confirm()
    time.sleep(wait)
    st = p.status()
    return [st['slot'], st['state']]


def confirm_after_deadline(timeout, wait):
    """No watchdog thread (as on a port without _thread): confirm() itself
    must refuse after the deadline."""
    pol = p.store()
    pol._arm = lambda t: None
    pol.boot(timeout=timeout)
    time.sleep(wait)
    try:
        pol.confirm()
        err = None
    except p.TrialError as e:
        err = str(e)
    return [err, pol.status()['slot']]


def install_from_bytes(path):
    with open(path, 'rb') as f:
        d = f.read()
    m = p.check(d)
    checked = [m['version'], p.status()['slot']]
    p.install(memoryview(d))
    return [checked, p.status()['slot']]


def install_not_a_path():
    try:
        p.install(42)
    except TypeError as e:
        return str(e)
    return None
