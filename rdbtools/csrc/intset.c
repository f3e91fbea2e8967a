/* rdbtools._speedups: the intset decoder (rdbtools/encodings/intset.py is the
 * reference; docs/formats.md §3.3) and the in-place operations of a small set
 * (rdbtools/encodings/intset_ops.py is the reference: same results, same bytes). */

#include "speedups.h"

#define INTSET_HEADER_SIZE 8

PyObject *
is_decode_raw(const uint8_t *p, Py_ssize_t n, Py_ssize_t buflen, int text)
{
    PyObject *out = NULL;
    if (n < INTSET_HEADER_SIZE) {
        bad(0, "intset of %zd bytes is shorter than its 8-byte header", n);
        return NULL;
    }
    if (buflen < INTSET_HEADER_SIZE) {
        bad(0, "intset buffer of %zd bytes is shorter than its 8-byte header", buflen);
        goto fail;
    }
    uint32_t width = rd_u32le(p), length = rd_u32le(p + 4);
    if (width != 2 && width != 4 && width != 8) {
        bad(0, "intset encoding %lu is not 2, 4 or 8", (unsigned long)width);
        goto fail;
    }
    uint64_t need = INTSET_HEADER_SIZE + (uint64_t)length * width;
    if (need != (uint64_t)n) {
        bad(4, "intset of %lu \xc3\x97 %lu-byte members needs %llu bytes but the blob has %zd",
            (unsigned long)length, (unsigned long)width, (unsigned long long)need, n);
        goto fail;
    }
    if (length == 0) {
        bad(4, "intset is empty");
        goto fail;
    }
    if (need > (uint64_t)buflen) { /* len() and the buffer disagree (exotic objects) */
        bad(4, "intset buffer of %zd bytes is shorter than %llu", buflen,
            (unsigned long long)need);
        goto fail;
    }
    const uint8_t *s = p + INTSET_HEADER_SIZE;
    out = PyList_New(length); /* length <= (n - 8) / 2: bounded by the blob */
    if (out == NULL)
        goto fail;
    int64_t prev = 0;
    for (uint32_t i = 0; i < length; i++) {
        const uint8_t *e = s + (size_t)i * width;
        int64_t v = width == 2 ? as_i16(rd_u16le(e)) : width == 4 ? as_i32(rd_u32le(e))
                                                                  : as_i64(rd_u64le(e));
        if (i && v <= prev) {
            bad(INTSET_HEADER_SIZE + (Py_ssize_t)i * width,
                "intset member %lu (%lld) is not greater than the one before (%lld)",
                (unsigned long)i, (long long)v, (long long)prev);
            goto fail;
        }
        prev = v;
        PyObject *item = int_item(v, text);
        if (item == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, item);
    }
    return out;
fail:
    Py_XDECREF(out);
    return NULL;
}

static PyObject *
is_decode(PyObject *blob, int text)
{
    Py_buffer view;
    /* The reference reads len(blob) first, then the bytes through the buffer. */
    Py_ssize_t n = PyBytes_CheckExact(blob) ? PyBytes_GET_SIZE(blob) : PyObject_Size(blob);
    if (n < 0)
        return NULL;
    if (n < INTSET_HEADER_SIZE) {
        bad(0, "intset of %zd bytes is shorter than its 8-byte header", n);
        return NULL;
    }
    if (PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = is_decode_raw((const uint8_t *)view.buf, n, view.len, text);
    PyBuffer_Release(&view);
    return out;
}

BLOB_FUNC(decode_intset, is_decode(blob, 0))
BLOB_FUNC(decode_intset_strings, is_decode(blob, 1))

/* ------------------------------------------------------------------ in-place operations
 * The intset is a bytearray the server trusts (made here, or checked by is_check when
 * it came from a file or a payload); its header is still checked against its size
 * before every operation, so a damaged one raises BadEncoding instead of reading or
 * writing out of bounds. */

static inline int64_t
is_at(const uint8_t *c, unsigned w, uint32_t i)
{
    const uint8_t *e = c + (size_t)i * w;
    return w == 2 ? as_i16(rd_u16le(e)) : w == 4 ? as_i32(rd_u32le(e)) : as_i64(rd_u64le(e));
}

static inline void
is_put(uint8_t *c, unsigned w, uint32_t i, int64_t v)
{
    uint8_t *e = c + (size_t)i * w;
    uint64_t u = (uint64_t)v;
    for (unsigned k = 0; k < w; k++)
        e[k] = (uint8_t)(u >> (8 * k));
}

static inline void
wr_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* _intsetValueEncoding: the narrowest width that holds v. */
static inline unsigned
value_enc(int64_t v)
{
    return v < INT32_MIN || v > INT32_MAX ? 8 : v < INT16_MIN || v > INT16_MAX ? 4 : 2;
}

/* The header of the bytearray `is` (width, length), checked against its size. */
static int
is_head(PyObject *is, const char *fn, unsigned *w, uint32_t *len)
{
    if (!PyByteArray_CheckExact(is)) {
        PyErr_Format(PyExc_TypeError, "%s: the intset must be a bytearray", fn);
        return -1;
    }
    Py_ssize_t n = PyByteArray_GET_SIZE(is);
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(is);
    if (n >= INTSET_HEADER_SIZE) {
        uint32_t width = rd_u32le(p), length = rd_u32le(p + 4);
        if ((width == 2 || width == 4 || width == 8) &&
            INTSET_HEADER_SIZE + (uint64_t)length * width == (uint64_t)n) {
            *w = width;
            *len = length;
            return 0;
        }
    }
    bad(0, "intset header does not match its %zd bytes", n);
    return -1;
}

/* intsetSearch: 1 with *pos its index when v is there, else 0 with *pos where it goes. */
static int
is_search(const uint8_t *c, unsigned w, uint32_t len, int64_t v, uint32_t *pos)
{
    if (len == 0) {
        *pos = 0;
        return 0;
    }
    if (v > is_at(c, w, len - 1)) {
        *pos = len;
        return 0;
    }
    if (v < is_at(c, w, 0)) {
        *pos = 0;
        return 0;
    }
    int64_t lo = 0, hi = (int64_t)len - 1;
    while (hi >= lo) {
        int64_t mid = (lo + hi) >> 1;
        int64_t cur = is_at(c, w, (uint32_t)mid);
        if (v > cur)
            lo = mid + 1;
        else if (v < cur)
            hi = mid - 1;
        else {
            *pos = (uint32_t)mid;
            return 1;
        }
    }
    *pos = (uint32_t)lo;
    return 0;
}

/* (is, member): the header, and 1 with *v when the member is a canonical int64
 * (string2ll), 0 when it is not; -1 on a bad argument. */
static int
is_args(PyObject *const *args, Py_ssize_t nargs, const char *fn, unsigned *w, uint32_t *len,
        int64_t *v)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 2 arguments (%zd given)", fn, nargs);
        return -1;
    }
    if (is_head(args[0], fn, w, len) < 0)
        return -1;
    if (!PyBytes_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s: the member must be bytes", fn);
        return -1;
    }
    return canon_ll((const uint8_t *)PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]), v);
}

/* Drop member pos of a length-len intset of width w (intsetMoveTail + intsetResize). */
static int
is_drop(PyObject *is, unsigned w, uint32_t len, uint32_t pos)
{
    uint8_t *c = (uint8_t *)PyByteArray_AS_STRING(is) + INTSET_HEADER_SIZE;
    memmove(c + (size_t)pos * w, c + (size_t)(pos + 1) * w, (size_t)(len - pos - 1) * w);
    if (PyByteArray_Resize(is, INTSET_HEADER_SIZE + (Py_ssize_t)(len - 1) * w) < 0)
        return -1;
    wr_u32le((uint8_t *)PyByteArray_AS_STRING(is) + 4, len - 1);
    return 0;
}

PyObject *
is_find(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned w;
    uint32_t len, pos;
    int64_t v;
    int rc = is_args(args, nargs, "is_find", &w, &len, &v);
    if (rc < 0)
        return NULL;
    const uint8_t *c = (const uint8_t *)PyByteArray_AS_STRING(args[0]) + INTSET_HEADER_SIZE;
    return PyBool_FromLong(rc && value_enc(v) <= w && is_search(c, w, len, v, &pos));
}

/* intsetAdd of v into the intset `is` of width *w and length *len (both updated):
 * 1 added, 0 already there, -1 with an error set. */
static int
is_insert(PyObject *is, unsigned *w, uint32_t *len, int64_t v)
{
    uint32_t n = *len, pos;
    if (n == UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "is_add: the intset is full");
        return -1;
    }
    unsigned enc = value_enc(v);
    if (enc > *w) { /* intsetUpgradeAndAdd: widened back to front, v first or last */
        if (PyByteArray_Resize(is, INTSET_HEADER_SIZE + (Py_ssize_t)(n + 1) * enc) < 0)
            return -1;
        uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(is), *c = p + INTSET_HEADER_SIZE;
        uint32_t prepend = v < 0;
        for (uint32_t i = n; i-- > 0;)
            is_put(c, enc, i + prepend, is_at(c, *w, i));
        is_put(c, enc, prepend ? 0 : n, v);
        wr_u32le(p, enc);
        *w = enc;
    }
    else {
        if (is_search((const uint8_t *)PyByteArray_AS_STRING(is) + INTSET_HEADER_SIZE, *w, n, v, &pos))
            return 0;
        if (PyByteArray_Resize(is, INTSET_HEADER_SIZE + (Py_ssize_t)(n + 1) * *w) < 0)
            return -1;
        uint8_t *c = (uint8_t *)PyByteArray_AS_STRING(is) + INTSET_HEADER_SIZE;
        memmove(c + (size_t)(pos + 1) * *w, c + (size_t)pos * *w, (size_t)(n - pos) * *w);
        is_put(c, *w, pos, v);
    }
    *len = n + 1;
    wr_u32le((uint8_t *)PyByteArray_AS_STRING(is) + 4, n + 1);
    return 1;
}

PyObject *
is_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned w;
    uint32_t len;
    int64_t v;
    int rc = is_args(args, nargs, "is_add", &w, &len, &v);
    if (rc <= 0)
        return rc < 0 ? NULL : PyLong_FromLong(-1); /* -1: not an integer */
    rc = is_insert(args[0], &w, &len, v);
    return rc < 0 ? NULL : PyLong_FromLong(rc);
}

PyObject *
is_add_all(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "is_add_all() takes exactly 4 arguments (%zd given)", nargs);
        return NULL;
    }
    unsigned w;
    uint32_t len;
    if (is_head(args[0], "is_add_all", &w, &len) < 0)
        return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[2]), mx = PyLong_AsSsize_t(args[3]);
    if ((i == -1 || mx == -1) && PyErr_Occurred())
        return NULL;
    if (mx > (Py_ssize_t)1 << 30)
        mx = (Py_ssize_t)1 << 30; /* setTypeAdd's limit, for intset internals */
    PyObject *seq = PySequence_Fast(args[1], "is_add_all: members must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), added = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    int convert = 0;
    if (i < 0)
        i = 0;
    for (; i < n; i++) {
        PyObject *m = items[i];
        int64_t v;
        if (!PyBytes_Check(m)) {
            PyErr_SetString(PyExc_TypeError, "is_add_all: the members must be bytes");
            Py_DECREF(seq);
            return NULL;
        }
        if (!canon_ll((const uint8_t *)PyBytes_AS_STRING(m), PyBytes_GET_SIZE(m), &v)) {
            convert = 1; /* not an integer */
            break;
        }
        int rc = is_insert(args[0], &w, &len, v);
        if (rc < 0) {
            Py_DECREF(seq);
            return NULL;
        }
        added += rc;
        if (rc && (Py_ssize_t)len > mx) {
            convert = 1; /* past the limit */
            i++;
            break;
        }
    }
    Py_DECREF(seq);
    return convert ? Py_BuildValue("(nn)", added, i) : PyLong_FromSsize_t(added);
}

PyObject *
is_remove(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned w;
    uint32_t len, pos;
    int64_t v;
    int rc = is_args(args, nargs, "is_remove", &w, &len, &v);
    if (rc < 0)
        return NULL;
    const uint8_t *c = (const uint8_t *)PyByteArray_AS_STRING(args[0]) + INTSET_HEADER_SIZE;
    if (!rc || value_enc(v) > w || !is_search(c, w, len, v, &pos))
        Py_RETURN_FALSE;
    if (is_drop(args[0], w, len, pos) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

/* (is, i): member i's value, with the header; -1 on a bad argument or index. */
static int
is_index(PyObject *const *args, Py_ssize_t nargs, const char *fn, unsigned *w, uint32_t *len,
         uint32_t *i, int64_t *v)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 2 arguments (%zd given)", fn, nargs);
        return -1;
    }
    if (is_head(args[0], fn, w, len) < 0)
        return -1;
    Py_ssize_t at = PyLong_AsSsize_t(args[1]);
    if (at == -1 && PyErr_Occurred())
        return -1;
    if (at < 0 || at >= (Py_ssize_t)*len) {
        PyErr_SetString(PyExc_IndexError, "intset index out of range");
        return -1;
    }
    *i = (uint32_t)at;
    *v = is_at((const uint8_t *)PyByteArray_AS_STRING(args[0]) + INTSET_HEADER_SIZE, *w, *i);
    return 0;
}

PyObject *
is_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned w;
    uint32_t len, i;
    int64_t v;
    if (is_index(args, nargs, "is_get", &w, &len, &i, &v) < 0)
        return NULL;
    return int_text(v);
}

PyObject *
is_pop(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned w;
    uint32_t len, i;
    int64_t v;
    if (is_index(args, nargs, "is_pop", &w, &len, &i, &v) < 0 || is_drop(args[0], w, len, i) < 0)
        return NULL;
    return int_text(v);
}

int
is_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *count)
{
    if (n < INTSET_HEADER_SIZE)
        return 0;
    uint32_t w = rd_u32le(p), len = rd_u32le(p + 4);
    if ((w != 2 && w != 4 && w != 8) || len == 0 ||
        INTSET_HEADER_SIZE + (uint64_t)len * w != (uint64_t)n)
        return 0;
    const uint8_t *c = p + INTSET_HEADER_SIZE;
    int64_t prev = is_at(c, w, 0);
    for (uint32_t i = 1; i < len; i++) {
        int64_t cur = is_at(c, w, i);
        if (cur <= prev)
            return 0;
        prev = cur;
    }
    *count = len;
    return 1;
}

PyObject *
is_check(PyObject *self, PyObject *blob)
{
    Py_buffer view;
    if (PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t count = -1;
    if (!is_ok((const uint8_t *)view.buf, view.len, &count))
        count = -1;
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(count);
}
