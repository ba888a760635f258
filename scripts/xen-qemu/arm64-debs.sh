# Shared by fetch.sh, fetch-xl.sh and scripts/xen-release-headers.sh (sourced; the
# caller defines die()). Debian arm64 packages at exact versions, downloaded and verified
# by apt, unpacked privately (nothing arm64 is installed on the host).
#
# Two kinds of apt configuration:
#   - the host's own (its Debian release, e.g. bookworm), with arm64 added as a foreign
#     architecture by fetch.sh: APT_OPTS stays empty;
#   - another Debian release (e.g. trixie for Xen 4.20): suite_apt SUITE DIR sets APT_OPTS
#     to a private apt configuration in DIR (sources, lists, caches, an empty dpkg
#     status), so the host's apt and dpkg are only read, never changed.
APT_OPTS=()

# The Xen releases the real-Xen tier boots: the Debian suite that ships each one.
xen_release_suite() {
  case "$1" in
    4.17) echo bookworm ;;
    4.20) echo trixie ;;
    *) return 1 ;;
  esac
}

# The host's Debian codename (a suite equal to it needs no private apt configuration).
host_suite() {
  (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}

# debian_mirrors : prints the machine's own Debian mirror and, if it has one, its
# security mirror (as scripts/apt-source.sh does: read from the machine's apt
# configuration, never written in this repository).
debian_mirrors() {
  local uris
  uris=$( { awk '/^URIs:/{for(i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null
            grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | awk '{for(i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; break}}'
          } || true)
  grep -v security <<<"$uris" | head -n 1 || true
  grep security <<<"$uris" | head -n 1 || true
}

# suite_apt SUITE DIR : a private apt configuration for Debian SUITE (SUITE,
# SUITE-updates and, where the machine has a security mirror, SUITE-security; main;
# arm64 only) in DIR, verified against Debian's archive keyring; sets APT_OPTS. The
# indexes are downloaded again after a day (if that fails, the old ones are used,
# with a warning).
suite_apt() {
  local suite=$1 dir=$2 keyring=/usr/share/keyrings/debian-archive-keyring.gpg mirrors main sec
  [ -f "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"
  mirrors=$(debian_mirrors)
  main=$(sed -n 1p <<<"$mirrors")
  sec=$(sed -n 2p <<<"$mirrors")
  [ -n "$main" ] || die "no Debian mirror found in this machine's apt configuration"
  mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/cache"
  [ -f "$dir/status" ] || : > "$dir/status"   # dpkg's status: nothing installed
  {
    echo "deb [arch=arm64 signed-by=$keyring] $main $suite main"
    echo "deb [arch=arm64 signed-by=$keyring] $main $suite-updates main"
    [ -z "$sec" ] || echo "deb [arch=arm64 signed-by=$keyring] $sec $suite-security main"
  } > "$dir/sources.list.new"
  local changed=1
  cmp -s "$dir/sources.list.new" "$dir/sources.list" 2>/dev/null && changed=0
  mv "$dir/sources.list.new" "$dir/sources.list"
  APT_OPTS=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
            -o Dir::State::Lists="$dir/lists" -o Dir::State::status="$dir/status"
            -o Dir::Cache="$dir/cache" -o Dir::Cache::Archives="$dir/archives"
            -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
  if [ $changed = 1 ] || [ -z "$(find "$dir/updated" -mmin -1440 2>/dev/null)" ]; then
    echo "xen-qemu: apt-get update for $suite (arm64, private configuration)" >&2
    if apt-get "${APT_OPTS[@]}" -o APT::Sandbox::User="$(id -un)" -q update >"$dir/update.log" 2>&1 \
       && ! grep -q '^E:' "$dir/update.log"; then
      touch "$dir/updated"
    elif [ $changed = 0 ] && ls "$dir/lists"/*_Packages* >/dev/null 2>&1; then
      echo "xen-qemu: WARNING: apt-get update for $suite failed; using the indexes from before:" >&2
      grep '^[WE]:' "$dir/update.log" >&2 || true
    else
      cat "$dir/update.log" >&2; die "apt-get update for $suite failed"
    fi
  fi
}

# arm64_versions PKG... : prints "PKG=VERSION" lines, the candidates apt
# would take now (a cache is valid only while these match).
arm64_versions() {
  local policy p v
  policy=$(apt-cache "${APT_OPTS[@]}" policy "${@/%/:arm64}")
  for p in "$@"; do
    v=$(awk -v p="$p:arm64:" -v q="$p:" '($1==p || $1==q){f=1; next} f && /Candidate:/{print $2; exit}' <<<"$policy")
    [ -n "$v" ] && [ "$v" != "(none)" ] || die "no arm64 candidate for $p"
    echo "$p=$v"
  done
}

# arm64_unpack CACHE WANT : downloads the "PKG=VERSION" lines of WANT into
# CACHE/debs and unpacks every .deb into CACHE/root.
arm64_unpack() {
  local cache=$1 want=$2 pv d args=()
  rm -rf "$cache/debs" "$cache/root"
  mkdir -p "$cache/debs" "$cache/root"
  while read -r pv; do [ -n "$pv" ] && args+=("${pv%%=*}:arm64=${pv#*=}"); done <<<"$want"
  # apt-get download writes into the current directory; the _apt sandbox user
  # may not be able to write there, so download as the invoking user.
  (cd "$cache/debs" && apt-get "${APT_OPTS[@]}" -q -o APT::Sandbox::User="$(id -un)" download "${args[@]}") \
    >"$cache/download.log" 2>&1 || { cat "$cache/download.log" >&2; die "apt-get download failed"; }
  for d in "$cache/debs"/*.deb; do dpkg -x "$d" "$cache/root"; done
}
