// _es256: signature checks for boot-policy bundles, a module of its own.
//
// Owns: ES256 verification and the compiled-in trust anchors. Must not know:
// Xen, or what a bundle is (xen.policy); absent when MODXEN_VERIFY=0, and
// xen.policy then refuses every bundle.
//
// One primitive, ES256 (ECDSA over NIST P-256 with SHA-256, RFC 9053), and
// the firmware's compiled-in trust anchors. Everything else about a bundle
// (CBOR, COSE_Sign1, the manifest, slots) is Python in xen.policy.
//
// mbedTLS does the arithmetic: Debian's libmbedtls on the host, Zephyr's
// mbedTLS on the board. mbedTLS allocates its bignums from its own heap
// (libc on the host, its configured heap on Zephyr), never from the GC heap;
// every path frees what it took before anything is raised.

#include <string.h>

#include "py/runtime.h"
#include "py/objtuple.h"
#include "py/mperrno.h"

#ifndef MODXEN_VERIFY
#define MODXEN_VERIFY 0
#endif

#if MODXEN_VERIFY

#include "mbedtls/version.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/sha256.h"

// Trust anchors: MODXEN_POLICY_ANCHORS_H names a header generated at build
// time from POLICY_PUB (tools/policy-anchors-h): MODXEN_POLICY_ANCHOR_COUNT
// uncompressed SEC1 points, 65 bytes each, in modxen_policy_anchor_data.
// Without it the firmware trusts no key and refuses every bundle. The Zephyr
// build sets MODXEN_POLICY_ANCHORS_ZEPHYR instead: a header name in angle
// brackets cannot pass through MicroPython's CMake (its qstr pass joins the
// definitions in a generator expression, where '>' ends it).
#if defined(MODXEN_POLICY_ANCHORS_H)
#include MODXEN_POLICY_ANCHORS_H
#elif defined(MODXEN_POLICY_ANCHORS_ZEPHYR)
#include <modxen_policy_anchors.h>
#else
#define MODXEN_POLICY_ANCHOR_COUNT 0
static const unsigned char modxen_policy_anchor_data[1] = { 0 };
#endif

#define SEC1_P256_LEN 65
#define ES256_SIG_LEN 64

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA256(in, len, out) mbedtls_sha256((in), (len), (out), 0)
#else
#define SHA256(in, len, out) mbedtls_sha256_ret((in), (len), (out), 0)
#endif

// Result of one check, decided before any Python exception is raised so
// that mbedTLS state is always freed.
enum { V_OK, V_BADSIG, V_BADKEY, V_NOMEM };

static int es256_check(const uint8_t *pub, const uint8_t *msg, size_t msg_len, const uint8_t *sig) {
    uint8_t hash[32];
    if (SHA256(msg, msg_len, hash) != 0) {
        return V_NOMEM;
    }
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int res;
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0) {
        res = V_NOMEM;
    } else if ((res = mbedtls_ecp_point_read_binary(&grp, &q, pub, SEC1_P256_LEN)) != 0
               || (res = mbedtls_ecp_check_pubkey(&grp, &q)) != 0) {
        // an exhausted mbedTLS heap is not a bad key
        res = res == MBEDTLS_ERR_MPI_ALLOC_FAILED ? V_NOMEM : V_BADKEY;
    } else if (mbedtls_mpi_read_binary(&r, sig, 32) != 0
               || mbedtls_mpi_read_binary(&s, sig + 32, 32) != 0) {
        res = V_NOMEM;
    } else {
        // Out-of-range r or s (0, >= n) are rejected inside verify.
        res = mbedtls_ecdsa_verify(&grp, hash, sizeof(hash), &q, &r, &s) == 0 ? V_OK : V_BADSIG;
    }
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return res;
}

// _es256.verify(pubkey, message, signature) -> bool
//   pubkey: 65-byte uncompressed SEC1 P-256 point; signature: 64 bytes r||s
//   (COSE's ES256 form). False for a signature that does not verify;
//   ValueError for a malformed key or signature.
static mp_obj_t mod_es256_verify(mp_obj_t pub_in, mp_obj_t msg_in, mp_obj_t sig_in) {
    mp_buffer_info_t pub, msg, sig;
    mp_get_buffer_raise(pub_in, &pub, MP_BUFFER_READ);
    mp_get_buffer_raise(msg_in, &msg, MP_BUFFER_READ);
    mp_get_buffer_raise(sig_in, &sig, MP_BUFFER_READ);
    if (pub.len != SEC1_P256_LEN || ((const uint8_t *)pub.buf)[0] != 0x04) {
        mp_raise_ValueError(MP_ERROR_TEXT("es256_verify: public key must be a 65-byte uncompressed P-256 point"));
    }
    if (sig.len != ES256_SIG_LEN) {
        mp_raise_ValueError(MP_ERROR_TEXT("es256_verify: signature must be 64 bytes (r||s)"));
    }
    switch (es256_check(pub.buf, msg.buf, msg.len, sig.buf)) {
        case V_OK:
            return mp_const_true;
        case V_BADSIG:
            return mp_const_false;
        case V_BADKEY:
            mp_raise_ValueError(MP_ERROR_TEXT("es256_verify: public key is not a point on P-256"));
        default:
            mp_raise_OSError(MP_ENOMEM);
    }
    return mp_const_none; // not reached
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_es256_verify_obj, mod_es256_verify);

// _es256.policy_anchors() -> tuple of 65-byte SEC1 public keys compiled into
// this firmware, in the order given at build time.
static mp_obj_t mod_es256_policy_anchors(void) {
    mp_obj_t keys[MODXEN_POLICY_ANCHOR_COUNT + 1];
    for (size_t i = 0; i < MODXEN_POLICY_ANCHOR_COUNT; i++) {
        keys[i] = mp_obj_new_bytes(modxen_policy_anchor_data + i * SEC1_P256_LEN, SEC1_P256_LEN);
    }
    return mp_obj_new_tuple(MODXEN_POLICY_ANCHOR_COUNT, keys);
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_es256_policy_anchors_obj, mod_es256_policy_anchors);

static const mp_rom_map_elem_t es256_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__es256) },
    { MP_ROM_QSTR(MP_QSTR_verify), MP_ROM_PTR(&mod_es256_verify_obj) },
    { MP_ROM_QSTR(MP_QSTR_policy_anchors), MP_ROM_PTR(&mod_es256_policy_anchors_obj) },
};
static MP_DEFINE_CONST_DICT(es256_globals, es256_globals_table);

const mp_obj_module_t mp_module_es256 = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&es256_globals,
};

MP_REGISTER_MODULE(MP_QSTR__es256, mp_module_es256);

#endif // MODXEN_VERIFY
