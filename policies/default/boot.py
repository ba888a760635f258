# The default boot policy of the host firmware (what `make run` starts).
import _xen

print("modxen %s: MicroPython dom0 on Xen %d.%d%s (%s backend)" % (
    "0.1", *_xen.version(), _xen.BACKEND))
print("Try: _xen.physinfo(), _xen.domain_list(), help(_xen)")
