// The one hypervisor interface every modxen backend implements.
//
// modxen.c marshals Xen's ABI structs (xenabi.h) and hands them to a backend
// through these functions. A backend only decides *how* a hypercall is
// issued, how guest frames are mapped into dom0 and how dom0's event
// channels are bound and delivered:
//   backends/sim/      in-process model of Xen (host tests)
//   backends/linux.c   /dev/xen/privcmd + /dev/xen/evtchn (Linux dom0)
//   backends/zephyr.c  Zephyr's Xen API (the board)
//
// Conventions: functions return >= 0 on success and a negative Xen errno
// (-XEN_Exxx, same numbering as public/errno.h) on failure. They never raise;
// the binding turns errors into OSError. Nothing here allocates on the
// MicroPython heap.
#ifndef MODXEN_XENHV_H
#define MODXEN_XENHV_H

#include <stdbool.h>
#include "xenabi.h"

// Largest dom0 event channel port the binding tracks (2-level ABI on 64-bit
// guests supports 4096).
#define XENHV_MAX_PORTS 4096

// Hypercall argument memory. On Linux, buffers handed to Xen (the op struct
// and everything its guest handles point to) must be hypercall-safe, so all
// marshalling happens in this one page-aligned scratch area. Calls are
// serialised by the binding (GIL / single interpreter thread).
// XENHV_SCRATCH_SIZE bytes, page aligned. A backend may define a smaller
// size (a board); the binding chunks large requests to fit.
#ifndef XENHV_SCRATCH_SIZE
#define XENHV_SCRATCH_SIZE (64 * 4096)
#endif
uint8_t *xenhv_scratch(void);

// Bring the backend up (open devices, bind the upcall path). Idempotent.
// Returns 0 or -errno.
int xenhv_init(void);

// Name of the backend: "sim", "linux" or "zephyr".
extern const char xenhv_backend_name[];

// Issue hypercall `op` (__HYPERVISOR_*) with up to five arguments. Pointer
// arguments point into xenhv_scratch().
long xenhv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
    unsigned long a3, unsigned long a4, unsigned long a5);

// Map `n` frames of domain `domid` (guest frame numbers in `gfns`) as one
// contiguous dom0 region. `errs[i]` receives 0 or -errno per frame. Returns 0
// and stores the address in *addr when every frame mapped; otherwise nothing
// stays mapped and the first per-frame error is returned.
int xenhv_map_foreign(domid_t domid, const xen_pfn_t *gfns, int *errs,
    size_t n, bool writable, void **addr);
// Undo xenhv_map_foreign: release the foreign frames (the guest's page
// references) but keep the dom0 address range addressable, backed by inert
// private memory, so that a stale memoryview of a closed mapping reads junk
// instead of faulting. Returns 0 or -errno.
int xenhv_unmap_foreign(void *addr, size_t n);
// Called when the Python object is collected. A memoryview of the mapping
// can still exist (MicroPython's memoryview does not keep its owner alive),
// so a backend must not let the range fault or be handed out again while
// such a view could reach it: the unix backends keep it reserved and inert.
void xenhv_release_va(void *addr, size_t n);

// Dom0's own event channels. Each bind returns the new local port.
int xenhv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port);
int xenhv_evtchn_bind_virq(uint32_t virq);
int xenhv_evtchn_alloc_unbound(domid_t remote_dom);
int xenhv_evtchn_notify(evtchn_port_t port);
int xenhv_evtchn_unmask(evtchn_port_t port);
int xenhv_evtchn_close(evtchn_port_t port);

// Implemented by the binding (modxen.c), called by a backend when an event
// arrives on a local port. Safe from any context (ISR, another thread): it
// only sets a pending bit, schedules one coalescing scheduler node and asks
// the backend to wake the interpreter.
void modxen_upcall(evtchn_port_t port);
// Implemented by the backend: make a blocked interpreter (REPL read, sleep,
// poll) notice pending work. Called from modxen_upcall.
void xenhv_wake(void);
// Implemented by the backend, called on the interpreter's thread by
// _xen.wait(): block up to timeout_ms (-1: no limit) until an event arrives
// (delivered through modxen_upcall on this thread where the backend can, so
// no other thread has to wake) or other work is scheduled, and return at
// once if work is already scheduled. Returns 0 when it has waited,
// XENHV_WAIT_BY_PORT when MicroPython's own event wait (mp_event_wait_ms,
// which xenhv_wake ends) should do it instead (the board), or -errno if the
// backend cannot wait (not brought up). A signal (Ctrl-C) ends the wait.
#define XENHV_WAIT_BY_PORT 1
int xenhv_wait(int timeout_ms);

#endif // MODXEN_XENHV_H
