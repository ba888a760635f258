"""Trial, confirm, revert, reboots, the counter, the timeout, anchor
rotation and the littlefs-image store of the host firmware."""
import time

from policylib import make_bundle, policy_files, sec1, load_key, TEST_KEY


def test_fresh_device_has_no_policy(dev):
    st = dev.status()
    assert st["slot"] is None and st["state"] is None and st["counter"] == 0
    out = dev.run("try:\n p.boot()\nexcept p.PolicyError as e:\n print('@@ERR', e)\n")
    assert "@@ERR no policy installed" in out


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
    st = v1dev.json("emit(p.confirm())")
    assert st["slot"] == "b" and st["state"] == "confirmed" and st["previous"] == "a"
    for _ in range(3):
        booted, st, _ = v1dev.boot()
        assert booted == [2] and st["state"] == "confirmed" and st["counter"] == 2


def test_confirm_is_idempotent(v1dev):
    assert v1dev.json("emit(p.confirm())")["state"] == "confirmed"
    assert v1dev.boot()[0] == [1]


def test_confirm_refused_without_policy(dev):
    out = dev.run("try:\n p.confirm()\nexcept p.TrialError as e:\n print('@@ERR', e)\n")
    assert "@@ERR no policy to confirm" in out


def test_counter_survives_everything(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=7))
    v1dev.boot()
    v1dev.json("emit(p.confirm())")
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
    out = v1dev.run("try:\n p.boot()\nexcept p.PolicyError as e:\n print('@@ERR', e)\n")
    assert "restarted before confirm" in out and "@@ERR no policy installed" in out


def test_trial_timeout_reverts(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    out = v1dev.run(
        "import time\n"
        "p.boot(timeout=0.3)\n"
        "time.sleep(0.8)\n"
        "print('@@STATE', p.status()['slot'], p.status()['state'])\n"
        "try:\n p.confirm()\nexcept p.PolicyError as e:\n print('@@ERR', type(e).__name__)\n")
    assert "@@BOOTED 2" in out and "@@STATE a confirmed" in out, out
    assert "not confirmed within" in v1dev.status()["last_error"]


def test_confirm_within_the_timeout_keeps_the_trial(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    out = v1dev.run("import time\np.boot(timeout=0.5)\np.confirm()\ntime.sleep(0.8)\n"
                    "print('@@STATE', p.status()['slot'], p.status()['state'])\n")
    assert "@@STATE b confirmed" in out, out


def test_confirm_after_the_deadline_is_refused(v1dev):
    # no thread needed: confirm() itself checks the deadline
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2, counter=2))
    out = v1dev.run(
        "import time\n"
        "pol = p.store()\n"
        "pol._arm = lambda t: None\n"          # as on a port without _thread
        "pol.boot(timeout=0.2)\n"
        "time.sleep(0.4)\n"
        "try:\n pol.confirm()\nexcept p.TrialError as e:\n print('@@ERR', e)\n"
        "print('@@STATE', pol.status()['slot'])\n")
    assert "@@ERR trial of slot b expired" in out and "@@STATE a" in out, out


def test_anchor_rotation(v1dev, other_key):
    new = sec1(other_key)
    rot = make_bundle(policy_files(2), version=2, counter=2, anchors=[new])
    assert "ok" in v1dev.install(rot)
    # before confirm the old anchor still rules
    r = v1dev.install(make_bundle(policy_files(3), version=3, counter=2, key=other_key))
    assert r["error"] == "TrialError"
    v1dev.boot()
    v1dev.json("emit(p.confirm())")
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
    p = dev.put(data)
    got = dev.json("d = open(%r, 'rb').read()\nm = p.check(d)\nemit([m['version'], p.status()['slot']])\n"
                   "p.install(memoryview(d))\nemit(p.status()['slot'])" % str(p))
    assert got == "a"
    out = dev.run("try:\n p.install(42)\nexcept TypeError as e:\n print('@@ERR', e)\n")
    assert "@@ERR install() takes a path or bytes" in out


def test_littlefs_image_as_the_state(firmware, tmp_path):
    img = tmp_path / "state.img"
    img.write_bytes(b"\xff" * (256 * 1024))
    b = tmp_path / "v1.bundle"
    b.write_bytes(make_bundle(policy_files(1), version=1, counter=3))
    env = {"MODXEN_STATE": str(img)}
    firmware.run("import xen.policy as p\np.install(%r)\np.boot()\np.confirm()\n" % str(b), env=env)
    out = firmware.run("import xen.policy as p\np.boot()\nprint('@@', p.status())\n", env=env)
    assert "@@BOOTED 1" in out and "'state': 'confirmed'" in out and "'counter': 3" in out
    assert b"boot.py" not in img.read_bytes()[:0] and img.stat().st_size == 256 * 1024
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"not a file system" * 2000)
    out = firmware.run("import xen.policy as p\ntry:\n p.status()\nexcept p.PolicyError as e:\n print('@@ERR', e)\n",
                       env={"MODXEN_STATE": str(junk)})
    assert "neither a littlefs image nor blank" in out


def test_no_state_configured(firmware):
    out = firmware.run("import xen.policy as p\ntry:\n p.status()\nexcept p.PolicyError as e:\n print('@@ERR', e)\n",
                       env={"MODXEN_STATE": ""})
    assert "set MODXEN_STATE" in out
