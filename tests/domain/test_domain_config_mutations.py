"""Mutated xl.cfg files fed to xen.domain_create on the sim.

The three xl.cfg files in xlcfg/ are mutated 330 ways each (byte flips, NULs,
bytes that are not UTF-8, odd unicode, truncation, duplicated, deleted and
swapped lines, huge numbers, values of the wrong kind, bad vif/disk/iomem
specs, and several of these at once). Every mutant is given to
xen.domain_create in one firmware process (a few seconds for all), and each
must end one of two ways:
  - the domain is created (then destroyed), or
  - a ConfigError that names the file, the line and the key.
Never another exception, never a crash, and no domain (nor xenstore entry)
left behind. A few refusals depend on more than the file: what the image
holds, what fits the guest's address space, what this hypervisor accepts.
Those are allowed as the builder's own errors (ImageError naming the image,
LayoutError, BuildError naming the step and Xen's errno, DomainError for a
label without XSM or a backend domain that does not exist), and counted.

The mutations are drawn from a fixed seed, so a failure is reproducible;
MODXEN_MUTATION_SEED=<n> explores another set. A device_tree that cannot be
read or parsed is an ImageError naming the file (test_device_tree_errors_name_the_file);
it is left out of the mutations, whose files have none to name. The firmware
side is mp/config_mutants.py."""
import json
import os
import random
import re
import struct
from pathlib import Path

import pytest

from mpfirmware import MicroPythonError, mp

HERE = Path(__file__).resolve().parent
BASES = sorted((HERE / "xlcfg").glob("*.cfg"))
SEED = int(os.environ.get("MODXEN_MUTATION_SEED", "13"))
PER_BASE = 330
MiB = 1 << 20


def arm64_image():
    h = bytearray(64)
    struct.pack_into("<II", h, 0, 0xFA405A4D, 0x14000000)
    struct.pack_into("<QQQ", h, 8, 0, 2 * MiB, 0b1010)
    struct.pack_into("<I", h, 0x38, 0x644D5241)
    return bytes(h) + b"\x00" * 4000


# ---------------------------------------------------------------- mutations

ODD = ["\u00e9", "\u202e", "\ufeff", "\u0661", "\uff11", "\u00a0", "\U0001f600", "e\u0301",
       "\u2028", "\u0000", "\\", "\\x", "\\777", "\\u0041", "'", '"']
NUMBERS = ["0", "-1", "1e3", "1.5", "0x", "0x1_0", "1_000", "099", "0b101", "+5", "0x" + "f" * 40,
           "9" * 30, str(2 ** 63), str(2 ** 64 + 1), "1048576", "1048577", "4096", "131072",
           "129", "128", "2047", "0o17", "\u0661\u0662", "6\x004", "\x00", "64\x00"]
STRINGS = ['""', "''", '"x"', '"\\x00"', '"a\\0b"', '"' + "a" * 3000 + '"', '"' + "b" * 5000 + '"', '"Domain-0"', '"0"',
           '"\xff"', '"/"', '"."', '"web-1"', '"\\n"', '["a", "b"]', "[]", "[1, [2]]", "[,]",
           '[ "x" "y" ]', "[", "]", '"unterminated']
# device_tree is left out (the mutated files have no DTB): see test_device_tree_errors_name_the_file
KEYS = ["name", "type", "uuid", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "ramdisk",
        "cmdline", "root", "extra", "dtdev", "irqs", "iomem", "passthrough",
        "seclabel", "init_seclabel", "gic_version", "tee", "max_grant_frames",
        "max_maptrack_frames", "max_event_channels", "on_poweroff", "on_reboot", "on_crash",
        "vif", "disk", "depends_on", "bogus", "Memory", "memory_", "n\u00e4me"]
DISKS = ["xv", "xv access=rw", "vdev=xv, access=rw, target=/x", "/img,xvd\x00a,w", "/img,xvda\x001,w",
         "/img,xvda99999999999999999,w", "/img,xvdzzzzzzzzzzzzzzzzzz,w", "/img,sdq,w", "/img,hd,w",
         "/img,xvda,w,x,y", "/img,qcow9,xvda,w", "/img,xvda,rx", "/img,xvda:floppy,r",
         ",xvda,r", "target=", "phy:", "=", ",,,,", "vdev=", "backend=", "backend=123",
         "/img,xvda,w,backend=nowhere", "/img,xvda,w,backend=web-1", "/img,xvda,w,backendtype=zz",
         "/img,xvda,w,backend=Domain-0", "/img,51712,w", "/img,99999999999,w", "/img,-1,w",
         "/img,\u0661,w", "/img,xvda\u0661,w", "/img,xvda,w,discard,no-discard", "/img,xvda,w,bogus=1",
         "format=raw,format=qcow2,vdev=xvdq,target=/a", "/img,xvd\u00e9,w", "vdev=xvda",
         "/img,xvdb,w", "/img,xvdb,w,devtype=cdrom", "tap:aio:qcow2:/x,xvdk,r",
         "/img,XVDA,w", "/img,xvda1_0,w", "/img,xvda+1,w", "/img, xvda ,w"]
VIFS = ["mac=00:16:3e:zz:00:00", "mac=0:1:2:3:4:5", "mac=00:16:3e:00:00:00:00", "mac=+1:16:3e:00:00:01",
        "mac= 1:16:3e:00:00:01", "mac=1_:16:3e:00:00:01", "mac=00:16:3e:00:00:0\x00",
        "mtu=abc", "mtu=99999999999999999999", "mtu=-1", "mtu=0", "mtu=1_500", "mtu=\u0661",
        "devid=-1", "devid=3", "devid=0x10", "devid=99999999999", "foo=bar", "backend=nowhere",
        "backend=0", "backend=Domain-0", "backend=web-1", "backend=5", "backend=a b", "ip=",
        "=", ",", "mac", "bridge=br\x000", "rate=10Mb/s", "type=ioemu", "model=e1000"]
IOMEMS = ["ff0e0", "ff0e0,0", "-1,1", "+1,1", "1_0,1", "ff0e0,1@", "zz,1", "fffffffffffff,2",
          "1,1@fffffffffffff", "0x,1", " 10 , 1 ", "10,1@\u0661", "10\x00,1"]
OTHERS = ["irqs = [ 31 ]", "irqs = [ 1020 ]", "irqs = [ 40, 40 ]", "irqs = 40", "irqs = [ \"40\" ]",
          "dtdev = [ \"/soc/x\" ]", "dtdev = [ \"soc\" ]", "seclabel = \"system_u:system_r:domU_t\"",
          "seclabel = 5", "seclabel = -5", "init_seclabel = \"x\"", "depends_on = [ \"nowhere\" ]",
          "depends_on = [ \"web-1\", \"svc_2.a\", \"tiny\" ]", "depends_on = \"0\"",
          "uuid = \"3f2504e0-4f89-41d3-9a0c-0305e82c_301\"", "uuid = \"3f2504e0-4f89-41d3-9a0c-+305e82c3301\"",
          "uuid = 5", "name = \"0x1f\"", "name = \"a" + "b" * 70 + "\"", "name = \"Domain-0\"",
          "cmdline = \"" + "c" * 2047 + "\"", "root = \"" + "r" * 2047 + "\"\nextra = \"" + "e" * 2047 + "\"",
          "ramdisk = \"Image\"", "kernel = \"initrd\"", "kernel = \".\"",
          "kernel = \"\"", "kernel = \"Image\\x00x\"", "kernel += \"x\"", "vif += 5", "memory += 5",
          "tee = \"optee\"", "gic_version = \"v2\"", "max_grant_frames = 4096", "maxmem = 1",
          "memory = 1048576", "memory = 1", "vcpus = 128", "passthrough = \"enabled\"",
          "on_crash = \"coredump-destroy\"", "type = \"hvm\"", "vif = [ 'bridge=a', 'bridge=b', 'bridge=c' ]"]


def mutate(rng, text):
    """One mutant (bytes) of the xl.cfg text (str), and what was done to it."""
    while True:
        try:
            return _mutate(rng, text, rng.randrange(16))
        except (IndexError, ValueError):  # nothing for that operator in this text
            if not text:
                return b"", "empty"


def _mutate(rng, text, op):
    data = text.encode()
    lines = text.split("\n")
    if op == 0:  # flip a bit
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b), "bitflip@%d" % i
    if op == 1:  # replace a byte with a significant one
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] = rng.choice(b"\x00\xff\x80\xc3'\"[],;=#\\\n+ 09x@")
        return bytes(b), "byte@%d=%r" % (i, bytes([b[i]]))
    if op == 2:  # a NUL inside a number or a string
        spots = [m.start() + 1 for m in re.finditer(r"[0-9][0-9a-fx]|[\"'][^\"'\n]", text)]
        i = rng.choice(spots)
        return data[:i] + b"\x00" + data[i:], "nul@%d" % i
    if op == 3:  # truncate
        i = rng.randrange(len(data))
        return data[:i], "truncate@%d" % i
    if op == 4:  # delete, duplicate or swap lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        how = rng.randrange(3)
        if how == 0:
            del lines[i]
        elif how == 1:
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines).encode(), "lines-%d %d %d" % (how, i, j)
    if op == 5:  # odd unicode (or an escape) somewhere
        i = rng.randrange(len(text) + 1)
        s = rng.choice(ODD)
        return (text[:i] + s + text[i:]).encode(), "odd@%d %r" % (i, s)
    if op == 6:  # a number replaced
        ms = list(re.finditer(r"(?<==)\s*(0x[0-9a-fA-F]+|[0-9]+)", text)) or list(re.finditer(r"=", text))
        m = rng.choice(ms)
        v = rng.choice(NUMBERS)
        return (text[:m.start()] + " " + v + text[m.end():]).encode("utf-8", "surrogatepass"), "number %r" % v
    if op == 7:  # a value replaced by one of another kind
        i = rng.choice([k for k, l in enumerate(lines) if "=" in l and not l.lstrip().startswith("#")])
        key = lines[i].split("=")[0].rstrip("+ ")
        v = rng.choice(STRINGS + NUMBERS)
        lines[i] = key + " = " + v
        return "\n".join(lines).encode(), "value %s=%r" % (key, v)
    if op == 8:  # a bad disk spec
        spec = rng.choice(DISKS)
        how = rng.randrange(2)
        line = "disk = [ %r ]" % spec if how else "disk += [ %r, '/img2,xvdf,r' ]" % spec
        return (text + "\n" + line + "\n").encode(), "disk %r" % spec
    if op == 9:  # a bad vif spec
        spec = rng.choice(VIFS)
        line = "vif = [ %r, %r ]" % ("bridge=xenbr0", spec) if rng.randrange(2) else "vif = %r" % spec
        return (text + "\n" + line + "\n").encode(), "vif %r" % spec
    if op == 10:  # a bad iomem spec
        spec = rng.choice(IOMEMS)
        return (text + "\niomem = [ %r ]\n" % spec).encode(), "iomem %r" % spec
    if op == 11:  # a setting of the table with a value of any kind
        key = rng.choice(KEYS)
        v = rng.choice(STRINGS + NUMBERS)
        i = rng.randrange(len(lines) + 1)
        lines.insert(i, "%s = %s" % (key, v))
        return "\n".join(lines).encode("utf-8", "surrogatepass"), "set %s=%r" % (key, v)
    if op == 12:  # a known troublemaker line
        s = rng.choice(OTHERS)
        lines.insert(rng.randrange(len(lines) + 1), s)
        return "\n".join(lines).encode(), "line %r" % s
    if op == 13:  # bytes that are not UTF-8, anywhere
        i = rng.randrange(len(data) + 1)
        junk = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        return data[:i] + junk + data[i:], "bytes@%d %r" % (i, junk)
    if op == 14:  # a setting name damaged
        i = rng.choice([k for k, l in enumerate(lines) if "=" in l and not l.lstrip().startswith("#")])
        j = rng.randrange(max(1, lines[i].index("=")))
        lines[i] = lines[i][:j] + rng.choice(["", "x", "-", ".", "\u00e4", " ", "\x00"]) + lines[i][j + 1:]
        return "\n".join(lines).encode(), "name %d:%d" % (i, j)
    # several of the above at once
    out, what = data, []
    for _ in range(rng.randrange(2, 5)):
        try:
            t = out.decode()
        except UnicodeError:
            break
        if not t:
            break
        out, w = mutate(rng, t)
        what.append(w)
    return out, "+".join(what)


def mutants():
    rng = random.Random(SEED)
    out = []
    for base in BASES:
        text = base.read_text()
        for n in range(PER_BASE):
            data, what = mutate(rng, text)
            out.append((base.stem, n, data, what))
    return out


# ---------------------------------------------------------------- the run

# Refusals that depend on more than the file's text, with what their message must say.
WORLD = {
    "ImageError": None,    # the image file: its message starts with the image's name
    "LayoutError": r"guest RAM|kernel|initrd|DTB|fit",
    "BuildError": r"^domain \S+: [A-Za-z0-9_ ]+ failed: \[Errno \d+\] E[A-Z]+$",
    "DomainError": r"XSM/FLASK is not active|backend domain '[^']+' does not exist",
}


def check(fn, text, r):
    """None if the outcome r of creating from file fn (whose text is text) is
    allowed, else why not."""
    kind = r[0]
    if kind == "created":
        return None
    if kind == "ConfigError":
        msg, key, line, fname = r[1:]
        if fname != fn:
            return "ConfigError names file %r" % (fname,)
        if key is None and "setting name" not in msg:
            return "ConfigError names no key"
        if line is None and "required setting missing" not in msg:
            return "ConfigError names no line"
        if line is not None and not 1 <= line <= text.count(b"\n") + 1:
            return "ConfigError names line %r of a %d-line file" % (line, text.count(b"\n") + 1)
        where = fn + ":" + ("%d:" % line if line is not None else "") + " " + (key + ": " if key else "")
        if not msg.startswith(where):
            return "ConfigError message does not start with %r" % where
        return None
    if kind in WORLD:
        msg = r[1]
        if kind == "ImageError":
            return None if r[3] and msg.startswith(r[3] + ": ") else "ImageError names no image"
        if kind == "BuildError" and r[4] != "OSError":
            return "BuildError caused by %s, not the hypervisor" % r[4]
        return None if re.search(WORLD[kind], msg) else "unexpected %s message" % kind
    return "%s is not a ConfigError" % kind


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    d = tmp_path_factory.mktemp("mutants")
    (d / "Image").write_bytes(arm64_image())
    (d / "initrd").write_bytes(b"INITRD" * 1000)
    files = {}
    for stem, n, data, what in mutants():
        fn = "%s-%03d.cfg" % (stem, n)
        (d / fn).write_bytes(data)
        files[fn] = (data, what)
    for base in BASES:  # the unmutated files first: they must create
        files[base.name] = (base.read_bytes(), "unmutated")
        (d / base.name).write_bytes(base.read_bytes())
    names = [b.name for b in BASES] + [f for f in files if f not in {b.name for b in BASES}]
    try:
        done = mp("config_mutants.create_each", names, heap="32M", timeout=300, cwd=d)
    except MicroPythonError as e:
        started = [json.loads(l[len("@@start "):]) for l in str(e).splitlines() if l.startswith("@@start ")]
        last = started[-1] if started else None
        pytest.fail("the firmware died on %s (%s):\n%s" % (
            last, files.get(last, (None, "?"))[1], str(e)[-4000:]), pytrace=False)
    return files, done, names


def test_unmutated_files_create(outcomes):
    files, done, _ = outcomes
    for b in BASES:
        assert done[b.name][0][0] == "created", (b.name, done[b.name])


def test_every_mutant_is_created_or_a_config_error_naming_the_place(outcomes):
    files, done, names = outcomes
    bad = []
    tally = {}
    for fn in names:
        r, clean, left = done[fn]
        tally[r[0]] = tally.get(r[0], 0) + 1
        why = check(fn, files[fn][0], r)
        if why:
            bad.append("%s (%s): %s: %r" % (fn, files[fn][1], why, r))
    print("outcomes of %d files: %s" % (len(names), tally))
    assert not bad, "%d of %d mutants:\n" % (len(bad), len(names)) + "\n".join(bad[:40])
    # the mutations reach both ends: many refused, many still valid
    assert tally.get("ConfigError", 0) > len(names) // 3 and tally.get("created", 0) > len(names) // 10, tally


def test_no_domain_or_xenstore_entry_left(outcomes):
    files, done, names = outcomes
    left = ["%s (%s): %s" % (fn, files[fn][1], done[fn][2]) for fn in names if not done[fn][1]]
    assert not left, "left behind after:\n" + "\n".join(left[:20])


def test_device_tree_errors_name_the_file(tmp_path):
    (tmp_path / "Image").write_bytes(arm64_image())
    bad = []
    for n, dt in enumerate(["nowhere.dtb", "Image"]):
        fn = "dt%d.cfg" % n
        (tmp_path / fn).write_text('name = "g"\nkernel = "Image"\ndevice_tree = "%s"\n' % dt)
        r = mp("config_mutants.create_each", [fn], cwd=tmp_path)[fn][0]
        if not (r[0] in ("ConfigError", "ImageError") and dt in r[1]):
            bad.append((dt, r))
    assert not bad, bad
