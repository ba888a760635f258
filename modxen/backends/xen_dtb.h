// Reading the hypervisor node of the device tree Xen gives dom0 (xen_dtb.c).
#ifndef MODXEN_XEN_DTB_H
#define MODXEN_XEN_DTB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Largest blob believed (Xen's dom0 tree is a few tens of KiB).
#define XEN_DTB_MAX (2u << 20)

// The blob's total size if p (avail bytes readable) starts a flattened device
// tree of version 17 or later whose blocks lie inside it; else 0.
size_t xen_dtb_size(const uint8_t *p, size_t avail);

// The hypervisor node's reg entries as (base, size) pairs, at most max of
// them: reg[0] is the grant table, the rest are extended regions. Returns the
// number stored, or -1 when the blob is not a device tree, has no
// /hypervisor node compatible with "xen,xen", or is malformed.
int xen_dtb_hypervisor_regs(const uint8_t *blob, size_t len, uint64_t (*out)[2], int max);

#endif // MODXEN_XEN_DTB_H
