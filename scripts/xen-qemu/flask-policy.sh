#!/bin/bash
# Build Xen's FLASK policy from Debian's `xen` source package with checkpolicy, from the
# Debian release that ships the hypervisor (4.17: bookworm, 4.20: trixie).
#   flask-policy.sh [--xen 4.17|4.20] [CACHE]   release default 4.17,
#                                               CACHE default build/xen-qemu/REL/flask
# Result: CACHE/xenpolicy (the binary policy our firmware loads with _xen.flask_load).
# The source package is fetched and verified by scripts/apt-source.sh (an apt
# configuration of its own; the host's is only read, never changed).
# Where the mirror does not serve that release's source package (this machine's mirror
# has no trixie sources), bookworm's is used, with a warning, and brought up to the
# hypervisor's classes: Xen 4.20 refuses a policy that lacks a permission it defines
# ("permission get_dom0_console in class xen2 not defined in policy"). Xen appends new
# permissions at the end of their class; the four 4.18-4.20 added (xen2:
# get_dom0_console; domain2: vuart_op, dt_overlay, set_llc_colors) are appended and
# granted where 4.20's own example policy grants them. CACHE/source says which sources
# the policy came from.
# The 4.17.5 sources' policy lacks one permission the 4.17.7 hypervisor checks when
# dom0 lists domains (Xen's own domain domxen_t answers getdomaininfo): it is added.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=4.17
[ "${1:-}" = --xen ] && { rel=${2:?--xen needs a release}; shift 2; }
cache=${1:-$top/build/xen-qemu/$rel/flask}
die() { echo "flask-policy: $*" >&2; exit 1; }
. "$(dirname "$0")/arm64-debs.sh"
case "$rel" in
  4.17) suites="bookworm" ;;
  4.20) suites="trixie bookworm" ;;
  *) die "unknown Xen release '$rel' (4.17 or 4.20)" ;;
esac
suites=${MODXEN_XEN_SRC_SUITE:-$suites}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
extra_rule='allow dom0_t domxen_t:domain getdomaininfo;'
stamp="release=$rel suites=$suites rule=$extra_rule perms=1"
if [ -s "$cache/xenpolicy" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
for t in checkpolicy m4 make; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh xen)"; done

orig=""
for suite in $suites; do
  apt=$cache/apt-$suite
  if sh "$top/scripts/apt-source.sh" xen "$suite" "$apt/src" 2>"$cache/apt-source-$suite.log"; then
    orig=$(ls "$apt"/src/xen_*.orig.tar.* 2>/dev/null | head -n 1)
    [ -n "$orig" ] && break
  fi
  why=$( (grep -m 1 '^E:' "$cache/apt-source-$suite.log" || tail -n 1 "$cache/apt-source-$suite.log") | sed -E 's|[a-z]+://[^/ ]+|<mirror>|g')
  echo "flask-policy: WARNING: no xen source package from $suite ($why)" >&2
done
[ -n "$orig" ] || die "no xen source package from any of: $suites"

# Only the policy sources are needed: tools/flask/policy and the hypervisor's class lists.
src=$cache/src
rm -rf "$src" && mkdir -p "$src"
tar -C "$src" -xf "$orig" --wildcards '*/tools/flask/policy/*' '*/xen/xsm/flask/policy/*' 2>"$cache/tar.log" \
  || { cat "$cache/tar.log" >&2; die "unpacking $orig failed"; }
pol=$(ls -d "$src"/*/tools/flask/policy 2>/dev/null | head -n 1)
[ -d "$pol" ] || die "no tools/flask/policy in $orig"
mods=$pol/modules
[ -f "$mods/dom0.te" ] || die "no modules/dom0.te in the policy sources"
grep -qF "$extra_rule" "$mods/dom0.te" || printf '\n# added for the %s hypervisor (modxen)\n%s\n' "$rel" "$extra_rule" >> "$mods/dom0.te"

# add_perm CLASS PERM: PERM appended to CLASS in the hypervisor's class list (if missing).
av=$(ls "$src"/*/xen/xsm/flask/policy/access_vectors 2>/dev/null | head -n 1)
[ -f "$av" ] || die "no xen/xsm/flask/policy/access_vectors in $orig"
add_perm() {
  awk -v c="$1" -v p="$2" '
    $1=="class" && $2==c {inside=1}
    inside && $1==p {have=1}
    inside && /^}/ {if (!have) print "    " p; inside=0; done=1}
    {print}
    END {if (!done) exit 1}' "$av" > "$av.new" || die "no class $1 in $av"
  mv "$av.new" "$av"
}
# grant FILE OLD NEW: replace the text OLD by NEW in FILE (it must be there once).
grant() {
  OLD=$2 NEW=$3 perl -0pi -e '$n = s/\Q$ENV{OLD}\E/$ENV{NEW}/g; $n == 1 or die "found $n times\n"' "$1" \
    || die "'$2' not found once in $1"
}
if [ "$rel" = 4.20 ] && ! grep -qw get_dom0_console "$av"; then
  echo "flask-policy: adding Xen 4.20's new permissions to $suite's policy sources" >&2
  add_perm xen2 get_dom0_console
  for p in vuart_op dt_overlay set_llc_colors; do add_perm domain2 $p; done
  grant "$mods/dom0.te" "coverage_op
};" "coverage_op get_dom0_console
};"
  grant "$mods/dom0.te" "psr_alloc get_cpu_policy
};" "psr_alloc get_cpu_policy dt_overlay
};"
  grant "$mods/xen.if" "resource_map get_cpu_policy };" "resource_map get_cpu_policy vuart_op set_llc_colors };"
  grant "$mods/xen.if" 'allow $1 $2:domain2 set_vnumainfo;' 'allow $1 $2:domain2 { set_vnumainfo dt_overlay };'
fi

out=$cache/out
rm -rf "$out" && mkdir -p "$out"
make -C "$pol" -f Makefile.common FLASK_BUILD_DIR="$out" XEN_FULLVERSION="$rel" >"$cache/make.log" 2>&1 \
  || { tail -n 30 "$cache/make.log" >&2; die "policy build failed"; }
bin=$(ls "$out"/xenpolicy-* 2>/dev/null | head -n 1)
[ -s "$bin" ] || { tail -n 30 "$cache/make.log" >&2; die "no xenpolicy-* produced"; }
cp "$bin" "$cache/xenpolicy"
echo "$suite $(basename "$orig")" > "$cache/source"
printf '%s' "$stamp" > "$cache/stamp"
echo "flask-policy: Xen $rel: $suite's $(basename "$orig") -> $cache/xenpolicy ($(stat -c %s "$cache/xenpolicy") bytes)"
