/* rdbtools._speedups: reading one listpack entry (lp_ent, shared with lpops.c and
 * quicklist.c), and the deep checks of a listpack (a list's quicklist node) and of a
 * listpack of pairs (a hash) a load or RESTORE keeps as its bytes
 * (rdbtools/encodings/listpack_ops.py: lp_validate_pairs_py is the reference;
 * docs/formats.md §3.4). Every read is checked against the end marker. */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

/* lpEncodeBacklen: the leftmost byte holds the top bits, the others 0x80 | 7 bits. */
Py_ssize_t
lp_put_backlen(uint64_t size, uint8_t *b)
{
    Py_ssize_t bl = lp_backlen_size(size);
    for (Py_ssize_t i = 0; i < bl; i++) {
        uint8_t byte = (uint8_t)((size >> (7 * (bl - 1 - i))) & 127);
        b[i] = i == 0 ? byte : (uint8_t)(byte | 128);
    }
    return bl;
}

/* The entry at pos of p[0:n] (lpGet + lpSkip); -1 when it is not a whole entry
 * before the end marker at n - 1. */
int
lp_ent(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, LpEnt *e)
{
    Py_ssize_t end = n - 1;
    if (pos < LP_HDR_SIZE || pos >= end)
        return -1;
    unsigned b0 = p[pos];
    uint64_t size, hdr = 0;
    e->is_int = 1;
    if (b0 < 0x80) {
        e->v = b0;
        size = 1;
    }
    else if (b0 < 0xC0) {
        e->is_int = 0;
        hdr = 1;
        size = 1 + (b0 & 0x3F);
    }
    else if (b0 < 0xE0) {
        if (pos + 1 >= end)
            return -1;
        int64_t v = ((b0 & 0x1F) << 8) | p[pos + 1];
        e->v = v >= 4096 ? v - 8192 : v;
        size = 2;
    }
    else if (b0 < 0xF0) {
        if (pos + 1 >= end)
            return -1;
        e->is_int = 0;
        hdr = 2;
        size = 2 + (((b0 & 0x0F) << 8) | p[pos + 1]);
    }
    else if (b0 == 0xF0) {
        if (pos + 5 > end)
            return -1;
        e->is_int = 0;
        hdr = 5;
        size = 5 + (uint64_t)rd_u32le(p + pos + 1);
    }
    else if (b0 <= 0xF4) {
        size = b0 == 0xF1 ? 3 : b0 == 0xF2 ? 4 : b0 == 0xF3 ? 5 : 9;
        if (pos + (Py_ssize_t)size > end)
            return -1;
        const uint8_t *d = p + pos + 1;
        if (b0 == 0xF1)
            e->v = as_i16(rd_u16le(d));
        else if (b0 == 0xF2)
            e->v = as_i24(d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16));
        else if (b0 == 0xF3)
            e->v = as_i32(rd_u32le(d));
        else
            e->v = as_i64(rd_u64le(d));
    }
    else {
        return -1;
    }
    uint64_t next = (uint64_t)pos + size + (uint64_t)lp_backlen_size(size);
    if (next > (uint64_t)end)
        return -1;
    if (!e->is_int) {
        e->s = p + pos + hdr;
        e->len = (Py_ssize_t)(size - hdr);
    }
    e->size = (Py_ssize_t)size;
    e->next = (Py_ssize_t)next;
    return 0;
}

/* ------------------------------------------------------------------ validation */

/* A field's text for the duplicate check: into the arena, integers formatted. */
typedef struct {
    Py_ssize_t off, len;
    uint64_t hash;
} Field;

static uint64_t
fnv1a(const uint8_t *s, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/* The checks of lp_validate_pairs_py without building objects (lpValidateIntegrity
 * deep, lpPairsValidateIntegrityAndDups): 1 when the whole listpack is valid, has an
 * even entry count and no field twice; 0 otherwise (the caller then runs the
 * reference for its precise error); -1 with MemoryError. */
int
lp_pairs_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *entries)
{
    if (n < LP_HDR_SIZE + 1 || rd_u32le(p) != (uint64_t)n || p[n - 1] != LP_EOF)
        return 0;
    unsigned count = rd_u16le(p + 4);
    /* every entry takes two bytes or more: at most this many fields; fewer when the
     * header counts the entries (more would fail the count check below) */
    Py_ssize_t maxf = (n - LP_HDR_SIZE) / 4 + 1;
    if (count != LP_HDR_NUMELE_UNKNOWN && (Py_ssize_t)count / 2 + 1 < maxf)
        maxf = (Py_ssize_t)count / 2 + 1;
    Py_ssize_t cap = 8;
    while (cap < maxf * 2)
        cap <<= 1;
    /* one block: the fields, the hash table of their indexes, their texts (an
     * integer's text is at most 20 bytes); on the stack for the usual small hash */
    size_t need = sizeof(Field) * (size_t)maxf + sizeof(Py_ssize_t) * (size_t)cap + (size_t)n * 3 + 24;
    uint64_t stack[512];
    void *block = need <= sizeof stack ? (void *)stack : PyMem_Malloc(need);
    if (block == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Field *fields = block;
    Py_ssize_t *table = (Py_ssize_t *)(fields + maxf);
    uint8_t *arena = (uint8_t *)(table + cap);
    int ok = 1;
    for (Py_ssize_t i = 0; i < cap; i++)
        table[i] = -1;
    Py_ssize_t pos = LP_HDR_SIZE, used = 0, idx = 0, nf = 0;
    LpEnt e;
    uint8_t want[5];
    while (pos < n - 1) {
        if (lp_ent(p, n, pos, &e) < 0) {
            ok = 0;
            goto done;
        }
        Py_ssize_t bl = lp_put_backlen((uint64_t)e.size, want);
        if (memcmp(p + pos + e.size, want, (size_t)bl) != 0) {
            ok = 0;
            goto done;
        }
        if ((idx & 1) == 0) { /* a field: its text, then the duplicate check */
            if (nf == maxf) { /* more fields than the header counts */
                ok = 0;
                goto done;
            }
            Field *f = &fields[nf];
            f->off = used;
            if (e.is_int) {
                f->len = fmt_i64((char *)arena + used, e.v);
            }
            else {
                memcpy(arena + used, e.s, (size_t)e.len);
                f->len = e.len;
            }
            used += f->len;
            f->hash = fnv1a(arena + f->off, f->len);
            Py_ssize_t slot = (Py_ssize_t)(f->hash & (uint64_t)(cap - 1));
            while (table[slot] >= 0) {
                Field *g = &fields[table[slot]];
                if (g->hash == f->hash && g->len == f->len &&
                    memcmp(arena + g->off, arena + f->off, (size_t)f->len) == 0) {
                    ok = 0;
                    goto done;
                }
                slot = (slot + 1) & (cap - 1);
            }
            table[slot] = nf++;
        }
        idx++;
        pos = e.next;
    }
    if (pos != n - 1 || (idx & 1) || (count != LP_HDR_NUMELE_UNKNOWN && (Py_ssize_t)count != idx))
        ok = 0;
    *entries = idx;
done:
    if (block != stack)
        PyMem_Free(block);
    return ok;
}

/* lp_validate_pairs_check(blob): the entry count when the blob is a valid listpack of
 * unique pairs, -1 when it is not (rdbtools.encodings.listpack_ops explains). */
PyObject *
lp_pairs_check(PyObject *self, PyObject *blob)
{
    Py_buffer view;
    if (PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t entries = -1;
    int ok = lp_pairs_ok((const uint8_t *)view.buf, view.len, &entries);
    PyBuffer_Release(&view);
    if (ok < 0)
        return NULL;
    return PyLong_FromSsize_t(ok ? entries : -1);
}

/* ------------------------------------------------------------------ one listpack */

/* lpValidateIntegrity with deep checks (lpl_validate_py): 1 with *entries when p[0:n]
 * is a valid listpack, 0 when it is not (the caller runs the reference for its
 * precise error). */
int
lp_list_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *entries)
{
    if (n < LP_HDR_SIZE + 1 || rd_u32le(p) != (uint64_t)n || p[n - 1] != LP_EOF)
        return 0;
    Py_ssize_t pos = LP_HDR_SIZE, k = 0;
    LpEnt e;
    uint8_t want[5];
    while (pos < n - 1) {
        if (lp_ent(p, n, pos, &e) < 0)
            return 0;
        Py_ssize_t bl = lp_put_backlen((uint64_t)e.size, want);
        if (memcmp(p + pos + e.size, want, (size_t)bl) != 0)
            return 0;
        pos = e.next;
        k++;
    }
    unsigned count = rd_u16le(p + 4);
    if (pos != n - 1 || (count != LP_HDR_NUMELE_UNKNOWN && (Py_ssize_t)count != k))
        return 0;
    *entries = k;
    return 1;
}

PyObject *
lpl_check(PyObject *self, PyObject *blob)
{
    Py_buffer view;
    if (PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t k = -1;
    int ok = lp_list_ok((const uint8_t *)view.buf, view.len, &k);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(ok ? k : -1);
}
