# make run's dom0 boot (run once before the first prompt; scripts/run/dom0-init.sh):
# bring up the dom0 services (xenstore and console servers, domain events) so that
# guests can start at once, and say where things are.
import _xen
import xen

xen.start()
v = _xen.version()
print("\nmodxen dom0 on Xen %d.%d%s: this REPL is the toolstack." % v)
print("Image store: /images (demo.cfg: the demo guest). Your files: /flash.")
print("Try:  from xen import xl;  xl.create('/images/demo.cfg');  xl.console('demo')\n")
