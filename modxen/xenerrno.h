// Xen's errno numbering and this port's, from Xen's own table: the binding
// (modxen.c) and the sim backend share this one copy.
#ifndef MODXEN_XENERRNO_H
#define MODXEN_XENERRNO_H

// The port's errno for Xen's `xen` (positive), or -1 if Xen has no such error.
int xenerrno_to_host(int xen);
// Xen's errno for the port's `host`, or -1 if Xen has no equivalent.
int xenerrno_to_xen(int host);
// Xen's name for the port's errno `host` ("ESRCH"), or NULL.
const char *xenerrno_name(int host);

#endif
