"""Trial, confirm, revert, reboots, the counter, the timeout, anchor
rotation and the littlefs-image store of the host firmware. The firmware
side is mp/policy_lifecycle.py and mp/policydev.py (policylib.Device)."""
from mpfirmware import mp
from policylib import make_bundle, policy_files, sec1


def test_fresh_device_has_no_policy(dev):
    st = dev.status()
    assert st["slot"] is None and st["state"] is None and st["counter"] == 0
    err, _ = dev.boot_refused()
    assert err is not None and err.startswith("no policy installed"), err


def test_trial_that_never_confirms_reverts(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    booted, st, _ = v1dev.boot()
    assert booted == [2] and st["state"] == "trial"
    # reset without confirm(): the next boot runs version 1 again
    booted, st, _ = v1dev.boot()
    assert booted == [1] and st["slot"] == "a" and st["state"] == "confirmed"
    assert "restarted before confirm" in st["last_error"]
    assert st["counter"] == 1            # the unconfirmed trial never raised it


def test_confirmed_slot_survives_reboots(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    v1dev.boot()
    st = v1dev.confirm()
    assert st["slot"] == "b" and st["state"] == "confirmed" and st["previous"] == "a"
    for _ in range(3):
        booted, st, _ = v1dev.boot()
        assert booted == [2] and st["state"] == "confirmed" and st["counter"] == 2


def test_confirm_is_idempotent(v1dev):
    assert v1dev.confirm()["state"] == "confirmed"
    assert v1dev.boot()[0] == [1]


def test_confirm_refused_without_policy(dev):
    err = dev.call("policy_lifecycle.confirm_refused")
    assert err is not None and err.startswith("no policy to confirm"), err


def test_counter_survives_everything(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=7))
    v1dev.boot()
    v1dev.confirm()
    # a failed trial, a revert, many boots later: still 7
    bad = policy_files(3, body="raise OSError(5)\n")
    assert "ok" in v1dev.install(make_bundle(bad, version=3, counter=9))
    booted, st, _ = v1dev.boot()
    assert booted == [2] and st["counter"] == 7
    for _ in range(2):
        assert v1dev.boot()[1]["counter"] == 7
    r = v1dev.install(make_bundle(policy_files(4), version=4, counter=6))
    assert r["error"] == "RollbackError"
    # equal counter is accepted (a new version of the same security level)
    assert "ok" in v1dev.install(make_bundle(policy_files(5), version=5, counter=7))


def test_both_state_records_alternate_and_a_torn_one_is_ignored(v1dev):
    recs = sorted(p.name for p in v1dev.state.iterdir() if p.name.startswith("state-"))
    assert recs == ["state-0", "state-1"]
    before = v1dev.status()
    # tear the newer record: the older complete one decides (what a cut on
    # FAT or a torn sector leaves)
    newest = max((v1dev.state / r for r in recs), key=lambda p: p.stat().st_mtime_ns)
    newest.write_bytes(newest.read_bytes()[:-5])
    after = v1dev.status()
    # the older record is the one boot() wrote before running the trial:
    # as if the power went before confirm() landed, and so the trial reverts
    assert before["state"] == "confirmed" and after["state"] == "trial" and after["slot"] == "a"
    err, out = v1dev.boot_refused()
    assert "restarted before confirm" in out, out
    assert err is not None and err.startswith("no policy installed"), err


def test_trial_timeout_reverts(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    r = v1dev.call("policy_lifecycle.trial_timeout", 0.3, 0.8)
    assert "@@BOOTED 2" in r["out"] and [r["slot"], r["state"]] == ["a", "confirmed"], r
    assert "not confirmed within" in v1dev.status()["last_error"]


def test_confirm_within_the_timeout_keeps_the_trial(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    assert v1dev.call("policy_lifecycle.confirm_within", 0.5, 0.8) == ["b", "confirmed"]


def test_confirm_after_the_deadline_is_refused(v1dev):
    # no thread needed: confirm() itself checks the deadline
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    err, slot = v1dev.call("policy_lifecycle.confirm_after_deadline", 0.2, 0.4)
    assert err is not None and err.startswith("trial of slot b expired") and slot == "a", (err, slot)


def test_anchor_rotation(v1dev, other_key):
    new = sec1(other_key)
    rot = make_bundle(policy_files(2), version=2, counter=2, anchors=[new])
    assert "ok" in v1dev.install(rot)
    # before confirm the old anchor still rules
    r = v1dev.install(make_bundle(policy_files(3), version=3, counter=2, key=other_key))
    assert r["error"] == "TrialError"
    v1dev.boot()
    v1dev.confirm()
    # now the new key is the anchor and the compiled-in test key is not
    r = v1dev.install(make_bundle(policy_files(3), version=3, counter=2))
    assert r["error"] == "UnknownKeyError", r
    assert "ok" in v1dev.install(make_bundle(policy_files(3), version=3, counter=2, key=other_key))
    booted, st, _ = v1dev.boot()
    assert booted == [3] and st["state"] == "trial"


def test_rotation_needs_a_current_anchor(v1dev, other_key):
    # a bundle signed by an unknown key cannot make itself an anchor
    rot = make_bundle(policy_files(2), version=2, counter=2, key=other_key, anchors=[sec1(other_key)])
    assert v1dev.install(rot)["error"] == "UnknownKeyError"


def test_install_from_bytes_and_check(dev):
    data = make_bundle(policy_files(1), version=1, counter=1)
    checked, slot = dev.call("policy_lifecycle.install_from_bytes", str(dev.put(data)))
    assert checked == [1, None]          # check() verifies, installs nothing
    assert slot == "a"
    err = dev.call("policy_lifecycle.install_not_a_path")
    assert err is not None and err.startswith("install() takes a path or bytes"), err


def test_littlefs_image_as_the_state(tmp_path):
    img = tmp_path / "state.img"
    img.write_bytes(b"\xff" * (256 * 1024))
    b = tmp_path / "v1.bundle"
    b.write_bytes(make_bundle(policy_files(1), version=1, counter=3))
    env = {"MODXEN_STATE": str(img)}
    mp("policydev.install_boot_confirm", str(b), env=env)
    r = mp("policydev.boot", env=env)
    assert r["booted"] == [1] and r["status"]["state"] == "confirmed" and r["status"]["counter"] == 3, r
    assert b"boot.py" not in img.read_bytes()[:0] and img.stat().st_size == 256 * 1024
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"not a file system" * 2000)
    err = mp("policydev.status_refused", env={"MODXEN_STATE": str(junk)})
    assert err is not None and "neither a littlefs image nor blank" in err, err


def test_no_state_configured():
    err = mp("policydev.status_refused", env={"MODXEN_STATE": ""})
    assert err is not None and "set MODXEN_STATE" in err, err
