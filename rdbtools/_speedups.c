/* rdbtools._speedups: C accelerators for the compact blob decoders (style rule 21).
 *
 * Same interface, results and errors as the pure-Python reference code in
 * rdbtools/encodings/listpack.py, ziplist.py, intset.py and the pair helpers of
 * rdbtools/values.py; those files define the semantics, this one only makes them
 * fast. Wire forms: formats.md section 3. Written from that document and the
 * Python reference, not from Redis sources.
 *
 * Every read is bounds-checked against the blob; nothing is allocated beyond
 * what the blob's own size allows. Malformed input raises
 * rdbtools.errors.BadEncoding with the same message and `offset` (relative to
 * the blob start) as the Python version.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static PyObject *BadEncoding;  /* rdbtools.errors.BadEncoding */
static PyObject *str_blob;     /* "blob" */
static PyObject *str_items;    /* "items" */
static PyObject *fmt_d;        /* b"%d" */
static PyObject *default_what; /* "hash blob" */

/* Cached decimal-text bytes for -128..127 (7-bit uints, ziplist imm and int8). */
#define TEXT_CACHE_MIN (-128)
#define TEXT_CACHE_MAX 127
static PyObject *text_cache[TEXT_CACHE_MAX - TEXT_CACHE_MIN + 1];

/* ------------------------------------------------------------------ helpers */

static inline uint16_t
rd_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((unsigned)p[1] << 8));
}

static inline uint32_t
rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t
rd_u32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static inline uint64_t
rd_u64le(const uint8_t *p)
{
    return (uint64_t)rd_u32le(p) | ((uint64_t)rd_u32le(p + 4) << 32);
}

static inline int64_t
as_i16(uint32_t u)
{
    return u >= 0x8000u ? (int64_t)u - 0x10000 : (int64_t)u;
}

static inline int64_t
as_i24(uint32_t u)
{
    return u >= 0x800000u ? (int64_t)u - 0x1000000 : (int64_t)u;
}

static inline int64_t
as_i32(uint32_t u)
{
    return u >= 0x80000000u ? (int64_t)u - 0x100000000LL : (int64_t)u;
}

static inline int64_t
as_i64(uint64_t u)
{
    /* two's complement without implementation-defined conversions */
    if (u >> 63)
        return -(int64_t)(~u) - 1;
    return (int64_t)u;
}

/* Decimal text of v into buf (at least 21 bytes); returns the length. */
static Py_ssize_t
fmt_i64(char *buf, int64_t v)
{
    char tmp[24];
    int i = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[i++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    Py_ssize_t n = 0;
    if (v < 0)
        buf[n++] = '-';
    while (i)
        buf[n++] = tmp[--i];
    return n;
}

/* b"%d" % v */
static PyObject *
int_text(int64_t v)
{
    if (v >= TEXT_CACHE_MIN && v <= TEXT_CACHE_MAX) {
        PyObject *o = text_cache[v - TEXT_CACHE_MIN];
        Py_INCREF(o);
        return o;
    }
    char buf[24];
    Py_ssize_t n = fmt_i64(buf, v);
    return PyBytes_FromStringAndSize(buf, n);
}

static inline PyObject *
int_item(int64_t v, int text)
{
    return text ? int_text(v) : PyLong_FromLongLong(v);
}

/* Raise BadEncoding(message, offset=offset); offset < 0 means offset=None. */
static void
bad(Py_ssize_t offset, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    PyObject *msg = PyUnicode_FromString(buf);
    if (msg == NULL)
        return;
    PyObject *args = PyTuple_Pack(1, msg);
    Py_DECREF(msg);
    if (args == NULL)
        return;
    PyObject *kwargs;
    if (offset >= 0)
        kwargs = Py_BuildValue("{s:n}", "offset", offset);
    else
        kwargs = Py_BuildValue("{s:O}", "offset", Py_None);
    if (kwargs == NULL) {
        Py_DECREF(args);
        return;
    }
    PyObject *exc = PyObject_Call(BadEncoding, args, kwargs);
    Py_DECREF(args);
    Py_DECREF(kwargs);
    if (exc == NULL)
        return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* Raise BadEncoding(msg) (offset None); steals msg. */
static void
raise_msg(PyObject *msg)
{
    PyObject *exc = PyObject_CallOneArg(BadEncoding, msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* Get a contiguous byte view of `obj`. Mirrors `bytes(blob)`: anything with a
 * buffer is read in place; anything else goes through bytes() (kept in *tmp). */
static int
get_blob(PyObject *obj, Py_buffer *view, PyObject **tmp)
{
    *tmp = NULL;
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) == 0)
            return 0;
        if (!PyErr_ExceptionMatches(PyExc_BufferError))
            return -1;
        PyErr_Clear(); /* e.g. a non-contiguous memoryview: copy it */
    }
    *tmp = PyObject_CallOneArg((PyObject *)&PyBytes_Type, obj);
    if (*tmp == NULL)
        return -1;
    if (PyObject_GetBuffer(*tmp, view, PyBUF_SIMPLE) < 0) {
        Py_CLEAR(*tmp);
        return -1;
    }
    return 0;
}

static void
release_blob(Py_buffer *view, PyObject *tmp)
{
    PyBuffer_Release(view);
    Py_XDECREF(tmp);
}

/* One positional-or-keyword argument named `name` (vectorcall convention). */
static PyObject *
one_arg(const char *func, PyObject *name, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", func,
                     nargs + nkw);
        return NULL;
    }
    if (nkw) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, 0);
        int eq = PyUnicode_Compare(k, name) == 0;
        if (!eq) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'",
                             func, k);
            return NULL;
        }
    }
    return args[0];
}

/* Append `item` (stolen) to `out`; fills preallocated slots first. */
static inline int
put(PyObject *out, Py_ssize_t *idx, Py_ssize_t cap, PyObject *item)
{
    if (item == NULL)
        return -1;
    if (*idx < cap) {
        PyList_SET_ITEM(out, *idx, item);
    }
    else {
        int rc = PyList_Append(out, item);
        Py_DECREF(item);
        if (rc < 0)
            return -1;
    }
    (*idx)++;
    return 0;
}

static inline int
is_atom(PyObject *o)
{
    return PyBytes_CheckExact(o) || PyFloat_CheckExact(o) || PyLong_CheckExact(o);
}

/* Untrack a fresh 2-tuple of atoms (bytes, float, int) from the cyclic GC at
 * once, as the collector itself would at its next pass (_PyTuple_MaybeUntrack):
 * decoding a big file makes millions of these, and every collection would
 * walk them until then. Returns t. */
static inline PyObject *
untrack_pair(PyObject *t)
{
    if (t != NULL && is_atom(PyTuple_GET_ITEM(t, 0)) && is_atom(PyTuple_GET_ITEM(t, 1)))
        PyObject_GC_UnTrack(t);
    return t;
}

/* A list with room for `count` entries when the header's count is plausible for
 * a blob of `room` bytes holding entries of at least `min_entry` bytes. */
static PyObject *
new_out(Py_ssize_t count, Py_ssize_t room, Py_ssize_t min_entry, Py_ssize_t *cap)
{
    *cap = (count >= 0 && count <= room / min_entry) ? count : 0;
    return PyList_New(*cap);
}

/* A list built with new_out() must be complete before it is returned. */
static PyObject *
finish_out(PyObject *out, Py_ssize_t idx, Py_ssize_t cap)
{
    if (idx < cap) {
        /* Unreachable (the count check fails first); never return NULL slots. */
        Py_DECREF(out);
        PyErr_SetString(PyExc_SystemError, "rdbtools._speedups: incomplete list");
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------ listpack */

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

static int
lp_encode_backlen(uint64_t size, uint8_t *out)
{
    if (size <= 127) {
        out[0] = (uint8_t)size;
        return 1;
    }
    if (size < 16383) {
        out[0] = (uint8_t)(size >> 7);
        out[1] = (uint8_t)((size & 127) | 128);
        return 2;
    }
    if (size < 2097151) {
        out[0] = (uint8_t)(size >> 14);
        out[1] = (uint8_t)(((size >> 7) & 127) | 128);
        out[2] = (uint8_t)((size & 127) | 128);
        return 3;
    }
    if (size < 268435455) {
        out[0] = (uint8_t)(size >> 21);
        out[1] = (uint8_t)(((size >> 14) & 127) | 128);
        out[2] = (uint8_t)(((size >> 7) & 127) | 128);
        out[3] = (uint8_t)((size & 127) | 128);
        return 4;
    }
    /* size < 2**32 here: an entry lies inside a blob whose size is a u32 */
    out[0] = (uint8_t)(size >> 28);
    out[1] = (uint8_t)(((size >> 21) & 127) | 128);
    out[2] = (uint8_t)(((size >> 14) & 127) | 128);
    out[3] = (uint8_t)(((size >> 7) & 127) | 128);
    out[4] = (uint8_t)((size & 127) | 128);
    return 5;
}

static void
hex(char *dst, const uint8_t *src, Py_ssize_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* Entry `index` at `pos` whose backlen does not follow `size` bytes. */
static void
lp_bad_backlen(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, uint64_t size, Py_ssize_t index,
               Py_ssize_t end)
{
    uint64_t q = (uint64_t)pos + size;
    if (q >= (uint64_t)end) {
        bad(pos,
            "listpack entry %zd at offset %zd needs %llu bytes plus backlen "
            "but only %zd remain before the end marker",
            index, pos, (unsigned long long)size, end - pos);
        return;
    }
    uint8_t want[5];
    int wl = lp_encode_backlen(size, want);
    Py_ssize_t fl = (Py_ssize_t)q + wl <= n ? wl : n - (Py_ssize_t)q;
    char whex[11], fhex[11];
    hex(whex, want, wl);
    hex(fhex, p + q, fl);
    bad((Py_ssize_t)q,
        "listpack entry %zd at offset %zd: backlen %s does not match "
        "entry size %llu (expected %s)",
        index, pos, fhex, (unsigned long long)size, whex);
}

static PyObject *
lp_decode_raw(const uint8_t *p, const Py_ssize_t n, int text)
{
    PyObject *out = NULL;

    if (n < LP_HDR_SIZE + 1) {
        bad(0, "listpack of %zd bytes is shorter than the 7-byte minimum", n);
        goto fail;
    }
    uint32_t total = rd_u32le(p);
    unsigned count = rd_u16le(p + 4);
    if ((uint64_t)total != (uint64_t)n) {
        bad(0, "listpack header says %lu bytes but the blob has %zd", (unsigned long)total, n);
        goto fail;
    }
    const Py_ssize_t end = n - 1;
    if (p[end] != LP_EOF) {
        bad(end, "listpack does not end with 0xff (last byte is 0x%02x)", p[end]);
        goto fail;
    }

    Py_ssize_t idx = 0, cap;
    out = new_out(count == LP_HDR_NUMELE_UNKNOWN ? -1 : (Py_ssize_t)count, end - LP_HDR_SIZE,
                  2, &cap);
    if (out == NULL)
        goto fail;

    Py_ssize_t pos = LP_HDR_SIZE;
    while (pos < end) {
        unsigned b0 = p[pos];
        PyObject *item;
        if (b0 < 0x80) { /* 7-bit uint; pos + 1 <= end */
            if (p[pos + 1] != 1) {
                lp_bad_backlen(p, n, pos, 1, idx, end);
                goto fail;
            }
            item = int_item(b0, text);
            pos += 2;
        }
        else if (b0 < 0xC0) { /* 6-bit string */
            Py_ssize_t size = (Py_ssize_t)b0 - 0x7F;
            Py_ssize_t q = pos + size;
            if (q > end)
                goto past_end;
            if (p[q] != size) {
                lp_bad_backlen(p, n, pos, size, idx, end);
                goto fail;
            }
            item = PyBytes_FromStringAndSize((const char *)p + pos + 1, size - 1);
            pos = q + 1;
        }
        else if (b0 < 0xE0) { /* 13-bit int */
            if (pos + 2 > end)
                goto past_end;
            if (p[pos + 2] != 2) {
                lp_bad_backlen(p, n, pos, 2, idx, end);
                goto fail;
            }
            int64_t v = ((b0 & 0x1F) << 8) | p[pos + 1];
            if (v >= 4096)
                v -= 8192;
            item = int_item(v, text);
            pos += 3;
        }
        else if (b0 <= 0xF0) { /* 12-bit / 32-bit string */
            uint64_t d, q;
            if (b0 < 0xF0) {
                d = (uint64_t)pos + 2;
                q = d + (((b0 & 0x0F) << 8) | p[pos + 1]);
            }
            else {
                if (pos + 5 > n)
                    goto past_end;
                d = (uint64_t)pos + 5;
                q = d + rd_u32le(p + pos + 1);
                if (q >= (uint64_t)end) {
                    lp_bad_backlen(p, n, pos, q - (uint64_t)pos, idx, end);
                    goto fail;
                }
            }
            uint64_t size = q - (uint64_t)pos;
            uint64_t nxt;
            if (size <= 127) {
                if (q > (uint64_t)end)
                    goto past_end;
                if (p[q] != size) {
                    lp_bad_backlen(p, n, pos, size, idx, end);
                    goto fail;
                }
                nxt = q + 1;
            }
            else {
                uint8_t want[5];
                int wl = lp_encode_backlen(size, want);
                nxt = q + (uint64_t)wl;
                if (nxt > (uint64_t)n || memcmp(p + q, want, (size_t)wl) != 0) {
                    lp_bad_backlen(p, n, pos, size, idx, end);
                    goto fail;
                }
            }
            item = PyBytes_FromStringAndSize((const char *)p + d, (Py_ssize_t)(q - d));
            pos = (Py_ssize_t)nxt;
        }
        else if (b0 <= 0xF4) { /* 16/24/32/64-bit int */
            Py_ssize_t size = b0 == 0xF1 ? 3 : b0 == 0xF2 ? 4 : b0 == 0xF3 ? 5 : 9;
            Py_ssize_t q = pos + size;
            if (q > end)
                goto past_end;
            int64_t v;
            if (b0 == 0xF1)
                v = as_i16(rd_u16le(p + pos + 1));
            else if (b0 == 0xF2)
                v = as_i24(p[pos + 1] | ((uint32_t)p[pos + 2] << 8) |
                           ((uint32_t)p[pos + 3] << 16));
            else if (b0 == 0xF3)
                v = as_i32(rd_u32le(p + pos + 1));
            else
                v = as_i64(rd_u64le(p + pos + 1));
            if (p[q] != size) {
                lp_bad_backlen(p, n, pos, size, idx, end);
                goto fail;
            }
            item = int_item(v, text);
            pos = q + 1;
        }
        else if (b0 == LP_EOF) {
            bad(pos,
                "listpack end marker at offset %zd, %zd bytes before the end "
                "(after %zd entries)",
                pos, end - pos, idx);
            goto fail;
        }
        else {
            bad(pos,
                "listpack entry %zd at offset %zd: invalid encoding byte "
                "0x%02x (0xf5..0xfe are not defined)",
                idx, pos, b0);
            goto fail;
        }
        if (put(out, &idx, cap, item) < 0)
            goto fail;
    }
    if (pos != end) {
        /* Only a multi-byte backlen that swallowed the 0xFF marker gets here. */
        bad(end, "listpack entry %zd overlaps the end marker at offset %zd", idx - 1, end);
        goto fail;
    }
    if (count != LP_HDR_NUMELE_UNKNOWN && (Py_ssize_t)count != idx) {
        bad(4, "listpack header counts %u entries but %zd were found", count, idx);
        goto fail;
    }
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "listpack entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    return NULL;
}

static PyObject *
lp_decode(PyObject *blob, int text)
{
    Py_buffer view;
    PyObject *tmp;
    if (get_blob(blob, &view, &tmp) < 0)
        return NULL;
    PyObject *out = lp_decode_raw((const uint8_t *)view.buf, view.len, text);
    release_blob(&view, tmp);
    return out;
}

/* ------------------------------------------------------------------ ziplist */

#define ZIPLIST_HEADER_SIZE 10
#define ZIPLIST_LEN_UNKNOWN 0xFFFF
#define ZIP_END 0xFF
#define ZIP_BIG_PREVLEN 0xFE

static PyObject *
zl_decode_raw(const uint8_t *p, const Py_ssize_t n, int text)
{
    PyObject *out = NULL;

    if (n < ZIPLIST_HEADER_SIZE + 1) {
        bad(0, "ziplist of %zd bytes is shorter than the 11-byte minimum", n);
        goto fail;
    }
    uint32_t zlbytes = rd_u32le(p), zltail = rd_u32le(p + 4);
    unsigned zllen = rd_u16le(p + 8);
    if ((uint64_t)zlbytes != (uint64_t)n) {
        bad(0, "ziplist header says %lu bytes but the blob has %zd", (unsigned long)zlbytes, n);
        goto fail;
    }
    const Py_ssize_t end = n - 1;
    if (p[end] != ZIP_END) {
        bad(end, "ziplist does not end with 0xff (last byte is 0x%02x)", p[end]);
        goto fail;
    }
    if ((uint64_t)zltail > (uint64_t)end) {
        bad(4, "ziplist tail offset %lu is past the end marker at %zd", (unsigned long)zltail,
            end);
        goto fail;
    }

    Py_ssize_t idx = 0, cap;
    out = new_out(zllen == ZIPLIST_LEN_UNKNOWN ? -1 : (Py_ssize_t)zllen,
                  end - ZIPLIST_HEADER_SIZE, 2, &cap);
    if (out == NULL)
        goto fail;

    uint64_t prev_size = 0;
    Py_ssize_t pos = ZIPLIST_HEADER_SIZE; /* invariant: pos <= end */
    for (;;) {
        uint64_t prevlen = p[pos];
        Py_ssize_t h;
        if (prevlen == ZIP_END)
            break;
        if (prevlen < ZIP_BIG_PREVLEN) {
            h = pos + 1;
        }
        else {
            if (pos + 5 > n)
                goto past_end;
            prevlen = rd_u32le(p + pos + 1);
            h = pos + 5;
        }
        if (prevlen != prev_size) {
            bad(pos,
                "ziplist entry %zd at offset %zd: prevlen %llu does not match "
                "the previous entry's size %llu",
                idx, pos, (unsigned long long)prevlen, (unsigned long long)prev_size);
            goto fail;
        }
        if (h >= n)
            goto past_end;
        unsigned e = p[h];
        PyObject *item;
        uint64_t q;
        if (e < 0xC0) { /* strings */
            uint64_t d;
            if (e < 0x40) {
                d = (uint64_t)h + 1;
                q = d + e;
            }
            else if (e < 0x80) {
                if (h + 1 >= n)
                    goto past_end;
                d = (uint64_t)h + 2;
                q = d + (((e & 0x3F) << 8) | p[h + 1]);
            }
            else {
                if (h + 5 > n)
                    goto past_end;
                d = (uint64_t)h + 5;
                q = d + rd_u32be(p + h + 1);
            }
            if (q > (uint64_t)end)
                goto needs;
            item = PyBytes_FromStringAndSize((const char *)p + d, (Py_ssize_t)(q - d));
        }
        else if (e >= 0xF1 && e <= 0xFD) { /* immediate 0..12; h < end since p[end] is 0xFF */
            q = (uint64_t)h + 1;
            item = int_item((int64_t)(e & 0x0F) - 1, text);
        }
        else if (e == 0xFE) { /* int8 */
            q = (uint64_t)h + 2;
            if (q > (uint64_t)end)
                goto needs;
            unsigned u = p[h + 1];
            item = int_item(u >= 128 ? (int64_t)u - 256 : (int64_t)u, text);
        }
        else {
            Py_ssize_t w;
            if (e == 0xC0)
                w = 2;
            else if (e == 0xF0)
                w = 3;
            else if (e == 0xD0)
                w = 4;
            else if (e == 0xE0)
                w = 8;
            else {
                bad(h, "ziplist entry %zd at offset %zd: invalid encoding byte 0x%02x", idx, pos,
                    e);
                goto fail;
            }
            q = (uint64_t)h + 1 + (uint64_t)w;
            if (q > (uint64_t)n) /* the data itself is cut off */
                goto past_end;
            if (q > (uint64_t)end)
                goto needs;
            const uint8_t *s = p + h + 1;
            int64_t v;
            if (w == 2)
                v = as_i16(rd_u16le(s));
            else if (w == 3)
                v = as_i24(s[0] | ((uint32_t)s[1] << 8) | ((uint32_t)s[2] << 16));
            else if (w == 4)
                v = as_i32(rd_u32le(s));
            else
                v = as_i64(rd_u64le(s));
            item = int_item(v, text);
        }
        if (put(out, &idx, cap, item) < 0)
            goto fail;
        prev_size = q - (uint64_t)pos;
        pos = (Py_ssize_t)q;
        continue;
    needs:
        bad(pos,
            "ziplist entry %zd at offset %zd needs %llu bytes "
            "but only %zd remain before the end marker",
            idx, pos, (unsigned long long)(q - (uint64_t)pos), end - pos);
        goto fail;
    }
    if (pos != end) {
        bad(pos,
            "ziplist end marker at offset %zd, %zd bytes before the end "
            "(after %zd entries)",
            pos, end - pos, idx);
        goto fail;
    }
    long long last = (long long)end - (long long)prev_size; /* start of the last entry */
    if (idx && (long long)zltail != last) {
        bad(4, "ziplist tail offset %lu does not point at the last entry (offset %lld)",
            (unsigned long)zltail, last);
        goto fail;
    }
    if (zllen != ZIPLIST_LEN_UNKNOWN && (Py_ssize_t)zllen != idx) {
        bad(8, "ziplist header counts %u entries but %zd were found", zllen, idx);
        goto fail;
    }
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "ziplist entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    return NULL;
}

static PyObject *
zl_decode(PyObject *blob, int text)
{
    Py_buffer view;
    PyObject *tmp;
    if (get_blob(blob, &view, &tmp) < 0)
        return NULL;
    PyObject *out = zl_decode_raw((const uint8_t *)view.buf, view.len, text);
    release_blob(&view, tmp);
    return out;
}

/* ------------------------------------------------------------------ intset */

#define INTSET_HEADER_SIZE 8

static PyObject *
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

/* ------------------------------------------------------------------ pairs */

/* items[i] as the reference's `items[i]` would (new reference). */
static PyObject *
get_item(PyObject *items, Py_ssize_t i)
{
    if (PyList_CheckExact(items)) {
        if (i < PyList_GET_SIZE(items)) {
            PyObject *o = PyList_GET_ITEM(items, i);
            Py_INCREF(o);
            return o;
        }
    }
    else if (PyTuple_CheckExact(items)) {
        if (i < PyTuple_GET_SIZE(items)) {
            PyObject *o = PyTuple_GET_ITEM(items, i);
            Py_INCREF(o);
            return o;
        }
    }
    PyObject *key = PyLong_FromSsize_t(i);
    if (key == NULL)
        return NULL;
    PyObject *o = PyObject_GetItem(items, key);
    Py_DECREF(key);
    return o;
}

/* `m if type(m) is bytes else b"%d" % m` */
static PyObject *
member_bytes(PyObject *m)
{
    if (PyBytes_CheckExact(m)) {
        Py_INCREF(m);
        return m;
    }
    if (PyLong_CheckExact(m)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(m, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred()))
            return int_text(v);
        PyErr_Clear();
    }
    return PyNumber_Remainder(fmt_d, m);
}

/* Powers of ten that a double holds exactly. */
static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#ifdef __GLIBC__
static locale_t c_locale; /* strtod_l in the "C" locale, whatever the process set */
#endif

/* float(text) for a plain decimal `[+-]digits[.digits][e[+-]digits]` (a NUL-
 * terminated bytes buffer). Returns 1 with *out set, or 0 when the text is not
 * of that form (whitespace, '_', inf/nan, garbage...): then float() itself must
 * decide and word the error. Every path rounds correctly, as float() does:
 * - up to 2**53 times/over an exact power of ten up to 1e22: one IEEE operation
 *   on exact operands (Clinger's fast path);
 * - anything else: glibc's strtod_l (correctly rounded) in the "C" locale, or
 *   CPython's own PyOS_string_to_double elsewhere. */
static int
plain_decimal(const char *b, Py_ssize_t len, double *out)
{
    const char *p = b, *end = b + len;
    int neg = 0, digits = 0, nd = 0, trunc = 0;
    uint64_t m = 0;
    long e10 = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        digits++;
        if (m == 0 && *p == '0')
            continue; /* leading zero */
        if (nd < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            nd++;
        }
        else {
            e10++;
            trunc |= *p != '0';
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            digits++;
            if (m == 0 && *p == '0') {
                e10--;
                continue;
            }
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd++;
                e10--;
            }
            else {
                trunc |= *p != '0';
            }
        }
    }
    if (!digits)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        long x = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || *p < '0' || *p > '9')
            return 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (x < 1000000)
                x = x * 10 + (*p - '0');
        e10 += eneg ? -x : x;
    }
    if (p != end)
        return 0;
    double d;
    if (m == 0) {
        d = 0.0;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    else if (!trunc && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
    }
#endif
    else {
        char *stop;
#ifdef __GLIBC__
        if (c_locale == (locale_t)0)
            return 0;
        d = strtod_l(b, &stop, c_locale);
        if (stop != end)
            return 0;
        *out = d; /* the sign was part of the text */
        return 1;
#else
        d = PyOS_string_to_double(b, &stop, NULL);
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (stop != end)
            return 0;
        *out = d;
        return 1;
#endif
    }
    *out = neg ? -d : d;
    return 1;
}

/* float(s) for exact bytes in plain decimal form; NULL without an error set
 * means "not that simple": the caller falls back to float() itself. */
static PyObject *
plain_float(PyObject *s)
{
    double d;
    if (!plain_decimal(PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s), &d))
        return NULL;
    return PyFloat_FromDouble(d);
}

static PyObject *
zset_pairs_impl(PyObject *items)
{
    Py_ssize_t n = PyObject_Size(items);
    if (n < 0)
        return NULL;
    if (n & 1) {
        bad(-1, "zset blob has an odd number of entries");
        return NULL;
    }
    PyObject *out = PyList_New(n / 2);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i += 2) {
        PyObject *m = get_item(items, i);
        if (m == NULL)
            goto fail;
        PyObject *s = get_item(items, i + 1);
        if (s == NULL) {
            Py_DECREF(m);
            goto fail;
        }
        PyObject *score;
        if (PyLong_CheckExact(s)) {
            double d = PyLong_AsDouble(s);
            score = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
        }
        else {
            score = PyBytes_CheckExact(s) ? plain_float(s) : NULL;
            if (score == NULL)
                score = PyNumber_Float(s); /* what float(s) does for bytes and the rest */
            if (score == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear(); /* `raise ... from None` */
                PyObject *msg = PyUnicode_FromFormat("zset score %R is not a number", s);
                if (msg != NULL)
                    raise_msg(msg);
            }
        }
        Py_DECREF(s);
        if (score == NULL) {
            Py_DECREF(m);
            goto fail;
        }
        PyObject *mb = member_bytes(m);
        Py_DECREF(m);
        if (mb == NULL) {
            Py_DECREF(score);
            goto fail;
        }
        PyObject *t = PyTuple_New(2);
        if (t == NULL) {
            Py_DECREF(mb);
            Py_DECREF(score);
            goto fail;
        }
        PyTuple_SET_ITEM(t, 0, mb);
        PyTuple_SET_ITEM(t, 1, score);
        PyList_SET_ITEM(out, i / 2, untrack_pair(t));
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *
hash_pairs_impl(PyObject *items, PyObject *what)
{
    Py_ssize_t n = PyObject_Size(items);
    if (n < 0)
        return NULL;
    if (n & 1) {
        PyObject *msg = PyUnicode_FromFormat("%S has an odd number of entries", what);
        if (msg != NULL)
            raise_msg(msg);
        return NULL;
    }
    if (PyList_CheckExact(items) || PyTuple_CheckExact(items)) {
        /* list(zip(it, it)) over a list or tuple; nothing here runs Python code */
        PyObject **v = PySequence_Fast_ITEMS(items);
        Py_ssize_t len = PySequence_Fast_GET_SIZE(items);
        PyObject *out = PyList_New(len / 2);
        if (out == NULL)
            return NULL;
        for (Py_ssize_t i = 0; i + 1 < len; i += 2) {
            PyObject *t = untrack_pair(PyTuple_Pack(2, v[i], v[i + 1]));
            if (t == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(out, i / 2, t);
        }
        return out;
    }
    /* anything else: exactly list(zip(it, it)) */
    PyObject *it = PyObject_GetIter(items);
    if (it == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(2, it, it);
    Py_DECREF(it);
    if (args == NULL)
        return NULL;
    PyObject *z = PyObject_Call((PyObject *)&PyZip_Type, args, NULL);
    Py_DECREF(args);
    if (z == NULL)
        return NULL;
    PyObject *out = PySequence_List(z);
    Py_DECREF(z);
    return out;
}

/* ------------------------------------------------------------------ KeySet
 *
 * rdbtools.keyset.KeySet: the keys a decoder has read, to refuse a key seen twice in
 * one db (a loading redis-server panics on it). Each (db, key) is kept as an 8-byte
 * digest — Python's keyed hash of the key bytes (SipHash, seeded per process) mixed
 * with the db — in an open-addressing table of uint64 (0 = empty slot) grown at 2/3
 * load: 12 to 24 bytes a key, never the keys themselves. Two different keys share a
 * digest with probability 2^-64 a pair; the seed makes that impossible to aim for.
 */

typedef struct {
    PyObject_HEAD
    uint64_t *slots;
    size_t mask; /* capacity - 1 (capacity is a power of two) */
    size_t count;
} KeySetObject;

static PyTypeObject KeySetType;

static inline uint64_t
ks_mix(uint64_t x) /* splitmix64's finaliser: every bit of x reaches the slot index */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x ? x : 1;
}

static int
ks_digest(PyObject *key, uint64_t db, uint64_t *out)
{
    Py_hash_t h = PyObject_Hash(key); /* cached in the bytes object after the first call */
    if (h == -1 && PyErr_Occurred())
        return -1;
    *out = ks_mix((uint64_t)h ^ (db * 0x9E3779B97F4A7C15ULL));
    return 0;
}

static int
ks_grow(KeySetObject *ks)
{
    size_t cap = (ks->mask + 1) * 2;
    uint64_t *slots = PyMem_Calloc(cap, sizeof(uint64_t));
    if (slots == NULL) {
        PyErr_Format(PyExc_MemoryError,
                     "no memory to track %zu keys for the duplicated-key check", ks->count);
        return -1;
    }
    size_t mask = cap - 1;
    for (size_t i = 0; i <= ks->mask; i++) {
        uint64_t d = ks->slots[i];
        if (d) {
            size_t j = (size_t)d & mask;
            while (slots[j])
                j = (j + 1) & mask;
            slots[j] = d;
        }
    }
    PyMem_Free(ks->slots);
    ks->slots = slots;
    ks->mask = mask;
    return 0;
}

/* 1: added, 0: already there, -1: error. */
static int
ks_add(KeySetObject *ks, uint64_t d)
{
    if ((ks->count + 1) * 3 > (ks->mask + 1) * 2 && ks_grow(ks) < 0)
        return -1;
    size_t i = (size_t)d & ks->mask;
    uint64_t s;
    while ((s = ks->slots[i]) != 0) {
        if (s == d)
            return 0;
        i = (i + 1) & ks->mask;
    }
    ks->slots[i] = d;
    ks->count++;
    return 1;
}

static PyObject *
KeySet_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if ((args != NULL && PyTuple_GET_SIZE(args)) || (kw != NULL && PyDict_GET_SIZE(kw))) {
        PyErr_SetString(PyExc_TypeError, "KeySet() takes no arguments");
        return NULL;
    }
    KeySetObject *ks = (KeySetObject *)type->tp_alloc(type, 0);
    if (ks == NULL)
        return NULL;
    ks->mask = 1023;
    ks->count = 0;
    ks->slots = PyMem_Calloc(ks->mask + 1, sizeof(uint64_t));
    if (ks->slots == NULL) {
        Py_DECREF(ks);
        return PyErr_NoMemory();
    }
    return (PyObject *)ks;
}

static void
KeySet_dealloc(KeySetObject *ks)
{
    PyMem_Free(ks->slots);
    Py_TYPE(ks)->tp_free((PyObject *)ks);
}

static PyObject *
KeySet_add(KeySetObject *ks, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "KeySet.add(db, key)");
        return NULL;
    }
    uint64_t db = PyLong_AsUnsignedLongLong(args[0]);
    if (db == (uint64_t)-1 && PyErr_Occurred())
        return NULL;
    uint64_t d;
    if (ks_digest(args[1], db, &d) < 0)
        return NULL;
    int r = ks_add(ks, d);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static Py_ssize_t
KeySet_len(KeySetObject *ks)
{
    return (Py_ssize_t)ks->count;
}

static PyObject *
KeySet_nbytes(KeySetObject *ks, void *closure)
{
    return PyLong_FromSize_t((ks->mask + 1) * sizeof(uint64_t));
}

static PyMethodDef KeySet_methods[] = {
    {"add", (PyCFunction)(void (*)(void))KeySet_add, METH_FASTCALL,
     "add($self, db, key, /)\n--\n\nTrue if (db, key) is new (and now recorded), False if seen."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef KeySet_getset[] = {
    {"nbytes", (getter)KeySet_nbytes, NULL, "Bytes held by the digest table.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods KeySet_as_sequence = {
    .sq_length = (lenfunc)KeySet_len,
};

static PyTypeObject KeySetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rdbtools._speedups.KeySet",
    .tp_doc = "KeySet()\n--\n\n8-byte digests of the (db, key) pairs a decoder has read.",
    .tp_basicsize = sizeof(KeySetObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = KeySet_new,
    .tp_dealloc = (destructor)KeySet_dealloc,
    .tp_methods = KeySet_methods,
    .tp_getset = KeySet_getset,
    .tp_as_sequence = &KeySet_as_sequence,
};

/* ------------------------------------------------------------------ scan_keys
 *
 * The decoder's fast path (rdbtools/decoder.py, RdbDecoder.next_events): parse
 * as many consecutive top-level items as possible from the decoder's buffer,
 * building the same Record objects _parse_key builds. Only the expire/idle/freq
 * opcodes and keys of the common types are handled; at anything else, at the
 * end of the buffer and at ANY problem (truncation, corruption, a limit) the
 * scan stops *before* that item and reports where, so the Python path parses
 * it again and produces the exact events, errors and retries it always does.
 * The rules of rdbtools/primitives.py and values.py are mirrored check for
 * check; nothing is accepted here that the Python path would refuse.
 */

#define LZF_MAX_RATIO 100 /* primitives.LZF_MAX_RATIO */

static PyObject *s_string, *s_list, *s_set, *s_zset, *s_hash;
static PyObject *e_linkedlist, *e_hashtable, *e_skiplist, *e_ziplist, *e_intset, *e_quicklist,
    *e_listpack;

static inline uint64_t
rd_u64be(const uint8_t *p)
{
    return ((uint64_t)rd_u32be(p) << 32) | (uint64_t)rd_u32be(p + 4);
}

/* primitives.load_len: 0 with *v set and *pos advanced, or -1 (stop). */
static inline int
sk_len(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t *v)
{
    Py_ssize_t i = *pos;
    if (i >= n)
        return -1;
    unsigned b = p[i];
    if (b < 0x40) {
        *v = b;
        *pos = i + 1;
        return 0;
    }
    if (b < 0x80) {
        if (i + 2 > n)
            return -1;
        *v = ((uint64_t)(b & 0x3F) << 8) | p[i + 1];
        *pos = i + 2;
        return 0;
    }
    if (b == 0x80) {
        if (i + 5 > n)
            return -1;
        *v = rd_u32be(p + i + 1);
        *pos = i + 5;
        return 0;
    }
    if (b == 0x81) {
        if (i + 9 > n)
            return -1;
        *v = rd_u64be(p + i + 1);
        *pos = i + 9;
        return 0;
    }
    return -1; /* 0x82..0xBF unknown, 0xC0.. an encoded string */
}

/* liblzf's lzf_decompress rules (and rdbtools.lzf._decompress_py's): literal runs
 * and back-references must stay inside the input and the output, references may
 * not reach before the start, and the output must be exactly out_len bytes. */
static int
sk_lzf(const uint8_t *ip, Py_ssize_t in_len, uint8_t *out, Py_ssize_t out_len)
{
    const uint8_t *in_end = ip + in_len;
    uint8_t *op = out, *out_end = out + out_len;
    while (ip < in_end) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            Py_ssize_t run = (Py_ssize_t)ctrl + 1;
            if (in_end - ip < run || out_end - op < run)
                return -1;
            memcpy(op, ip, (size_t)run);
            op += run;
            ip += run;
        }
        else {
            Py_ssize_t len = ctrl >> 5;
            if (len == 7) {
                if (ip >= in_end)
                    return -1;
                len += *ip++;
            }
            if (ip >= in_end)
                return -1;
            Py_ssize_t back = ((Py_ssize_t)(ctrl & 0x1F) << 8) + *ip++ + 1;
            len += 2;
            if (op - out < back || out_end - op < len)
                return -1;
            const uint8_t *ref = op - back;
            if (back >= len) {
                memcpy(op, ref, (size_t)len);
                op += len;
            }
            else {
                do
                    *op++ = *ref++;
                while (--len);
            }
        }
    }
    return op == out_end ? 0 : -1;
}

/* One RDB string, as primitives.load_string reads it: either bytes inside the
 * buffer, the decimal text of an INT8/16/32, or an LZF-decompressed bytes. */
typedef struct {
    const uint8_t *s;
    Py_ssize_t len;
    PyObject *obj; /* owned bytes holding s (LZF), else NULL */
    char num[24];
} SkStr;

static int
sk_str(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len, SkStr *r)
{
    Py_ssize_t i = *pos;
    uint64_t len;
    r->obj = NULL;
    if (i >= n)
        return -1;
    unsigned b = p[i];
    if (b < 0x40) { /* never checked against max_len, as in load_string */
        len = b;
        i++;
    }
    else if (b < 0xC0) {
        if (sk_len(p, n, &i, &len) < 0 || len > max_len)
            return -1;
    }
    else {
        int64_t v;
        switch (b & 0x3F) {
        case 0:
            if (i + 2 > n)
                return -1;
            v = p[i + 1] >= 128 ? (int64_t)p[i + 1] - 256 : (int64_t)p[i + 1];
            i += 2;
            break;
        case 1:
            if (i + 3 > n)
                return -1;
            v = as_i16(rd_u16le(p + i + 1));
            i += 3;
            break;
        case 2:
            if (i + 5 > n)
                return -1;
            v = as_i32(rd_u32le(p + i + 1));
            i += 5;
            break;
        case 3: {
            uint64_t clen, ulen;
            Py_ssize_t j = i + 1;
            if (sk_len(p, n, &j, &clen) < 0 || sk_len(p, n, &j, &ulen) < 0)
                return -1;
            if (ulen > max_len || clen > (uint64_t)(n - j)) /* clen now bounded by the buffer */
                return -1;
            if (ulen > clen * LZF_MAX_RATIO + 64 || clen > ulen + 64)
                return -1;
            if (ulen > (uint64_t)PY_SSIZE_T_MAX)
                return -1;
            PyObject *o = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ulen);
            if (o == NULL)
                return -1;
            if (sk_lzf(p + j, (Py_ssize_t)clen, (uint8_t *)PyBytes_AS_STRING(o),
                       (Py_ssize_t)ulen) < 0) {
                Py_DECREF(o);
                return -1;
            }
            r->obj = o;
            r->s = (const uint8_t *)PyBytes_AS_STRING(o);
            r->len = (Py_ssize_t)ulen;
            *pos = j + (Py_ssize_t)clen;
            return 0;
        }
        default:
            return -1;
        }
        r->len = fmt_i64(r->num, v);
        r->s = (const uint8_t *)r->num;
        *pos = i;
        return 0;
    }
    if (len > (uint64_t)(n - i))
        return -1;
    r->s = p + i;
    r->len = (Py_ssize_t)len;
    *pos = i + (Py_ssize_t)len;
    return 0;
}

/* The string as a new bytes object (takes over r->obj). */
static PyObject *
sk_bytes(SkStr *r)
{
    if (r->obj != NULL) {
        PyObject *o = r->obj;
        r->obj = NULL;
        return o;
    }
    return PyBytes_FromStringAndSize((const char *)r->s, r->len);
}

static inline void
sk_release(SkStr *r)
{
    Py_CLEAR(r->obj);
}

/* Read one string and return it as bytes, or NULL (stop). */
static PyObject *
sk_bytes_at(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len)
{
    SkStr r;
    if (sk_str(p, n, pos, max_len, &r) < 0)
        return NULL;
    return sk_bytes(&r);
}

/* Is any bytes object among items[0], items[stride], ... (count of them) equal
 * to another? What values._check_unique finds with a set. */
static int
sk_has_dup(PyObject **items, Py_ssize_t count, Py_ssize_t stride)
{
    if (count < 2)
        return 0;
    if (count <= 8) {
        for (Py_ssize_t a = 1; a < count; a++) {
            PyObject *x = items[a * stride];
            Py_ssize_t lx = PyBytes_GET_SIZE(x);
            for (Py_ssize_t b = 0; b < a; b++) {
                PyObject *y = items[b * stride];
                if (PyBytes_GET_SIZE(y) == lx &&
                    memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y), (size_t)lx) == 0)
                    return 1;
            }
        }
        return 0;
    }
    size_t cap = 16;
    while (cap < (size_t)count * 2)
        cap <<= 1;
    Py_ssize_t stack[512];
    Py_ssize_t *slots = cap <= 512 ? stack : PyMem_Malloc(cap * sizeof(Py_ssize_t));
    if (slots == NULL)
        return -1;
    for (size_t k = 0; k < cap; k++)
        slots[k] = -1;
    int dup = 0;
    for (Py_ssize_t a = 0; a < count && !dup; a++) {
        PyObject *x = items[a * stride];
        Py_hash_t h = PyObject_Hash(x); /* bytes: never fails, cached in the object */
        size_t k = (size_t)h & (cap - 1);
        Py_ssize_t lx = PyBytes_GET_SIZE(x);
        while (slots[k] >= 0) {
            PyObject *y = items[slots[k] * stride];
            if (PyBytes_GET_SIZE(y) == lx &&
                memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y), (size_t)lx) == 0) {
                dup = 1;
                break;
            }
            k = (k + 1) & (cap - 1);
        }
        slots[k] = a;
    }
    if (slots != stack)
        PyMem_Free(slots);
    return dup;
}

static inline int
sk_list_dup(PyObject *list, Py_ssize_t stride)
{
    Py_ssize_t n = PyList_GET_SIZE(list);
    return sk_has_dup(((PyListObject *)list)->ob_item, (n + stride - 1) / stride, stride);
}

/* [(items[0], items[1]), ...] with unique firsts (hash ziplist/listpack), or NULL. */
static PyObject *
sk_pairs(PyObject *items)
{
    Py_ssize_t n = PyList_GET_SIZE(items);
    if (n & 1)
        return NULL;
    int d = sk_list_dup(items, 2);
    if (d != 0)
        return NULL;
    PyObject *out = PyList_New(n / 2);
    if (out == NULL)
        return NULL;
    PyObject **v = ((PyListObject *)items)->ob_item;
    for (Py_ssize_t i = 0; i < n; i += 2) {
        PyObject *t = untrack_pair(PyTuple_Pack(2, v[i], v[i + 1]));
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i / 2, t);
    }
    return out;
}

/* Decode a blob string with `dec` (listpack/ziplist, text or not) or intset. */
typedef PyObject *(*blob_fn)(const uint8_t *, Py_ssize_t, int);

static PyObject *
is_decode_blob(const uint8_t *p, Py_ssize_t n, int text)
{
    return is_decode_raw(p, n, n, text);
}

static PyObject *
sk_blob(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len, blob_fn dec, int text)
{
    SkStr r;
    if (sk_str(p, n, pos, max_len, &r) < 0)
        return NULL;
    PyObject *items = dec(r.s, r.len, text);
    sk_release(&r);
    return items;
}

/* A list for `count` items with at most SK_PREALLOC slots reserved: a corrupt
 * count in a big buffer must not reserve memory the data does not back. */
#define SK_PREALLOC 1024

static PyObject *
sk_new_list(uint64_t count, Py_ssize_t *cap)
{
    *cap = count < SK_PREALLOC ? (Py_ssize_t)count : SK_PREALLOC;
    return PyList_New(*cap);
}

/* A zset score: binary double (type 5, load_binary_double) or length-prefixed
 * text (type 3, load_string_double: 253/254/255 = nan/inf/-inf, else float()). */
static int
sk_score(unsigned t, const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, double *d)
{
    Py_ssize_t q = *pos;
    if (t == 5) {
        if (q + 8 > n)
            return -1;
        *d = PyFloat_Unpack8((const char *)p + q, 1);
        if (*d == -1.0 && PyErr_Occurred())
            return -1;
        *pos = q + 8;
        return 0;
    }
    if (q >= n)
        return -1;
    unsigned l = p[q];
    if (l == 253) {
        *d = Py_NAN;
    }
    else if (l == 254) {
        *d = Py_HUGE_VAL;
    }
    else if (l == 255) {
        *d = -Py_HUGE_VAL;
    }
    else {
        if (q + 1 + (Py_ssize_t)l > n)
            return -1;
        PyObject *text = PyBytes_FromStringAndSize((const char *)p + q + 1, l);
        if (text == NULL)
            return -1;
        PyObject *f = plain_float(text);
        if (f == NULL && !PyErr_Occurred())
            f = PyNumber_Float(text); /* float(text) decides (and may refuse) */
        Py_DECREF(text);
        if (f == NULL)
            return -1;
        *d = PyFloat_AS_DOUBLE(f);
        Py_DECREF(f);
        q += l;
    }
    *pos = q + 1;
    return 0;
}

/* Are two first items of the (a, b) tuples in list v equal? (0 no, 1 yes, -1 error) */
static int
sk_firsts_dup(PyObject *v)
{
    Py_ssize_t count = PyList_GET_SIZE(v);
    if (count < 2)
        return 0;
    PyObject *stack[64];
    PyObject **fs = count <= 64 ? stack : PyMem_Malloc((size_t)count * sizeof(PyObject *));
    if (fs == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < count; i++)
        fs[i] = PyTuple_GET_ITEM(PyList_GET_ITEM(v, i), 0);
    int d = sk_has_dup(fs, count, 1);
    if (fs != stack)
        PyMem_Free(fs);
    return d;
}

/* zset_pairs() of a decoded blob, then the unique-member check, or NULL. */
static PyObject *
sk_zpairs(PyObject *items)
{
    PyObject *pairs = zset_pairs_impl(items);
    if (pairs != NULL && sk_firsts_dup(pairs) != 0)
        Py_CLEAR(pairs);
    return pairs;
}

/* values.load_value for the types scan_keys handles; 0, or -1 to stop. */
static int
sk_value(unsigned t, const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len,
         PyObject **value, PyObject **tname, PyObject **enc)
{
    PyObject *v = NULL, *items = NULL;
    uint64_t count;
    switch (t) {
    case 0:
        v = sk_bytes_at(p, n, pos, max_len);
        *tname = s_string;
        *enc = s_string;
        break;
    case 1:
    case 2: {
        if (sk_len(p, n, pos, &count) < 0 || count > (uint64_t)(n - *pos))
            return -1; /* every string takes at least one byte */
        Py_ssize_t idx = 0, cap;
        if ((v = sk_new_list(count, &cap)) == NULL)
            return -1;
        for (uint64_t i = 0; i < count; i++)
            if (put(v, &idx, cap, sk_bytes_at(p, n, pos, max_len)) < 0)
                goto fail; /* list_dealloc skips the NULL slots */
        if (t == 2) {
            if (sk_list_dup(v, 1) != 0)
                goto fail;
            *tname = s_set;
            *enc = e_hashtable;
        }
        else {
            *tname = s_list;
            *enc = e_linkedlist;
        }
        break;
    }
    case 4:
    case 3:
    case 5: {
        if (sk_len(p, n, pos, &count) < 0 || count > (uint64_t)(n - *pos) / 2)
            return -1; /* every pair takes at least two bytes */
        Py_ssize_t idx = 0, cap;
        if ((v = sk_new_list(count, &cap)) == NULL)
            return -1;
        for (uint64_t i = 0; i < count; i++) {
            PyObject *m = sk_bytes_at(p, n, pos, max_len);
            if (m == NULL)
                goto fail;
            PyObject *x;
            if (t == 4) {
                x = sk_bytes_at(p, n, pos, max_len);
            }
            else {
                double d;
                if (sk_score(t, p, n, pos, &d) < 0 || d != d) /* "zset score is NaN" */
                    x = NULL;
                else
                    x = PyFloat_FromDouble(d);
            }
            PyObject *tup = x ? PyTuple_New(2) : NULL;
            if (tup == NULL) {
                Py_DECREF(m);
                Py_XDECREF(x);
                goto fail;
            }
            PyTuple_SET_ITEM(tup, 0, m);
            PyTuple_SET_ITEM(tup, 1, x);
            if (put(v, &idx, cap, untrack_pair(tup)) < 0)
                goto fail;
        }
        if (sk_firsts_dup(v) != 0) /* duplicate field / member */
            goto fail;
        *tname = t == 4 ? s_hash : s_zset;
        *enc = t == 4 ? e_hashtable : e_skiplist;
        break;
    }
    case 10:
        v = sk_blob(p, n, pos, max_len, zl_decode_raw, 1);
        *tname = s_list;
        *enc = e_ziplist;
        break;
    case 11:
        v = sk_blob(p, n, pos, max_len, is_decode_blob, 1);
        *tname = s_set;
        *enc = e_intset;
        break;
    case 12:
    case 17:
        items = sk_blob(p, n, pos, max_len, t == 12 ? zl_decode_raw : lp_decode_raw, t == 12);
        if (items == NULL)
            return -1;
        v = sk_zpairs(items);
        *tname = s_zset;
        *enc = t == 12 ? e_ziplist : e_listpack;
        break;
    case 13:
    case 16:
        items = sk_blob(p, n, pos, max_len, t == 13 ? zl_decode_raw : lp_decode_raw, 1);
        if (items == NULL)
            return -1;
        v = sk_pairs(items);
        *tname = s_hash;
        *enc = t == 13 ? e_ziplist : e_listpack;
        break;
    case 20:
        v = sk_blob(p, n, pos, max_len, lp_decode_raw, 1);
        if (v != NULL && (PyList_GET_SIZE(v) == 0 || sk_list_dup(v, 1) != 0))
            goto fail;
        *tname = s_set;
        *enc = e_listpack;
        break;
    case 14:
    case 18: {
        if (sk_len(p, n, pos, &count) < 0 || count > (uint64_t)(n - *pos))
            return -1;
        v = PyList_New(0);
        if (v == NULL)
            return -1;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t container = 2;
            if (t == 18 && sk_len(p, n, pos, &container) < 0)
                goto fail;
            if (container == 1) { /* a PLAIN node: the string itself */
                PyObject *s = sk_bytes_at(p, n, pos, max_len);
                if (s == NULL)
                    goto fail;
                int rc = PyList_Append(v, s);
                Py_DECREF(s);
                if (rc < 0)
                    goto fail;
                continue;
            }
            if (container != 2)
                goto fail;
            items = sk_blob(p, n, pos, max_len, t == 14 ? zl_decode_raw : lp_decode_raw, 1);
            if (items == NULL)
                goto fail;
            Py_ssize_t have = PyList_GET_SIZE(v), add = PyList_GET_SIZE(items);
            if (add) {
                if (have == 0) {
                    Py_SETREF(v, items); /* the common single-node list */
                    items = NULL;
                    continue;
                }
                if (PyList_SetSlice(v, have, have, items) < 0)
                    goto fail;
            }
            Py_CLEAR(items);
        }
        *tname = s_list;
        *enc = e_quicklist;
        break;
    }
    default:
        return -1;
    }
    Py_XDECREF(items);
    if (v == NULL)
        return -1;
    *value = v;
    return 0;
fail:
    Py_XDECREF(items);
    Py_XDECREF(v);
    return -1;
}

/* Types whose keys scan_keys builds (and, for each, values.load_value's names). */
static const uint8_t sk_handled[21] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [10] = 1, [11] = 1,
    [12] = 1, [13] = 1, [14] = 1, [16] = 1, [17] = 1, [18] = 1, [20] = 1,
};

static PyObject *
scan_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 10 || nargs > 12) {
        PyErr_SetString(PyExc_TypeError, "scan_keys(buf, pos, base, db, max_len, record, out, "
                                         "expire, idle, freq[, limit[, keys]])");
        return NULL;
    }
    Py_ssize_t limit = PY_SSIZE_T_MAX;
    if (nargs >= 11) {
        limit = PyLong_AsSsize_t(args[10]);
        if (limit == -1 && PyErr_Occurred())
            return NULL;
    }
    KeySetObject *keys = NULL;
    uint64_t dbnum = 0;
    if (nargs == 12 && args[11] != Py_None) {
        if (!PyObject_TypeCheck(args[11], &KeySetType)) {
            PyErr_SetString(PyExc_TypeError, "scan_keys: keys must be a KeySet or None");
            return NULL;
        }
        keys = (KeySetObject *)args[11];
        dbnum = PyLong_AsUnsignedLongLong(args[3]);
        if (dbnum == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *buf = args[0], *db = args[3], *cls = args[5], *out = args[6];
    PyObject *expire = args[7], *idle = args[8], *freq = args[9];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    long long base = PyLong_AsLongLong(args[2]);
    if (base == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "scan_keys: out must be a list");
        return NULL;
    }
    int overflow;
    long long ml = PyLong_AsLongLongAndOverflow(args[4], &overflow);
    if (ml == -1 && PyErr_Occurred())
        return NULL;
    uint64_t max_len = overflow > 0 ? UINT64_MAX : (uint64_t)ml;
    const Py_ssize_t out_start = PyList_GET_SIZE(out);
    int usable = PyBytes_CheckExact(buf) && pos >= 0 && overflow >= 0 && ml >= 0;
    Py_INCREF(expire);
    Py_INCREF(idle);
    Py_INCREF(freq);
    const uint8_t *p = usable ? (const uint8_t *)PyBytes_AS_STRING(buf) : NULL;
    const Py_ssize_t n = usable ? PyBytes_GET_SIZE(buf) : 0;

    while (pos < n && PyList_GET_SIZE(out) < limit) {
        const Py_ssize_t start = pos;
        const unsigned t = p[pos];
        if (t == 0xFC) { /* EXPIRETIME_MS: ms8 */
            if (pos + 9 > n)
                break;
            PyObject *v = PyLong_FromLongLong(as_i64(rd_u64le(p + pos + 1)));
            if (v == NULL)
                goto error;
            Py_SETREF(expire, v);
            pos += 9;
            continue;
        }
        if (t == 0xFD) { /* EXPIRETIME: i32 seconds */
            if (pos + 5 > n)
                break;
            PyObject *v = PyLong_FromLongLong(as_i32(rd_u32le(p + pos + 1)) * 1000);
            if (v == NULL)
                goto error;
            Py_SETREF(expire, v);
            pos += 5;
            continue;
        }
        if (t == 0xF9) { /* FREQ: u8 */
            if (pos + 2 > n)
                break;
            Py_SETREF(freq, PyLong_FromLong(p[pos + 1])); /* a cached small int */
            pos += 2;
            continue;
        }
        if (t == 0xF8) { /* IDLE: len */
            uint64_t v;
            Py_ssize_t q = pos + 1;
            if (sk_len(p, n, &q, &v) < 0)
                break;
            PyObject *o = PyLong_FromUnsignedLongLong(v);
            if (o == NULL)
                goto error;
            Py_SETREF(idle, o);
            pos = q;
            continue;
        }
        if (t > 20 || !sk_handled[t])
            break;
        /* a key: type, key string, value */
        Py_ssize_t q = pos + 1;
        PyObject *key = sk_bytes_at(p, n, &q, max_len);
        if (key == NULL) {
            PyErr_Clear();
            break;
        }
        PyObject *value, *tname, *enc;
        if (sk_value(t, p, n, &q, max_len, &value, &tname, &enc) < 0) {
            Py_DECREF(key);
            PyErr_Clear();
            break;
        }
        if (keys != NULL) { /* a key already read in this db: the Python path raises */
            uint64_t d;
            int added = ks_digest(key, dbnum, &d) < 0 ? -1 : ks_add(keys, d);
            if (added <= 0) {
                Py_DECREF(key);
                Py_DECREF(value);
                if (added < 0)
                    goto error;
                break;
            }
        }
        PyObject *off = PyLong_FromLongLong(base + (long long)start);
        PyObject *tb = PyLong_FromLong((long)t);
        if (off == NULL || tb == NULL) {
            Py_XDECREF(off);
            Py_XDECREF(tb);
            Py_DECREF(key);
            Py_DECREF(value);
            goto error;
        }
        PyObject *rargs[11] = {db, key, tname, value, expire, idle, freq, Py_None, enc, tb, off};
        PyObject *rec = PyObject_Vectorcall(cls, rargs, 11, NULL);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_DECREF(off);
        Py_DECREF(tb);
        if (rec == NULL)
            goto error;
        int rc = PyList_Append(out, rec);
        Py_DECREF(rec);
        if (rc < 0)
            goto error;
        if (expire != Py_None)
            Py_SETREF(expire, Py_NewRef(Py_None));
        if (idle != Py_None)
            Py_SETREF(idle, Py_NewRef(Py_None));
        if (freq != Py_None)
            Py_SETREF(freq, Py_NewRef(Py_None));
        pos = q;
    }
    PyObject *res = PyTuple_New(4);
    PyObject *po = PyLong_FromSsize_t(pos);
    if (res == NULL || po == NULL) {
        Py_XDECREF(res);
        Py_XDECREF(po);
        goto error;
    }
    PyTuple_SET_ITEM(res, 0, po);
    PyTuple_SET_ITEM(res, 1, expire);
    PyTuple_SET_ITEM(res, 2, idle);
    PyTuple_SET_ITEM(res, 3, freq);
    return res;
error: /* not a data problem (no memory, an interrupt in Record()): propagate it, with
        * nothing consumed: the records of this call are taken back out of `out` */
    {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (PyList_GET_SIZE(out) > out_start &&
            PyList_SetSlice(out, out_start, PyList_GET_SIZE(out), NULL) < 0)
            PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    Py_DECREF(expire);
    Py_DECREF(idle);
    Py_DECREF(freq);
    return NULL;
}

/* ------------------------------------------------------------------ JSONL
 *
 * rdbtools.jsonl.record_to_line for string/list/set/hash (no field TTLs)/zset
 * records, byte for byte: keys in the same order, strings escaped as
 * json.encoder.encode_basestring (ensure_ascii=False) does, invalid UTF-8 as
 * {"base64":"..."}, sets sorted bytewise, hashes by (field, value), zsets by
 * (score, member) keeping the input order of equal keys (Python's sort is
 * stable: 0.0 and -0.0 tie), scores as repr(float) or "inf"/"-inf".
 * Anything else (other types, field TTLs, NaN scores, values that are not
 * exactly bytes/float/int/list/tuple) is left to the Python function.
 */

static PyObject *a_db, *a_key, *a_type, *a_value, *a_expire_ms, *a_idle, *a_freq,
    *a_field_expires;

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    char stack[2048];
} WBuf;

static void
wb_init(WBuf *w)
{
    w->buf = w->stack;
    w->len = 0;
    w->cap = sizeof w->stack;
}

static void
wb_free(WBuf *w)
{
    if (w->buf != w->stack)
        PyMem_Free(w->buf);
}

/* Room for `extra` more bytes; -1 with MemoryError set on failure. */
static int
wb_grow(WBuf *w, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX / 2 - w->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = w->len + extra, cap = w->cap * 2;
    if (cap < need)
        cap = need;
    char *nb;
    if (w->buf == w->stack) {
        nb = PyMem_Malloc((size_t)cap);
        if (nb != NULL)
            memcpy(nb, w->buf, (size_t)w->len);
    }
    else {
        nb = PyMem_Realloc(w->buf, (size_t)cap);
    }
    if (nb == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static inline int
wb_reserve(WBuf *w, Py_ssize_t extra)
{
    return w->cap - w->len >= extra ? 0 : wb_grow(w, extra);
}

static inline int
wb_put(WBuf *w, const char *s, Py_ssize_t n)
{
    if (wb_reserve(w, n) < 0)
        return -1;
    memcpy(w->buf + w->len, s, (size_t)n);
    w->len += n;
    return 0;
}

#define WB_LIT(w, lit) wb_put((w), (lit), (Py_ssize_t)(sizeof(lit) - 1))

static inline int
wb_char(WBuf *w, char c)
{
    if (wb_reserve(w, 1) < 0)
        return -1;
    w->buf[w->len++] = c;
    return 0;
}

static int
wb_i64(WBuf *w, int64_t v)
{
    if (wb_reserve(w, 24) < 0)
        return -1;
    w->len += fmt_i64(w->buf + w->len, v);
    return 0;
}

/* Length of the valid UTF-8 (as CPython's strict decoder defines it: no
 * overlongs, no surrogates, nothing above U+10FFFF) at s, or -1. */
static int
utf8_valid(const uint8_t *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (x & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c < 0xC2 || c > 0xF4)
            return 0;
        if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
            continue;
        }
        if (c < 0xF0) {
            if (i + 2 >= n)
                return 0;
            unsigned c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return 0;
            if (c == 0xE0 && c1 < 0xA0)
                return 0; /* overlong */
            if (c == 0xED && c1 > 0x9F)
                return 0; /* surrogate */
            i += 3;
            continue;
        }
        if (i + 3 >= n)
            return 0;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && c1 < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && c1 > 0x8F)
            return 0; /* above U+10FFFF */
        i += 4;
    }
    return 1;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Which bytes encode_basestring rewrites: '"', '\\' and the C0 controls. */
static uint8_t json_esc[256];

/* jsonl._s(b): the JSON text of jbytes(b). */
static int
wb_jbytes(WBuf *w, const uint8_t *s, Py_ssize_t n)
{
    if (!utf8_valid(s, n)) {
        Py_ssize_t out = 4 * ((n + 2) / 3);
        if (wb_reserve(w, out + 14) < 0)
            return -1;
        char *o = w->buf + w->len;
        memcpy(o, "{\"base64\":\"", 11);
        o += 11;
        Py_ssize_t i = 0;
        for (; i + 3 <= n; i += 3) {
            uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = b64chars[(v >> 6) & 63];
            *o++ = b64chars[v & 63];
        }
        if (n - i == 1) {
            uint32_t v = (uint32_t)s[i] << 16;
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = '=';
            *o++ = '=';
        }
        else if (n - i == 2) {
            uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = b64chars[(v >> 6) & 63];
            *o++ = '=';
        }
        *o++ = '"';
        *o++ = '}';
        w->len = o - w->buf;
        return 0;
    }
    if (wb_reserve(w, 6 * n + 2) < 0)
        return -1;
    char *o = w->buf + w->len;
    *o++ = '"';
    Py_ssize_t i = 0, run = 0;
    while (i < n) {
        run = i;
        while (i < n && !json_esc[s[i]])
            i++;
        memcpy(o, s + run, (size_t)(i - run));
        o += i - run;
        if (i >= n)
            break;
        unsigned c = s[i++];
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789abcdef"[c >> 4];
            *o++ = "0123456789abcdef"[c & 15];
        }
    }
    *o++ = '"';
    w->len = o - w->buf;
    return 0;
}

/* Writing results: 0 done, -1 Python error, 1 "not for C" (use the Python function). */
#define WB_PY 1

static inline int
wb_obj_bytes(WBuf *w, PyObject *b)
{
    if (!PyBytes_CheckExact(b))
        return WB_PY;
    return wb_jbytes(w, (const uint8_t *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
}

/* An exact int as %d (or str()): only int64 here; anything else is Python's. */
static int
wb_int(WBuf *w, PyObject *v)
{
    if (!PyLong_CheckExact(v))
        return WB_PY;
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow)
        return WB_PY;
    if (x == -1 && PyErr_Occurred())
        return -1;
    return wb_i64(w, x);
}

typedef struct {
    const char *s;
    Py_ssize_t n;
    const char *s2;
    Py_ssize_t n2;
    double score;
    Py_ssize_t idx;
} SortItem;

static inline int
cmp_bytes(const char *a, Py_ssize_t na, const char *b, Py_ssize_t nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    if (c)
        return c;
    return na < nb ? -1 : na > nb;
}

static int
cmp_set(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    return cmp_bytes(a->s, a->n, b->s, b->n);
}

static int
cmp_hash(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    int c = cmp_bytes(a->s, a->n, b->s, b->n);
    return c ? c : cmp_bytes(a->s2, a->n2, b->s2, b->n2);
}

static int
cmp_zset(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    if (a->score < b->score)
        return -1;
    if (a->score > b->score)
        return 1;
    int c = cmp_bytes(a->s, a->n, b->s, b->n);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx; /* stable, as sorted() */
}

static int
wb_score(WBuf *w, double d)
{
    if (Py_IS_INFINITY(d))
        return d > 0 ? WB_LIT(w, "\"inf\"") : WB_LIT(w, "\"-inf\"");
    char *r = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL)
        return -1;
    int rc = wb_put(w, r, (Py_ssize_t)strlen(r));
    PyMem_Free(r);
    return rc;
}

/* The value of a list/set/hash/zset record ('l', 's', 'h', 'z'). */
static int
wb_collection(WBuf *w, char kind, PyObject *v)
{
    if (!PyList_CheckExact(v) && !PyTuple_CheckExact(v))
        return WB_PY;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
    PyObject **items = PySequence_Fast_ITEMS(v);
    if (kind == 'l') {
        if (wb_char(w, '[') < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && wb_char(w, ',') < 0)
                return -1;
            int rc = wb_obj_bytes(w, items[i]);
            if (rc)
                return rc;
        }
        return wb_char(w, ']');
    }
    SortItem stack[64];
    SortItem *si = n <= 64 ? stack : PyMem_Malloc((size_t)n * sizeof(SortItem));
    if (si == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = 0;
    /* Collect (and type-check) everything before sorting: the list cannot change
     * under us since no Python code runs from here on. */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = items[i];
        si[i].idx = i;
        if (kind == 's') {
            if (!PyBytes_CheckExact(it)) {
                rc = WB_PY;
                goto done;
            }
            si[i].s = PyBytes_AS_STRING(it);
            si[i].n = PyBytes_GET_SIZE(it);
            continue;
        }
        if (!PyTuple_CheckExact(it) || PyTuple_GET_SIZE(it) != 2) {
            rc = WB_PY;
            goto done;
        }
        PyObject *a = PyTuple_GET_ITEM(it, 0), *b = PyTuple_GET_ITEM(it, 1);
        if (!PyBytes_CheckExact(a)) {
            rc = WB_PY;
            goto done;
        }
        si[i].s = PyBytes_AS_STRING(a);
        si[i].n = PyBytes_GET_SIZE(a);
        if (kind == 'h') {
            if (!PyBytes_CheckExact(b)) {
                rc = WB_PY;
                goto done;
            }
            si[i].s2 = PyBytes_AS_STRING(b);
            si[i].n2 = PyBytes_GET_SIZE(b);
        }
        else {
            if (!PyFloat_CheckExact(b)) {
                rc = WB_PY;
                goto done;
            }
            si[i].score = PyFloat_AS_DOUBLE(b);
            if (si[i].score != si[i].score) { /* NaN: sorted() and _score() have views */
                rc = WB_PY;
                goto done;
            }
        }
    }
    if (n > 1)
        qsort(si, (size_t)n, sizeof(SortItem),
              kind == 's' ? cmp_set : kind == 'h' ? cmp_hash : cmp_zset);
    if ((rc = wb_char(w, '[')) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i && (rc = wb_char(w, ',')) < 0)
            goto done;
        if (kind == 's') {
            if ((rc = wb_jbytes(w, (const uint8_t *)si[i].s, si[i].n)) < 0)
                goto done;
            continue;
        }
        if ((rc = wb_char(w, '[')) < 0 ||
            (rc = wb_jbytes(w, (const uint8_t *)si[i].s, si[i].n)) < 0 ||
            (rc = wb_char(w, ',')) < 0)
            goto done;
        if (kind == 'h')
            rc = wb_jbytes(w, (const uint8_t *)si[i].s2, si[i].n2);
        else
            rc = wb_score(w, si[i].score);
        if (rc < 0 || (rc = wb_char(w, ']')) < 0)
            goto done;
    }
    rc = wb_char(w, ']');
done:
    if (si != stack)
        PyMem_Free(si);
    return rc;
}

/* Append the line of record r (no newline); 0, -1 (error) or WB_PY. On WB_PY
 * the buffer may hold a partial line: the caller truncates it. */
static int
wb_record(WBuf *w, PyObject *r)
{
    PyObject *db = NULL, *key = NULL, *type = NULL, *value = NULL, *exp = NULL, *idle = NULL,
             *freq = NULL;
    int rc = -1;
    char kind;
    if ((type = PyObject_GetAttr(r, a_type)) == NULL)
        goto done;
    const char *tname;
    if (type == s_string || (PyUnicode_CheckExact(type) &&
                             PyUnicode_CompareWithASCIIString(type, "string") == 0)) {
        kind = 'v';
        tname = "string";
    }
    else if (type == s_list || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "list") == 0)) {
        kind = 'l';
        tname = "list";
    }
    else if (type == s_set || (PyUnicode_CheckExact(type) &&
                               PyUnicode_CompareWithASCIIString(type, "set") == 0)) {
        kind = 's';
        tname = "set";
    }
    else if (type == s_zset || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "zset") == 0)) {
        kind = 'z';
        tname = "zset";
    }
    else if (type == s_hash || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "hash") == 0)) {
        kind = 'h';
        tname = "hash";
    }
    else {
        rc = WB_PY;
        goto done;
    }
    if (kind == 'h') {
        PyObject *fe = PyObject_GetAttr(r, a_field_expires);
        if (fe == NULL)
            goto done;
        int truth = fe == Py_None ? 0 : PyObject_IsTrue(fe);
        Py_DECREF(fe);
        if (truth < 0)
            goto done;
        if (truth) {
            rc = WB_PY;
            goto done;
        }
    }
    if ((db = PyObject_GetAttr(r, a_db)) == NULL || (key = PyObject_GetAttr(r, a_key)) == NULL ||
        (value = PyObject_GetAttr(r, a_value)) == NULL ||
        (exp = PyObject_GetAttr(r, a_expire_ms)) == NULL ||
        (idle = PyObject_GetAttr(r, a_idle)) == NULL || (freq = PyObject_GetAttr(r, a_freq)) == NULL)
        goto done;
    if (!PyBytes_CheckExact(key) || (exp != Py_None && !PyLong_CheckExact(exp)) ||
        (idle != Py_None && !PyLong_CheckExact(idle)) ||
        (freq != Py_None && !PyLong_CheckExact(freq))) {
        rc = WB_PY;
        goto done;
    }
    if ((rc = WB_LIT(w, "{\"db\":")) != 0 || (rc = wb_int(w, db)) != 0 ||
        (rc = WB_LIT(w, ",\"key\":")) != 0 || (rc = wb_obj_bytes(w, key)) != 0 ||
        (rc = WB_LIT(w, ",\"type\":\"")) != 0 ||
        (rc = wb_put(w, tname, (Py_ssize_t)strlen(tname))) != 0 ||
        (rc = WB_LIT(w, "\",\"expire_ms\":")) != 0)
        goto done;
    rc = exp == Py_None ? WB_LIT(w, "null") : wb_int(w, exp);
    if (rc != 0 || (rc = WB_LIT(w, ",\"value\":")) != 0)
        goto done;
    rc = kind == 'v' ? wb_obj_bytes(w, value) : wb_collection(w, kind, value);
    if (rc != 0)
        goto done;
    if (idle != Py_None &&
        ((rc = WB_LIT(w, ",\"lru_idle\":")) != 0 || (rc = wb_int(w, idle)) != 0))
        goto done;
    if (freq != Py_None &&
        ((rc = WB_LIT(w, ",\"lfu_freq\":")) != 0 || (rc = wb_int(w, freq)) != 0))
        goto done;
    rc = wb_char(w, '}');
done:
    Py_XDECREF(db);
    Py_XDECREF(key);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(exp);
    Py_XDECREF(idle);
    Py_XDECREF(freq);
    return rc;
}

static PyObject *
record_to_line(PyObject *self, PyObject *r)
{
    WBuf w;
    wb_init(&w);
    int rc = wb_record(&w, r);
    PyObject *res;
    if (rc < 0)
        res = NULL;
    else if (rc == WB_PY)
        res = Py_NewRef(Py_None);
    else
        res = PyUnicode_DecodeUTF8(w.buf, w.len, NULL);
    wb_free(&w);
    return res;
}

static PyObject *
records_to_jsonl(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "records_to_jsonl(records, fallback)");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "records_to_jsonl: records must be a sequence");
    if (seq == NULL)
        return NULL;
    PyObject *fallback = args[1];
    WBuf w;
    wb_init(&w);
    PyObject *res = NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *r = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t mark = w.len;
        int rc = wb_record(&w, r);
        if (rc < 0)
            goto done;
        if (rc == WB_PY) {
            w.len = mark;
            Py_INCREF(r); /* the fallback may drop the caller's list entry */
            PyObject *line = PyObject_CallOneArg(fallback, r);
            Py_DECREF(r);
            if (line == NULL)
                goto done;
            Py_ssize_t ln;
            const char *s = PyUnicode_Check(line) ? PyUnicode_AsUTF8AndSize(line, &ln) : NULL;
            if (s == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "records_to_jsonl: fallback must return str");
                Py_DECREF(line);
                goto done;
            }
            rc = wb_put(&w, s, ln);
            Py_DECREF(line);
            if (rc < 0)
                goto done;
        }
        if (wb_char(&w, '\n') < 0)
            goto done;
    }
    res = PyBytes_FromStringAndSize(w.buf, w.len);
done:
    wb_free(&w);
    Py_DECREF(seq);
    return res;
}

/* ------------------------------------------------------------------ module */

#define BLOB_FUNC(pyname, impl, text)                                                     \
    static PyObject *pyname(PyObject *self, PyObject *const *args, Py_ssize_t nargs,      \
                            PyObject *kwnames)                                            \
    {                                                                                     \
        PyObject *blob = one_arg(#pyname, str_blob, args, nargs, kwnames);                \
        return blob ? impl(blob, text) : NULL;                                            \
    }

BLOB_FUNC(decode_listpack, lp_decode, 0)
BLOB_FUNC(decode_listpack_strings, lp_decode, 1)
BLOB_FUNC(decode_ziplist, zl_decode, 0)
BLOB_FUNC(decode_ziplist_strings, zl_decode, 1)
BLOB_FUNC(decode_intset, is_decode, 0)
BLOB_FUNC(decode_intset_strings, is_decode, 1)

static PyObject *
zset_pairs(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *items = one_arg("zset_pairs", str_items, args, nargs, kwnames);
    return items ? zset_pairs_impl(items) : NULL;
}

static PyObject *
hash_pairs(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"items", "what", NULL};
    PyObject *items, *what = default_what;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:hash_pairs", kwlist, &items, &what))
        return NULL;
    return hash_pairs_impl(items, what);
}

static PyMethodDef methods[] = {
    {"decode_listpack", (PyCFunction)(void (*)(void))decode_listpack,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_listpack($module, /, blob)\n--\n\n"
     "Entries of a listpack: strings as bytes, integer entries as int."},
    {"decode_listpack_strings", (PyCFunction)(void (*)(void))decode_listpack_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_listpack_strings($module, /, blob)\n--\n\n"
     "Entries of a listpack as bytes, integers as their decimal text."},
    {"decode_ziplist", (PyCFunction)(void (*)(void))decode_ziplist,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_ziplist($module, /, blob)\n--\n\n"
     "Entries of a ziplist: strings as bytes, integer entries as int."},
    {"decode_ziplist_strings", (PyCFunction)(void (*)(void))decode_ziplist_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_ziplist_strings($module, /, blob)\n--\n\n"
     "Entries of a ziplist as bytes, integers as their decimal text."},
    {"decode_intset", (PyCFunction)(void (*)(void))decode_intset, METH_FASTCALL | METH_KEYWORDS,
     "decode_intset($module, /, blob)\n--\n\nMembers of an intset, ascending."},
    {"decode_intset_strings", (PyCFunction)(void (*)(void))decode_intset_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_intset_strings($module, /, blob)\n--\n\n"
     "Members of an intset as their decimal text, ascending."},
    {"zset_pairs", (PyCFunction)(void (*)(void))zset_pairs, METH_FASTCALL | METH_KEYWORDS,
     "zset_pairs($module, /, items)\n--\n\n"
     "(member, score) pairs of a decoded zset listpack/ziplist: members as bytes,\n"
     "scores as float (int entries or text that float() accepts)."},
    {"hash_pairs", (PyCFunction)(void (*)(void))hash_pairs, METH_VARARGS | METH_KEYWORDS,
     "hash_pairs($module, /, items, what='hash blob')\n--\n\n"
     "(field, value) pairs of a decoded hash listpack/ziplist; `what` names the blob\n"
     "in the error for an odd entry count."},
    {"scan_keys", (PyCFunction)(void (*)(void))scan_keys, METH_FASTCALL,
     "scan_keys($module, buf, pos, base, db, max_len, record, out, expire, idle, freq,\n"
     "          limit=sys.maxsize, keys=None, /)\n--\n\n"
     "The decoder's fast path: from buf[pos:], parse EXPIRETIME(_MS)/IDLE/FREQ opcodes and\n"
     "keys of types 0-5, 10-14, 16-18 and 20, appending record(...) for each key to `out`\n"
     "exactly as RdbDecoder._parse_key builds them (offset = base + position of the type\n"
     "byte). Stops before the first item it does not handle, that is incomplete or that is\n"
     "invalid in any way (the Python path then parses it and raises what it raises),\n"
     "or once `out` holds `limit` events. With `keys` (a KeySet), each key is recorded\n"
     "and the scan stops before a key already recorded for this db.\n"
     "Returns (pos, expire, idle, freq): where it stopped and the pending key metadata."},
    {"record_to_line", (PyCFunction)record_to_line, METH_O,
     "record_to_line($module, record, /)\n--\n\n"
     "rdbtools.jsonl.record_to_line(record) for string/list/set/zset records and hashes\n"
     "without field TTLs; None for anything else (use the Python function)."},
    {"records_to_jsonl", (PyCFunction)(void (*)(void))records_to_jsonl, METH_FASTCALL,
     "records_to_jsonl($module, records, fallback, /)\n--\n\n"
     "UTF-8 bytes of the JSONL lines of `records`, each followed by a newline;\n"
     "fallback(record) -> str gives the lines record_to_line leaves to Python."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "rdbtools._speedups",
    "C accelerators for rdbtools.encodings (same interface and errors as the Python code).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *errors = PyImport_ImportModule("rdbtools.errors");
    if (errors == NULL)
        return NULL;
    BadEncoding = PyObject_GetAttrString(errors, "BadEncoding");
    Py_DECREF(errors);
    if (BadEncoding == NULL)
        return NULL;
    str_blob = PyUnicode_InternFromString("blob");
    str_items = PyUnicode_InternFromString("items");
    fmt_d = PyBytes_FromString("%d");
    default_what = PyUnicode_FromString("hash blob");
    if (!str_blob || !str_items || !fmt_d || !default_what)
        return NULL;
    for (int v = TEXT_CACHE_MIN; v <= TEXT_CACHE_MAX; v++) {
        char buf[8];
        Py_ssize_t len = fmt_i64(buf, v);
        text_cache[v - TEXT_CACHE_MIN] = PyBytes_FromStringAndSize(buf, len);
        if (text_cache[v - TEXT_CACHE_MIN] == NULL)
            return NULL;
    }
#ifdef __GLIBC__
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); /* on failure: float() */
#endif
#define INTERN(var, text)                                                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                  \
        return NULL;
    INTERN(s_string, "string")
    INTERN(s_list, "list")
    INTERN(s_set, "set")
    INTERN(s_zset, "zset")
    INTERN(s_hash, "hash")
    INTERN(e_linkedlist, "linkedlist")
    INTERN(e_hashtable, "hashtable")
    INTERN(e_skiplist, "skiplist")
    INTERN(e_ziplist, "ziplist")
    INTERN(e_intset, "intset")
    INTERN(e_quicklist, "quicklist")
    INTERN(e_listpack, "listpack")
    INTERN(a_db, "db")
    INTERN(a_key, "key")
    INTERN(a_type, "type")
    INTERN(a_value, "value")
    INTERN(a_expire_ms, "expire_ms")
    INTERN(a_idle, "idle")
    INTERN(a_freq, "freq")
    INTERN(a_field_expires, "field_expires")
#undef INTERN
    for (int c = 0; c < 0x20; c++)
        json_esc[c] = 1;
    json_esc['"'] = json_esc['\\'] = 1;
    if (PyType_Ready(&KeySetType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "KeySet", (PyObject *)&KeySetType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
