#!/usr/bin/env bash
# Builds the lab guest's initramfs (busybox, dropbear + sftp-server, the workload program)
# with a lab SSH key pair and host key, cached outside the clone by a hash of its inputs.
# Prints the cache folder: initramfs.cpio.gz, id_ed25519(.pub), host_key.pub.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KGDBOE_CACHE:-$HOME/.cache/kgdboe}
for tool in busybox dropbear dropbearkey ssh-keygen cpio gzip gcc openssl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "build-initramfs: '$tool' missing (run: build.ps1 Bootstrap)" >&2; exit 2; }
done
[ -x /usr/lib/openssh/sftp-server ] || { echo "build-initramfs: sftp-server missing (openssh-sftp-server)" >&2; exit 2; }
inputs=$(cat "$0" "$here/guest-init.sh" "$here/workload.c"; dpkg-query -W busybox-static dropbear-bin openssh-sftp-server)
out="$cache/initramfs-$(echo "$inputs" | sha256sum | cut -c1-12)"
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi

rm -rf "$out"; mkdir -p "$out"
root="$out/root"
mkdir -p "$root"/{bin,sbin,etc/dropbear,proc,sys,dev,tmp,root/.ssh,usr/lib,usr/sbin,lib64,lib/x86_64-linux-gnu,var/log,run}

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# dropbear and sftp-server are dynamically linked: bring their libraries along.
copy_with_libs() {
  cp "$1" "$root$2"
  ldd "$1" | awk '/=> \//{print $3} /^[ \t]*\/lib64\//{print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
  done
}
copy_with_libs /usr/sbin/dropbear /usr/sbin/dropbear
copy_with_libs /usr/lib/openssh/sftp-server /usr/lib/sftp-server

gcc -static -O2 -Wall -Werror -o "$root/bin/workload" "$here/workload.c"
install -m 755 "$here/guest-init.sh" "$root/init"

# Accounts: root logs in with the lab key or the password 'kgdboe'.
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo "root:$(openssl passwd -6 kgdboe):19000:0:99999:7:::" > "$root/etc/shadow"
chmod 600 "$root/etc/shadow"
echo /bin/sh > "$root/etc/shells"
ssh-keygen -q -t ed25519 -N '' -C kgdboe-lab -f "$out/id_ed25519"
cp "$out/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
chmod 700 "$root/root" "$root/root/.ssh"; chmod 600 "$root/root/.ssh/authorized_keys"
dropbearkey -t ed25519 -f "$root/etc/dropbear/dropbear_ed25519_host_key" >/dev/null
dropbearkey -y -f "$root/etc/dropbear/dropbear_ed25519_host_key" | grep '^ssh-' | cut -d' ' -f1,2 > "$out/host_key.pub"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -9) > "$out/initramfs.cpio.gz"
rm -rf "$root"
touch "$out/.done"
echo "$out"
