/* aof._respfast: C accelerators for the RESP hot paths (docs/style.md rule 10).
 *
 * scan_requests() is the fast path of aof.resp.RequestParser: it consumes runs
 * of *canonical* multibulk requests
 *
 *     *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
 *
 * (decimal counts without sign or leading zeros, 1 <= argc <= max_count,
 * 0 <= len <= max_bulk, every line and payload followed by an exact CRLF) and
 * stops, consuming nothing more, at the first byte that is anything else: an
 * inline command, a lenient or malformed line, a limit exceeded, a command not
 * yet complete in the buffer. It never raises a protocol error: the
 * pure-Python state machine in aof/resp.py takes over at that point and alone
 * decides what the bytes mean. For the canonical form both read exactly the
 * same commands (the state machine is byte-exact with networking.c, and a
 * canonical request leaves it no choice), so results, leftover bytes, offsets
 * and errors are identical with or without this module (tests/aof/test_resp_fast.py).
 *
 * A command is validated to its end before anything is allocated, so memory is
 * bounded by the bytes buffered, never by a declared count.
 *
 * bulk_array() encodes a sequence of bytes (None = a null) as a RESP array of
 * bulk strings: the reply of LRANGE, SMEMBERS, MGET & co
 * (engine/server/replies.py keeps the Python version as the fallback).
 *
 * integer(), integer_text() and bulk() are aof.replies' ``INTEGER % n``,
 * ``INTEGER_TEXT % t`` and ``BULK % (len(b), b)``,
 * the replies of INCR, LPUSH, LPOP & co: one allocation instead of bytes formatting,
 * which costs more than the rest of such a command's body. Anything but an int or a
 * bytes-like object goes through that very formatting, so results and errors agree.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

/* LpEnt: one listpack entry as rdbtools._speedups reads it (lp_ent, through its capsule) */
#include "../rdbtools/csrc/speedups.h"

/* Longest decimal text accepted: 18 digits cannot overflow a long long. */
#define MAX_DIGITS 18

/* Parse a canonical non-negative decimal (no sign, no leading zero unless the
 * number is 0) followed by CRLF, from *pp; returns 1 and advances *pp past the
 * CRLF, or 0 when the text is anything else (or not complete yet). */
static inline int
canon_line(const char **pp, const char *end, long long *out)
{
    const char *p = *pp;
    const char *start = p;
    long long v = 0;
    if (p >= end)
        return 0;
    if (*p == '0') {
        p++;
    } else {
        const char *stop = end - p > MAX_DIGITS ? p + MAX_DIGITS : end;
        while (p < stop && (unsigned char)(*p - '0') <= 9) {
            v = v * 10 + (*p - '0');
            p++;
        }
        if (p == start)
            return 0;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return 0;
    *pp = p + 2;
    *out = v;
    return 1;
}

/* Trusted form for the second pass (the text was validated by canon_line). */
static inline long long
trusted_line(const char **pp)
{
    const char *p = *pp;
    long long v = 0;
    while (*p != '\r') {
        v = v * 10 + (*p - '0');
        p++;
    }
    *pp = p + 2;
    return v;
}

static int
as_limit(PyObject *o, long long *out)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow > 0)
        v = LLONG_MAX;
    else if (overflow < 0)
        v = -1;
    *out = v;
    return 0;
}

static int
append_offset(PyObject *spans, Py_ssize_t v)
{
    PyObject *o = PyLong_FromSsize_t(v);
    if (o == NULL)
        return -1;
    int r = PyList_Append(spans, o);
    Py_DECREF(o);
    return r;
}

PyDoc_STRVAR(scan_requests_doc,
"scan_requests(data, pos, max_count, max_bulk, out, spans, base) -> int\n\n"
"Append to ``out`` the argv of every canonical multibulk request buffered in\n"
"``data`` from ``pos`` on, stopping before the first one that is not canonical or\n"
"not complete; return the position after the last one taken (``pos`` when none).\n"
"When ``spans`` is a list, the absolute start and end (``base`` + position) of\n"
"each command are appended to it.");

static PyObject *
scan_requests(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "scan_requests() takes exactly 7 arguments");
        return NULL;
    }
    PyObject *data = args[0];
    PyObject *out = args[4];
    PyObject *spans = args[5];
    if (!PyBytes_CheckExact(data) || !PyList_CheckExact(out) ||
        (spans != Py_None && !PyList_CheckExact(spans))) {
        PyErr_SetString(PyExc_TypeError, "scan_requests(bytes, int, int, int, list, list|None, int)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    long long max_count, max_bulk;
    if (as_limit(args[2], &max_count) < 0 || as_limit(args[3], &max_bulk) < 0)
        return NULL;
    Py_ssize_t base = PyLong_AsSsize_t(args[6]);
    if (base == -1 && PyErr_Occurred())
        return NULL;
    const char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "scan_requests(): pos out of range");
        return NULL;
    }
    const char *end = buf + n;

    while (pos < n) {
        /* pass 1: validate one whole command without allocating */
        const char *p = buf + pos;
        long long argc, len;
        if (*p != '*')
            break;
        p++;
        if (!canon_line(&p, end, &argc) || argc < 1 || argc > max_count)
            break;
        const char *args_start = p;
        long long i;
        for (i = 0; i < argc; i++) {
            if (p >= end || *p != '$')
                break;
            p++;
            if (!canon_line(&p, end, &len) || len > max_bulk)
                break;
            if (end - p < 2 || (long long)(end - p - 2) < len)
                break;
            p += len;
            if (p[0] != '\r' || p[1] != '\n')
                break;
            p += 2;
        }
        if (i < argc)
            break;
        Py_ssize_t next = p - buf;

        /* pass 2: build the argv */
        PyObject *argv = PyList_New((Py_ssize_t)argc);
        if (argv == NULL)
            return NULL;
        p = args_start;
        for (i = 0; i < argc; i++) {
            p++; /* '$' */
            len = trusted_line(&p);
            PyObject *arg = PyBytes_FromStringAndSize(p, (Py_ssize_t)len);
            if (arg == NULL) {
                Py_DECREF(argv);
                return NULL;
            }
            PyList_SET_ITEM(argv, (Py_ssize_t)i, arg);
            p += len + 2;
        }
        int r = PyList_Append(out, argv);
        Py_DECREF(argv);
        if (r < 0)
            return NULL;
        if (spans != Py_None) {
            if (append_offset(spans, base + pos) < 0 || append_offset(spans, base + next) < 0)
                return NULL;
        }
        pos = next;
    }
    return PyLong_FromSsize_t(pos);
}

/* Decimal text of v >= 0 into buf (at least 20 bytes); returns the length. */
static inline Py_ssize_t
fmt_size(char *buf, Py_ssize_t v)
{
    char tmp[24];
    int i = 0;
    size_t u = (size_t)v;
    do {
        tmp[i++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    Py_ssize_t k = 0;
    while (i)
        buf[k++] = tmp[--i];
    return k;
}

static inline Py_ssize_t
digits(Py_ssize_t v)
{
    Py_ssize_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

PyDoc_STRVAR(bulk_array_doc,
"bulk_array(items, null, kind) -> bytes | NotImplemented\n\n"
"``<kind>N\\r\\n`` then each item as ``$len\\r\\n<item>\\r\\n`` (``null`` for None),\n"
"where kind is the aggregate's type byte (42 ``*``, 126 ``~``). Items must be\n"
"bytes, bytearray or (when ``null`` is not None) None; for anything else\n"
"NotImplemented is returned and the caller uses its Python encoder.");

static PyObject *
bulk_array(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || (!PyBytes_Check(args[1]) && args[1] != Py_None) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "bulk_array(items, null: bytes | None, kind: int)");
        return NULL;
    }
    long kind = PyLong_AsLong(args[2]);
    if (kind < 0 || kind > 255) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "bulk_array(): kind must be a byte");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "bulk_array() needs a sequence");
    if (seq == NULL)
        return NULL;
    int allow_null = args[1] != Py_None;
    const char *nullp = allow_null ? PyBytes_AS_STRING(args[1]) : "";
    Py_ssize_t nulln = allow_null ? PyBytes_GET_SIZE(args[1]) : 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_ssize_t total = 1 + digits(count) + 2;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *x = items[i];
        Py_ssize_t len;
        if (PyBytes_Check(x))
            len = PyBytes_GET_SIZE(x);
        else if (PyByteArray_Check(x))
            len = PyByteArray_GET_SIZE(x);
        else if (x == Py_None && allow_null) {
            total += nulln;
            continue;
        } else {
            Py_DECREF(seq);
            Py_RETURN_NOTIMPLEMENTED;
        }
        total += 1 + digits(len) + 2 + len + 2;
    }
    PyObject *res = PyBytes_FromStringAndSize(NULL, total);
    if (res == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    char *w = PyBytes_AS_STRING(res);
    *w++ = (char)kind;
    w += fmt_size(w, count);
    *w++ = '\r';
    *w++ = '\n';
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *x = items[i];
        const char *src;
        Py_ssize_t len;
        if (PyBytes_Check(x)) {
            src = PyBytes_AS_STRING(x);
            len = PyBytes_GET_SIZE(x);
        } else if (x == Py_None) {
            memcpy(w, nullp, (size_t)nulln);
            w += nulln;
            continue;
        } else {
            /* a bytearray: its size cannot change here (no Python code runs) */
            src = PyByteArray_AS_STRING(x);
            len = PyByteArray_GET_SIZE(x);
        }
        *w++ = '$';
        w += fmt_size(w, len);
        *w++ = '\r';
        *w++ = '\n';
        memcpy(w, src, (size_t)len);
        w += len;
        *w++ = '\r';
        *w++ = '\n';
    }
    Py_DECREF(seq);
    return res;
}

/* Decimal text of v into buf (at least 20 bytes); returns the length. */
static Py_ssize_t
fmt_ll(char *buf, int64_t v)
{
    Py_ssize_t k = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        buf[k++] = '-';
        u = 0 - u;
    }
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (i)
        buf[k++] = tmp[--i];
    return k;
}

/* The formats of aof/replies.py, for what the fast paths leave to them. */
static PyObject *integer_fmt, *integer_text_fmt, *bulk_fmt;

PyDoc_STRVAR(integer_doc,
"integer(n) -> bytes\n\n``:<n>\\r\\n``: aof.replies.INTEGER % n.");

static PyObject *
integer_reply(PyObject *self, PyObject *n)
{
    (void)self;
    int overflow = 0;
    long long v = PyLong_Check(n) ? PyLong_AsLongLongAndOverflow(n, &overflow) : 0;
    if (!PyLong_Check(n) || overflow)
        return PyNumber_Remainder(integer_fmt, n);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    char buf[24];
    Py_ssize_t k = 1;
    buf[0] = ':';
    k += fmt_ll(buf + 1, (int64_t)v);
    buf[k++] = '\r';
    buf[k++] = '\n';
    return PyBytes_FromStringAndSize(buf, k);
}

PyDoc_STRVAR(integer_text_doc,
"integer_text(t) -> bytes\n\n``:<t>\\r\\n`` for t the decimal text of an integer\n"
"(INCR's new value): aof.replies.INTEGER_TEXT % t.");

static PyObject *
integer_text_reply(PyObject *self, PyObject *t)
{
    (void)self;
    if (!PyBytes_Check(t))
        return PyNumber_Remainder(integer_text_fmt, t);
    Py_ssize_t len = PyBytes_GET_SIZE(t);
    PyObject *res = PyBytes_FromStringAndSize(NULL, len + 3);
    if (res == NULL)
        return NULL;
    char *w = PyBytes_AS_STRING(res);
    w[0] = ':';
    memcpy(w + 1, PyBytes_AS_STRING(t), (size_t)len);
    w[len + 1] = '\r';
    w[len + 2] = '\n';
    return res;
}

PyDoc_STRVAR(bulk_doc,
"bulk(b) -> bytes\n\n``$<len>\\r\\n<b>\\r\\n``: aof.replies.BULK % (len(b), b).");

static PyObject *
bulk_reply(PyObject *self, PyObject *b)
{
    (void)self;
    const char *src;
    Py_ssize_t len;
    if (PyBytes_Check(b)) {
        src = PyBytes_AS_STRING(b);
        len = PyBytes_GET_SIZE(b);
    } else if (PyByteArray_Check(b)) {
        src = PyByteArray_AS_STRING(b);
        len = PyByteArray_GET_SIZE(b);
    } else {
        Py_ssize_t n = PyObject_Length(b);
        if (n < 0)
            return NULL;
        PyObject *t = Py_BuildValue("(nO)", n, b);
        if (t == NULL)
            return NULL;
        PyObject *r = PyNumber_Remainder(bulk_fmt, t);
        Py_DECREF(t);
        return r;
    }
    PyObject *res = PyBytes_FromStringAndSize(NULL, 1 + digits(len) + 2 + len + 2);
    if (res == NULL)
        return NULL;
    char *w = PyBytes_AS_STRING(res);
    *w++ = '$';
    w += fmt_size(w, len);
    *w++ = '\r';
    *w++ = '\n';
    memcpy(w, src, (size_t)len);
    w += len;
    *w++ = '\r';
    *w = '\n';
    return res;
}

/* ------------------------------------------------------------------ a list's range
 * The nodes are rdbtools.encodings.quicklist_ops's: a bytearray listpack, bytes for a
 * plain node, a tuple for a compressed one. Their entries are read by rdbtools's one
 * listpack reader, lp_ent, which rdbtools._speedups hands over in a capsule. */

typedef int (*lp_ent_fn)(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, LpEnt *e);
static lp_ent_fn read_ent;


/* The reply being written: in `scratch` while it fits, else in a heap buffer grown as
 * needed; `w` its next byte. One bytes object is made from it at the end. */
static char scratch[1 << 16];

typedef struct {
    char *buf;
    Py_ssize_t w, cap;
} Out;

/* Room for `need` more bytes; -1 with MemoryError. */
static int
room(Out *o, Py_ssize_t need)
{
    if (o->w + need <= o->cap)
        return 0;
    Py_ssize_t cap = o->cap * 2 > o->w + need ? o->cap * 2 : o->w + need;
    char *buf = o->buf == scratch ? PyMem_Malloc((size_t)cap) : PyMem_Realloc(o->buf, (size_t)cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (o->buf == scratch)
        memcpy(buf, scratch, (size_t)o->w);
    o->buf = buf;
    o->cap = cap;
    return 0;
}

/* Most a bulk adds beside its text: `$`, 20 digits of length, two CRLFs. */
#define BULK_FRAME 25
/* Longest integer text (INT64_MIN). */
#define INT_TEXT 20

/* `$len\r\n<s>\r\n`, in room already made. */
static inline void
put_bulk(Out *o, const char *s, Py_ssize_t len)
{
    char *w = o->buf + o->w, *w0 = w;
    *w++ = '$';
    if (len < 10)
        *w++ = (char)('0' + len);
    else
        w += fmt_size(w, len);
    *w++ = '\r';
    *w++ = '\n';
    memcpy(w, s, (size_t)len);
    w += len;
    *w++ = '\r';
    *w++ = '\n';
    o->w += w - w0;
}

/* The bulks of elements [start, stop) appended to o: 0, -1 with an error, or 1 when
 * the nodes hold what this does not read (a compressed node in the range, a damaged
 * listpack, fewer elements) and the Python encoder is to answer. */
static int
range_bulks(PyObject *nodes, Py_ssize_t start, Py_ssize_t stop, Out *o)
{
    Py_ssize_t at = 0, nn = PyList_GET_SIZE(nodes);
    for (Py_ssize_t j = 0; j < nn && at < stop; j++) {
        PyObject *node = PyList_GET_ITEM(nodes, j);
        if (PyBytes_CheckExact(node)) {
            if (at >= start) {
                if (room(o, BULK_FRAME + PyBytes_GET_SIZE(node)) < 0)
                    return -1;
                put_bulk(o, PyBytes_AS_STRING(node), PyBytes_GET_SIZE(node));
            }
            at++;
            continue;
        }
        if (PyTuple_CheckExact(node) && PyTuple_GET_SIZE(node) == 3) { /* compressed */
            Py_ssize_t count = PyLong_AsSsize_t(PyTuple_GET_ITEM(node, 2));
            if (count < 0 || at + count > start) {
                PyErr_Clear();
                return 1;
            }
            at += count;
            continue;
        }
        if (!PyByteArray_CheckExact(node))
            return 1;
        Py_ssize_t n = PyByteArray_GET_SIZE(node);
        const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(node);
        if (n < 7 || p[n - 1] != 0xFF)
            return 1;
        Py_ssize_t count = p[4] | (p[5] << 8);
        if (count == 0xFFFF)
            return 1;
        if (at + count <= start) {
            at += count;
            continue;
        }
        /* room for every element taken from this node: their texts are within the
         * node's bytes, an integer's within INT_TEXT */
        Py_ssize_t first = start > at ? start - at : 0;
        Py_ssize_t take = (stop - at < count ? stop - at : count) - first;
        if (room(o, n + take * (BULK_FRAME + INT_TEXT)) < 0)
            return -1;
        Py_ssize_t pos = 6;
        LpEnt e;
        for (Py_ssize_t i = 0; i < count && at < stop; i++, at++) {
            if (pos >= n - 1 || read_ent(p, n, pos, &e) < 0)
                return 1;
            pos = e.next;
            if (at < start)
                continue;
            if (e.is_int) {
                char buf[24];
                put_bulk(o, buf, fmt_ll(buf, e.v));
            }
            else {
                put_bulk(o, (const char *)e.s, e.len);
            }
        }
    }
    return at < stop;
}

PyDoc_STRVAR(quicklist_bulks_doc,
"quicklist_bulks(nodes, start, stop) -> bytes | NotImplemented\n\n"
"aof.replies.quicklist_bulks_py: elements start..stop-1 of a list's quicklist nodes as\n"
"an array of bulk strings, written from the listpacks (no object per element);\n"
"NotImplemented when a node in the range is compressed or unreadable, or\n"
"rdbtools._speedups is not there.");

static PyObject *
quicklist_bulks(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "quicklist_bulks(nodes: list, start, stop)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), stop = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (read_ent == NULL) {
        /* PyCapsule_Import reads attributes from the package down: import the module first */
        PyObject *mod = PyImport_ImportModule("rdbtools._speedups");
        Py_XDECREF(mod);
        read_ent = mod == NULL ? NULL : (lp_ent_fn)PyCapsule_Import("rdbtools._speedups.lp_ent_api", 0);
        if (read_ent == NULL) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
    }
    if (start < 0 || stop < start)
        Py_RETURN_NOTIMPLEMENTED;
    Out o = {scratch, 0, (Py_ssize_t)sizeof scratch};
    o.buf[0] = '*';
    o.w = 1 + fmt_size(o.buf + 1, stop - start);
    o.buf[o.w++] = '\r';
    o.buf[o.w++] = '\n';
    int rc = range_bulks(args[0], start, stop, &o);
    PyObject *res = NULL;
    if (rc == 0)
        res = PyBytes_FromStringAndSize(o.buf, o.w);
    if (o.buf != scratch)
        PyMem_Free(o.buf);
    if (rc > 0)
        Py_RETURN_NOTIMPLEMENTED;
    return res;
}

static PyMethodDef methods[] = {
    {"scan_requests", (PyCFunction)(void (*)(void))scan_requests, METH_FASTCALL,
     scan_requests_doc},
    {"bulk_array", (PyCFunction)(void (*)(void))bulk_array, METH_FASTCALL, bulk_array_doc},
    {"integer", integer_reply, METH_O, integer_doc},
    {"integer_text", integer_text_reply, METH_O, integer_text_doc},
    {"bulk", bulk_reply, METH_O, bulk_doc},
    {"quicklist_bulks", (PyCFunction)(void (*)(void))quicklist_bulks, METH_FASTCALL, quicklist_bulks_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "aof._respfast",
    "C accelerators for the RESP hot paths (see aof/resp.py, engine/server/replies.py).",
    -1,
    methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__respfast(void)
{
    integer_fmt = PyBytes_FromString(":%d\r\n");
    integer_text_fmt = PyBytes_FromString(":%b\r\n");
    bulk_fmt = PyBytes_FromString("$%d\r\n%s\r\n");
    if (integer_fmt == NULL || integer_text_fmt == NULL || bulk_fmt == NULL)
        return NULL;
    return PyModule_Create(&module);
}
