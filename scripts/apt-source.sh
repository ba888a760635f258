#!/bin/sh
# Download a Debian source package, verified by apt, without touching the
# host's apt configuration: a private apt configuration whose deb-src line
# uses the machine's own Debian mirror (read from its apt configuration,
# never written in this repository) and Debian's archive keyring.
#   apt-source.sh PACKAGE SUITE DIR    -> DIR/PACKAGE_*.dsc, .orig.tar.*, ...
# Private apt state lives in DIR/.apt. Nothing is downloaded again when DIR
# already holds the package's .dsc.
set -eu
pkg=${1:?usage: apt-source.sh PACKAGE SUITE DIR}
suite=${2:?usage: apt-source.sh PACKAGE SUITE DIR}
dir=${3:?usage: apt-source.sh PACKAGE SUITE DIR}
die() { echo "apt-source: $*" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if ls "$dir/${pkg}"_*.dsc >/dev/null 2>&1; then exit 0; fi

uri=$( { awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null
         grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; exit}}'
       } | grep -v security | head -n 1 || true)
[ -n "$uri" ] || die "no Debian mirror found in this machine's apt configuration"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"

apt=$dir/.apt
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
echo "deb-src [signed-by=$keyring] $uri $suite main" > "$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
       -o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives" \
       -o APT::Sandbox::User=root
apt-get "$@" -q update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt-get update failed"; }
(cd "$dir" && apt-get "$@" -q source --download-only "$pkg" >"$apt/source.log" 2>&1) \
  || { cat "$apt/source.log" >&2; die "apt-get source $pkg failed"; }
