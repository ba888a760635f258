"""The release table (modxen/abi.c) against real Xen headers: Debian's
libxen-dev of each release the real-Xen tier boots (bookworm's 4.17, trixie's
4.20, fetched by scripts/xen-release-headers.sh, never installed). abi.c's
offsetof/sizeof assertions check the row of the release whose headers it is
compiled with; a copy with that row altered must fail to compile, so the
check is shown to bite. A release whose headers cannot be fetched fails."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABI = ROOT / "modxen" / "abi.c"


@pytest.fixture(scope="module", params=["4.17", "4.20"], ids=lambda r: "xen" + r)
def headers(request):
    rel = request.param
    d = ROOT / "build" / "xen-headers" / rel
    p = subprocess.run(["bash", str(ROOT / "scripts" / "xen-release-headers.sh"), rel, str(d)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, "Xen %s's headers could not be fetched:\n%s%s" % (rel, p.stdout, p.stderr)
    inc = d / "usr" / "include"
    v = re.search(r"define XEN_DOMCTL_INTERFACE_VERSION\s+(0x[0-9a-fA-F]+)", (inc / "xen" / "domctl.h").read_text())
    return rel, inc, int(v.group(1), 16)


def compile_abi(src, inc):
    return subprocess.run(["cc", "-std=gnu11", "-fsyntax-only", "-Wall", "-Werror", "-I", str(inc),
                           "-I", str(ROOT / "modxen"), str(src)], capture_output=True, text=True)


def test_table_row_matches_the_release_headers(headers):
    rel, inc, domctl = headers
    assert domctl == {"4.17": 0x15, "4.20": 0x17}[rel]       # the headers are what they say
    p = compile_abi(ABI, inc)
    assert p.returncode == 0, p.stderr


def test_a_wrong_row_fails_the_build(headers, tmp_path):
    rel, inc, _ = headers
    minor = rel.split(".")[1]
    text = ABI.read_text()
    row = re.search(r"X\(4, %s, (0x[0-9a-f]+), (0x[0-9a-f]+), (\d+), (\d+), (\d+)," % minor, text)
    assert row, "no row for %s in abi.c" % rel
    vmtrace = int(row.group(3))
    bad = text.replace(row.group(0), row.group(0).replace(", %d, " % vmtrace, ", %d, " % (vmtrace ^ 4), 1), 1)
    (tmp_path / "abi.c").write_text(bad)
    p = compile_abi(tmp_path / "abi.c", inc)
    assert p.returncode != 0 and "disagrees with Xen %s" % rel in p.stderr, p.stderr
