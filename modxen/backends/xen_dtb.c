// The device tree Xen hands dom0, read for the one thing a Zephyr dom0 needs
// from it at run time: the hypervisor node's reg entries (the grant table,
// then the extended regions Xen left unused for foreign mappings). Xen
// computes those for each boot and release; a build-time copy goes stale.
//
// Owns: recognising a flattened device tree and reading /hypervisor's reg.
// Must not know: Zephyr or where the blob lives (zephyr.c finds it and hands
// the bytes in), and anything else of the tree.
//
// Every offset and length read from the blob is checked against the blob's
// size before use: a corrupt or foreign blob gives -1, never a fault.
#include <string.h>

#include "xen_dtb.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

size_t xen_dtb_size(const uint8_t *p, size_t avail) {
    if (avail < 40 || be32(p) != FDT_MAGIC) {
        return 0;
    }
    uint32_t total = be32(p + 4), off_struct = be32(p + 8), off_strings = be32(p + 12);
    uint32_t version = be32(p + 20), size_strings = be32(p + 32), size_struct = be32(p + 36);
    if (version < 17 || total < 40 || total > XEN_DTB_MAX
        || off_struct > total || size_struct > total - off_struct
        || off_strings > total || size_strings > total - off_strings) {
        return 0;
    }
    return total;
}

// A property value that must be the NUL-terminated list `want` is one of.
static bool has_string(const uint8_t *v, uint32_t len, const char *want) {
    size_t n = strlen(want) + 1;
    for (uint32_t i = 0; i < len;) {
        const uint8_t *end = memchr(v + i, 0, len - i);
        if (end == NULL) {
            return false;
        }
        if ((size_t)(end - (v + i)) + 1 == n && memcmp(v + i, want, n) == 0) {
            return true;
        }
        i = (uint32_t)(end - v) + 1;
    }
    return false;
}

static uint64_t cells(const uint8_t *p, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) {
        v = (v << 32) | be32(p + 4 * i);
    }
    return v;
}

int xen_dtb_hypervisor_regs(const uint8_t *blob, size_t len, uint64_t (*out)[2], int max) {
    size_t total = xen_dtb_size(blob, len);
    if (total == 0 || total > len) {
        return -1;
    }
    const uint8_t *st = blob + be32(blob + 8);
    const uint32_t st_len = be32(blob + 36);
    const char *strs = (const char *)blob + be32(blob + 12);
    const uint32_t strs_len = be32(blob + 32);
    uint32_t addr_cells = 2, size_cells = 1;    // the defaults the spec gives
    int depth = 0;
    bool in_hyp = false, compatible = false;
    const uint8_t *reg = NULL;
    uint32_t reg_len = 0;
    for (uint32_t i = 0; i + 4 <= st_len;) {
        uint32_t tok = be32(st + i);
        i += 4;
        if (tok == FDT_BEGIN_NODE) {
            const uint8_t *name = st + i;
            const uint8_t *end = memchr(name, 0, st_len - i);
            if (end == NULL) {
                return -1;
            }
            depth++;
            // the root is depth 1; its child "hypervisor" (no unit address, or one)
            in_hyp = depth == 2 && (strcmp((const char *)name, "hypervisor") == 0
                || strncmp((const char *)name, "hypervisor@", 11) == 0);
            i = ((uint32_t)(end - st) + 1 + 3) & ~3u;
        } else if (tok == FDT_END_NODE) {
            if (in_hyp && depth == 2) {
                if (!compatible || reg == NULL) {
                    return -1;
                }
                uint32_t entry = 4 * (addr_cells + size_cells);
                if (addr_cells == 0 || addr_cells > 2 || size_cells > 2 || reg_len % entry) {
                    return -1;
                }
                int n = 0;
                for (uint32_t k = 0; k < reg_len / entry && n < max; k++, n++) {
                    out[n][0] = cells(reg + k * entry, addr_cells);
                    out[n][1] = cells(reg + k * entry + 4 * addr_cells, size_cells);
                }
                return n;
            }
            in_hyp = false;
            depth--;
            if (depth < 0) {
                return -1;
            }
        } else if (tok == FDT_PROP) {
            if (i + 8 > st_len) {
                return -1;
            }
            uint32_t vlen = be32(st + i), nameoff = be32(st + i + 4);
            i += 8;
            if (vlen > st_len - i || nameoff >= strs_len || memchr(strs + nameoff, 0, strs_len - nameoff) == NULL) {
                return -1;
            }
            const char *pname = strs + nameoff;
            const uint8_t *v = st + i;
            if (depth == 1 && vlen == 4 && strcmp(pname, "#address-cells") == 0) {
                addr_cells = be32(v);
            } else if (depth == 1 && vlen == 4 && strcmp(pname, "#size-cells") == 0) {
                size_cells = be32(v);
            } else if (in_hyp && depth == 2 && strcmp(pname, "compatible") == 0) {
                compatible = has_string(v, vlen, "xen,xen");
            } else if (in_hyp && depth == 2 && strcmp(pname, "reg") == 0) {
                reg = v;
                reg_len = vlen;
            }
            i = (i + vlen + 3) & ~3u;
        } else if (tok == FDT_NOP) {
            continue;
        } else {
            break;      // FDT_END, or garbage
        }
    }
    return -1;
}
