/* An RDB string as Redis's rdbSaveRawString writes it, in C: the integer forms
 * (rdbTryIntegerEncoding: a canonical int64 of at most 11 characters that fits 32
 * bits), else LZF (rdbSaveLzfStringObject, over 20 bytes, when it saves space), else
 * the length and the bytes. The Python function rdbtools/primitives.py
 * `_save_string_py` defines the bytes; tests/rdbtools/test_rdbstr.py holds the two
 * equal. The compressor is lzfc.c's (the twin of rdbtools.lzf's: a result only where
 * liblzf would give one into n - 4 bytes), or one the caller passes as the third
 * argument. */

#include "speedups.h"

/* rdbSaveLen into out (at most 9 bytes): the number of bytes written. */
int
rdb_put_len(uint8_t *out, uint64_t n)
{
    if (n < 0x40) {
        out[0] = (uint8_t)n;
        return 1;
    }
    if (n < 0x4000) {
        out[0] = (uint8_t)(0x40 | (n >> 8));
        out[1] = (uint8_t)(n & 0xFF);
        return 2;
    }
    if (n <= 0xFFFFFFFFu) {
        out[0] = 0x80;
        for (int i = 0; i < 4; i++)
            out[1 + i] = (uint8_t)(n >> (24 - 8 * i));
        return 5;
    }
    out[0] = 0x81;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(n >> (56 - 8 * i));
    return 9;
}

/* rdbtools.lzf.lzf_fits in C (the Python function is the reference, held equal by
 * tests/rdbtools/test_rdbstr.py): would liblzf 3.6 have produced the compressed stream
 * c[0:m] of n input bytes into rdbSaveLzfStringObject's n - 4 byte buffer? Replays the
 * tokens to the output position at each of liblzf's early give-up checks. 1 or 0; -1
 * with IndexError for a stream cut inside a back-reference (never from liblzf). */
static int
lzf_fits_c(Py_ssize_t n, const uint8_t *c, Py_ssize_t m)
{
    Py_ssize_t out_len = n - 4;
    if (m + 5 < out_len)
        return 1;
    Py_ssize_t op = 1, lit = 0, ip = 0, i = 0;
    int post = 0;
    while (i < m) {
        unsigned t = c[i++];
        if (t < 32) { /* a literal run of t + 1 bytes */
            i += t + 1;
            for (unsigned k = 0; k < t + 1; k++) {
                if (ip < n - 2) {
                    if (op >= out_len)
                        return 0;
                }
                else if (!post) {
                    post = 1;
                    if (op + 3 > out_len)
                        return 0;
                }
                lit++;
                op++;
                ip++;
                if (lit == 32) {
                    lit = 0;
                    op++;
                }
            }
        }
        else { /* a back-reference: 2 bytes, 3 with a length extension */
            Py_ssize_t length = t >> 5, size = 2;
            if (length == 7) {
                if (i >= m) {
                    PyErr_SetString(PyExc_IndexError, "index out of range");
                    return -1;
                }
                length += c[i++];
                size = 3;
            }
            i++;
            if (op - (lit == 0) + 4 >= out_len)
                return 0;
            op += size - (lit == 0) + 1;
            lit = 0;
            ip += length + 2;
        }
    }
    return post || op + 3 <= out_len;
}

/* lzf_fits(n, compressed): the module function (rdbtools.lzf picks it when built). */
PyObject *
lzf_fits(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "lzf_fits takes 2 arguments");
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(args[0]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int fits = lzf_fits_c(n, view.buf, view.len);
    PyBuffer_Release(&view);
    if (fits < 0)
        return NULL;
    return PyBool_FromLong(fits);
}

/* rdbSaveLzfStringObject's form of c[0:cn] (from n bytes) appended to w: 0, or -1. */
static int
put_lzf(WBuf *w, const uint8_t *c, Py_ssize_t cn, Py_ssize_t n)
{
    if (wb_reserve(w, 19 + cn) < 0)
        return -1;
    uint8_t *b = (uint8_t *)w->buf + w->len;
    b[0] = 0xC3;
    int h = 1 + rdb_put_len(b + 1, (uint64_t)cn);
    h += rdb_put_len(b + h, (uint64_t)n);
    memcpy(b + h, c, (size_t)cn);
    w->len += h + cn;
    return 0;
}

/* rdbSaveRawString of s[0:n] (held by `obj` or NULL, handed to the compressor as bytes) appended
 * to w: the integer forms, else LZF when compress and it saves space, else length +
 * bytes. `lzf`: the compressor to call, NULL for rdbtools.lzf.compress. 0, or -1 with an
 * error set. */
int
wb_save_string(WBuf *w, PyObject *obj, const uint8_t *s, Py_ssize_t n, int compress, PyObject *lzf)
{
    int64_t v;
    if (n <= 11 && canon_ll(s, n, &v)) {  /* rdbEncodeInteger: INT8, INT16, INT32 */
        int width = 0;
        uint8_t tag = 0;
        if (v >= -128 && v <= 127) {
            tag = 0xC0;
            width = 1;
        } else if (v >= -32768 && v <= 32767) {
            tag = 0xC1;
            width = 2;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            tag = 0xC2;
            width = 4;
        }
        if (width) {
            if (wb_reserve(w, 5) < 0)
                return -1;
            uint8_t *b = (uint8_t *)w->buf + w->len;
            uint32_t u = (uint32_t)(int32_t)v;
            b[0] = tag;
            for (int i = 0; i < width; i++)
                b[1 + i] = (uint8_t)(u >> (8 * i));
            w->len += 1 + width;
            return 0;
        }
    }
    if (compress && n > 20) {
        if (lzf == NULL) { /* lzf.compress: the C compressor (lzfc.c) into n - 4 bytes */
            uint8_t stack[4096];
            uint8_t *tmp = n + 8 <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)n + 8);
            if (tmp == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            Py_ssize_t cn = lzf_encode(s, n, tmp, n - 4);
            int rc = cn ? put_lzf(w, tmp, cn, n) : 1;
            if (tmp != stack)
                PyMem_Free(tmp);
            if (rc <= 0)
                return rc;
        }
        else { /* a compressor given by the caller: bytes, or None when it does not fit */
            PyObject *arg = obj != NULL && PyBytes_CheckExact(obj) ? Py_NewRef(obj)
                                                    : PyBytes_FromStringAndSize((const char *)s, n);
            if (arg == NULL)
                return -1;
            PyObject *c = PyObject_CallOneArg(lzf, arg);
            Py_DECREF(arg);
            if (c == NULL)
                return -1;
            if (c != Py_None && !PyBytes_Check(c)) {
                PyErr_SetString(PyExc_TypeError, "save_string: lzf must return bytes or None");
                Py_DECREF(c);
                return -1;
            }
            int rc = c != Py_None
                         ? put_lzf(w, (const uint8_t *)PyBytes_AS_STRING(c), PyBytes_GET_SIZE(c), n)
                         : 1;
            Py_DECREF(c);
            if (rc <= 0)
                return rc;
        }
    }
    if (wb_reserve(w, 9 + n) < 0)
        return -1;
    uint8_t *b = (uint8_t *)w->buf + w->len;
    int h = rdb_put_len(b, (uint64_t)n);
    memcpy(b + h, s, (size_t)n);
    w->len += h + n;
    return 0;
}

/* save_string(s, compress=True, lzf=rdbtools.lzf.compress): positional or by name */
PyObject *
save_string(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *argv[3] = {NULL, NULL, NULL};
    static const char *names[3] = {"s", "compress", "lzf"};
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "save_string takes at most 3 arguments");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        argv[i] = args[i];
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        int slot = -1;
        for (int j = 0; j < 3; j++)
            if (PyUnicode_CompareWithASCIIString(name, names[j]) == 0)
                slot = j;
        if (slot < 0 || argv[slot] != NULL) {
            PyErr_Format(PyExc_TypeError, "save_string: unexpected or repeated argument %R", name);
            return NULL;
        }
        argv[slot] = args[nargs + k];
    }
    if (argv[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "save_string: missing the string");
        return NULL;
    }
    PyObject *obj = argv[0];
    int compress = argv[1] != NULL ? PyObject_IsTrue(argv[1]) : 1;
    if (compress < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    WBuf w;
    wb_init(&w);
    PyObject *out = NULL;
    if (wb_save_string(&w, obj, view.buf, view.len, compress, argv[2]) == 0)
        out = PyBytes_FromStringAndSize(w.buf, w.len);
    wb_free(&w);
    PyBuffer_Release(&view);
    return out;
}
