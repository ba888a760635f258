/* LD_PRELOAD shim so that Debian's cxenstored runs without Xen, for the
 * differential test and the benchmark. It stands in for the few calls of
 * libxenctrl, libxenevtchn and libxengnttab cxenstored makes, and redirects
 * the dom0 ring files it opens at start-up into $FAKEXEN_DIR.
 * Written for this project; only the function signatures follow the
 * public library interfaces. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int dummy_handle;
static int evfd[2] = {-1, -1};
static int next_port = 10;

static const char *redirect(const char *path, char *buf, size_t len) {
    const char *dir = getenv("FAKEXEN_DIR");
    const char *base = NULL;
    if (!dir || !path)
        return path;
    if (!strcmp(path, "/proc/xen/xsd_kva") || !strcmp(path, "/dev/xen/xsd_kva"))
        base = "xsd_kva";
    else if (!strcmp(path, "/proc/xen/xsd_port") || !strcmp(path, "/dev/xen/xsd_port"))
        base = "xsd_port";
    if (!base)
        return path;
    snprintf(buf, len, "%s/%s", dir, base);
    return buf;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);

int open(const char *path, int flags, ...) {
    static open_fn real;
    char buf[4096];
    mode_t mode = 0;
    va_list ap;
    va_start(ap, flags);
    if (flags & O_CREAT)
        mode = va_arg(ap, mode_t);
    va_end(ap);
    if (!real)
        real = (open_fn)dlsym(RTLD_NEXT, "open");
    return real(redirect(path, buf, sizeof(buf)), flags, mode);
}

int open64(const char *path, int flags, ...) {
    static open_fn real;
    char buf[4096];
    mode_t mode = 0;
    va_list ap;
    va_start(ap, flags);
    if (flags & O_CREAT)
        mode = va_arg(ap, mode_t);
    va_end(ap);
    if (!real)
        real = (open_fn)dlsym(RTLD_NEXT, "open64");
    return real(redirect(path, buf, sizeof(buf)), flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    static openat_fn real;
    char buf[4096];
    mode_t mode = 0;
    va_list ap;
    va_start(ap, flags);
    if (flags & O_CREAT)
        mode = va_arg(ap, mode_t);
    va_end(ap);
    if (!real)
        real = (openat_fn)dlsym(RTLD_NEXT, "openat");
    return real(dirfd, redirect(path, buf, sizeof(buf)), flags, mode);
}

FILE *fopen(const char *path, const char *m) {
    static fopen_fn real;
    char buf[4096];
    if (!real)
        real = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
    return real(redirect(path, buf, sizeof(buf)), m);
}

FILE *fopen64(const char *path, const char *m) {
    static fopen_fn real;
    char buf[4096];
    if (!real)
        real = (fopen_fn)dlsym(RTLD_NEXT, "fopen64");
    return real(redirect(path, buf, sizeof(buf)), m);
}

/* ---- libxenctrl */
void *xc_interface_open(void *logger, void *dombuild_logger, unsigned open_flags) {
    (void)logger; (void)dombuild_logger; (void)open_flags;
    return &dummy_handle;
}

int xc_interface_close(void *xch) { (void)xch; return 0; }

/* Which domains exist: with a file $FAKEXEN_DIR/domains (domids separated
 * by blanks, read on every call so a test can change it), dom0 and the
 * listed ones; without it, every domid below DOMID_FIRST_RESERVED. */
static int domain_exists(uint32_t domid) {
    const char *dir = getenv("FAKEXEN_DIR");
    char path[4096];
    FILE *f;
    static fopen_fn real;
    unsigned long d;
    int found = 0;
    if (domid >= 0x7FF0)
        return 0;
    if (!dir || domid == 0)
        return 1;
    snprintf(path, sizeof(path), "%s/domains", dir);
    if (!real)
        real = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
    f = real(path, "r");
    if (!f)
        return 1;
    while (!found && fscanf(f, "%lu", &d) == 1)
        found = d == domid;
    fclose(f);
    return found;
}

/* A domain that exists is running: first word = domid, the rest (flags,
 * pages, ...) zero. The caller's struct is larger than the 64 bytes
 * cleared here. */
int xc_domain_getinfo(void *xch, uint32_t first, unsigned int max, void *info) {
    (void)xch;
    if (!max || !domain_exists(first))
        return 0;
    memset(info, 0, 64);
    *(uint32_t *)info = first;
    return 1;
}

/* ---- libxenevtchn */
void *xenevtchn_open(void *logger, unsigned flags) {
    (void)logger; (void)flags;
    if (evfd[0] < 0 && pipe(evfd) < 0)
        return NULL;
    return &dummy_handle;
}
void *xenevtchn_fdopen(void *logger, int fd, unsigned flags) {
    (void)fd;
    return xenevtchn_open(logger, flags);
}
int xenevtchn_close(void *h) { (void)h; return 0; }
int xenevtchn_fd(void *h) { (void)h; return evfd[0]; }
int xenevtchn_notify(void *h, uint32_t port) { (void)h; (void)port; return 0; }
int xenevtchn_bind_interdomain(void *h, uint32_t domid, uint32_t rport) {
    (void)h; (void)domid; (void)rport;
    return next_port++;
}
int xenevtchn_bind_virq(void *h, unsigned int virq) { (void)h; (void)virq; return 1; }
int xenevtchn_unbind(void *h, uint32_t port) { (void)h; (void)port; return 0; }
int xenevtchn_pending(void *h) { (void)h; errno = EAGAIN; return -1; }
int xenevtchn_unmask(void *h, uint32_t port) { (void)h; (void)port; return 0; }

/* ---- libxengnttab: a guest's ring is a fresh zeroed page */
void *xengnttab_open(void *logger, unsigned flags) { (void)logger; (void)flags; return &dummy_handle; }
int xengnttab_close(void *h) { (void)h; return 0; }
int xengnttab_set_max_grants(void *h, uint32_t n) { (void)h; (void)n; return 0; }
void *xengnttab_map_grant_ref(void *h, uint32_t domid, uint32_t ref, int prot) {
    void *p;
    (void)h; (void)domid; (void)ref; (void)prot;
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
int xengnttab_unmap(void *h, void *addr, uint32_t count) {
    (void)h;
    return munmap(addr, 4096u * count);
}
