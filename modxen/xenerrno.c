// Xen's errno table, expanded from Xen's own header (public/errno.h): Xen's
// number, the port's number and Xen's name for each error.
//
// Owns: the one errno table of the firmware. Must not know: MicroPython's
// objects (the binding raises, the sim converts) or any backend.
//
// Names are kept as C strings: qstrs made inside a header's expansion
// confuse newer MicroPython's qstr scanner, and strings cost no RAM.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xenerrno.h"

// Each row is two bytes; the names are one string of NUL-terminated names in
// the same order (row i's name is the i-th), which keeps pointers (and their
// relocations) out of the table.
typedef struct {
    uint8_t xen;
    uint8_t host;
} xenerrno_t;

static const xenerrno_t xenerrno_table[] = {
    #define XEN_ERRNO(name, value) { value, name },
    #if defined(MODXEN_ZEPHYR_XEN_HEADERS)
    #include <zephyr/xen/public/errno.h>
    #else
    #include <xen/errno.h>
    #endif
    #undef XEN_ERRNO
};

static const char xenerrno_names[] =
    #define XEN_ERRNO(name, value) #name "\0"
    #if defined(MODXEN_ZEPHYR_XEN_HEADERS)
    #include <zephyr/xen/public/errno.h>
    #else
    #include <xen/errno.h>
    #endif
    #undef XEN_ERRNO
;

#define N_ERRNOS (sizeof(xenerrno_table) / sizeof(xenerrno_table[0]))

int xenerrno_to_host(int xen) {
    for (size_t i = 0; i < N_ERRNOS; i++) {
        if (xenerrno_table[i].xen == xen) {
            return xenerrno_table[i].host;
        }
    }
    return -1;
}

int xenerrno_to_xen(int host) {
    for (size_t i = 0; i < N_ERRNOS; i++) {
        if (xenerrno_table[i].host == host) {
            return xenerrno_table[i].xen;
        }
    }
    return -1;
}

const char *xenerrno_name(int host) {
    const char *name = xenerrno_names;
    for (size_t i = 0; i < N_ERRNOS; i++) {
        if (xenerrno_table[i].host == host) {
            return name;
        }
        name += strlen(name) + 1;
    }
    return NULL;
}
