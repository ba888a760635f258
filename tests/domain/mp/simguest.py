# A guest driving its own xenstore ring through the sim's guest-side API, for
# tests/domain's scenarios: tests/mp/xsguest.py's Guest on the
# guest's real store page, notifying dom0 through its store event channel.
import _xen
import _xensim as sim
from simdom import settle
from xsguest import Guest


class SimGuest(Guest):
    def __init__(self, domid):
        self.domid = domid
        gfn = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_PFN)
        self.port = _xen.hvm_get_param(domid, _xen.HVM_PARAM_STORE_EVTCHN)
        # The view does not keep the GuestPage alive: hold it, or a
        # collection unmaps the page under the view.
        self.gpage = sim.guest_map(domid, gfn)
        Guest.__init__(self, memoryview(self.gpage))

    def kick(self):
        sim.guest_notify(self.domid, self.port)
        settle()
