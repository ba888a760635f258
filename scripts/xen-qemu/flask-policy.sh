#!/bin/bash
# Build Xen's FLASK policy from Debian's `xen` source package with checkpolicy.
#   flask-policy.sh [CACHE]     CACHE defaults to build/xen-qemu/flask
# Result: CACHE/xenpolicy (the binary policy our firmware loads with _xen.flask_load).
# The source package is fetched and verified by scripts/apt-source.sh (an apt
# configuration of its own; the host's is only read, never changed).
# The 4.17.5 sources' policy lacks one permission the 4.17.7 hypervisor checks when
# dom0 lists domains (Xen's own domain domxen_t answers getdomaininfo): it is added.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$top/build/xen-qemu/flask}
suite=${MODXEN_XEN_SRC_SUITE:-bookworm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
die() { echo "flask-policy: $*" >&2; exit 1; }
extra_rule='allow dom0_t domxen_t:domain getdomaininfo;'
stamp="suite=$suite rule=$extra_rule"
if [ -s "$cache/xenpolicy" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
for t in checkpolicy m4 make; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh xen)"; done

apt=$cache/apt
sh "$top/scripts/apt-source.sh" xen "$suite" "$apt/src" || die "fetching the xen source package failed"
orig=$(ls "$apt"/src/xen_*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$orig" ] || die "no orig tarball in the xen source package"

# Only the policy sources are needed: tools/flask/policy and the hypervisor's class lists.
src=$cache/src
rm -rf "$src" && mkdir -p "$src"
tar -C "$src" -xf "$orig" --wildcards '*/tools/flask/policy/*' '*/xen/xsm/flask/policy/*' 2>"$cache/tar.log" \
  || { cat "$cache/tar.log" >&2; die "unpacking $orig failed"; }
pol=$(ls -d "$src"/*/tools/flask/policy 2>/dev/null | head -n 1)
[ -d "$pol" ] || die "no tools/flask/policy in $orig"
mods=$pol/modules
[ -f "$mods/dom0.te" ] || die "no modules/dom0.te in the policy sources"
grep -qF "$extra_rule" "$mods/dom0.te" || printf '\n# added for the 4.17.7 hypervisor (modxen)\n%s\n' "$extra_rule" >> "$mods/dom0.te"

out=$cache/out
rm -rf "$out" && mkdir -p "$out"
make -C "$pol" -f Makefile.common FLASK_BUILD_DIR="$out" XEN_FULLVERSION=4.17 >"$cache/make.log" 2>&1 \
  || { tail -n 30 "$cache/make.log" >&2; die "policy build failed"; }
bin=$(ls "$out"/xenpolicy-* 2>/dev/null | head -n 1)
[ -s "$bin" ] || { tail -n 30 "$cache/make.log" >&2; die "no xenpolicy-* produced"; }
cp "$bin" "$cache/xenpolicy"
printf '%s' "$stamp" > "$cache/stamp"
echo "flask-policy: $(basename "$orig") -> $cache/xenpolicy ($(stat -c %s "$cache/xenpolicy") bytes)"
