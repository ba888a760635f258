// _xen's XSM/FLASK operations (xsm_op): labels to SIDs and back, the
// enforcing mode, relabelling a domain, loading a policy.
//
// Owns: the flask_op calls. Must not know: which labels a domain gets (xen.xsm).
#include "modxen.h"

/******************************************************************************/
// XSM / FLASK.

static struct xen_flask_op *flask_begin(uint32_t cmd) {
    struct xen_flask_op *op = (struct xen_flask_op *)xenhv_scratch();
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = XEN_FLASK_INTERFACE_VERSION;
    return op;
}

static long flask_do(struct xen_flask_op *op) {
    return modxen_hypercall(__HYPERVISOR_xsm_op, (unsigned long)op, 0);
}

// flask_context_to_sid(label) -> sid
static mp_obj_t mod_xen_flask_context_to_sid(mp_obj_t label) {
    size_t len;
    const char *s = mp_obj_str_get_data(label, &len);
    if (len == 0 || len >= 4096 || memchr(s, 0, len)) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad security label"));
    }
    struct xen_flask_op *op = flask_begin(FLASK_CONTEXT_TO_SID);
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, s, len);
    buf[len] = 0;
    op->u.sid_context.size = len + 1;
    set_xen_guest_handle(op->u.sid_context.context, buf);
    modxen_check(flask_do(op));
    return mp_obj_new_int_from_uint(op->u.sid_context.sid);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_context_to_sid_obj, mod_xen_flask_context_to_sid);

// flask_sid_to_context(sid) -> label
static mp_obj_t mod_xen_flask_sid_to_context(mp_obj_t sid) {
    struct xen_flask_op *op = flask_begin(FLASK_SID_TO_CONTEXT);
    char *buf = (char *)xenhv_scratch() + 4096;
    const uint32_t room = 4096;
    memset(buf, 0, room);
    op->u.sid_context.sid = mp_obj_get_int(sid);
    op->u.sid_context.size = room;
    set_xen_guest_handle(op->u.sid_context.context, buf);
    modxen_check(flask_do(op));
    uint32_t n = op->u.sid_context.size;
    if (n > room) {
        modxen_raise_errno(MP_E2BIG);
    }
    while (n > 0 && buf[n - 1] == 0) {
        n--;
    }
    return mp_obj_new_str(buf, n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_sid_to_context_obj, mod_xen_flask_sid_to_context);

static mp_obj_t mod_xen_flask_getenforce(void) {
    return MP_OBJ_NEW_SMALL_INT(modxen_check(flask_do(flask_begin(FLASK_GETENFORCE))));
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_xen_flask_getenforce_obj, mod_xen_flask_getenforce);

static mp_obj_t mod_xen_flask_setenforce(mp_obj_t mode) {
    struct xen_flask_op *op = flask_begin(FLASK_SETENFORCE);
    op->u.enforce.enforcing = mp_obj_get_int(mode);
    modxen_check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_setenforce_obj, mod_xen_flask_setenforce);

static mp_obj_t mod_xen_flask_relabel_domain(mp_obj_t domid, mp_obj_t sid) {
    struct xen_flask_op *op = flask_begin(FLASK_RELABEL_DOMAIN);
    op->u.relabel.domid = modxen_arg_domid(domid);
    op->u.relabel.sid = mp_obj_get_int(sid);
    modxen_check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_xen_flask_relabel_domain_obj, mod_xen_flask_relabel_domain);

// flask_load(policy): load a compiled policy (bytes-like).
static mp_obj_t mod_xen_flask_load(mp_obj_t policy) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(policy, &b, MP_BUFFER_READ);
    if (b.len == 0 || b.len > XENHV_SCRATCH_SIZE - 4096) {
        modxen_raise_errno(MP_E2BIG);
    }
    struct xen_flask_op *op = flask_begin(FLASK_LOAD);
    char *buf = (char *)xenhv_scratch() + 4096;
    memcpy(buf, b.buf, b.len);
    set_xen_guest_handle(op->u.load.buffer, buf);
    op->u.load.size = b.len;
    modxen_check(flask_do(op));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_xen_flask_load_obj, mod_xen_flask_load);


LOCKED(mod_xen_flask_context_to_sid);
LOCKED(mod_xen_flask_sid_to_context);
LOCKED(mod_xen_flask_getenforce);
LOCKED(mod_xen_flask_setenforce);
LOCKED(mod_xen_flask_relabel_domain);
LOCKED(mod_xen_flask_load);
