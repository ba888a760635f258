"""port/zephyr/toolchain: Debian's gcc-aarch64-linux-gnu made fit for Zephyr's
cross-compile variant (docs/zephyr.md). The wrapper must add -mno-outline-atomics
(no libgcc outline-atomics call, which wants __getauxval) and answer Zephyr's
--print-file-name=include-fixed/limits.h with an absolute path that exists."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SETUP = ROOT / "port" / "zephyr" / "toolchain" / "setup.sh"


def test_wrapper(tmp_path):
    tc = tmp_path / "tc"
    p = subprocess.run(["sh", str(SETUP), str(tc)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "-DCROSS_COMPILE=%s/aarch64-linux-gnu-" % tc in p.stdout, p.stdout
    gcc = str(tc / "aarch64-linux-gnu-gcc")
    for tool in ("aarch64-linux-gnu-objcopy", "aarch64-linux-gnu-ld", "aarch64-linux-gnu-g++"):
        assert os.access(str(tc / tool), os.X_OK), tool
    limits = subprocess.run([gcc, "-mcpu=cortex-a53", "--print-file-name=include-fixed/limits.h"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.isabs(limits) and os.path.isfile(limits), limits
    src = tmp_path / "at.c"
    src.write_text("int x;\nint f(void) { return __atomic_fetch_add(&x, 1, __ATOMIC_SEQ_CST); }\n")
    asm = subprocess.run([gcc, "-O2", "-S", "-o", "-", str(src)], capture_output=True, text=True, check=True).stdout
    assert "__aarch64_ldadd" not in asm and "ldaxr" in asm, asm
