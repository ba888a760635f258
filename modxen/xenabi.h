// Xen's public ABI, as modxen sees it: Xen's own headers, Arm64 layout.
//
// The product runs on Arm64. The sim backend is built on the development
// host (usually x86_64), where <xen/xen.h> would pick the x86 layout for the
// arch-specific parts (xen_arch_domainconfig, vcpu_guest_context). Including
// the headers with the Arm64 selector makes every backend marshal the one ABI
// the board uses. The headers themselves come from the build environment
// (Debian's libxen-dev on the host, the Zephyr/xenlib tree on target); none
// is copied into this repository.
#ifndef MODXEN_XENABI_H
#define MODXEN_XENABI_H

#include <stdint.h>
#include <stddef.h>

#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#if defined(__x86_64__) && !defined(MODXEN_NATIVE_ABI)
#define MODXEN_FORCED_ARM_ABI 1
#pragma push_macro("__x86_64__")
#undef __x86_64__
#define __aarch64__ 1
#endif

#if defined(MODXEN_ZEPHYR_XEN_HEADERS)
// Zephyr trees before 2026 carry the headers under <zephyr/xen/public/...>.
#include <zephyr/xen/public/xen.h>
#include <zephyr/xen/public/domctl.h>
#include <zephyr/xen/public/sysctl.h>
#include <zephyr/xen/public/memory.h>
#include <zephyr/xen/public/event_channel.h>
#include <zephyr/xen/public/hvm/params.h>
#include <zephyr/xen/public/hvm/hvm_op.h>
#include <zephyr/xen/public/xsm/flask_op.h>
#include <zephyr/xen/public/version.h>
#include <zephyr/xen/public/sched.h>
#include <zephyr/xen/public/device_tree_defs.h>
#else
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/memory.h>
#include <xen/event_channel.h>
#include <xen/hvm/params.h>
#include <xen/hvm/hvm_op.h>
#include <xen/xsm/flask_op.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/device_tree_defs.h>
#endif

#ifdef MODXEN_FORCED_ARM_ABI
#undef __aarch64__
#pragma pop_macro("__x86_64__")
#endif

// The domctl/sysctl interface this build speaks (Xen 4.17 = 0x15).
#define MODXEN_DOMCTL_VERSION XEN_DOMCTL_INTERFACE_VERSION
#define MODXEN_SYSCTL_VERSION XEN_SYSCTL_INTERFACE_VERSION

#endif // MODXEN_XENABI_H
