#!/bin/sh
# Fetch MicroPython's source from Debian's `micropython` source package (trixie) into $1.
# apt verifies the download against the archive's signed index. The host's own apt
# configuration is only read (for the mirror URI and keyring), never changed.
set -eu
dest=${1:?usage: fetch-micropython.sh DESTDIR}
suite=${MODXEN_MICROPYTHON_SUITE:-trixie}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
if [ -f "$dest/micropython/py/mpconfig.h" ]; then exit 0; fi

uri=$( { awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null
         grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; exit}}'
       } | grep -v security | head -n 1)
[ -n "$uri" ] || { echo "fetch-micropython: no Debian mirror found in this machine's apt configuration" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "fetch-micropython: $keyring missing (install debian-archive-keyring)" >&2; exit 1; }

apt="$dest/apt"
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
echo "deb-src [signed-by=$keyring] $uri $suite main" > "$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
       -o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives" \
       -o APT::Sandbox::User=root
apt-get "$@" -q update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; exit 1; }
(cd "$apt" && apt-get "$@" -q source --download-only micropython >"$apt/source.log" 2>&1) || { cat "$apt/source.log" >&2; exit 1; }
orig=$(ls "$apt"/micropython_*.orig.tar.* | head -n 1)
rm -rf "$dest/unpack" && mkdir -p "$dest/unpack"
tar -C "$dest/unpack" -xf "$orig"
rm -rf "$dest/micropython"
mv "$dest/unpack"/micropython-* "$dest/micropython"
rmdir "$dest/unpack"
echo "fetch-micropython: $(basename "$orig") unpacked to $dest/micropython"
