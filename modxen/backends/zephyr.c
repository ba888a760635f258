// modxen backend for a Zephyr dom0: Zephyr's Xen API.
//
//   hypercalls   Zephyr's HYPERVISOR_* stubs (arch/arm64 hypercall.h); the
//                ones a released Zephyr lacks (xen_version, sysctl, xsm_op)
//                are three-instruction stubs of our own below
//   guest frames XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign, into
//                Xen's extended regions (the hypervisor node of the device
//                tree Xen wrote for dom0 this boot, reg entries after the
//                grant table; read with xen_dtb.c) mapped into Zephyr's
//                address space; without an extended region, into dom0
//                pages taken from Zephyr's heap and handed back to Xen for
//                as long as the mapping lives
//   events       Zephyr's event-channel driver: its ISR calls our callback,
//                which masks the port, calls modxen_upcall() and wakes the
//                interpreter (mp_hal_signal_event)
//
// Xen's public headers come first (xenhv.h -> xenabi.h, Xen's own headers);
// Zephyr's Xen API headers include Zephyr's copies of some of them, which
// carry the same include guards and are therefore skipped: one definition of
// every Xen struct, Xen's.
//
// Owns: the hypercall stubs, the mapping windows and dom0's event channels
// on Zephyr. Must not know: the binding's structs beyond passing them on,
// or the REPL and console input (board/zephyr.c, _xenboard).
//
// Errors are Xen errnos (negative), as xenhv.h asks; the Zephyr wrappers we
// call return the hypercall's own value.

#include <stdint.h>
#include <string.h>

#include "xenhv.h"
#include "abi.h"
#include "xen_dtb.h"
#if defined(MODXEN_ZEPHYR_XEN_HEADERS)
#include <zephyr/xen/public/errno.h>
#else
#include <xen/errno.h>
#endif

#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <zephyr/kernel/internal/mm.h>
#include <zephyr/init.h>
#include <zephyr/sys/printk.h>
#include <zephyr/linker/linker-defs.h>
#include <zephyr/arch/arm64/hypercall.h>
#include <zephyr/xen/events.h>
#include <zephyr/xen/memory.h>

// MicroPython's Zephyr port (mphalport.c): wake a k_poll wait.
void mp_hal_signal_event(void);

const char xenhv_backend_name[] = "zephyr";

#define PG 4096u

/******************************************************************************/
// Hypercall stubs Zephyr does not provide. Xen's Arm64 ABI: hypercall number
// in x16, arguments in x0-x4, `hvc #XEN_HYPERCALL_TAG`, result in x0. The
// numbers and the tag are Xen's own (xen.h, arch-arm.h).

#define MODXEN_STR_(x) #x
#define MODXEN_STR(x) MODXEN_STR_(x)
#define MODXEN_HYPERCALL_STUB(name, nr) \
    __asm__ (".pushsection .text.modxen_hyp_" #name ",\"ax\",%progbits\n" \
    ".global modxen_hyp_" #name "\n" \
    ".type modxen_hyp_" #name ", %function\n" \
    ".balign 4\n" \
    "modxen_hyp_" #name ":\n" \
    "    mov x16, #" MODXEN_STR(nr) "\n" \
    "    hvc #" MODXEN_STR(XEN_HYPERCALL_TAG) "\n" \
    "    ret\n" \
    ".size modxen_hyp_" #name ", . - modxen_hyp_" #name "\n" \
    ".popsection\n")

MODXEN_HYPERCALL_STUB(xen_version, __HYPERVISOR_xen_version);
MODXEN_HYPERCALL_STUB(sysctl, __HYPERVISOR_sysctl);
MODXEN_HYPERCALL_STUB(xsm_op, __HYPERVISOR_xsm_op);

long modxen_hyp_xen_version(unsigned long cmd, unsigned long arg);
long modxen_hyp_sysctl(unsigned long op);
long modxen_hyp_xsm_op(unsigned long op);

/******************************************************************************/
// Scratch area: ordinary dom0 memory. Xen on Arm reads hypercall buffers
// through dom0's stage-1 tables, and Zephyr never pages them out.

static uint8_t scratch[XENHV_SCRATCH_SIZE] __aligned(PG);

uint8_t *xenhv_scratch(void) {
    return scratch;
}

int xenhv_init(void) {
    // Zephyr maps the shared info page and connects the event ISR at boot
    // (CONFIG_XEN); nothing to open.
    return 0;
}

long xenhv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
    unsigned long a3, unsigned long a4, unsigned long a5) {
    (void)a4;
    (void)a5;
    switch (op) {
        case __HYPERVISOR_console_io:
            return HYPERVISOR_console_io((int)a1, (int)a2, (char *)a3);
        case __HYPERVISOR_sched_op:
            return HYPERVISOR_sched_op((int)a1, (void *)a2);
        case __HYPERVISOR_event_channel_op:
            return HYPERVISOR_event_channel_op((int)a1, (void *)a2);
        case __HYPERVISOR_hvm_op:
            return HYPERVISOR_hvm_op((int)a1, (void *)a2);
        case __HYPERVISOR_memory_op:
            return HYPERVISOR_memory_op((int)a1, (void *)a2);
        case __HYPERVISOR_grant_table_op:
            return HYPERVISOR_grant_table_op((int)a1, (void *)a2, (unsigned int)a3);
        case __HYPERVISOR_domctl:
            return HYPERVISOR_domctl((void *)a1);
        case __HYPERVISOR_xen_version:
            return modxen_hyp_xen_version(a1, a2);
        case __HYPERVISOR_sysctl:
            return modxen_hyp_sysctl(a1);
        case __HYPERVISOR_xsm_op:
            return modxen_hyp_xsm_op(a1);
        default:
            return -XEN_ENOSYS;
    }
}

/******************************************************************************/
// Foreign frames.
//
// A mapping needs n contiguous dom0 frames (guest-physical addresses of dom0)
// to put the guest's frames at. They come from an extended region (address
// space Xen left unused for exactly this) or, without one, from Zephyr's
// heap.
//
// Xen runs an Arm dom0 direct-mapped (guest-physical == machine address).
// That decides how a window is undone:
// - Extended-region frames never belonged to dom0: once the foreign frames
//   are removed, nothing backs them and Xen cannot populate them for dom0
//   (populate_physmap of a direct-mapped domain only takes back the domain's
//   own pages). A stale view of a closed mapping would take a stage-2 fault
//   and kill dom0, so unmapping also points the window's virtual pages
//   (stage 1) at one junk page: stale views read and write junk.
// - Heap frames are dom0's own RAM. Removing them from the physmap keeps the
//   pages allocated to a direct-mapped dom0, so unmapping removes the foreign
//   frames and populates dom0's own pages back at the same addresses.
// release_va (the Mapping was collected) frees the range; the region
// allocator is next-fit, so a freed range is handed out again as late as
// possible, and only then do its virtual pages leave the junk page.

typedef struct {
    uint64_t base;   // guest-physical address of dom0
    uint64_t pages;
    uint8_t *va;     // Zephyr's mapping of the whole region
} region_t;

// The extended regions Xen gave dom0 this boot, as Xen wrote them into the
// device tree it hands dom0 (the hypervisor node's reg[1..]; reg[0] is the
// grant table). Xen computes them per boot and release (4.17 and 4.20 differ
// under the same QEMU board), so a build-time copy would go stale.
//
// Zephyr's reset code reuses x0, the register that carries the blob's
// address, but Xen puts the blob in one of a few places: 2 MiB-aligned in
// dom0's first RAM bank, at +128 MiB, at the top, or just below the kernel
// (xen/arch/arm/kernel.c, place_modules()). Once, at boot (POST_KERNEL, before
// anything could reuse that memory), the 2 MiB boundaries of the RAM bank
// above Zephyr's image are looked at, top down; xen_dtb.c checks every byte
// it reads. Without a blob, a build-time hypervisor node's extended regions
// are used if the board has any, else guest frames go into heap pages.
#define MODXEN_MAX_REGIONS 3
#define DTB_ALIGN (2ull << 20)

static region_t regions[MODXEN_MAX_REGIONS + 1];
static size_t nregions;
#define NREGIONS nregions
static const char *regions_from = "none: guest frames go into dom0 heap pages";

#if DT_HAS_COMPAT_STATUS_OKAY(xen_xen)
#define XEN_NODE DT_INST(0, xen_xen)
#define XEN_NREGS DT_NUM_REGS(XEN_NODE)
#define BUILD_REGION(i) { DT_REG_ADDR_BY_IDX(XEN_NODE, i), DT_REG_SIZE_BY_IDX(XEN_NODE, i) / PG, NULL }
static const region_t build_regions[] = {
    #if XEN_NREGS > 1
    BUILD_REGION(1),
    #endif
    #if XEN_NREGS > 2
    BUILD_REGION(2),
    #endif
    #if XEN_NREGS > 3
    BUILD_REGION(3),
    #endif
    { 0, 0, NULL },
};
#define N_BUILD_REGIONS (sizeof(build_regions) / sizeof(build_regions[0]) - 1)
#else
static const region_t build_regions[] = { { 0, 0, NULL } };
#define N_BUILD_REGIONS 0
#endif

// The device tree Xen wrote at `at` (physical), if there is one there.
static int regions_from_dtb(uint64_t at) {
    uint8_t *va = NULL;
    k_mem_map_phys_bare(&va, (uintptr_t)at, PG, K_MEM_CACHE_WB);
    if (va == NULL) {
        return -1;
    }
    size_t total = xen_dtb_size(va, PG);
    k_mem_unmap_phys_bare(va, PG);
    if (total == 0) {
        return -1;
    }
    size_t len = (total + PG - 1) & ~(size_t)(PG - 1);
    va = NULL;
    k_mem_map_phys_bare(&va, (uintptr_t)at, len, K_MEM_CACHE_WB);
    if (va == NULL) {
        return -1;
    }
    uint64_t regs[1 + MODXEN_MAX_REGIONS][2];
    int n = xen_dtb_hypervisor_regs(va, total, regs, 1 + MODXEN_MAX_REGIONS);
    k_mem_unmap_phys_bare(va, len);
    if (n < 0) {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        regions[nregions].base = regs[i][0];
        regions[nregions].pages = regs[i][1] / PG;
        regions[nregions].va = NULL;
        nregions++;
    }
    return 0;
}

static int find_regions(void) {
    bool found = false;
    const uint64_t ram = DT_REG_ADDR(DT_CHOSEN(zephyr_sram));
    const uint64_t ram_end = ram + DT_REG_SIZE(DT_CHOSEN(zephyr_sram));
    const uint64_t floor = ((uint64_t)K_MEM_PHYS_ADDR((uintptr_t)_end) + DTB_ALIGN - 1) & ~(DTB_ALIGN - 1);
    for (uint64_t at = (ram_end - 1) & ~(DTB_ALIGN - 1); at >= floor && at >= ram; at -= DTB_ALIGN) {
        if (regions_from_dtb(at) == 0) {
            regions_from = "Xen's device tree";
            found = true;
            break;
        }
        if (at < DTB_ALIGN) {
            break;
        }
    }
    if (!found && N_BUILD_REGIONS > 0) {
        for (size_t i = 0; i < N_BUILD_REGIONS; i++) {
            regions[nregions++] = build_regions[i];
        }
        regions_from = "the build's device tree (Xen's was not found)";
    }
    printk("modxen: extended regions from %s:", regions_from);
    for (size_t i = 0; i < nregions; i++) {
        printk(" 0x%llx+0x%llx", (unsigned long long)regions[i].base,
            (unsigned long long)regions[i].pages * PG);
    }
    printk("\n");
    return 0;
}
SYS_INIT(find_regions, POST_KERNEL, 0);

// Allocation map of the extended regions: one bit per page, next fit. The
// map covers MODXEN_REGION_MAP_PAGES pages of all regions together (64 MiB
// by default); pages beyond are not used.
#ifndef MODXEN_REGION_MAP_PAGES
#define MODXEN_REGION_MAP_PAGES (16384u)
#endif
static uint32_t region_used[MODXEN_REGION_MAP_PAGES / 32];
static uint32_t region_junk[MODXEN_REGION_MAP_PAGES / 32];   // stage 1 on the junk page
static uint64_t region_next;   // where the next search starts

static bool bit_get(const uint32_t *map, uint64_t i) {
    return (map[i / 32] & (1u << (i % 32))) != 0;
}

static void bit_put(uint32_t *map, uint64_t i, bool v) {
    if (v) {
        map[i / 32] |= 1u << (i % 32);
    } else {
        map[i / 32] &= ~(1u << (i % 32));
    }
}

// Where closed extended-region windows point (stage 1).
static uint8_t junk_page[PG] __aligned(PG);

// Zephyr's architecture interface (kernel/include/kernel_arch_interface.h,
// outside the public include path): page-table updates of given virtual
// addresses. k_mem_map_phys_bare only maps at addresses it picks itself.
void arch_mem_map(void *virt, uintptr_t phys, size_t size, uint32_t flags);
void arch_mem_unmap(void *addr, size_t size);

// One live or closed mapping. The binding knows only (addr, n); this table
// gives the backend what it needs to undo a mapping.
typedef struct {
    uint8_t *addr;
    uint64_t gpfn;      // first dom0 frame
    uint32_t n;
    uint8_t region;     // index into regions[], or 0xff: heap pages
    uint8_t inert;      // unmapped: no guest frame is reachable through it
} window_t;

#ifndef MODXEN_MAX_WINDOWS
#define MODXEN_MAX_WINDOWS 256
#endif
static window_t windows[MODXEN_MAX_WINDOWS];

static window_t *window_find(void *addr) {
    for (size_t i = 0; i < MODXEN_MAX_WINDOWS; i++) {
        if (windows[i].n != 0 && windows[i].addr == addr) {
            return &windows[i];
        }
    }
    return NULL;
}

static uint64_t region_limit(void) {
    uint64_t limit = 0;
    for (size_t r = 0; r < NREGIONS; r++) {
        limit += regions[r].pages;
    }
    return limit < MODXEN_REGION_MAP_PAGES ? limit : MODXEN_REGION_MAP_PAGES;
}

// Index of the region holding map-wide page i.
static size_t region_of(uint64_t i) {
    uint64_t acc = 0;
    size_t r = 0;
    for (; r + 1 < NREGIONS; r++) {
        if (i < acc + regions[r].pages) {
            break;
        }
        acc += regions[r].pages;
    }
    return r;
}

// Next fit of n free pages, in one region, starting at region_next and
// wrapping once; returns the map-wide page index or -1.
static long region_alloc(uint32_t n) {
    uint64_t limit = region_limit();
    for (int pass = 0; pass < 2; pass++) {
        uint64_t from = pass == 0 ? region_next : 0;
        uint64_t to = pass == 0 ? limit : region_next;
        uint64_t run = 0;
        for (uint64_t i = from; i < to; i++) {
            if (bit_get(region_used, i)) {
                run = 0;
            } else if (run > 0 && region_of(i) != region_of(i - 1)) {
                run = 1;   // a run may not cross into the next region
            } else {
                run++;
            }
            if (run == n) {
                uint64_t first = i + 1 - n;
                for (uint64_t j = first; j <= i; j++) {
                    bit_put(region_used, j, true);
                }
                region_next = i + 1 < limit ? i + 1 : 0;
                return (long)first;
            }
        }
    }
    return -1;
}

static void region_free(uint64_t first, uint32_t n) {
    for (uint64_t j = first; j < first + n; j++) {
        bit_put(region_used, j, false);
    }
}

// Map-wide page index -> (region, dom0 frame, virtual address).
static void region_locate(uint64_t idx, uint8_t *r_out, uint64_t *gpfn, uint8_t **va) {
    uint64_t acc = 0;
    for (size_t r = 0; r < NREGIONS; r++) {
        if (idx < acc + regions[r].pages) {
            uint64_t off = idx - acc;
            *r_out = (uint8_t)r;
            *gpfn = regions[r].base / PG + off;
            *va = regions[r].va + off * PG;
            return;
        }
        acc += regions[r].pages;
    }
}

static uint64_t region_index(const window_t *w) {
    uint64_t acc = 0;
    for (size_t r = 0; r < w->region; r++) {
        acc += regions[r].pages;
    }
    return acc + (w->gpfn - regions[w->region].base / PG);
}

static bool regions_mapped;

static void regions_map(void) {
    if (regions_mapped) {
        return;
    }
    regions_mapped = true;
    uint64_t room = MODXEN_REGION_MAP_PAGES;   // the window, over all regions
    for (size_t r = 0; r < NREGIONS; r++) {
        uint64_t pages = regions[r].pages < room ? regions[r].pages : room;
        room -= pages;
        if (pages == 0) {
            regions[r].pages = 0;
            continue;
        }
        // Normal write-back memory, as the guest maps its own RAM.
        k_mem_map_phys_bare(&regions[r].va, (uintptr_t)regions[r].base, pages * PG,
            K_MEM_PERM_RW | K_MEM_CACHE_WB);
        if (regions[r].va == NULL) {
            regions[r].pages = 0;
        } else {
            regions[r].pages = pages;
        }
    }
}

// Stage 1 of an extended-region window: every page on the junk page (when
// unmapped; it stays so after release, until the range is handed out again),
// or back on its own frames (when handed out again).
static void window_point(const window_t *w, bool junk) {
    uint64_t first = region_index(w);
    bool any = false;
    for (uint64_t j = first; j < first + w->n; j++) {
        any |= bit_get(region_junk, j);
        bit_put(region_junk, j, junk);
    }
    if (!junk && !any) {
        return;   // never pointed away
    }
    arch_mem_unmap(w->addr, (size_t)w->n * PG);
    if (!junk) {
        arch_mem_map(w->addr, (uintptr_t)(w->gpfn * PG), (size_t)w->n * PG,
            K_MEM_PERM_RW | K_MEM_CACHE_WB);
        return;
    }
    for (uint32_t i = 0; i < w->n; i++) {
        arch_mem_map(w->addr + (size_t)i * PG, K_MEM_PHYS_ADDR((uintptr_t)junk_page), PG,
            K_MEM_PERM_RW | K_MEM_CACHE_WB);
    }
}

// Give dom0's own (heap) pages back their frames. A direct-mapped dom0 gets
// exactly its own pages back; dom0's allowance (max_pages) is raised once if
// Xen refuses for want of it, and a second shortfall is an error (never a
// loop: Xen does not populate frames dom0 never owned).
static int dom0_max_pages_raise(uint32_t n) {
    if (modxen_running == NULL) {
        return -XEN_EOPNOTSUPP;     // a release the binding refused
    }
    struct xen_domctl op;
    memset(&op, 0, sizeof(op));
    op.cmd = XEN_DOMCTL_getdomaininfo;
    op.interface_version = modxen_running->domctl;
    op.domain = 0;
    int rc = HYPERVISOR_domctl(&op);
    if (rc < 0) {
        return rc;
    }
    uint64_t max = op.u.getdomaininfo.max_pages;
    memset(&op, 0, sizeof(op));
    op.cmd = XEN_DOMCTL_max_mem;
    op.interface_version = modxen_running->domctl;
    op.domain = 0;
    op.u.max_mem.max_memkb = (max + n) * (PG / 1024);
    return HYPERVISOR_domctl(&op);
}

static int populate_frames(uint64_t gpfn, uint32_t n) {
    xen_pfn_t chunk[64];
    bool raised = false;
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < 64 ? n - done : 64;
        for (uint32_t i = 0; i < k; i++) {
            chunk[i] = gpfn + done + i;
        }
        int rc = xendom_populate_physmap(DOMID_SELF, 0, k, 0, chunk);
        if (rc < 0) {
            return rc;
        }
        done += (uint32_t)rc;
        if ((uint32_t)rc < k) {
            if (raised || dom0_max_pages_raise(n - done) < 0) {
                return -XEN_ENOMEM;
            }
            raised = true;
        }
    }
    return 0;
}

static int remove_frames(uint64_t gpfn, uint32_t n) {
    int first = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = xendom_remove_from_physmap(DOMID_SELF, gpfn + i);
        if (rc < 0 && first == 0) {
            first = rc;
        }
    }
    return first;
}

// Frames of a window that no longer shows the guest: heap windows get dom0's
// pages back, region windows point at the junk page.
static int window_disarm(window_t *w) {
    if (w->region == 0xff) {
        return populate_frames(w->gpfn, w->n);
    }
    window_point(w, true);
    return 0;
}

int xenhv_map_foreign(domid_t domid, const xen_pfn_t *gfns, int *errs,
    size_t n, bool writable, void **addr) {
    (void)writable;   // Arm's foreign mappings are read-write; the binding enforces read-only views
    if (n == 0 || n > UINT16_MAX) {
        return -XEN_EINVAL;
    }
    window_t *w = NULL;
    for (size_t i = 0; i < MODXEN_MAX_WINDOWS; i++) {
        if (windows[i].n == 0) {
            w = &windows[i];
            break;
        }
    }
    if (w == NULL) {
        return -XEN_ENOMEM;
    }
    regions_map();
    long idx = NREGIONS > 0 ? region_alloc((uint32_t)n) : -1;
    if (idx >= 0) {
        region_locate((uint64_t)idx, &w->region, &w->gpfn, &w->addr);
        w->n = (uint32_t)n;
        window_point(w, false);
    } else {
        // No extended region (or it is full): dom0 pages from the heap,
        // removed from dom0's physmap while the guest's frames sit there.
        uint8_t *p = k_aligned_alloc(PG, n * PG);
        if (p == NULL) {
            return -XEN_ENOMEM;
        }
        // Zephyr runs 1:1: the address is the guest-physical address.
        w->addr = p;
        w->gpfn = K_MEM_PHYS_ADDR((uintptr_t)p) / PG;
        w->region = 0xff;
        int rc = remove_frames(w->gpfn, (uint32_t)n);
        if (rc < 0) {
            populate_frames(w->gpfn, (uint32_t)n);
            k_free(p);
            return rc;
        }
    }
    w->n = (uint32_t)n;
    w->inert = 0;

    memset(errs, 0, n * sizeof(*errs));
    xen_pfn_t gpfns[64];
    int err = 0;
    size_t done = 0;
    while (done < n && err == 0) {
        uint32_t k = n - done < 64 ? (uint32_t)(n - done) : 64;
        for (uint32_t i = 0; i < k; i++) {
            gpfns[i] = w->gpfn + done + i;
        }
        int rc = xendom_add_to_physmap_batch(DOMID_SELF, domid, XENMAPSPACE_gmfn_foreign, k,
            (xen_ulong_t *)&gfns[done], gpfns, &errs[done]);
        if (rc < 0) {
            err = rc;
            break;
        }
        for (uint32_t i = 0; i < k; i++) {
            if (errs[done + i] != 0) {
                err = errs[done + i];
                break;
            }
        }
        done += k;
    }
    if (err != 0) {
        // Nothing stays mapped: drop whatever did map, give the frames back.
        remove_frames(w->gpfn, (uint32_t)done);
        if (w->region == 0xff) {
            populate_frames(w->gpfn, w->n);
            k_free(w->addr);
        } else {
            region_free(region_index(w), w->n);
        }
        w->n = 0;
        w->addr = NULL;
        return err;
    }
    *addr = w->addr;
    return 0;
}

int xenhv_unmap_foreign(void *addr, size_t n) {
    window_t *w = window_find(addr);
    if (w == NULL || w->n != n || w->inert) {
        return -XEN_EINVAL;
    }
    int rc = remove_frames(w->gpfn, w->n);
    int drc = window_disarm(w);
    w->inert = drc == 0;
    return rc < 0 ? rc : drc;
}

void xenhv_release_va(void *addr, size_t n) {
    window_t *w = window_find(addr);
    if (w == NULL || w->n != n) {
        return;
    }
    if (!w->inert) {
        remove_frames(w->gpfn, w->n);
        if (window_disarm(w) != 0) {
            return;   // the range stays taken rather than be handed out half-undone
        }
    }
    if (w->region == 0xff) {
        k_free(w->addr);
    } else {
        region_free(region_index(w), w->n);   // stage 1 stays on the junk page
    }
    w->n = 0;
    w->addr = NULL;
}

/******************************************************************************/
// Event channels. Zephyr's ISR clears the port's pending bit and calls the
// bound callback; ours masks the port until the binding has handled it
// (xenhv_evtchn_unmask), so a guest cannot flood dom0 with interrupts.

void xenhv_wake(void) {
    mp_hal_signal_event();
}

// Upcalls are interrupts here: MicroPython's own event wait (woken by
// mp_hal_signal_event above) is the whole of it.
int xenhv_wait(int timeout_ms) {
    (void)timeout_ms;
    return XENHV_WAIT_BY_PORT;
}

static void evtchn_cb(void *priv) {
    evtchn_port_t port = (evtchn_port_t)(uintptr_t)priv;
    mask_event_channel(port);
    modxen_upcall(port);
}

static int evtchn_op(int cmd, void *arg) {
    return HYPERVISOR_event_channel_op(cmd, arg);
}

int xenhv_evtchn_unmask(evtchn_port_t port) {
    // The hypercall (not just clearing the mask bit) makes Xen re-raise an
    // event that became pending while the port was masked.
    struct evtchn_unmask u = { .port = port };
    return evtchn_op(EVTCHNOP_unmask, &u);
}

// Route a freshly bound port to modxen_upcall and open it. An event that
// arrived before the callback was in place is not lost.
static int evtchn_attach(int port) {
    if (port < 0) {
        return port;
    }
    if (port >= XENHV_MAX_PORTS) {
        struct evtchn_close c = { .port = (evtchn_port_t)port };
        evtchn_op(EVTCHNOP_close, &c);
        return -XEN_ENOSPC;
    }
    bind_event_channel(port, evtchn_cb, (void *)(uintptr_t)port);
    int rc = xenhv_evtchn_unmask(port);
    if (rc < 0) {
        unbind_event_channel(port);
        struct evtchn_close c = { .port = (evtchn_port_t)port };
        evtchn_op(EVTCHNOP_close, &c);
        return rc;
    }
    if (get_missed_events(port)) {
        modxen_upcall(port);
    }
    return port;
}

int xenhv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port) {
    struct evtchn_bind_interdomain b = { .remote_dom = remote_dom, .remote_port = remote_port };
    int rc = evtchn_op(EVTCHNOP_bind_interdomain, &b);
    return rc < 0 ? rc : evtchn_attach((int)b.local_port);
}

int xenhv_evtchn_bind_virq(uint32_t virq) {
    struct evtchn_bind_virq b = { .virq = virq, .vcpu = 0 };
    int rc = evtchn_op(EVTCHNOP_bind_virq, &b);
    return rc < 0 ? rc : evtchn_attach((int)b.port);
}

int xenhv_evtchn_alloc_unbound(domid_t remote_dom) {
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    int rc = evtchn_op(EVTCHNOP_alloc_unbound, &a);
    return rc < 0 ? rc : evtchn_attach((int)a.port);
}

int xenhv_evtchn_notify(evtchn_port_t port) {
    struct evtchn_send s = { .port = port };
    return evtchn_op(EVTCHNOP_send, &s);
}

int xenhv_evtchn_close(evtchn_port_t port) {
    if (port >= XENHV_MAX_PORTS) {
        return -XEN_EINVAL;
    }
    struct evtchn_close c = { .port = port };
    int rc = evtchn_op(EVTCHNOP_close, &c);
    if (rc == 0) {
        unbind_event_channel(port);
    }
    return rc;
}
