"""The sim backend's XSM: FLASK disabled (ENOSYS), permissive or enforcing,
with a label table, as seen through xsm_op and domain creation. The
firmware side is mp/sim_flask.py."""
from errno import EACCES, EINVAL, ENOSYS, ESRCH

from mpfirmware import mp
from xenheaders import XEN

DOMU = "system_u:system_r:domU_t"
# a FLASK policy's magic and version header, then padding
POLICY = b"\x8c\xff\x7c\xf9\x08\x00\x00\x00XenFlask" + bytes(64)


def test_disabled_is_enosys():
    assert mp("sim_flask.disabled", DOMU) == [ENOSYS, ENOSYS, ENOSYS, ENOSYS, 0]


def test_labels_and_sids():
    # an unknown SID reads back as unlabeled_t (Xen remaps invalid SIDs)
    assert mp("sim_flask.labels_and_sids", DOMU) == [
        0, 12, 3, DOMU, EINVAL, "system_u:system_r:unlabeled_t", 3]


def test_setenforce():
    assert mp("sim_flask.setenforce") == [1, 0]


def test_enforcing_domain_creation():
    # unlabeled (ssidref 0), dom0_t, irq_t and unknown SIDs are refused;
    # permissive only keeps dom0_t a singleton
    assert mp("sim_flask.enforcing_creation") == [EACCES, EACCES, EACCES, EACCES, 12, [0, 5], EINVAL, 6]


def test_relabel_domain():
    assert mp("sim_flask.relabel") == [EACCES, ESRCH, 14, 14]


def test_custom_label_table():
    assert mp("sim_flask.custom_labels", DOMU) == [
        100, EINVAL, 100, EACCES, "ValueError", "ValueError", "TypeError"]


def test_policy_load():
    assert mp("sim_flask.policy_load", POLICY) == [None, EINVAL, True]


def test_flask_interface_version():
    # only the header's interface version is answered
    v = XEN.XEN_FLASK_INTERFACE_VERSION
    assert mp("sim_flask.interface_version", XEN.__HYPERVISOR_xsm_op, XEN.FLASK_GETENFORCE,
              [v + 1, v]) == [ENOSYS, 0]


def test_unprivileged_dom0_under_flask():
    assert mp("sim_flask.unprivileged_dom0", DOMU) == [EACCES, EACCES, EACCES, 12, None]
