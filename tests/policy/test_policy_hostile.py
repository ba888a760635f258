"""Hostile bundles: each is refused by install() with a precise exception,
and the device's state directory is byte-for-byte what it was before.
The firmware side is mp/policydev.py (policylib.Device)."""
import cbor2
import hashlib
import pytest

from policylib import make_bundle, policy_files, load_key, TEST_KEY


def refused(dev, data, cls, words):
    before = dev.snapshot()
    r = dev.install(data)
    assert "error" in r, "bundle was accepted: %r" % r
    assert r["error"] == cls, r
    for w in words:
        assert w in r["msg"], r
    assert dev.snapshot() == before, "install changed the state after refusing"
    booted, st, _ = dev.boot()
    assert booted == [1] and st["slot"] == "a" and st["state"] == "confirmed", st
    return r


def flip(data, pos):
    b = bytearray(data)
    b[pos] ^= 0x01
    return bytes(b)


def test_good_bundle_is_accepted_as_trial(v1dev):
    r = v1dev.install(make_bundle(policy_files(2), version=2, counter=1))
    assert r["ok"]["slot"] == "b" and r["ok"]["state"] == "trial" and r["ok"]["previous"] == "a"
    booted, st, _ = v1dev.boot()
    assert booted == [2] and st["slot"] == "b" and st["state"] == "trial"


def test_bad_signature(v1dev):
    good = make_bundle(policy_files(2), version=2)
    sig_at = good.index(cbor2.loads(good)[1].value[3])   # the 64 signature bytes
    refused(v1dev, flip(good, sig_at + 10), "SignatureError", ["bad signature"])


def test_unknown_key(v1dev, other_key):
    refused(v1dev, make_bundle(policy_files(2), version=2, key=other_key), "UnknownKeyError",
            ["not a trust anchor"])


def test_unknown_key_without_kid(v1dev, other_key):
    refused(v1dev, make_bundle(policy_files(2), version=2, key=other_key, with_kid=False),
            "UnknownKeyError", ["no trust anchor"])


def test_kid_of_trusted_key_but_signed_by_another(v1dev, other_key):
    # the header names the trusted key, the signature is another key's
    trusted = load_key(TEST_KEY)
    import policylib as conftest
    prot = cbor2.dumps({1: -7, 4: conftest.kid(trusted)})
    refused(v1dev, make_bundle(policy_files(2), version=2, key=other_key, protected=prot),
            "SignatureError", ["bad signature"])


def test_flipped_manifest_byte_anywhere(v1dev):
    good = make_bundle(policy_files(2), version=2)
    payload = cbor2.loads(good)[1].value[2]
    at = good.index(payload)
    # every byte of the signed manifest (one firmware process per byte would
    # be slow: check a spread and the version field)
    for off in sorted(set([0, 1, len(payload) // 3, len(payload) // 2, len(payload) - 1,
                           payload.index(b"version") + 7])):
        r = v1dev.install(flip(good, at + off))
        assert r.get("error") in ("SignatureError", "BundleError"), (off, r)
    refused(v1dev, flip(good, at + payload.index(b"version") + 7), "SignatureError", ["bad signature"])


def test_flipped_file_byte(v1dev):
    files = policy_files(2)
    good = make_bundle(files, version=2)
    at = good.index(files["helper.py"])
    refused(v1dev, flip(good, at + 2), "BundleError", ["helper.py", "SHA-256"])


def test_truncated_bundle(v1dev):
    good = make_bundle(policy_files(2), version=2)
    for n in (0, 1, 10, len(good) // 2, len(good) - 1):
        r = v1dev.install(good[:n])
        assert r.get("error") == "BundleError" and ("truncated" in r["msg"] or "overruns" in r["msg"]), (n, r)
    refused(v1dev, good[:-1], "BundleError", ["bundle:"])


def test_oversized_bundle(v1dev):
    big = make_bundle(policy_files(2, extra={"blob.bin": b"x" * (300 * 1024)}), version=2)
    refused(v1dev, big, "BundleError", ["larger than the limit"])


def test_missing_file(v1dev):
    files = policy_files(2)
    refused(v1dev, make_bundle(files, version=2, carried=[files["boot.py"]]), "BundleError",
            ["missing", "helper.py"])


def test_extra_file(v1dev):
    files = policy_files(2)
    refused(v1dev, make_bundle(files, version=2, carried=list(files.values()) + [b"evil()"]),
            "BundleError", ["extra"])


def test_file_swapped_with_same_size(v1dev):
    files = {"boot.py": b"print('@@BOOTED', 2)\n", "helper.py": b"print('@@BOOTED', 9)\n"}
    refused(v1dev, make_bundle(files, version=2, carried=[files["helper.py"], files["boot.py"]]),
            "BundleError", ["SHA-256"])


@pytest.mark.parametrize("name,why", [
    ("../boot.py", "may not start with '.'"),
    ("lib/../../x.py", "may not start with '.'"),
    ("/etc/passwd", "absolute or empty"),
    ("a//b.py", "absolute or empty"),
    ("lib\\x.py", "not allowed"),
    (".manifest", "may not start with '.'"),
    ("a/b/c/d/e.py", "deeper than"),
    ("x\x00.py", "not allowed"),
])
def test_bad_names(v1dev, name, why):
    files = policy_files(2, extra={name: b"pass\n"})
    refused(v1dev, make_bundle(files, version=2), "BundleError", [why])


def test_duplicate_names(v1dev):
    files = policy_files(2)
    e = [["boot.py", len(files["boot.py"]), hashlib.sha256(files["boot.py"]).digest()],
         ["helper.py", len(files["helper.py"]), hashlib.sha256(files["helper.py"]).digest()],
         ["boot.py", len(files["boot.py"]), hashlib.sha256(files["boot.py"]).digest()]]
    refused(v1dev, make_bundle(files, version=2, entries=e,
                               carried=[files["boot.py"], files["helper.py"], files["boot.py"]]),
            "BundleError", ["duplicate", "boot.py"])


def test_duplicate_names_differing_in_case(v1dev):
    files = policy_files(2, extra={"Helper.py": b"V = 9\n"})
    refused(v1dev, make_bundle(files, version=2), "BundleError", ["duplicate"])


def test_file_and_directory_of_the_same_name(v1dev):
    files = policy_files(2, extra={"lib": b"x", "lib/a.py": b"y"})
    refused(v1dev, make_bundle(files, version=2), "BundleError", ["both a file and a directory"])


def test_lower_counter(dev):
    assert "ok" in dev.install(make_bundle(policy_files(1), version=1, counter=5), confirm=True)
    r = refused_on(dev, make_bundle(policy_files(2), version=2, counter=4))
    assert r["error"] == "RollbackError" and "4 is below the device's 5" in r["msg"], r


def refused_on(dev, data):
    before = dev.snapshot()
    r = dev.install(data)
    assert "error" in r and dev.snapshot() == before, r
    return r


def test_wrong_target(v1dev):
    refused(v1dev, make_bundle(policy_files(2), version=2, target="modxen,other-board"),
            "TargetError", ["modxen,other-board", "modxen,sim"])


def test_unprotected_header_must_be_empty(v1dev):
    # CVE-2024-32883's lesson: nothing outside the signature is looked at
    refused(v1dev, make_bundle(policy_files(2), version=2, unprotected={4: b"12345678"}),
            "BundleError", ["unprotected header must be empty"])


def test_algorithm_other_than_es256(v1dev):
    prot = cbor2.dumps({1: -35})
    refused(v1dev, make_bundle(policy_files(2), version=2, protected=prot), "BundleError", ["not ES256"])


def test_unknown_manifest_field(v1dev):
    refused(v1dev, make_bundle(policy_files(2), version=2, manifest={"run_as_root": True}),
            "BundleError", ["unknown field"])


def test_no_boot_py(v1dev):
    refused(v1dev, make_bundle({"main.py": b"pass\n"}, version=2), "BundleError", ["no boot.py"])


def test_not_a_bundle(v1dev):
    refused(v1dev, b"PK\x03\x04 a zip file", "BundleError", [])
    refused(v1dev, cbor2.dumps(["modxen.policy/2", 1, []]), "BundleError", ["not a modxen policy bundle"])


def test_install_while_a_trial_is_pending(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2))
    r = v1dev.install(make_bundle(policy_files(3), version=3))
    assert r["error"] == "TrialError" and "on trial" in r["msg"], r


def test_boot_py_raising_at_trial_boot_reverts(v1dev):
    bad = policy_files(2, body="print('@@BOOTED', 2)\nraise RuntimeError('domain 7 failed')\n")
    assert "ok" in v1dev.install(make_bundle(bad, version=2))
    booted, st, out = v1dev.boot()
    # the trial ran, raised, and the same boot fell back to version 1
    assert booted == [2, 1], out
    assert st["slot"] == "a" and st["state"] == "confirmed" and st["version"] == 1, st
    assert "RuntimeError" in st["last_error"] and "domain 7 failed" in st["last_error"], st
    # and it stays reverted
    booted, st, _ = v1dev.boot()
    assert booted == [1] and st["slot"] == "a"


def test_trial_that_does_not_verify_on_disk_reverts(v1dev):
    assert "ok" in v1dev.install(make_bundle(policy_files(2), version=2))
    (v1dev.state / "b" / "helper.py").write_bytes(b"V = 666\n")   # corrupted after install
    booted, st, out = v1dev.boot()
    assert booted == [1] and st["slot"] == "a" and "does not match" in st["last_error"], out


def test_unlisted_file_dropped_into_a_slot_is_refused(v1dev):
    (v1dev.state / "a" / "evil.py").write_bytes(b"print('pwned')\n")
    err, out = v1dev.boot_refused()
    assert err is not None and "evil.py" in err and "pwned" not in out, (err, out)
