/* rdbtools._speedups: the intset decoder (rdbtools/encodings/intset.py is the
 * reference; docs/formats.md §3.3). */

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
