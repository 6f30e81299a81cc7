#!/usr/bin/env bash
# Builds the Debian build guest's disk for one lab kernel (6.1 or 6.12): the cached debootstrap
# root, the kernel's headers as /lib/modules/<release>/build, OpenSSH with the busybox lab's
# key pair and host key (so the launcher's known_hosts and key work unchanged), and
# kgdboe-init as init. Cached outside the clone, keyed by all of those inputs.
# Prints the cache folder: disk.img (raw ext4), kernelrelease.
set -euo pipefail
series=${1:?usage: build-image.sh 6.1|6.12}
here=$(cd "$(dirname "$0")" && pwd)
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
for tool in debootstrap mkfs.ext4 dropbearconvert cpio tar; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "build-image: '$tool' missing (run: build.ps1 Bootstrap)" >&2; exit 2; }
done
kernel=$("$here/../build-kernel.sh" "$series" | tail -1)
initrd=$("$here/../build-initramfs.sh" | tail -1)
rootfs=$("$here/build-rootfs.sh" | tail -1)
key=$(printf '%s\n' "$kernel" "$initrd" "$rootfs" | cat - "$0" "$here/kgdboe-init" | sha256sum | cut -c1-12)
out="$cache/guest-debian-$series-$key"
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

rm -rf "$out"; mkdir -p "$out"
release=$(cat "$kernel/kernelrelease")
stage="$out/stage"
{
    cp -a "$rootfs/rootfs" "$stage"

    # What an out-of-tree module build reads from a built kernel tree: Makefiles, headers
    # (generated ones too), scripts and their host programs, objtool, Module.symvers, .config.
    headers="$stage/usr/src/linux-headers-$release"
    mkdir -p "$headers" "$stage/lib/modules/$release"
    (
        cd "$kernel/src"
        {
            echo Makefile; echo Module.symvers; echo .config
            find arch/x86 -maxdepth 1 -name 'Makefile*'
            find arch/x86 -name Kbuild.platforms -o -name Platform
            find arch/x86 -name include -type d -prune
            find include scripts \( -type f -o -type l \) ! -name '*.o' ! -name '*.cmd'
            if [ -x tools/objtool/objtool ]; then echo tools/objtool/objtool; fi
        } | tar -cf - -T -
    ) | tar -xf - -C "$headers"
    ln -sfn "/usr/src/linux-headers-$release" "$stage/lib/modules/$release/build"

    # The lab's identity: root's key or password 'kgdboe', and the lab's host key converted
    # from dropbear's format to OpenSSH's.
    (cd "$out" && gzip -dc "$initrd/initramfs.cpio.gz" | cpio -id --quiet etc/dropbear/dropbear_ed25519_host_key)
    rm -f "$stage"/etc/ssh/ssh_host_*
    dropbearconvert dropbear openssh "$out/etc/dropbear/dropbear_ed25519_host_key" \
        "$stage/etc/ssh/ssh_host_ed25519_key"
    chmod 600 "$stage/etc/ssh/ssh_host_ed25519_key"
    ssh-keygen -y -f "$stage/etc/ssh/ssh_host_ed25519_key" > "$stage/etc/ssh/ssh_host_ed25519_key.pub"
    rm -rf "$out/etc"
    cat > "$stage/etc/ssh/sshd_config.d/kgdboe-lab.conf" <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin yes
PasswordAuthentication yes
UseDNS no
CONF
    mkdir -p "$stage/root/.ssh"
    cp "$initrd/id_ed25519.pub" "$stage/root/.ssh/authorized_keys"
    chmod 700 "$stage/root/.ssh"; chmod 600 "$stage/root/.ssh/authorized_keys"
    echo 'root:kgdboe' | chroot "$stage" chpasswd
    echo kgdboe-debian > "$stage/etc/hostname"
    install -m 755 "$here/kgdboe-init" "$stage/sbin/kgdboe-init"

    # Room for module builds on top of what is there.
    size_mb=$(( $(du -sm "$stage" | cut -f1) * 12 / 10 + 512 ))
    mkfs.ext4 -q -F -L kgdboe-debian -d "$stage" "$out/disk.img" "${size_mb}M"
    echo "$release" > "$out/kernelrelease"
    rm -rf "$stage"
} > "$out/build.log" 2>&1 || { echo "build-image: failed, see $out/build.log" >&2; tail -20 "$out/build.log" >&2; exit 1; }
touch "$out/.done"
echo "$out"
