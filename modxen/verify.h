// _xen signature checks (verify.c): what modxen.c's globals table needs.
// MODXEN_VERIFY=0 (e.g. a cross build without mbedTLS) leaves them out;
// xen.policy then refuses every bundle with a clear error.
#ifndef MODXEN_VERIFY_H
#define MODXEN_VERIFY_H

#include "py/obj.h"

#ifndef MODXEN_VERIFY
#define MODXEN_VERIFY 0
#endif

#if MODXEN_VERIFY
extern const mp_obj_fun_builtin_fixed_t mod_xen_es256_verify_obj;
extern const mp_obj_fun_builtin_fixed_t mod_xen_policy_anchors_obj;
#define MODXEN_VERIFY_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_es256_verify), MP_ROM_PTR(&mod_xen_es256_verify_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_policy_anchors), MP_ROM_PTR(&mod_xen_policy_anchors_obj) },
#else
#define MODXEN_VERIFY_GLOBALS
#endif

#endif
