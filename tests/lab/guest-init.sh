#!/bin/sh
# /init of the lab's initramfs: mounts, static network for QEMU user networking, dropbear.
# The guest opens no outbound connection of its own.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp /var/log /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
# A distribution kernel (fetch-stock-kernel.sh) brings its NIC driver as a module.
for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
hostname kgdboe-lab
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22
echo "lab: ready $(uname -r)"
# init must never exit; the serial console has no input to give a shell.
while true; do sleep 3600; done
