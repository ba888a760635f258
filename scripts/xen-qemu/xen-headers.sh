#!/bin/sh
# Give a cross compiler Xen's public headers (Debian's libxen-dev, architecture-neutral)
# without the rest of the host's include directory: DIR/xen becomes a link to the
# directory that holds the host's <xen/xen.h>. Use it with -idirafter DIR, so the cross
# sysroot's own xen/ (Linux's uapi privcmd.h, evtchn.h) still comes first.
set -eu
dir=${1:?usage: xen-headers.sh DIR}
hdr=$(printf '#include <xen/xen.h>\n' | ${HOSTCC:-cc} -x c -M - 2>/dev/null | tr ' \\' '\n\n' | grep '/xen/xen\.h$' | head -n 1)
[ -n "$hdr" ] || { echo "xen-headers: <xen/xen.h> not found on the host (install libxen-dev)" >&2; exit 1; }
mkdir -p "$dir"
ln -sfn "$(dirname "$hdr")" "$dir/xen"
