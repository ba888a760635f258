# xen-boot: dom0less
# The reference for the adoption of boot-time domains (scripts/xen-qemu/dom0less-ref.sh):
# in the same boot as tests/xen/dom0/test_dom0less.py, Debian's xenstored and
# init-dom0less (the booted release's xen-utils, chrooted from /mnt/host/xl) adopt
# domid 1; the guest is told as our test tells it (control/sysrq), reads its name and
# writes data/probe. Prints xenstore-ls -f -p of the domain's nodes ("TREE ...") and
# PASS/FAIL lines.
R=/run/xlroot
rel=$(sed -n 's/.*"release": "\([0-9.]*\)".*/\1/p' /tests/EXPECT.json)
BIN=/usr/lib/xen-$rel/bin
H=/local/domain/1
x() { chroot $R /usr/bin/xenstore "$@"; }
cp -a /mnt/host/xl $R || { echo "FAIL setup: no chroot at /mnt/host/xl"; exit 0; }
mkdir -p $R/dev $R/proc $R/sys $R/run $R/tmp $R/var/lib/xen $R/var/log/xen
mount -o rbind /dev $R/dev && mount -o rbind /proc $R/proc && mount -o rbind /sys $R/sys &&
  mount -t tmpfs tmpfs $R/run
rm -rf $R/var/run && ln -s /run $R/var/run && mkdir -p $R/run/xen
chroot $R $BIN/xenstored --pid-file /run/xenstored.pid || { echo "FAIL xenstored"; exit 0; }
chroot $R $BIN/xen-init-dom0 || echo "INFO xen-init-dom0 failed"
t0=$(cut -d' ' -f1 /proc/uptime)
if chroot $R $BIN/init-dom0less; then echo "PASS init_dom0less"; else echo "FAIL init_dom0less: status $?"; fi
echo "INFO init-dom0less took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{print b-a}') s"
x write $H/control/sysrq 4
i=0
until [ -n "$(x read $H/data/probe 2>/dev/null)" ] || [ $i -ge 120 ]; do sleep 1; i=$((i + 1)); done
if [ "$(x read $H/data/probe 2>/dev/null)" = "ok from $(x read $H/name)" ]; then echo "PASS guest_probe"
else echo "FAIL guest_probe: data/probe = '$(x read $H/data/probe 2>&1)'"; fi
sleep 2
# every node of the home (and the domain's /vm and /libxl entries), value and permissions
for p in $H /vm /libxl; do x ls -f -p $p 2>/dev/null | sed 's/^/TREE /'; done
