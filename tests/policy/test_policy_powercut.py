"""Power cuts on littlefs at every block write of install(), of the boot
that starts a trial and of confirm(): after each, the next boot runs a
complete verified policy (the old one, or the new one in trial), never a
mix, and the security counter never goes down. The policies check
themselves for a mix: boot.py asserts that its two sibling modules come
from its own version. The run is one firmware process (tests/policy/mp/
powercut.py); each case is reported as "[versions booted]/version/state"."""
import pytest

from mpfirmware import mp
from policylib import make_bundle


def files(v):
    # data.py spans several flash blocks
    boot = ("import helper, data\n"
            "assert helper.V == %d and data.V == %d, 'mixed policy'\n"
            "RESULT.append(%d)\n" % (v, v, v))
    return {"boot.py": boot.encode(), "helper.py": b"V = %d\n" % v,
            "data.py": b"V = %d\n" % v + b"# " + b"x" * 1500 + b"\n"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("powercut")
    paths = []
    for v in (1, 2, 3):
        p = d / ("v%d.bundle" % v)
        p.write_bytes(make_bundle(files(v), version=v, counter=v))
        paths.append(str(p))
    return mp("powercut.report", paths, timeout=600, heap="16M")


def only(r, key, last=None):
    """Every cut gave `key`, except that the cut tearing the very last
    write may already give `last` (the torn half held the whole commit);
    and nothing was out of bounds (checked in the firmware: allowed
    outcomes, counter)."""
    assert r["bad"] == [], r["bad"]
    seen = dict(r["seen"])
    if last is not None and seen.get(last) == 1:
        del seen[last]
        assert seen == {key: r["cuts"] - 1}, r
    else:
        assert seen == {key: r["cuts"]}, r


def test_install_switches_at_exactly_one_block_write(report):
    r = report["install"]
    assert r["cuts"] >= 10, r            # the install really wrote many blocks
    only(r, "[1]/1/confirmed", "[2]/2/trial")   # cut before the last write: old policy
    assert r["final"] == "[2]/2/trial"   # the last write (the state record) switches


def test_trial_boot_cut_at_every_block_write(report):
    r = report["trial boot"]
    assert r["cuts"] >= 1
    only(r, "[2]/2/trial", "[1]/1/confirmed")   # start of the trial not recorded: again
    assert r["final"] == "[1]/1/confirmed"   # recorded, then reset before confirm: revert


def test_confirm_cut_at_every_block_write(report):
    r = report["confirm"]
    assert r["cuts"] >= 1
    only(r, "[1]/1/confirmed", "[2]/2/confirmed")   # not confirmed when the power went: revert
    assert r["final"] == "[2]/2/confirmed"
    ran, st = report["after confirm"]
    assert ran == [2] and st["state"] == "confirmed" and st["counter"] == 2, st


def test_counter_never_goes_down_across_cuts(report):
    r = report["install over v2"]        # every case checked counter >= 2
    assert r["cuts"] >= 10
    only(r, "[2]/2/confirmed", "[3]/3/trial")
    assert r["final"] == "[3]/3/trial"


def test_first_install_cut_at_every_block_write(report):
    r = report["first install"]
    assert r["cuts"] >= 10
    only(r, "none", "[1]/1/trial")
    assert r["final"] == "[1]/1/trial"


def test_device_takes_a_new_policy_after_a_cut(report):
    ran, st = report["install after a cut"]
    assert ran == [3] and st["version"] == 3 and st["state"] == "trial", (ran, st)
