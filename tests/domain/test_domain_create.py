"""xen.domain_create on the sim: the build, its xenstore entries, the guest's
own view through its xenstore ring, lifecycle actions and the full failure
matrix (every hypercall of a build failing in turn, nothing left behind).
The firmware side is mp/create_cases.py."""
import errno
import hashlib
import json
import struct
import subprocess
from pathlib import Path

import pytest

from mpfirmware import TESTS, mp, run
from xenheaders import XEN

MiB = 1 << 20


def arm64_image(payload_len=300_000, text_offset=0, image_size=2 * MiB):
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)
    struct.pack_into("<QQQ", h, 8, text_offset, image_size, 0b1010)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    body = hashlib.sha256(b"kernel").digest() * (payload_len // 32 + 1)
    return bytes(h) + body[:payload_len]


@pytest.fixture
def images(tmp_path):
    k = tmp_path / "Image"
    k.write_bytes(arm64_image())
    r = tmp_path / "initrd"
    r.write_bytes(b"INITRD" * 5000)
    return {"kernel": str(k), "ramdisk": str(r), "dir": tmp_path}


def printed(target, *args):
    """What the scenario printed: for the tests about xl's own output (the
    scenario runs through mp/printout.py, its output on stdout)."""
    out, _ = run(["-m", "printout", target, json.dumps(args)],
                 helpers=[Path(__file__).resolve().parent / "mp", TESTS / "mp"])
    return out


def cfg(images, **kw):
    c = {"name": "guest1", "kernel": images["kernel"], "ramdisk": images["ramdisk"],
         "memory": 64, "vcpus": 2, "extra": "console=hvc0 rdinit=/init"}
    c.update(kw)
    return c


def test_create_from_dict_builds_a_running_guest(images):
    r = mp("create_cases.created_from_dict", cfg(images))
    domid, name, state, vcpus, maxv, mem_ok, pc, x0, cpsr_ok, names, store_ok, cons_ok = r
    assert (name, state, vcpus, maxv, mem_ok) == ("guest1", "running", 1, 2, True)
    assert pc == "0x40000000" and cpsr_ok and store_ok and cons_ok
    assert names == ["Domain-0", "guest1"]
    assert 0x40000000 < x0 < 0x44000000


def test_guest_memory_holds_kernel_initrd_and_a_valid_dtb(images, tmp_path, xen_release):
    r = mp("create_cases.guest_memory", cfg(images), len(arm64_image()), str(tmp_path / "guest.dtb"))
    assert r[0] == hashlib.sha256(arm64_image()).hexdigest()
    assert r[1] == "d00dfeed"
    dts = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(tmp_path / "guest.dtb")],
                         capture_output=True, text=True, check=True).stdout
    assert "console=hvc0 rdinit=/init" in dts and "xen,xen-%s" % xen_release in dts
    start = subprocess.run(["fdtget", "-t", "x", str(tmp_path / "guest.dtb"), "/chosen", "linux,initrd-start"],
                           capture_output=True, text=True, check=True).stdout.split()
    end = subprocess.run(["fdtget", "-t", "x", str(tmp_path / "guest.dtb"), "/chosen", "linux,initrd-end"],
                         capture_output=True, text=True, check=True).stdout.split()
    s = int("".join(x.rjust(8, "0") for x in start), 16)
    e = int("".join(x.rjust(8, "0") for x in end), 16)
    assert e - s == len(b"INITRD" * 5000)
    cpus = subprocess.run(["fdtget", "-l", str(tmp_path / "guest.dtb"), "/cpus"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert len(cpus) == 2


def test_create_from_xl_cfg_file(images):
    p = images["dir"] / "guest.cfg"
    p.write_text('# a guest\nname = "fromfile"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n'
                 'extra = "console=hvc0"\non_crash = "preserve"\n' % images["kernel"])
    r = mp("create_cases.created_paused_from_file", str(p))
    assert r == ["fromfile", "paused", "fromfile"]


def test_xenstore_entries_from_the_table(images):
    r = mp("create_cases.xenstore_entries", cfg(images, vcpus=1, maxvcpus=2, maxmem=96))
    d = r["domid_n"]
    assert r["name"] == "guest1" and r["domid"] == str(d) and r["vm_name"] == "guest1"
    assert r["static_max"] == str(96 * 1024) and r["target"] == str(64 * 1024)
    assert r["cpu1"] == "offline"
    assert r["perm_name"] == ["n0", "r%d" % d]
    assert r["perm_shutdown"] == ["n%d" % d]
    assert r["perm_libxl"] == ["n0"]
    # a real random v4 UUID, and the domain handle is the same bytes
    u = r["uuid"]
    assert len(u) == 36 and u[14] == "4" and u[19] in "89ab"
    assert r["handle"] == u.replace("-", "")


def test_guest_talks_to_xenstore_over_its_ring(images):
    r = mp("create_cases.guest_ring", cfg(images))
    # READ reply; WRITE answered OK; /libxl is dom0-only: ERROR EACCES
    assert r[0] == "guest1" and r[1] == XEN.XS_WRITE and r[2] == "ok"
    assert r[3] == XEN.XS_ERROR and r[4].startswith("EACCES")


def test_two_guests_cannot_read_each_other(images):
    r = mp("create_cases.guests_isolated", cfg(images, name="a"), cfg(images, name="b"))
    assert r == [XEN.XS_ERROR, "EACCES", XEN.XS_ERROR, "EACCES"]


def test_a_burst_of_requests_is_served_on_one_event(images):
    # 36 requests fill most of the 1 KiB ring; a ring pass serves 32 (the
    # budget that keeps one guest from starving others), and dom0's
    # round-robin serves the rest before the event is done
    r = mp("create_cases.burst_then_other_guest", cfg(images, name="a"), cfg(images, name="b"), 36)
    assert r == [36, [XEN.XS_READ]]


def test_name_must_be_unique_and_is_checked_first(images):
    r = mp("create_cases.duplicate_name", cfg(images))
    assert "already used by domain" in r[0] and r[1] == [] and r[2] == 2


@pytest.mark.parametrize("bad,needle", [
    ({"memory": "lots"}, "memory: wrong type"),
    ({"colour": "blue"}, "colour: unknown setting"),
    ({"vcpus": 0}, "vcpus:"),
    ({"on_crash": "explode"}, "on_crash:"),
])
def test_config_errors_before_any_hypercall(images, bad, needle):
    r = mp("create_cases.config_error", cfg(images, **bad))
    assert needle in r[0] and r[1] == [] and r[2] == 1


def test_image_errors_before_any_hypercall(images, tmp_path):
    bad = tmp_path / "truncated"
    bad.write_bytes(arm64_image()[:40])
    r = mp("create_cases.image_error", cfg(images, kernel=str(bad)))
    assert "truncated" in r[0] and r[1] == [] and r[2] == 1


def test_kernel_too_big_for_memory_is_a_layout_error(images, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(arm64_image(payload_len=3 * MiB, image_size=40 * MiB))
    r = mp("create_cases.refused", cfg(images, kernel=str(big), memory=32))
    assert "does not fit" in r[0] and r[1] == 1


def test_seclabel_without_flask_fails_cleanly(images):
    r = mp("create_cases.refused", cfg(images, seclabel="system_u:system_r:domU_t"))
    assert "FLASK is not active" in r[0] and "no domain was created" in r[0] and r[1] == 1


def test_seclabel_and_init_seclabel_with_flask(images):
    r = mp("create_cases.labels_with_flask",
           cfg(images, seclabel="system_u:system_r:domU_t", init_seclabel="system_u:system_r:domU_t"),
           cfg(images, name="bogus", seclabel="nobody_u:nobody_r:nothing_t"))
    assert r[0] is True and "refused the label" in r[1] and r[2] == 2


def test_numeric_ssidref(images):
    r = mp("create_cases.numeric_ssidref", cfg(images), "system_u:system_r:domU_t")
    assert r is True


def test_every_failing_hypercall_rolls_back_completely(images):
    r = mp("create_cases.every_call_failing", cfg(images), errno.EIO)
    n, results = r
    assert n >= 20
    assert len(results) == n
    clean = {"domains": [0], "mappings": 0, "ports": True, "xs_vm": [], "xs_libxl": [], "rings": []}
    for k, call, step, left in results:
        assert step, (k, call)
        xs_local = left.pop("xs_local")
        assert left == clean and xs_local in ([], ["0"]), (k, call, step, left, xs_local)


def test_destroy_removes_everything(images):
    r = mp("create_cases.destroyed", cfg(images))
    assert r == [[0], 0, False, [], []]


def test_shutdown_asks_the_guest_through_control_shutdown(images):
    r = mp("create_cases.shutdown_request", cfg(images))
    assert r[0] == "reboot" and "ValueError" in r[1]


@pytest.mark.parametrize("reason,key,action,expect", [
    ("poweroff", "on_poweroff", "destroy", "gone"),
    ("crash", "on_crash", "destroy", "gone"),
    ("reboot", "on_reboot", "restart", "restarted"),
    ("crash", "on_crash", "preserve", "preserved"),
    ("crash", "on_crash", "rename-restart", "renamed"),
])
def test_exception_actions(images, reason, key, action, expect):
    r = mp("create_cases.guest_shuts_down", cfg(images, **{key: action}), reason)
    names, alive_old, old, xs_old, maps = r
    if expect == "gone":
        assert names == [["Domain-0", 0]] and not alive_old and not xs_old
    elif expect == "restarted":
        assert not alive_old and len(names) == 2 and names[1][0] == "guest1" and names[1][1] != old
        assert not xs_old
    elif expect == "preserved":
        assert alive_old and names == [["Domain-0", 0], ["guest1", old]]
    else:
        assert alive_old and ["guest1-%d" % old, old] in names
        assert any(n == "guest1" and i != old for n, i in names)


def test_wait_returns_on_shutdown(images):
    r = mp("create_cases.wait_for_shutdown", cfg(images, on_poweroff="preserve"), cfg(images, name="other"))
    assert r == ["shutdown", None]


def test_pv_devices_for_a_driver_domain(images):
    r = mp("create_cases.pv_devices", cfg(images, name="netback"),
           cfg(images, name="app", vif=["mac=00:16:3e:01:02:03,backend=netback"],
               disk=["/dev/vg/app,raw,xvda,r,backend=netback"]))
    ok, be_id, fe_id, mac, state, bperm, fperm, params, mode, drv, g, left = r
    assert ok and be_id == str(drv) and fe_id == str(g) and mac == "00:16:3e:01:02:03" and state == "1"
    assert bperm == ["n%d" % drv, "r%d" % g] and fperm == ["n%d" % g, "r%d" % drv]
    assert params == "/dev/vg/app" and mode == "r" and left is False


def test_guest_needs_its_backend_domain(images):
    r = mp("create_cases.refused", cfg(images, name="app", vif=["backend=nowhere"]))
    # no such backend: a clear error at once, nothing created
    assert "backend domain 'nowhere' does not exist" in r[0] and r[1] == 1


def test_xl_commands(images):
    out = printed("create_cases.xl_session", cfg(images))
    lines = out.splitlines()
    assert lines[0].startswith("created guest1 (domain ")
    assert lines[1].split() == ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]
    assert lines[2].split()[:2] == ["Domain-0", "0"]
    g = lines[3].split()
    assert g[0] == "guest1" and g[3] == "1" and g[4] == "r-----" and int(g[2]) >= 64
    assert "state paused" in out
    assert "error: no domain 'nosuch'" in out and "error: domain 0 is the control domain itself" in out
    assert "xen_version" in out and "left ['Domain-0']" in out


def test_guest_starts_after_its_paused_backend_comes_up(images):
    r = mp("create_cases.waits_for_paused_backend", cfg(images, name="netback"),
           cfg(images, name="app", vif=["backend=netback"]))
    assert r == [True, "running"]
