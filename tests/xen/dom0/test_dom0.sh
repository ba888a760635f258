# Dom0 environment checks (busybox sh): the Linux dom0 is a control domain with the Xen
# devices our linux backend uses, and no Xen toolstack runs in it.
check() { # check <case> <command...>
  c=$1; shift
  if "$@" >/tmp/check.out 2>&1; then echo "PASS $c"; else echo "FAIL $c: $* -> $(head -c 200 /tmp/check.out)"; fi
}
check control_domain grep -qx control_d /proc/xen/capabilities
for d in privcmd hypercall evtchn gntdev gntalloc; do check "dev_$d" test -c /dev/xen/$d; done
check xsd_port test -r /proc/xen/xsd_port
check no_toolstack sh -c '! ps | grep -v grep | grep -q -e xenstored -e xenconsoled'
check firmware_runs sh -c '/bin/micropython -c "import sys; print(sys.platform)" | grep -qx linux'
