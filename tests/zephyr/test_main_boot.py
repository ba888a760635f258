"""The Zephyr firmware's boot (port/zephyr/modules/main.py), run on the host firmware
with a stand-in for the board module `_xenboard` (image_store(), repl_run()): what a
new user reads on the console before the first prompt.
  - no policy installed (a board fresh from the build; QEMU, whose /flash is in RAM,
    on every boot): one plain line saying so and what to do, no traceback;
  - a confirmed policy installed: it runs, nothing about a missing policy;
  - the image store: a zeroed flash bank (QEMU without the pflash drive) is reported
    as empty, a damaged archive in one line, a good one mounted quietly."""
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from mpfirmware import mp, run

ROOT = Path(__file__).resolve().parent.parent.parent
MAIN = ROOT / "port" / "zephyr" / "modules" / "main.py"
POLICY_STATE = ROOT / "build" / "host" / "policy-state"   # make run-sim's: the default policy
BOOT = Path(__file__).resolve().parent / "mp" / "main_boot.py"


def boot(tmp_path, store=None, state=None):
    """Run main.py (through mp/main_boot.py) with _xenboard.image_store()
    returning the bytes `store` (None: no image store); returns its stdout."""
    argv = [str(BOOT), str(MAIN)]
    if store is not None:
        (tmp_path / "store.bin").write_bytes(store)
        argv.append(str(tmp_path / "store.bin"))
    if state is None:
        state = tmp_path / "empty-state"
    out, _ = run(argv, env={"MODXEN_STATE": str(state)})
    return out


def test_no_policy_one_plain_line(tmp_path):
    out = boot(tmp_path)
    assert "Traceback" not in out, out
    lines = [l for l in out.splitlines() if l.startswith("modxen:")]
    assert len(lines) == 1, out
    assert "no boot policy installed" in lines[0] and "xen.policy.install(" in lines[0], out
    assert out.rstrip().endswith("@@REPL"), out


def test_installed_policy_runs(tmp_path):
    make = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "policy-state"],
                          capture_output=True, text=True, timeout=600)
    if make.returncode != 0 or not (POLICY_STATE / ".provisioned").is_file():
        pytest.fail("make policy-state failed:\n" + make.stdout[-2000:] + make.stderr[-2000:], pytrace=False)
    state = tmp_path / "state"
    shutil.copytree(POLICY_STATE, state)
    out = boot(tmp_path, state=state)
    assert "no boot policy installed" not in out and "Traceback" not in out, out
    assert "@@REPL" in out, out
    # the confirmed slot ran: the policy store says so afterwards
    assert mp("main_boot.policy_state", env={"MODXEN_STATE": str(state)}) == "confirmed"


def test_zeroed_image_store_is_reported_empty(tmp_path):
    out = boot(tmp_path, store=bytes(64 * 1024))
    assert "Traceback" not in out, out
    assert "image store (65536 bytes) is empty" in out and "pflash" in out, out


def test_damaged_image_store_one_line(tmp_path):
    out = boot(tmp_path, store=b"garbage" * 1000)
    assert "Traceback" not in out, out
    assert "image store (7000 bytes) not mounted: ArchiveError" in out, out


def test_good_image_store_quiet(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        data = b"\0" * 4096
        info = tarfile.TarInfo("Image")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    out = boot(tmp_path, store=buf.getvalue())
    assert "image store" not in out and "Traceback" not in out, out
