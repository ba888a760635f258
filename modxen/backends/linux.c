// modxen backend for a Linux dom0: the kernel's Xen device files.
//
//   /dev/xen/hypercall  mmap gives hypercall-safe (locked, never migrated)
//                       memory: the scratch area lives there
//   /dev/xen/privcmd    IOCTL_PRIVCMD_HYPERCALL issues a hypercall;
//                       mmap + IOCTL_PRIVCMD_MMAPBATCH_V2 maps guest frames
//   /dev/xen/evtchn     dom0's own event channels; a reader thread turns
//                       fired ports into modxen_upcall()
//
// Errors: the kernel hands Xen's negative return values back as errno, and
// Xen's errno numbering is Linux's, so -errno is already a Xen errno.
//
// Owns: the device files, the scratch area and the evtchn reader thread.
// Must not know: Xen's structs beyond the hypercall numbers (the binding
// marshals them) or MicroPython's scheduler (unix_wake.c wakes the
// interpreter).

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "xenhv.h"
#include "unix_wake.h"

#ifdef MODXEN_FORCED_ARM_ABI
#error "the linux backend talks to the running kernel: build it for the dom0's own ABI"
#endif

// Linux's uapi headers for the two devices (linux-libc-dev). <xen/privcmd.h>
// takes domid_t and xen_pfn_t from <xen/interface/xen.h>, which the shim in
// backends/linux/ maps onto Xen's own public headers.
#include <xen/privcmd.h>
#include <xen/evtchn.h>

#define XEN_PAGE 4096u

const char xenhv_backend_name[] = "linux";

static int privcmd_fd = -1;
static int evtchn_fd = -1;
static uint8_t *scratch;
static bool reader_running;

// Fallback when /dev/xen/hypercall is missing (kernels before 4.18): locked
// private memory, which Linux does not migrate while it stays locked.
static uint8_t fallback_scratch[XENHV_SCRATCH_SIZE] __attribute__((aligned(XEN_PAGE)));

static int open_dev(const char *path) {
    int fd;
    do {
        fd = open(path, O_RDWR | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

uint8_t *xenhv_scratch(void) {
    if (scratch != NULL) {
        return scratch;
    }
    // The binding may fill the scratch area before its first hypercall, so
    // this works before xenhv_init().
    int fd = open_dev("/dev/xen/hypercall");
    if (fd >= 0) {
        void *p = mmap(NULL, XENHV_SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);   // the mapping keeps the buffer
        if (p != MAP_FAILED) {
            scratch = p;
        }
    }
    if (scratch == NULL) {
        mlock(fallback_scratch, sizeof(fallback_scratch));
        scratch = fallback_scratch;
    }
    // Write every page once. Xen on Arm reaches a hypercall buffer through
    // dom0's stage-1 page tables, and Linux maps a fresh shared page
    // read-only until its first write (software dirty tracking): a page only
    // Xen writes to (e.g. a domain list) would fail with EFAULT.
    memset(scratch, 0, XENHV_SCRATCH_SIZE);
    return scratch;
}

/******************************************************************************/
// Waking the interpreter (unix_wake.c): the upcall arrives on the reader
// thread, and a signal makes the interpreter thread run it.

void xenhv_wake(void) {
    if (unix_wake_from_other_thread()) {
        unix_wake_signal();
    }
}

// Who reads /dev/xen/evtchn. Normally the reader thread: it turns each
// event into an upcall and signals the interpreter (two thread wake-ups and a
// signal per event). While the interpreter waits in _xen.wait() it reads the
// device itself, and for PARK_MS after each such wait the reader thread stays
// parked, so that a dom0 program looping on _xen.wait() takes its events
// with one wake-up; events that arrive while it is busy elsewhere are read
// by the reader thread after at most PARK_MS (the kernel keeps them, and the
// port stays masked until the binding unmasks it).
#define PARK_MS 50
static pthread_mutex_t rd_mu = PTHREAD_MUTEX_INITIALIZER;
static bool interp_waiting;
static struct timespec park_until;   // the reader stays parked until then

static void ts_add_ms(struct timespec *t, int ms) {
    t->tv_nsec += (long)ms * 1000000L;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static bool ts_before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

// Read what the device holds and raise an upcall per port (rd_mu held).
// Returns the number of ports, 0 if there was nothing (the fd is
// non-blocking), or -errno for a device that is gone.
static int read_ports(void) {
    uint32_t ports[64];
    ssize_t n = read(evtchn_fd, ports, sizeof(ports));
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            return 0;
        }
        if (errno == EFBIG) {
            // The kernel's ring overflowed. Every port stays masked until
            // the binding unmasks it, so this means events were read too
            // slowly; reset the ring and go on.
            ioctl(evtchn_fd, IOCTL_EVTCHN_RESET, 0);
            return 0;
        }
        return -errno;
    }
    for (size_t i = 0; i < (size_t)n / sizeof(ports[0]); i++) {
        modxen_upcall(ports[i]);
    }
    return (int)(n / sizeof(ports[0]));
}

// Park while the interpreter reads the device itself: in steps of PARK_MS
// while it waits, then until PARK_MS after it left. Nobody wakes the reader
// (a wake-up per event is what this saves); it looks again every PARK_MS,
// and sends the interpreter the wake a Ctrl-C or a signal may have missed
// (xenhv_wait's poll does not block signals).
static void reader_park(void) {
    for (;;) {
        struct timespec until, now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&rd_mu);
        bool waiting = interp_waiting;
        until = waiting ? now : park_until;
        pthread_mutex_unlock(&rd_mu);
        if (waiting) {
            if (unix_wake_pending()) {
                unix_wake_signal();
            }
            ts_add_ms(&until, PARK_MS);
        } else if (!ts_before(&now, &until)) {
            return;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    }
}

static void *reader_main(void *arg) {
    (void)arg;
    struct pollfd pfd = { .fd = evtchn_fd, .events = POLLIN };
    int kick_ms = -1;
    for (;;) {
        reader_park();
        int r = poll(&pfd, 1, kick_ms);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (r == 0) {
            // signal again while the interpreter has not taken the work
            kick_ms = unix_wake_retry(kick_ms);
            continue;
        }
        pthread_mutex_lock(&rd_mu);
        int n = interp_waiting ? 0 : read_ports();
        pthread_mutex_unlock(&rd_mu);
        if (n < 0) {
            break;   // device gone: no more upcalls
        }
        if (n > 0) {
            kick_ms = 2;
        }
    }
    reader_running = false;
    return NULL;
}

int xenhv_wait(int timeout_ms) {
    if (evtchn_fd < 0) {
        return -ENODEV;
    }
    pthread_mutex_lock(&rd_mu);
    interp_waiting = true;
    pthread_mutex_unlock(&rd_mu);
    int n = 0;
    // poll returns at once for events the device already holds
    if (unix_wake_poll(evtchn_fd, timeout_ms) > 0) {
        pthread_mutex_lock(&rd_mu);
        n = read_ports();
        pthread_mutex_unlock(&rd_mu);
    }
    pthread_mutex_lock(&rd_mu);
    interp_waiting = false;
    clock_gettime(CLOCK_MONOTONIC, &park_until);
    ts_add_ms(&park_until, PARK_MS);
    pthread_mutex_unlock(&rd_mu);
    return n < 0 ? n : 0;
}

int xenhv_init(void) {
    if (privcmd_fd >= 0 && evtchn_fd >= 0 && reader_running) {
        return 0;
    }
    if (privcmd_fd < 0) {
        int fd = open_dev("/dev/xen/privcmd");
        if (fd < 0) {
            return fd;
        }
        privcmd_fd = fd;
    }
    if (evtchn_fd < 0) {
        int fd = open_dev("/dev/xen/evtchn");
        if (fd < 0) {
            return fd;
        }
        // Two threads read it (reader_main, xenhv_wait): whoever comes
        // second must find it empty, not block.
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        evtchn_fd = fd;
    }
    xenhv_scratch();

    int rc = unix_wake_init();
    if (rc < 0) {
        return rc;
    }
    if (!reader_running) {
        reader_running = true;
        rc = unix_wake_thread(reader_main);
        if (rc < 0) {
            reader_running = false;
            return rc;
        }
    }
    return 0;
}

/******************************************************************************/
// Hypercalls.

long xenhv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
    unsigned long a3, unsigned long a4, unsigned long a5) {
    if (privcmd_fd < 0) {
        int rc = xenhv_init();
        if (rc < 0) {
            return rc;
        }
    }
    struct privcmd_hypercall call = {
        .op = op,
        .arg = { a1, a2, a3, a4, a5 },
    };
    long rc;
    do {
        rc = ioctl(privcmd_fd, IOCTL_PRIVCMD_HYPERCALL, &call);
    } while (rc < 0 && errno == EINTR);
    // A hypercall that Linux had to preempt for a signal is restarted by the
    // kernel itself; EINTR only means it never started.
    return rc < 0 ? -errno : rc;
}

/******************************************************************************/
// Foreign memory.

int xenhv_map_foreign(domid_t domid, const xen_pfn_t *gfns, int *errs,
    size_t n, bool writable, void **addr) {
    if (n == 0 || n > UINT32_MAX / XEN_PAGE) {
        return -EINVAL;
    }
    if (privcmd_fd < 0) {
        int rc = xenhv_init();
        if (rc < 0) {
            return rc;
        }
    }
    size_t len = n * XEN_PAGE;
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, len, prot, MAP_SHARED, privcmd_fd, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    memset(errs, 0, n * sizeof(*errs));
    struct privcmd_mmapbatch_v2 batch = {
        .num = (unsigned int)n,
        .dom = domid,
        .addr = (uintptr_t)p,
        .arr = gfns,
        .err = errs,
    };
    int rc;
    do {
        rc = ioctl(privcmd_fd, IOCTL_PRIVCMD_MMAPBATCH_V2, &batch);
    } while (rc < 0 && errno == EINTR);
    int err = rc < 0 ? -errno : 0;
    // The ioctl can succeed with some frames refused: those carry their own
    // error and the whole mapping is given up.
    for (size_t i = 0; i < n; i++) {
        if (errs[i] != 0) {
            if (err == 0 || err == -ENOENT) {
                err = errs[i];
            }
            break;
        }
    }
    if (err != 0) {
        munmap(p, len);
        return err;
    }
    *addr = p;
    return 0;
}

int xenhv_unmap_foreign(void *addr, size_t n) {
    // Replacing the privcmd mapping drops it (Linux unmaps the guest frames
    // when the area goes) and leaves inert private pages in its place.
    void *p = mmap(addr, n * XEN_PAGE, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -errno : 0;
}

void xenhv_release_va(void *addr, size_t n) {
    // Kept reserved and inert: a memoryview can outlive its Mapping (it does
    // not keep its owner alive), so a range is never handed out again.
    (void)addr;
    (void)n;
}

/******************************************************************************/
// Event channels.

static int evtchn_ioctl(unsigned long req, void *arg) {
    if (evtchn_fd < 0) {
        int rc = xenhv_init();
        if (rc < 0) {
            return rc;
        }
    }
    int rc;
    do {
        rc = ioctl(evtchn_fd, req, arg);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : rc;
}

int xenhv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port) {
    struct ioctl_evtchn_bind_interdomain b = {
        .remote_domain = remote_dom,
        .remote_port = remote_port,
    };
    return evtchn_ioctl(IOCTL_EVTCHN_BIND_INTERDOMAIN, &b);
}

int xenhv_evtchn_bind_virq(uint32_t virq) {
    struct ioctl_evtchn_bind_virq b = { .virq = virq };
    return evtchn_ioctl(IOCTL_EVTCHN_BIND_VIRQ, &b);
}

int xenhv_evtchn_alloc_unbound(domid_t remote_dom) {
    struct ioctl_evtchn_bind_unbound_port b = { .remote_domain = remote_dom };
    return evtchn_ioctl(IOCTL_EVTCHN_BIND_UNBOUND_PORT, &b);
}

int xenhv_evtchn_notify(evtchn_port_t port) {
    struct ioctl_evtchn_notify b = { .port = port };
    int rc = evtchn_ioctl(IOCTL_EVTCHN_NOTIFY, &b);
    return rc < 0 ? rc : 0;
}

int xenhv_evtchn_unmask(evtchn_port_t port) {
    if (evtchn_fd < 0) {
        return -EBADF;
    }
    // Writing a port number to the device re-enables its delivery.
    uint32_t p = port;
    ssize_t n;
    do {
        n = write(evtchn_fd, &p, sizeof(p));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    return n == sizeof(p) ? 0 : -EIO;
}

int xenhv_evtchn_close(evtchn_port_t port) {
    // Unbinding through the device also closes the port in Xen.
    struct ioctl_evtchn_unbind b = { .port = port };
    int rc = evtchn_ioctl(IOCTL_EVTCHN_UNBIND, &b);
    return rc < 0 ? rc : 0;
}
