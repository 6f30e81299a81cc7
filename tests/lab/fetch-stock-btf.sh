#!/usr/bin/env bash
# Saves the BTF of Debian's own kernel (linux-image-amd64) for the type tests and the BTF benchmark:
# the .BTF section of the vmlinux inside the package's vmlinuz, cached outside the clone by package
# version. Prints the path of the blob (vmlinux.btf); the tests find it there (or in $KGDBOE_STOCK_BTF).
# Needs the kernel source tarball for scripts/extract-vmlinux (/usr/src/linux-source-*.tar.xz) and objcopy.
set -euo pipefail
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$pkg" ] || { echo "fetch-stock-btf: linux-image-amd64 is not in apt's lists (apt-get update)" >&2; exit 2; }
version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
out="$cache/stock-btf-$pkg-$version"
if [ -f "$out/.done" ]; then echo "$out/vmlinux.btf"; exit 0; fi

src=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
[ -n "$src" ] || { echo "fetch-stock-btf: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source) for scripts/extract-vmlinux" >&2; exit 2; }
rm -rf "$out"; mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar -xf "$src" -C "$tmp" --wildcards '*/scripts/extract-vmlinux'
(cd "$tmp" && apt-get download "$pkg") >&2
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
release=${pkg#linux-image-}
sh "$tmp"/*/scripts/extract-vmlinux "$tmp/boot/vmlinuz-$release" > "$tmp/vmlinux"
objcopy -O binary --only-section=.BTF "$tmp/vmlinux" "$out/vmlinux.btf"
[ -s "$out/vmlinux.btf" ] || { echo "fetch-stock-btf: $pkg's vmlinux has no .BTF section" >&2; exit 3; }
echo "$release" > "$out/kernelrelease"
touch "$out/.done"
echo "$out/vmlinux.btf"
