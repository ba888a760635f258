// What modxen/xsframe.c lends the other C files of the module.
#ifndef MODXEN_XSFRAME_H
#define MODXEN_XSFRAME_H

#include "py/obj.h"

// bytes(data[:len]) whose hash is left uncomputed (a payload: copied and
// compared, rarely hashed).
mp_obj_t xsframe_bytes(const uint8_t *data, size_t len);

#endif
