#!/bin/sh
# Fetch MicroPython's source from Debian's `micropython` source package (trixie) into $1
# (verified by apt; see apt-source.sh).
set -eu
dest=${1:?usage: fetch-micropython.sh DESTDIR}
suite=${MODXEN_MICROPYTHON_SUITE:-trixie}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
if [ -f "$dest/micropython/py/mpconfig.h" ]; then exit 0; fi

sh "$(dirname "$0")/apt-source.sh" micropython "$suite" "$dest/apt"
orig=$(ls "$dest"/apt/micropython_*.orig.tar.* | head -n 1)
rm -rf "$dest/unpack" && mkdir -p "$dest/unpack"
tar -C "$dest/unpack" -xf "$orig"
rm -rf "$dest/micropython"
mv "$dest/unpack"/micropython-* "$dest/micropython"
rmdir "$dest/unpack"
echo "fetch-micropython: $(basename "$orig") unpacked to $dest/micropython"
