#!/usr/bin/env bash
# Fetches Debian's own kernel (linux-image-amd64: no KGDB, with the lockdown LSM) for the tests
# of what Install-KgdboeModule says on such a kernel, cached outside the clone by package version.
# Prints the cache folder: bzImage, kernelrelease and initramfs.cpio.gz (the lab's initramfs with
# the kernel's own e1000 module added: Debian builds the driver as a module).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$pkg" ] || { echo "fetch-stock-kernel: linux-image-amd64 is not in apt's lists (apt-get update)" >&2; exit 2; }
version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
initrd=$(bash "$here/build-initramfs.sh" | tail -1)
out="$cache/stock-$pkg-$version-$(basename "$initrd")"
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

rm -rf "$out"; mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current folder (as root it warns that _apt cannot: harmless).
(cd "$tmp" && apt-get download "$pkg") >&2
dpkg-deb -x "$tmp"/*.deb "$tmp/x"
release=${pkg#linux-image-}
cp "$tmp/x/boot/vmlinuz-$release" "$out/bzImage"
echo "$release" > "$out/kernelrelease"
# The kernel unpacks concatenated archives in turn: the second adds /lib/modules/e1000.ko,
# which the lab's /init loads when it finds it.
mkdir -p "$tmp/overlay/lib/modules"
cp "$(find "$tmp/x/lib/modules" -name e1000.ko | head -1)" "$tmp/overlay/lib/modules/"
(cd "$tmp/overlay" && find . | cpio -o -H newc --quiet | gzip -9) > "$tmp/modules.cpio.gz"
cat "$initrd/initramfs.cpio.gz" "$tmp/modules.cpio.gz" > "$out/initramfs.cpio.gz"
touch "$out/.done"
echo "$out"
