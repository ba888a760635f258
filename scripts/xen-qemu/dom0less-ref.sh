#!/bin/bash
# The reference for the adoption of boot-time domains (docs/domain.md, "Where the tree
# differs from init-dom0less's"): the dom0less boot of the real-Xen tier, with Debian's
# xenstored and init-dom0less (the release's xen-utils, scripts/xen-qemu/fetch-xl.sh)
# in dom0 instead of our firmware's services. Prints the xenstore nodes of the adopted
# domain (xenstore-ls -f -p), to compare with what tests/xen/dom0/test_dom0less.py
# prints for ours ("TREE ..." in its output). Not part of `make test`.
#   dom0less-ref.sh [--xen 4.17|4.20] [--xl DIR]   (DIR: an unpacked fetch-xl.sh root)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/scripts/xen-qemu
rel=4.17 xl=""
while [ $# -gt 0 ]; do
  case "$1" in
    --xen) rel=$2; shift 2 ;;
    --xl) xl=$2; shift 2 ;;
    *) echo "usage: $0 [--xen 4.17|4.20] [--xl DIR]" >&2; exit 2 ;;
  esac
done
cache=$top/build/xen-qemu
"$here/fetch.sh" --xen "$rel" "$cache" >&2
if [ -z "$xl" ]; then
  "$here/fetch-xl.sh" --xen "$rel" >&2
  xl=$cache/$rel/xl/root
fi
# shellcheck disable=SC1091
. "$cache/env"
out=$cache/dom0less-ref
stage=$out/xl-$rel
rm -rf "$stage" && mkdir -p "$out"
cp -al "$xl" "$stage" 2>/dev/null || cp -a "$xl" "$stage"
# xen-utils has no xenstore client: bookworm's xenstore-utils (libxenstore4 is in the tree)
rm -f "$stage/usr/bin/xenstore" && cp "$ROOT/usr/bin/xenstore" "$stage/usr/bin/xenstore"
rc=0
"$here/run.sh" --xen "$rel" --boot dom0less --tests "$here/dom0less-ref" --out "$out" --share "xl=$stage" >&2 || rc=$?
grep -h '^TREE \|^INFO \|^PASS \|^FAIL ' "$out/xen-$rel/results-dom0less/"*.out
exit $rc
