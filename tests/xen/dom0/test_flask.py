# xen-boot: flask
# FLASK on real Xen: the hypervisor boots with xsm=flask flask=permissive and no policy;
# our firmware loads the policy built from Debian's xen source package
# (scripts/xen-qemu/flask-policy.sh) through xsm_op, turns enforcing on, and builds a
# labelled Linux domU that boots and is served by our xenstore and console.
import time
import _xen
import xen
from xen import xsm, xenstore
import xtest
from xtest import EXPECT, check, eq, err, domids, log, text, wait_text

POLICY = "/mnt/host/flask/xenpolicy"
LABEL = "system_u:system_r:domU_t"
GUEST = "/mnt/host/guest/"
CFG = {
    "name": "flask-guest",
    "memory": 128,
    "kernel": GUEST + "Image",
    "ramdisk": GUEST + "initramfs.cpio",
    "cmdline": "console=hvc0 rdinit=/init quiet",
    "on_poweroff": "destroy",
    "seclabel": LABEL,
}
state = {}




def test_a_boot_is_flask_permissive():
    check("xsm=flask" in EXPECT["xen_args"], "this boot's Xen arguments: %r" % EXPECT["xen_args"])
    eq(_xen.flask_getenforce(), 0, "getenforce with flask=permissive")


def test_b_bad_policies_refused():
    eq(err(_xen.flask_load, b""), "E2BIG", "empty policy")
    eq(err(_xen.flask_load, bytes(300 * 1024)), "E2BIG", "policy above the scratch area")
    eq(err(_xen.flask_load, b"not a policy" * 64), "EINVAL", "garbage policy (Xen's policydb check)")
    eq(err(_xen.flask_load, 42), "TypeError", "policy not a buffer")


def test_c_load_policy_and_enforce():
    with open(POLICY, "rb") as f:
        pol = f.read()
    log("policy %d bytes" % len(pol))
    _xen.flask_load(pol)
    _xen.flask_setenforce(1)
    eq(_xen.flask_getenforce(), 1, "getenforce after setenforce(1)")
    eq(xsm.enforcing(), True, "xen.xsm.enforcing()")


def test_d_labels_map_to_sids():
    sid = xsm.context_to_sid(LABEL)
    check(sid > 0, "sid %r" % sid)
    eq(xsm.sid_to_context(sid), LABEL, "sid_to_context(context_to_sid(label))")
    dom0 = _xen.getdomaininfo(0)["ssidref"]
    eq(xsm.sid_to_context(dom0), "system_u:system_r:dom0_t", "dom0's label")
    eq(xsm.context_to_sid("system_u:system_r:dom0_t"), dom0, "dom0's sid")
    eq(err(xsm.context_to_sid, "system_u:system_r:bogus_t"), "EINVAL", "unknown type")


def test_e_labelled_domu_boots():
    xen.start()
    t0 = time.ticks_ms()
    dom = xen.domain_create(CFG)
    state["dom"] = dom
    log("domain_create took %d ms (domid %d)" % (time.ticks_diff(time.ticks_ms(), t0), dom.domid))
    sid = xsm.context_to_sid(LABEL)
    eq(_xen.getdomaininfo(dom.domid)["ssidref"], sid, "ssidref in getdomaininfo")
    eq(dom.info()["ssidref"], sid, "Domain.info() ssidref")
    check(wait_text(dom, "guest up", 90000), "no 'guest up': %r" % text(dom)[-400:])
    check(wait_text(dom, "guest waiting for input", 60000), "guest not ready: %r" % text(dom)[-400:])
    eq(text(dom).split("guest name=")[1].split("\n")[0].strip(), CFG["name"], "xenstore-read name in the guest")
    eq(xenstore.read("/local/domain/%d/data/probe" % dom.domid), b"ok from flask-guest", "guest's write")


def test_f_bogus_label_fails_cleanly():
    before = domids()
    c = dict(CFG)
    c["name"] = "bogus-guest"
    c["seclabel"] = "system_u:system_r:bogus_t"
    try:
        xen.domain_create(c)
        raise xtest.Fail("domain_create accepted a bogus label")
    except xen.DomainError as e:
        msg = str(e)
        log("bogus label: " + msg)
        check("bogus_t" in msg and "no domain was created" in msg and "EINVAL" in msg, "message %r" % msg)
    eq(domids(), before, "domains after the refused create")
    eq(xenstore.exists("/local/domain/%d" % (max(before) + 1)), False, "xenstore home of a refused domain")


def test_g_poweroff_leaves_nothing():
    dom = state["dom"]
    domid = dom.domid
    dom.console.write(b"poweroff\n")
    t0 = time.ticks_ms()
    while domid in domids() and time.ticks_diff(time.ticks_ms(), t0) < 60000:
        time.sleep_ms(50)
    eq(domids(), [0], "domains after poweroff")
    eq(xenstore.exists("/local/domain/%d" % domid), False, "xenstore home after poweroff")


xtest.main(globals())
