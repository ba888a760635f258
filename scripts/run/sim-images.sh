#!/bin/bash
# make run-sim's image store: the demo guest's xl.cfg (scripts/run/demo/demo.cfg) with
# a dummy kernel and ramdisk, so that the same first steps work on the simulated Xen.
# The sim builds the domain from them (headers parsed, bytes loaded into guest memory)
# but runs no guest code: the dummy kernel is an arm64 Image header and zeros.
#   sim-images.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: sim-images.sh DIR}
mkdir -p "$dir"
python3 - "$dir" <<'PY'
import struct, sys
d = sys.argv[1]
# arm64 Image header (Linux's Documentation/arch/arm64/booting.rst): code0/1,
# text_offset 0, image_size 1 MiB, flags (little-endian, 4 KiB pages), magic "ARM\x64"
hdr = struct.pack("<IIQQQQQQI", 0x14000010, 0, 0, 1 << 20, 0b1010, 0, 0, 0, 0x644D5241)
hdr += b"\0" * (64 - len(hdr))
with open(d + "/Image.tmp", "wb") as f:
    f.write(hdr + b"\0" * (256 * 1024 - len(hdr)))
with open(d + "/demo.cpio.tmp", "wb") as f:
    f.write(b"070701" + b"0" * 104 + b"TRAILER!!!\0" + b"\0" * 393)   # an empty newc archive
PY
mv -f "$dir/Image.tmp" "$dir/Image"
mv -f "$dir/demo.cpio.tmp" "$dir/demo.cpio"
cp "$here/demo/demo.cfg" "$here/demo/tiny.cfg" "$dir/"
echo "sim image store: $dir (demo.cfg, a dummy Image and demo.cpio)"
