#!/usr/bin/env bash
# Builds the lab kernel for one Debian linux-source version (6.1 or 6.12) and caches it
# outside the clone, keyed by the source package version and the config fragment's hash.
# Prints the cache folder: bzImage, System.map, vmlinux, and src/ (usable as KDIR).
# KGDBOE_KERNEL_PATCHES=none builds the same kernel without tests/lab/patches/ (the kernel users
# run: stock KGDB, whose hardware breakpoints never report a hit) in a folder of its own; unset,
# the cache key is the one it always was.
set -euo pipefail
series=${1:?usage: build-kernel.sh 6.1|6.12}
here=$(cd "$(dirname "$0")" && pwd)
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
tarball=/usr/src/linux-source-$series.tar.xz
[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install linux-source-$series)" >&2; exit 2; }
pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$series")
# Bump recipe when a change to this script changes what it produces.
recipe=2
patches=${KGDBOE_KERNEL_PATCHES:-all}
case "$patches" in
  all) patchfiles=("$here"/patches/*.patch)
       confhash=$( (cat "$here/kernel.config" "${patchfiles[@]}"; echo "recipe=$recipe") | sha256sum | cut -c1-12) ;;
  none) patchfiles=()
        confhash=$( (cat "$here/kernel.config"; echo "recipe=$recipe"; echo "patches=none") | sha256sum | cut -c1-12)-unpatched ;;
  *) echo "build-kernel: KGDBOE_KERNEL_PATCHES=$patches (all or none)" >&2; exit 2 ;;
esac
out="$cache/kernel-$series-${pkgver//\~/_}-$confhash"
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

# One build per folder at a time: a second caller waits for the first and reuses its result.
mkdir -p "$cache"
exec 9> "$out.lock"
flock 9
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

# The unpatched kernel is the patched one with its patches taken back out: a copy of the patched
# build tree (timestamps kept), `patch -R`, and make recompiles the patched files and links again.
# Measured: 6.12 in 1 min (a cold build: 10); 6.1 in 10 min (cold: 15), because objtool rebuilds
# at the new path and 6.1's Kbuild then recompiles every object objtool checks. Same sources and
# config, so the same kernel (the three patched files equal the tarball's; same symbols).
base=
if [ "$patches" = none ]; then
  base=$(KGDBOE_KERNEL_PATCHES=all bash "$0" "$series" | tail -1)
  [ -f "$base/.done" ] || { echo "build-kernel: the patched $series kernel did not build" >&2; exit 1; }
fi

rm -rf "$out"; mkdir -p "$out"
log="$out/build.log"
{
  if [ -n "$base" ]; then
    echo "build-kernel: from $base/src, its patches reversed"
    cp -a "$base/src" "$out/src"
    cd "$out/src"
    mapfile -t applied < <(printf '%s\n' "$here"/patches/*.patch | sort -r)
    for p in "${applied[@]}"; do patch -R -p1 --no-backup-if-mismatch < "$p"; done
    # The copied tree keeps its .config: writing it again would rebuild every object.
  else
    tar -C "$out" -xf "$tarball"
    mv "$out/linux-source-$series" "$out/src"
    cd "$out/src"
    # Fixes the lab needs in the kernel itself; each patch says why at its top.
    for p in ${patchfiles[@]+"${patchfiles[@]}"}; do patch -p1 --no-backup-if-mismatch < "$p"; done
    make tinyconfig
    scripts/kconfig/merge_config.sh -m .config "$here/kernel.config"
    make olddefconfig
  fi
  # Every option the fragment asks for must have survived olddefconfig.
  missing=0
  while IFS= read -r line; do
    case "$line" in CONFIG_*=*) grep -qx "$line" .config || { echo "config: $line did not stick" >&2; missing=1; } ;; esac
  done < "$here/kernel.config"
  [ "$missing" = 0 ]
  make -j3 bzImage modules
  cp arch/x86/boot/bzImage System.map vmlinux "$out/"
  make -s kernelrelease > "$out/kernelrelease"
} > "$log" 2>&1 || { echo "build-kernel: failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
touch "$out/.done"
echo "$out"
