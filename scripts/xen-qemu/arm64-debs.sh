# Shared by fetch.sh and fetch-xl.sh (sourced; the caller defines die()).
# Debian arm64 packages at exact versions, downloaded and verified by apt,
# unpacked privately (nothing arm64 is installed on the host).

# arm64_versions PKG... : prints "PKG=VERSION" lines, the candidates apt
# would take now (a cache is valid only while these match).
arm64_versions() {
  local policy p v
  policy=$(apt-cache policy "${@/%/:arm64}")
  for p in "$@"; do
    v=$(awk -v p="$p:arm64:" '$1==p{f=1; next} f && /Candidate:/{print $2; exit}' <<<"$policy")
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
  (cd "$cache/debs" && apt-get -q -o APT::Sandbox::User="$(id -un)" download "${args[@]}") \
    >"$cache/download.log" 2>&1 || { cat "$cache/download.log" >&2; die "apt-get download failed"; }
  for d in "$cache/debs"/*.deb; do dpkg -x "$d" "$cache/root"; done
}
