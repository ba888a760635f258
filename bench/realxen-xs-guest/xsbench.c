/* xsbench N: a guest's own xenstore client for bench/realxen-xs.py.
 * N reads, N writes, N directory listings and N transactions (start, read, write,
 * end: 4 requests) through the guest kernel's /dev/xen/xenbus, one request in flight,
 * each timed with CLOCK_MONOTONIC. Between kinds the client sleeps PAD_MS and prints
 * "XSB begin KIND" / "XSB end KIND" lines, so that dom0 can take its own CPU time at
 * each mark; the padding keeps dom0's look at the console (every few ms) outside the
 * measured loop. Results, one JSON object per kind, on lines starting "XSB {".
 * Paths are relative to the domain's home (data/ is writable by the guest under both
 * toolstacks). Static aarch64 binary; no library but libc. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { XS_DIRECTORY = 1, XS_READ = 2, XS_TRANSACTION_START = 6, XS_TRANSACTION_END = 7,
       XS_WRITE = 11, XS_ERROR = 16 };
struct hdr { uint32_t type, req_id, tx_id, len; };

static int fd;
static unsigned char rbuf[4096 + sizeof(struct hdr)];
static uint32_t req_id;
static int pad_ms = 500;

static void die(const char *what) {
    printf("XSB error %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void sleep_ms(int ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

/* One request, its reply in rbuf (payload at rbuf + 16); returns the reply's type. */
static uint32_t req(uint32_t type, uint32_t tx, const void *payload, uint32_t len, uint32_t *rlen) {
    unsigned char msg[sizeof(struct hdr) + 512];
    struct hdr h = { type, ++req_id, tx, len };
    if (len > 512) { errno = E2BIG; die("request"); }
    memcpy(msg, &h, sizeof h);
    memcpy(msg + sizeof h, payload, len);
    if (write(fd, msg, sizeof h + len) != (ssize_t)(sizeof h + len)) die("write /dev/xen/xenbus");
    size_t got = 0, want = sizeof(struct hdr);
    while (got < want) {
        ssize_t n = read(fd, rbuf + got, sizeof rbuf - got);
        if (n <= 0) die("read /dev/xen/xenbus");
        got += n;
        if (got >= sizeof(struct hdr)) {
            struct hdr *r = (struct hdr *)rbuf;
            want = sizeof(struct hdr) + r->len;
            if (want > sizeof rbuf) { errno = EMSGSIZE; die("reply"); }
        }
    }
    struct hdr *r = (struct hdr *)rbuf;
    if (rlen) *rlen = r->len;
    return r->type;
}

static void must(uint32_t type, uint32_t tx, const char *p, uint32_t len, const char *what) {
    uint32_t rl;
    uint32_t t = req(type, tx, p, len, &rl);
    if (t != type) {
        printf("XSB error %s: reply type %u %.*s\n", what, t, (int)rl, rbuf + 16);
        fflush(stdout);
        exit(1);
    }
}

static int cmp64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *kind, uint64_t *ns, int n, uint64_t total, int retries) {
    qsort(ns, n, sizeof *ns, cmp64);
    printf("XSB {\"kind\": \"%s\", \"n\": %d, \"median_us\": %.1f, \"mean_us\": %.1f, "
           "\"p10_us\": %.1f, \"p90_us\": %.1f, \"min_us\": %.1f, \"total_ms\": %.1f, \"retries\": %d}\n",
           kind, n, ns[n / 2] / 1e3, total / 1e3 / n, ns[n / 10] / 1e3, ns[n * 9 / 10] / 1e3,
           ns[0] / 1e3, total / 1e6, retries);
    fflush(stdout);
}

static void mark(const char *what, const char *kind) {
    printf("XSB %s %s\n", what, kind);
    fflush(stdout);
    sleep_ms(pad_ms);
}

static const char WPATH[] = "data/xsb/w";
static const char TPATH[] = "data/xsb/t";

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (argc > 2) pad_ms = atoi(argv[2]);
    if (n < 10) n = 10;
    uint64_t *ns = calloc(n, sizeof *ns);
    char p[512];
    fd = open("/dev/xen/xenbus", O_RDWR);
    if (fd < 0 || !ns) die("open /dev/xen/xenbus");

    /* the nodes read and listed: a 16-byte value, a directory of 10 children */
    int l = snprintf(p, sizeof p, "data/xsb/r%c0123456789abcdef", 0);
    must(XS_WRITE, 0, p, l, "setup write");
    for (int i = 0; i < 10; i++) {
        l = snprintf(p, sizeof p, "data/xsb/d/child%d%cv", i, 0);
        must(XS_WRITE, 0, p, l, "setup dir");
    }
    l = snprintf(p, sizeof p, "%s%c0", TPATH, 0);
    must(XS_WRITE, 0, p, l, "setup t");
    printf("XSB ready n=%d pad_ms=%d\n", n, pad_ms);
    fflush(stdout);

    /* dom0's CPU at rest, with the client as idle as it will be between requests */
    mark("begin", "idle");
    sleep_ms(1000);
    mark("end", "idle");

    static const char RPATH[] = "data/xsb/r";
    static const char DPATH[] = "data/xsb/d";
    const char *kinds[] = { "read", "write", "directory", "transaction" };
    for (int k = 0; k < 4; k++) {
        int retries = 0;
        mark("begin", kinds[k]);
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            uint64_t a = now_ns();
            if (k == 0) {
                must(XS_READ, 0, RPATH, sizeof RPATH, "read");
            } else if (k == 1) {
                l = snprintf(p, sizeof p, "%s%cvalue-%08d", WPATH, 0, i);
                must(XS_WRITE, 0, p, l, "write");
            } else if (k == 2) {
                must(XS_DIRECTORY, 0, DPATH, sizeof DPATH, "directory");
            } else {
                for (;;) {
                    uint32_t rl, tx;
                    must(XS_TRANSACTION_START, 0, "", 1, "transaction start");
                    tx = (uint32_t)strtoul((char *)rbuf + 16, NULL, 10);
                    must(XS_READ, tx, TPATH, sizeof TPATH, "transaction read");
                    l = snprintf(p, sizeof p, "%s%c%d", TPATH, 0, i);
                    must(XS_WRITE, tx, p, l, "transaction write");
                    uint32_t t = req(XS_TRANSACTION_END, tx, "T", 2, &rl);
                    if (t == XS_TRANSACTION_END) break;
                    if (t == XS_ERROR && rl >= 6 && memcmp(rbuf + 16, "EAGAIN", 6) == 0) { retries++; continue; }
                    printf("XSB error transaction end: type %u %.*s\n", t, (int)rl, rbuf + 16);
                    fflush(stdout);
                    exit(1);
                }
            }
            ns[i] = now_ns() - a;
        }
        uint64_t total = now_ns() - t0;
        printf("XSB end %s\n", kinds[k]);
        fflush(stdout);
        report(kinds[k], ns, n, total, retries);
        sleep_ms(pad_ms);
    }
    printf("XSB done\n");
    fflush(stdout);
    return 0;
}
