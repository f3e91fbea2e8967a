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
lp_decode(PyObject *blob, int text)
{
    Py_buffer view;
    PyObject *tmp, *out = NULL;
    if (get_blob(blob, &view, &tmp) < 0)
        return NULL;
    const uint8_t *p = (const uint8_t *)view.buf;
    const Py_ssize_t n = view.len;

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
    release_blob(&view, tmp);
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "listpack entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    release_blob(&view, tmp);
    return NULL;
}

/* ------------------------------------------------------------------ ziplist */

#define ZIPLIST_HEADER_SIZE 10
#define ZIPLIST_LEN_UNKNOWN 0xFFFF
#define ZIP_END 0xFF
#define ZIP_BIG_PREVLEN 0xFE

static PyObject *
zl_decode(PyObject *blob, int text)
{
    Py_buffer view;
    PyObject *tmp, *out = NULL;
    if (get_blob(blob, &view, &tmp) < 0)
        return NULL;
    const uint8_t *p = (const uint8_t *)view.buf;
    const Py_ssize_t n = view.len;

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
    release_blob(&view, tmp);
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "ziplist entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    release_blob(&view, tmp);
    return NULL;
}

/* ------------------------------------------------------------------ intset */

#define INTSET_HEADER_SIZE 8

static PyObject *
is_decode(PyObject *blob, int text)
{
    Py_buffer view;
    PyObject *out = NULL;
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
    const uint8_t *p = (const uint8_t *)view.buf;
    if (view.len < INTSET_HEADER_SIZE) {
        bad(0, "intset buffer of %zd bytes is shorter than its 8-byte header", view.len);
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
    if (need > (uint64_t)view.len) { /* len() and the buffer disagree (exotic objects) */
        bad(4, "intset buffer of %zd bytes is shorter than %llu", view.len,
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
    PyBuffer_Release(&view);
    return out;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    return NULL;
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
        PyList_SET_ITEM(out, i / 2, t);
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
            PyObject *t = PyTuple_Pack(2, v[i], v[i + 1]);
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
    return PyModule_Create(&module);
}
