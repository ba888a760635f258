#!/bin/busybox sh
# /init of make run's dom0 (busybox, no Xen toolstack): the modxen firmware is the
# toolstack, and its REPL is the console. Loads the Xen, virtio and 9p drivers, mounts
# the image store at /images (read-only) and the host's flash directory at /flash (9p
# shares of the run directory), starts the REPL on a pty and joins it to both consoles
# with consmux: hvc0 (Xen's console: QEMU's serial, the user's terminal) and hvc1 (a
# virtio console on a local TCP socket, for mpremote). When the REPL ends, the machine
# powers off (QEMU exits).
/bin/busybox --install -s /bin
export PATH=/bin HOME=/flash
mkdir -p /proc /sys /dev /run /tmp /var /images /flash
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1
ln -sf /run /var/run
up() { cut -d' ' -f1 /proc/uptime; }
echo "dom0: init at $(up)s"
fatal() { echo "dom0: FATAL: $*"; sleep 2; poweroff -f; sleep 10; }
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || fatal "insmod $m"
done
echo "dom0: drivers loaded at $(up)s"
mount -t xenfs xenfs /proc/xen || fatal "mount xenfs"
opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,ro" images /images || fatal "mount the image store (9p) at /images"
mount -t 9p -o "$opts" flash /flash || fatal "mount the flash directory (9p) at /flash"
mdev -s 2>/dev/null
for d in /dev/xen/privcmd /dev/xen/evtchn /dev/hvc1; do [ -e $d ] || fatal "$d missing"; done
echo "dom0: up at $(up)s, starting the modxen REPL"
/bin/micropython -X heapsize=64M -m xen.repl /dev/repl --quiet --root /flash --boot /etc/modxen-boot.py </dev/null >/dev/console 2>&1 &
repl=$!
/bin/consmux /dev/repl /dev/hvc0 /dev/hvc1 &
wait $repl
echo "dom0: the REPL exited ($?); powering off"
poweroff -f
sleep 10
