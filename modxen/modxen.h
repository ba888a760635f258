// _xen's C files share this: the helpers of the binding (modxen.c) that the
// hypercall families (domctl.c, sysctl.c, memory.c, evtchn.c, flask.c) call,
// and the function objects each family adds to the module table.
//
// Owns: nothing but declarations. Must not know: any backend (xenhv.h is the
// contract) or any policy (the frozen `xen` package).
#ifndef MODXEN_MODXEN_H
#define MODXEN_MODXEN_H

#include <string.h>
#include <errno.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/objstr.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/objint.h"
#include "py/mpthread.h"
#include "py/objarray.h"
#include "py/gc.h"

// MicroPython renamed NORETURN to MP_NORETURN after 1.25.
#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
#endif

#include "xenhv.h"
#include "abi.h"
// Xen's errno constants (XEN_Exxx); xenerrno.c expands the same header once
// more into the errno table.
#if defined(MODXEN_ZEPHYR_XEN_HEADERS)
#include <zephyr/xen/public/errno.h>
#else
#include <xen/errno.h>
#endif

#ifndef XEN_PAGE_SHIFT
#define XEN_PAGE_SHIFT 12
#endif
#define PAGE_SIZE_XEN (1u << XEN_PAGE_SHIFT)

// Errors (modxen.c): Xen's errno to OSError, never an error code.
MP_NORETURN void modxen_raise_errno(int host);
MP_NORETURN void modxen_raise_errno_msg(int host, vstr_t *msg);
MP_NORETURN void modxen_raise_xen(long rc);
long modxen_check(long rc);

// The backend and the running release (modxen.c).
void modxen_ensure_backend(void);
const modxen_release_t *modxen_abi_current(void);
long modxen_hypercall(unsigned int op, unsigned long a1, unsigned long a2);

// Arguments and results.
domid_t modxen_arg_domid(mp_obj_t o);
uint64_t modxen_arg_u64(mp_obj_t o);
mp_obj_t modxen_new_u64(uint64_t v);
void modxen_dict_set(mp_obj_t d, qstr key, mp_obj_t value);

// Little-endian fields of a struct laid out by the release table (abi.c).
static inline void put_u16(uint8_t *p, uint16_t v) {
    memcpy(p, &v, sizeof(v));
}
static inline void put_u32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, sizeof(v));
}
static inline uint16_t get_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}
static inline uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

// One getdomaininfo record as a dict (domctl.c; sysctl.c's list uses it too).
mp_obj_t modxen_domaininfo_dict(const struct xen_domctl_getdomaininfo *di);

// The binding lock (modxen.c): the scratch area and the port table are
// shared by every thread. Module functions are wrapped in locked_fun objects.
void modxen_binding_lock(void);
void modxen_binding_unlock(void);
typedef struct _locked_fun_obj_t {
    mp_obj_base_t base;
    mp_rom_obj_t fun;
} locked_fun_obj_t;
extern const mp_obj_type_t modxen_locked_fun_type;
#define LOCKED(f) const locked_fun_obj_t f##_locked = { { &modxen_locked_fun_type }, MP_ROM_PTR(&f##_obj) }
#define LOCKED_DECL(f) extern const locked_fun_obj_t f##_locked

// What each family adds to the module (modxen.c builds the table).
// domctl.c
LOCKED_DECL(mod_xen_createdomain); LOCKED_DECL(mod_xen_get_domain_state);
LOCKED_DECL(mod_xen_destroydomain); LOCKED_DECL(mod_xen_pausedomain);
LOCKED_DECL(mod_xen_unpausedomain); LOCKED_DECL(mod_xen_getdomaininfo);
LOCKED_DECL(mod_xen_max_vcpus); LOCKED_DECL(mod_xen_max_mem); LOCKED_DECL(mod_xen_set_address_size);
LOCKED_DECL(mod_xen_setvcpucontext); LOCKED_DECL(mod_xen_getvcpucontext);
LOCKED_DECL(mod_xen_get_paging_mempool_size); LOCKED_DECL(mod_xen_set_paging_mempool_size);
LOCKED_DECL(mod_xen_iomem_permission); LOCKED_DECL(mod_xen_memory_mapping);
LOCKED_DECL(mod_xen_bind_pt_irq); LOCKED_DECL(mod_xen_assign_device); LOCKED_DECL(mod_xen_cacheflush);
#define MODXEN_TEE_FFA 2            // XEN_DOMCTL_CONFIG_TEE_FFA (4.18), unknown to 4.17's headers
// sysctl.c
LOCKED_DECL(mod_xen_physinfo); LOCKED_DECL(mod_xen_domain_list); LOCKED_DECL(mod_xen_readconsole);
// memory.c
LOCKED_DECL(mod_xen_populate_physmap); LOCKED_DECL(mod_xen_decrease_reservation); LOCKED_DECL(mod_xen_map);
LOCKED_DECL(mod_xen_hvm_get_param); LOCKED_DECL(mod_xen_hvm_set_param);
extern const mp_obj_type_t modxen_mapping_type;
// evtchn.c
LOCKED_DECL(mod_xen_bind_interdomain); LOCKED_DECL(mod_xen_bind_virq); LOCKED_DECL(mod_xen_alloc_unbound);
LOCKED_DECL(mod_xen_evtchn_alloc_unbound); LOCKED_DECL(mod_xen_evtchn_close);
extern const mp_obj_type_t modxen_evtchn_type;
extern const mp_obj_fun_builtin_var_t mod_xen_wait_obj;
// flask.c
LOCKED_DECL(mod_xen_flask_context_to_sid); LOCKED_DECL(mod_xen_flask_sid_to_context);
LOCKED_DECL(mod_xen_flask_getenforce); LOCKED_DECL(mod_xen_flask_setenforce);
LOCKED_DECL(mod_xen_flask_relabel_domain); LOCKED_DECL(mod_xen_flask_load);

#endif // MODXEN_MODXEN_H
