"""Boot-time (dom0less) domains on the sim, on every release: xen.start()
adopts those Xen built at boot with a xenstore event channel (xen,enhanced):
their xenstore page where Xen left that to dom0, the entries from the same
table as the builder's, the introduction, and lifecycle control; it lists
the others and touches nothing of them. A failed adoption leaves the domain
as it was.

The sim holds such a domain as Xen leaves it after boot, built here with the
same operations Xen's domain builder uses (createdomain, memory, an unbound
xenstore port for dom0, unpause), and from 4.21 the xenstore page Xen
allocates itself (connection RECONNECT, its port in the page's evtchn_port).
The firmware side is mp/dom0less_cases.py."""
from errno import EIO

import pytest

from mpfirmware import mp
from xenheaders import XEN

RECONNECT = XEN.XENSTORE_RECONNECT

def test_an_enhanced_boot_domain_is_adopted(xen_consts):
    r = mp("dom0less_cases.adopted", RECONNECT)
    before, after, notified, name, tree, has_console, perms, own, probe, names, no_console = r
    d = 1
    store_pfn = (xen_consts["GUEST_MAGIC_BASE"] >> 12) + 1    # the page after the console's
    assert before[0] is False and after[0] is False                 # never paused
    assert after[1] == before[1] + (1 if before[3] in (0, 2**64 - 1) else 0)   # at most the xenstore page
    assert after[3] == store_pfn == 0x39001 and after[4] is True
    assert notified                                                 # its xenbus was told
    assert name == "dom0less-%d" % d
    # memory as Xen reported it before dom0's page, as init-dom0less writes it
    assert tree == {"name": "dom0less-1", "domid": "1", "memory/static-max": str(before[2] * 4),
                    "memory/target": str(before[1] * 4), "store/port": tree["store/port"],
                    "store/ring-ref": str(store_pfn), "control/shutdown": ""}
    assert not has_console and no_console                           # vpl011 only
    assert perms == ["n1"]
    assert own == [XEN.XS_READ, "dom0less-1"] and probe == "hello from the guest"     # READ reply
    assert names == ["Domain-0", "dom0less-1"]


def test_names_and_actions_come_from_the_boot_policy():
    r = mp("dom0less_cases.named_by_policy", RECONNECT)
    name, xs_name, paused, alive, ids, left = r
    assert name == xs_name == "brakes" and paused
    # restart needs images the policy does not name: destroyed, said so, nothing left
    assert not alive and ids == [0] and not left


def test_a_domain_without_xenstore_is_listed_not_touched():
    r = mp("dom0less_cases.without_xenstore", RECONNECT)
    before, after, managed, names, mappings = r
    assert before == after and not managed
    assert names == ["Domain-0", "dom0less-1"] and mappings == 0


def test_a_shutdown_request_reaches_the_watching_guest_at_once():
    """The watch event dom0's own write fires (here Domain.shutdown()) is on
    the guest's ring before the guest says anything more: on real Xen a
    Linux domU otherwise never saw control/shutdown."""
    r = mp("dom0less_cases.shutdown_watch", RECONNECT, XEN.XS_WATCH)
    t, events = r
    assert t == XEN.XS_WATCH
    assert events == ["control/shutdown\x00tok\x00"]


@pytest.mark.parametrize("call", ["memory.populate_physmap", "hvm.set_param", "map", "evtchn.bind_interdomain"])
def test_a_failed_adoption_leaves_the_domain_as_it_was(call):
    r = mp("dom0less_cases.failed_adoption", RECONNECT, call, EIO)
    before, after, errors, managed, mappings, ports_ok, rings = r
    skipped_by_xen = before[3] not in (0, 2**64 - 1) and call in ("memory.populate_physmap", "hvm.set_param")
    if skipped_by_xen:
        # from 4.21 Xen gave the page: dom0 neither populates nor sets the parameter
        assert errors == [] and managed
        return
    assert len(errors) == 1 and "boot-time domain dom0less-1 (1):" in errors[0] and "left as it was" in errors[0]
    assert after == before and not managed and mappings == 0 and rings == []
    assert ports_ok          # no port of the domain stays bound
