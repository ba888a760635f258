# The default boot policy of the host firmware (what `make run-sim` starts).
# The build signs this directory with the policy key and installs it as the
# confirmed policy (Makefile: policy-state); xen.policy.boot() runs it.
import _xen
import xen

xen.start()     # xenstore, consoles and domain-exception handling for guests

print("modxen %s: MicroPython dom0 on Xen %d.%d%s (%s backend)" % (
    (xen.__version__,) + tuple(_xen.version()) + (_xen.BACKEND,)))
print("""dom0 services are running. Try:
  from xen import xl
  xl.create({'name': 'guest', 'kernel': 'Image', 'memory': 64})   # or an xl.cfg path
  xl.list(); xl.console('guest')   # Ctrl-] detaches
  xl.destroy('guest')
  import xen.policy; xen.policy.status()
  _xen.physinfo(); help(_xen)""")
