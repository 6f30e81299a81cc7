#!/usr/bin/env bash
# Bootstraps a minimal Debian bookworm root with a compiler and OpenSSH, cached outside the
# clone and keyed by the package list and this script. Prints the cache folder (rootfs/ inside).
# The rootfs is kept pristine; build-image.sh copies it before adding kernel headers and keys.
set -euo pipefail
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
mirror=${KGDBOE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# gcc/make/libc6-dev build the module; libelf1 runs the kernel tree's prebuilt objtool;
# kmod gives insmod/rmmod; iproute2 sets up eth0; openssh-server is the real SSH peer.
packages=gcc,make,libc6-dev,libelf1,kmod,iproute2,openssh-server
key=$(printf '%s\n' "$packages" "$mirror" | cat - "$0" | sha256sum | cut -c1-12)
out="$cache/debian-bookworm-$key"
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

rm -rf "$out"; mkdir -p "$out"
if ! debootstrap --variant=minbase --include="$packages" bookworm "$out/rootfs" "$mirror" \
        > "$out/debootstrap.log" 2>&1; then
    echo "build-rootfs: debootstrap failed, see $out/debootstrap.log" >&2
    tail -20 "$out/debootstrap.log" >&2
    exit 1
fi
# Apt's package cache is not needed inside the guest image.
rm -rf "$out/rootfs/var/cache/apt/archives/"*.deb "$out/rootfs/var/lib/apt/lists/"*
touch "$out/.done"
echo "$out"
