"""The sim backend's event channels: Xen's pairing rules (unbound,
interdomain, virq, close on either end), per-domain port limits, delivery to
dom0 through upcalls (masked until the binding unmasks) and to guests. The
firmware side is mp/sim_evtchn.py."""
from errno import EEXIST, EINVAL, ENOSPC, ESRCH

from mpfirmware import mp
from xenheaders import XEN

# what mp/sim_evtchn.Raw needs: the hypercall, EVTCHNOP_status, EVTCHNOP_close
RAW = [XEN.__HYPERVISOR_event_channel_op, XEN.EVTCHNOP_status, XEN.EVTCHNOP_close]


def test_dom0_allocates_guest_port_and_binds():
    p, unbound, guest, dom0, first, st_g, st_0 = mp("sim_evtchn.alloc_and_bind", RAW)
    assert p == 1 and unbound == ["unbound", 0]
    assert guest == ["interdomain", 0, dom0[2]] and dom0[:2] == ["interdomain", 1]
    assert first == 1
    # (rc, status, remote dom, remote port)
    assert st_g == [0, XEN.EVTCHNSTAT_interdomain, 0, dom0[2]]
    assert st_0 == [0, XEN.EVTCHNSTAT_interdomain, 1, p]


def test_bind_interdomain_rules():
    assert mp("sim_evtchn.bind_rules") == [EINVAL, EINVAL, EINVAL, ESRCH, ESRCH, EINVAL, True]


def test_max_evtchn_port_honoured():
    assert mp("sim_evtchn.max_evtchn_port") == [1, 2, ENOSPC, ENOSPC, 2]


def test_close_leaves_other_end_unbound():
    assert mp("sim_evtchn.close_leaves_other_end", RAW) == [
        ["unbound", 0], False, -EINVAL, -EINVAL, ["unbound", 1], None, EINVAL]


def test_guest_side_pairing():
    assert mp("sim_evtchn.guest_side_pairing") == [
        1, 2, 0, "interdomain", None, True, EINVAL, EINVAL, EINVAL]


def test_guest_cannot_allocate_in_other_domains():
    assert mp("sim_evtchn.guest_to_guest") == [["interdomain", 2, 1], 1]


def test_upcall_and_masking():
    first, coalesced, one, called = mp("sim_evtchn.upcall_and_masking")
    assert first == 0
    assert 1 <= coalesced <= 2      # the first is delivered, the rest coalesce while masked
    assert one == 1 and called


def test_a_port_is_rearmed_after_its_callback():
    calls, runs = mp("sim_evtchn.rearmed_after_callback")
    # each run's reply (send) goes out before the port's unmask, not after
    # it; the event that came while the first run had the port masked is
    # delivered by the unmask (a second run, not lost); the second run
    # closed the channel, so nothing unmasks the closed port
    assert calls == ["evtchn.send", "evtchn.unmask", "evtchn.send", "evtchn.close"]
    assert runs == 2


def test_unbound_send_is_dropped():
    assert mp("sim_evtchn.unbound_send") == [None, ["unbound", 1]]


def test_virq_binding():
    r = mp("sim_evtchn.virq_binding", RAW, 99)
    # the status's union holds the virq (and a zero port field after it)
    assert r == [EEXIST, EINVAL, ["virq", XEN.VIRQ_DOM_EXC], 1, 0,
                 [0, XEN.EVTCHNSTAT_virq, XEN.VIRQ_CONSOLE, 0]]


def test_destroy_closes_guest_ports():
    assert mp("sim_evtchn.destroy_closes_guest_ports") == [["unbound", 1], None, ESRCH]


def test_upcall_from_another_thread_during_sleep():
    n, when = mp("sim_evtchn.upcall_during_sleep")
    # the event is handled while the interpreter sleeps, not after
    assert n == 1 and when < 900
