/* rdbtools._speedups: in-place operations on a listpack of pairs, what a small hash
 * does to its bytes (rdbtools/encodings/listpack_ops.py is the reference: same
 * results, same bytes; docs/formats.md §3.4).
 *
 * The listpack is a bytearray the server trusts (made by these functions, or checked
 * by lp_validate_pairs when it came from a file or a payload), yet every entry is
 * still checked to lie before the end marker: a damaged one raises BadEncoding,
 * never reads or writes out of bounds. Entries are read by lp_ent (lpentry.c). */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

/* string2ll (rdbtools/numbers.py): the int64 that s[0:len] canonically spells. */
int
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

/* The text of a bytes or bytearray object: 1, else 0. */
static int
text_of(PyObject *s, const uint8_t **p, Py_ssize_t *n)
{
    if (PyBytes_Check(s)) {
        *p = (const uint8_t *)PyBytes_AS_STRING(s);
        *n = PyBytes_GET_SIZE(s);
        return 1;
    }
    if (PyByteArray_Check(s)) {
        *p = (const uint8_t *)PyByteArray_AS_STRING(s);
        *n = PyByteArray_GET_SIZE(s);
        return 1;
    }
    return 0;
}

/* numbers.string2ll_py: the int64 that the bytes (or bytearray) s canonically spell,
 * else None. */
PyObject *
ll_parse(PyObject *self, PyObject *s)
{
    const uint8_t *p;
    Py_ssize_t n;
    if (!text_of(s, &p, &n)) {
        Py_buffer view;
        if (PyObject_GetBuffer(s, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        int64_t v;
        int ok = canon_ll((const uint8_t *)view.buf, view.len, &v);
        PyBuffer_Release(&view);
        if (!ok)
            Py_RETURN_NONE;
        return PyLong_FromLongLong(v);
    }
    int64_t v;
    if (!canon_ll(p, n, &v))
        Py_RETURN_NONE;
    return PyLong_FromLongLong(v);
}

/* numbers.incr_text_py: string2ll(s) + incr as canonical text, None when s spells no
 * int64 or the sum leaves the int64 range (incrDecrCommand's two refusals). */
PyObject *
ll_incr_text(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyLong_Check(args[1]))
        return PyErr_Format(PyExc_TypeError, "ll_incr_text(text, incr: int)");
    const uint8_t *p;
    Py_ssize_t n;
    if (!text_of(args[0], &p, &n))
        return PyErr_Format(PyExc_TypeError, "ll_incr_text() needs bytes");
    int overflow = 0;
    long long incr = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (incr == -1 && PyErr_Occurred())
        return NULL;
    int64_t v, r;
    if (overflow || !canon_ll(p, n, &v) || __builtin_add_overflow(v, (int64_t)incr, &r))
        Py_RETURN_NONE;
    return int_text(r);
}

int
lp_corrupt(Py_ssize_t pos)
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

/* lpFind(lp, lpFirst(lp), s, skip): offset of the entry equal to s (an integer entry
 * compares as its decimal text), looking at every entry (skip 0: a set's members) or
 * every other one (skip 1: a hash's fields); -1 when absent, -2 with an error. */
Py_ssize_t
lp_find_entry(const uint8_t *p, Py_ssize_t n, const uint8_t *s, Py_ssize_t slen, int skip)
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
                return lp_corrupt(pos);
            if (len == slen && memcmp(p + pos + 1, s, (size_t)len) == 0)
                return pos;
            pos += len + 2;
        }
        else {
            if (lp_ent(p, n, pos, &e) < 0)
                return lp_corrupt(pos);
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
        if (!skip || p[pos] == LP_EOF)
            continue;
        Py_ssize_t next = lp_skip(p, n, pos); /* the value */
        if (next < 0)
            return lp_corrupt(pos);
        pos = next;
    }
    if (pos >= n)
        return lp_corrupt(pos);
    return -1;
}

Py_ssize_t
lp_find_field(const uint8_t *p, Py_ssize_t n, const uint8_t *s, Py_ssize_t slen)
{
    return lp_find_entry(p, n, s, slen, 1);
}

PyObject *
ent_bytes(const LpEnt *e)
{
    return e->is_int ? int_text(e->v) : PyBytes_FromStringAndSize((const char *)e->s, e->len);
}

/* The entry lpAppend/lpReplace would write for s (lpEncodeGetType): canonical
 * integer text as the smallest integer form, else the smallest string form. */
Py_ssize_t
lp_encode_item(const uint8_t *s, Py_ssize_t len, uint8_t *out)
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
    return (Py_ssize_t)size + lp_put_backlen(size, out + size);
}

Py_ssize_t
lp_encoded_max(Py_ssize_t len)
{
    return len + 5 + 5; /* header + data + backlen, an upper bound for either form */
}

/* lp[a:b] = new[0:m] on the bytearray, then the header: total bytes, and the count
 * moved by `delta` entries one at a time as lpInsert/lpDeleteRangeWithEntry do. */
int
lp_splice(PyObject *lp, Py_ssize_t a, Py_ssize_t b, const uint8_t *new, Py_ssize_t m, int delta)
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
int
lp_check(PyObject *lp, const char *func)
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
    if (lp_check(lp, func) < 0)
        return -1;
    for (Py_ssize_t i = 1; i < nargs; i++) {
        if (!PyBytes_Check(args[i])) {
            PyErr_Format(PyExc_TypeError, "%s() needs bytes", func);
            return -1;
        }
    }
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = lp_find_field(p, n, (const uint8_t *)PyBytes_AS_STRING(args[1]),
                                PyBytes_GET_SIZE(args[1]));
    *fpos = pos;
    if (pos == -2)
        return -1;
    if (pos < 0)
        return 0;
    lp_ent(p, n, pos, val);
    Py_ssize_t vpos = val->next;
    if (lp_ent(p, n, vpos, val) < 0) {
        lp_corrupt(vpos);
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
    Py_ssize_t need = lp_encoded_max(vl) + (found ? 0 : lp_encoded_max(fl));
    uint8_t *buf = need <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)need);
    if (buf == NULL)
        return PyErr_NoMemory();
    int rc;
    if (found) { /* lpReplace of the value */
        Py_ssize_t vpos = val.next - val.size - lp_backlen_size((uint64_t)val.size);
        rc = lp_splice(lp, vpos, val.next, buf, lp_encode_item(vs, vl, buf), 0);
    }
    else { /* two lpAppend: the count moves one entry at a time */
        Py_ssize_t m = lp_encode_item(fs, fl, buf);
        m += lp_encode_item(vs, vl, buf + m);
        rc = lp_splice(lp, n - 1, n - 1, buf, m, 1);
        if (rc == 0)
            rc = lp_splice(lp, n - 1 + m, n - 1 + m, buf, 0, 1);
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
    if (lp_splice(args[0], pos, val.next, NULL, 0, -2) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyObject *
lp_length(PyObject *self, PyObject *lp)
{
    if (lp_check(lp, "lp_length") < 0)
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
            lp_corrupt(pos);
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
