#!/bin/busybox sh
# /init of the real-Xen tier's dom0 (busybox). No Xen toolstack: no xenstored, no
# xenconsoled, no xl. Loads the Xen and 9p drivers, mounts the host share, runs every
# test under /tests with a per-test time limit, leaves the output in the share and
# powers the machine off. Every failure is reported, never hidden.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /run /tmp /mnt/host /var
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
ln -sf /run /var/run
echo "dom0-init: up $(cut -d' ' -f1 /proc/uptime)s"

fatal() {
  echo "dom0-init: FATAL $*"
  [ -d /mnt/host/results ] && echo "$*" > /mnt/host/results/FATAL
  sync; poweroff -f; sleep 10
}

for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || fatal "insmod $m"
done
mount -t xenfs xenfs /proc/xen || fatal "mount xenfs"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host0 /mnt/host || fatal "mount 9p share"
mkdir -p /mnt/host/results || fatal "no results dir in share"
mdev -s 2>/dev/null
for d in privcmd hypercall evtchn; do [ -e /dev/xen/$d ] || fatal "/dev/xen/$d missing"; done

limit=$(cat /tests/TIMEOUT 2>/dev/null || echo 120)
echo "dom0-init: running tests (limit ${limit}s each) at $(cut -d' ' -f1 /proc/uptime)s"
for t in /tests/test_*; do
  name=${t##*/}
  case "$name" in
    *.py) run="/bin/micropython $t" ;;
    *.sh) run="/bin/sh $t" ;;
    *) continue ;;
  esac
  start=$(cut -d' ' -f1 /proc/uptime)
  (cd /tests && timeout "$limit" $run) > "/mnt/host/results/$name.out" 2>&1
  rc=$?
  echo "$rc" > "/mnt/host/results/$name.rc"
  end=$(cut -d' ' -f1 /proc/uptime)
  echo "dom0-init: $name rc=$rc ${start}s..${end}s"
done
echo "$(cut -d' ' -f1 /proc/uptime)" > /mnt/host/results/DONE
sync
umount /mnt/host
echo "dom0-init: done, powering off"
poweroff -f
sleep 10
