# The default boot policy of the host firmware (what `make run` starts).
# The build signs this directory with the policy key and installs it as the
# confirmed policy (Makefile: policy-state); xen.policy.boot() runs it.
import _xen

print("modxen %s: MicroPython dom0 on Xen %d.%d%s (%s backend)" % (
    ("0.1",) + tuple(_xen.version()) + (_xen.BACKEND,)))
print("Try: _xen.physinfo(), _xen.domain_list(), help(_xen), xen.policy.status()")
