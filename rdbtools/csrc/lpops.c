/* rdbtools._speedups: in-place operations on a listpack of pairs, what a small hash
 * does to its bytes (rdbtools/encodings/listpack_ops.py is the reference: same
 * results, same bytes; docs/formats.md §3.4).
 *
 * The listpack is a bytearray the server trusts (made by these functions, or checked
 * by lp_validate_pairs when it came from a file or a payload), yet every entry is
 * still checked to lie before the end marker: a damaged one raises BadEncoding,
 * never reads or writes out of bounds. */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

/* One entry: a string (s, len) or an integer (v); next is the following entry. */
typedef struct {
    const uint8_t *s;
    Py_ssize_t len;
    int64_t v;
    int is_int;
    Py_ssize_t size; /* encoding + data, without the backlen */
    Py_ssize_t next;
} LpEnt;

static Py_ssize_t
backlen_size(uint64_t size)
{
    return size <= 127 ? 1 : size < 16383 ? 2 : size < 2097151 ? 3 : size < 268435455 ? 4 : 5;
}

/* lpEncodeBacklen: the leftmost byte holds the top bits, the others 0x80 | 7 bits. */
static Py_ssize_t
put_backlen(uint64_t size, uint8_t *b)
{
    Py_ssize_t bl = backlen_size(size);
    for (Py_ssize_t i = 0; i < bl; i++) {
        uint8_t byte = (uint8_t)((size >> (7 * (bl - 1 - i))) & 127);
        b[i] = i == 0 ? byte : (uint8_t)(byte | 128);
    }
    return bl;
}

/* The entry at pos of p[0:n] (lpGet + lpSkip); -1 when it is not a whole entry
 * before the end marker at n - 1. */
static int
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
    uint64_t next = (uint64_t)pos + size + (uint64_t)backlen_size(size);
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

/* string2ll (rdbtools/numbers.py): the int64 that s[0:len] canonically spells. */
static int
canon_ll(const uint8_t *s, Py_ssize_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return 0;
    Py_ssize_t i = 0;
    int neg = 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (len == 1)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    uint64_t u = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = s[i] - '0';
        if (u > (UINT64_MAX - d) / 10)
            return 0;
        u = u * 10 + d;
    }
    if (neg) {
        if (u > (uint64_t)1 << 63)
            return 0;
        *out = u == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)u;
    }
    else {
        if (u > (uint64_t)INT64_MAX)
            return 0;
        *out = (int64_t)u;
    }
    return 1;
}

static int
corrupt(Py_ssize_t pos)
{
    bad(pos, "listpack entry at offset %zd runs past the end or is invalid", pos);
    return -2;
}

/* The offset after the entry at pos (lpSkip), or -1 when it does not end before the
 * end marker at n - 1: lp_ent's walk without decoding the value. */
static inline Py_ssize_t
lp_skip(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos)
{
    unsigned b0 = p[pos];
    Py_ssize_t next;
    if (b0 < 0x80)
        next = pos + 2;
    else if (b0 < 0xC0)
        next = pos + (b0 & 0x3F) + 2;
    else if (b0 < 0xE0)
        next = pos + 3;
    else if (b0 >= 0xF1 && b0 <= 0xF4)
        next = pos + (b0 == 0xF1 ? 4 : b0 == 0xF2 ? 5 : b0 == 0xF3 ? 6 : 10);
    else {
        LpEnt e;
        return lp_ent(p, n, pos, &e) < 0 ? -1 : e.next;
    }
    return next <= n - 1 ? next : -1;
}

/* lpFind(lp, lpFirst(lp), s, skip=1): offset of the field entry equal to s (an
 * integer entry compares as its decimal text), -1 when absent, -2 with an error. */
static Py_ssize_t
find_field(const uint8_t *p, Py_ssize_t n, const uint8_t *s, Py_ssize_t slen)
{
    int s_int = -1; /* unknown yet */
    int64_t sv = 0;
    Py_ssize_t pos = LP_HDR_SIZE;
    LpEnt e;
    while (pos < n && p[pos] != LP_EOF) {
        unsigned b0 = p[pos];
        if (b0 >= 0x80 && b0 < 0xC0) { /* a 6-bit string, the common field */
            Py_ssize_t len = b0 & 0x3F;
            if (pos + len + 2 > n - 1)
                return corrupt(pos);
            if (len == slen && memcmp(p + pos + 1, s, (size_t)len) == 0)
                return pos;
            pos += len + 2;
        }
        else {
            if (lp_ent(p, n, pos, &e) < 0)
                return corrupt(pos);
            if (e.is_int) {
                if (s_int < 0)
                    s_int = canon_ll(s, slen, &sv);
                if (s_int && e.v == sv)
                    return pos;
            }
            else if (e.len == slen && memcmp(e.s, s, (size_t)slen) == 0) {
                return pos;
            }
            pos = e.next;
        }
        if (p[pos] == LP_EOF)
            break;
        Py_ssize_t next = lp_skip(p, n, pos); /* the value */
        if (next < 0)
            return corrupt(pos);
        pos = next;
    }
    if (pos >= n)
        return corrupt(pos);
    return -1;
}

static PyObject *
ent_bytes(const LpEnt *e)
{
    return e->is_int ? int_text(e->v) : PyBytes_FromStringAndSize((const char *)e->s, e->len);
}

/* The entry lpAppend/lpReplace would write for s (lpEncodeGetType): canonical
 * integer text as the smallest integer form, else the smallest string form. */
static Py_ssize_t
encode_item(const uint8_t *s, Py_ssize_t len, uint8_t *out)
{
    int64_t v;
    if (canon_ll(s, len, &v)) {
        if (v >= 0 && v <= 127) {
            out[0] = (uint8_t)v;
            out[1] = 1;
            return 2;
        }
        if (v >= -4096 && v <= 4095) {
            uint32_t u = (uint32_t)v & 0x1FFF;
            out[0] = (uint8_t)(0xC0 | (u >> 8));
            out[1] = (uint8_t)(u & 0xFF);
            out[2] = 2;
            return 3;
        }
        int w = v >= -32768 && v <= 32767             ? 2
                : v >= -8388608 && v <= 8388607       ? 3
                : v >= -2147483648LL && v <= 2147483647 ? 4
                                                      : 8;
        out[0] = w == 2 ? 0xF1 : w == 3 ? 0xF2 : w == 4 ? 0xF3 : 0xF4;
        uint64_t u = (uint64_t)v;
        for (int i = 0; i < w; i++)
            out[1 + i] = (uint8_t)(u >> (8 * i));
        out[1 + w] = (uint8_t)(1 + w);
        return 2 + w;
    }
    uint64_t size;
    Py_ssize_t h;
    if (len < 64) {
        out[0] = (uint8_t)(0x80 | len);
        h = 1;
    }
    else if (len < 4096) {
        out[0] = (uint8_t)(0xE0 | (len >> 8));
        out[1] = (uint8_t)(len & 0xFF);
        h = 2;
    }
    else {
        out[0] = 0xF0;
        for (int i = 0; i < 4; i++)
            out[1 + i] = (uint8_t)((uint64_t)len >> (8 * i));
        h = 5;
    }
    memcpy(out + h, s, (size_t)len);
    size = (uint64_t)(h + len);
    return (Py_ssize_t)size + put_backlen(size, out + size);
}

static Py_ssize_t
encoded_max(Py_ssize_t len)
{
    return len + 5 + 5; /* header + data + backlen, an upper bound for either form */
}

/* lp[a:b] = new[0:m] on the bytearray, then the header: total bytes, and the count
 * moved by `delta` entries one at a time as lpInsert/lpDeleteRangeWithEntry do. */
static int
splice(PyObject *lp, Py_ssize_t a, Py_ssize_t b, const uint8_t *new, Py_ssize_t m, int delta)
{
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t nn = n - (b - a) + m;
    if (nn > 0xFFFFFFFFLL) {
        PyErr_SetString(PyExc_OverflowError, "listpack would exceed 4 GiB");
        return -1;
    }
    if (nn > n && PyByteArray_Resize(lp, nn) < 0)
        return -1;
    uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(lp);
    memmove(p + a + m, p + b, (size_t)(n - b));
    memcpy(p + a, new, (size_t)m);
    if (nn < n && PyByteArray_Resize(lp, nn) < 0)
        return -1;
    p = (uint8_t *)PyByteArray_AS_STRING(lp);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint64_t)nn >> (8 * i));
    unsigned count = rd_u16le(p + 4);
    if (count != LP_HDR_NUMELE_UNKNOWN && delta) {
        long c = (long)count + delta;
        if (delta > 0 && c > LP_HDR_NUMELE_UNKNOWN)
            c = LP_HDR_NUMELE_UNKNOWN;
        p[4] = (uint8_t)(c & 0xFF);
        p[5] = (uint8_t)(c >> 8);
    }
    return 0;
}

/* Argument checks shared by the functions: lp a bytearray of a plausible listpack. */
static int
check_lp(PyObject *lp, const char *func)
{
    if (!PyByteArray_Check(lp)) {
        PyErr_Format(PyExc_TypeError, "%s() needs a bytearray listpack", func);
        return -1;
    }
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    if (n < LP_HDR_SIZE + 1 || p[n - 1] != LP_EOF || rd_u32le(p) != (uint64_t)n) {
        bad(0, "not a listpack of %zd bytes", n);
        return -1;
    }
    return 0;
}

/* The arguments (lp, field[, value]) of `func` and the pair of `field` in lp: 1 with
 * *fpos (the field entry) and *val (its value entry) set, 0 when absent, -1 error. */
static int
locate(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, const char *func,
       Py_ssize_t *fpos, LpEnt *val)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", func, want);
        return -1;
    }
    PyObject *lp = args[0];
    if (check_lp(lp, func) < 0)
        return -1;
    for (Py_ssize_t i = 1; i < nargs; i++) {
        if (!PyBytes_Check(args[i])) {
            PyErr_Format(PyExc_TypeError, "%s() needs bytes", func);
            return -1;
        }
    }
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = find_field(p, n, (const uint8_t *)PyBytes_AS_STRING(args[1]),
                                PyBytes_GET_SIZE(args[1]));
    *fpos = pos;
    if (pos == -2)
        return -1;
    if (pos < 0)
        return 0;
    lp_ent(p, n, pos, val);
    Py_ssize_t vpos = val->next;
    if (lp_ent(p, n, vpos, val) < 0) {
        corrupt(vpos);
        return -1;
    }
    return 1;
}

PyObject *
lp_pairs_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos;
    LpEnt val;
    int rc = locate(args, nargs, 2, "lp_pairs_get", &pos, &val);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        Py_RETURN_NONE;
    return ent_bytes(&val);
}

PyObject *
lp_pairs_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos;
    LpEnt val;
    int found = locate(args, nargs, 3, "lp_pairs_set", &pos, &val);
    if (found < 0)
        return NULL;
    PyObject *lp = args[0];
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    const uint8_t *fs = (const uint8_t *)PyBytes_AS_STRING(args[1]);
    const uint8_t *vs = (const uint8_t *)PyBytes_AS_STRING(args[2]);
    Py_ssize_t fl = PyBytes_GET_SIZE(args[1]), vl = PyBytes_GET_SIZE(args[2]);
    uint8_t stack[256];
    Py_ssize_t need = encoded_max(vl) + (found ? 0 : encoded_max(fl));
    uint8_t *buf = need <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)need);
    if (buf == NULL)
        return PyErr_NoMemory();
    int rc;
    if (found) { /* lpReplace of the value */
        Py_ssize_t vpos = val.next - val.size - backlen_size((uint64_t)val.size);
        rc = splice(lp, vpos, val.next, buf, encode_item(vs, vl, buf), 0);
    }
    else { /* two lpAppend: the count moves one entry at a time */
        Py_ssize_t m = encode_item(fs, fl, buf);
        m += encode_item(vs, vl, buf + m);
        rc = splice(lp, n - 1, n - 1, buf, m, 1);
        if (rc == 0)
            rc = splice(lp, n - 1 + m, n - 1 + m, buf, 0, 1);
    }
    if (buf != stack)
        PyMem_Free(buf);
    if (rc < 0)
        return NULL;
    return PyBool_FromLong(!found);
}

PyObject *
lp_pairs_delete(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos;
    LpEnt val;
    int rc = locate(args, nargs, 2, "lp_pairs_delete", &pos, &val);
    if (rc <= 0)
        return rc < 0 ? NULL : Py_NewRef(Py_False);
    if (splice(args[0], pos, val.next, NULL, 0, -2) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyObject *
lp_length(PyObject *self, PyObject *lp)
{
    if (check_lp(lp, "lp_length") < 0)
        return NULL;
    uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    unsigned count = rd_u16le(p + 4);
    if (count != LP_HDR_NUMELE_UNKNOWN)
        return PyLong_FromUnsignedLong(count);
    Py_ssize_t pos = LP_HDR_SIZE, c = 0;
    LpEnt e;
    while (p[pos] != LP_EOF) {
        if (lp_ent(p, n, pos, &e) < 0) {
            corrupt(pos);
            return NULL;
        }
        pos = e.next;
        c++;
    }
    if (c < LP_HDR_NUMELE_UNKNOWN) {
        p[4] = (uint8_t)(c & 0xFF);
        p[5] = (uint8_t)(c >> 8);
    }
    return PyLong_FromSsize_t(c);
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
    /* every entry takes two bytes or more: at most this many fields */
    Py_ssize_t maxf = (n - LP_HDR_SIZE) / 4 + 1;
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
        Py_ssize_t bl = put_backlen((uint64_t)e.size, want);
        if (memcmp(p + pos + e.size, want, (size_t)bl) != 0) {
            ok = 0;
            goto done;
        }
        if ((idx & 1) == 0) { /* a field: its text, then the duplicate check */
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
