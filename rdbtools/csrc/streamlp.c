/* A stream's node listpacks as XADD in order builds them (streamAppendItem), the C
 * twin of rdbtools/objects/streams.py `_encode_stream_nodes_py`, which defines the
 * nodes, their entries and where a node is full; tests/rdbtools/test_stream_nodes.py
 * holds the two equal.
 *
 * stream_nodes(entries, max_bytes, max_entries, version) -> [(master id, listpack), ...]
 *   entries: a sequence of ((ms, seq), ((field, value), ...)), ids ascending; every
 *   level a tuple or a list.
 * stream_nodes_of (snapshot.c's streams): the same from a live stream as the engine
 *   keeps it, its ids (ints ms << 64 | seq, ascending) and a dict id -> [field, value,
 *   ...], read without taking a reference on them.
 *
 * A node's listpack: count, deleted (0), the master fields (their number, each
 * field, a 0 terminator), then per entry: flags, ms and seq deltas from the master
 * id, the values (SAMEFIELDS: the master's fields in order) or the number of fields
 * and each field and value, and the entry's element count (lp-count). */

#include "speedups.h"

#define STREAM_ITEM_FLAG_SAMEFIELDS 2
#define LP_NUMELE_UNKNOWN 65535
#define LISTPACK_MAX_SAFETY_SIZE (1LL << 30)
/* tuples and lists alike */
#define IS_SEQ(o) (PyTuple_Check(o) || PyList_Check(o))
#define N(o) PySequence_Fast_GET_SIZE(o)
#define AT(o, i) PySequence_Fast_GET_ITEM(o, i)

/* lpAppendInteger: v's entry into out (at most 11 bytes). */
static Py_ssize_t
lp_int(int64_t v, uint8_t *out)
{
    char text[24];
    Py_ssize_t n = fmt_i64(text, v);
    return lp_encode_item((const uint8_t *)text, n, out);
}

static int
put_int(WBuf *w, int64_t v)
{
    if (wb_reserve(w, 16) < 0)
        return -1;
    w->len += lp_int(v, (uint8_t *)w->buf + w->len);
    return 0;
}

/* lpAppend of a bytes-like item (an integer when it spells one, as lpStringToInt64). */
static int
put_item(WBuf *w, PyObject *item)
{
    Py_buffer view;
    const uint8_t *s;
    Py_ssize_t n;
    int held = 0;
    if (PyBytes_Check(item)) {
        s = (const uint8_t *)PyBytes_AS_STRING(item);
        n = PyBytes_GET_SIZE(item);
    }
    else {
        if (PyObject_GetBuffer(item, &view, PyBUF_SIMPLE) < 0)
            return -1;
        s = view.buf;
        n = view.len;
        held = 1;
    }
    int rc = -1;
    if (n > 0xFFFFFFFFLL)
        PyErr_SetString(PyExc_OverflowError, "a string does not fit a listpack entry");
    else if (wb_reserve(w, lp_encoded_max(n)) == 0) {
        w->len += lp_encode_item(s, n, (uint8_t *)w->buf + w->len);
        rc = 0;
    }
    if (held)
        PyBuffer_Release(&view);
    return rc;
}

/* uint64 id part of a Python int (ms or seq). */
static int
id_part(PyObject *o, uint64_t *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* a - b as the int64 Redis stores (uint64 subtraction, then a signed view). */
static int64_t
delta(uint64_t a, uint64_t b)
{
    return as_i64(a - b);
}

/* One entry's fields and values: pairs (a sequence of (field, value)) or flat
 * ([field, value, field, value, ...], a list). */
typedef struct {
    PyObject *fv;
    int flat;
} Fields;

static inline Py_ssize_t
nfields(const Fields *f)
{
    return f->flat ? PyList_GET_SIZE(f->fv) / 2 : N(f->fv);
}

static inline PyObject *
field(const Fields *f, Py_ssize_t i)
{
    return f->flat ? PyList_GET_ITEM(f->fv, 2 * i) : AT(AT(f->fv, i), 0);
}

static inline PyObject *
value(const Fields *f, Py_ssize_t i)
{
    return f->flat ? PyList_GET_ITEM(f->fv, 2 * i + 1) : AT(AT(f->fv, i), 1);
}

typedef struct {
    PyObject *master;  /* the (ms, seq) of the node's first entry (borrowed), or NULL: made */
    uint64_t ms, seq;
    Fields fields;     /* the master entry's */
    Py_ssize_t count;  /* entries in the node */
    Py_ssize_t elements; /* listpack elements after the count */
    WBuf body;         /* every element after the count */
    int open;
    long long max_bytes, max_entries;
    long version;
} Node;

/* The node as one listpack: header, count, body, end byte; appended to out as
 * (master, bytes). */
static int
close_node(Node *nd, PyObject *out)
{
    uint8_t cnt[16];
    Py_ssize_t cl = lp_int(nd->count, cnt);
    Py_ssize_t total = 6 + cl + nd->body.len + 1;
    if (total > 0xFFFFFFFFLL) {
        PyErr_SetString(PyExc_OverflowError, "a stream node exceeds the listpack size field");
        return -1;
    }
    PyObject *lp = PyBytes_FromStringAndSize(NULL, total);
    if (lp == NULL)
        return -1;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(lp);
    Py_ssize_t elements = 1 + nd->elements;
    if (elements > LP_NUMELE_UNKNOWN)
        elements = LP_NUMELE_UNKNOWN;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint64_t)total >> (8 * i));
    p[4] = (uint8_t)(elements & 0xFF);
    p[5] = (uint8_t)(elements >> 8);
    memcpy(p + 6, cnt, (size_t)cl);
    memcpy(p + 6 + cl, nd->body.buf, (size_t)nd->body.len);
    p[total - 1] = 0xFF;
    PyObject *pair = nd->master != NULL ? PyTuple_Pack(2, nd->master, lp)
                                        : Py_BuildValue("((KK)N)", (unsigned long long)nd->ms,
                                                        (unsigned long long)nd->seq, Py_NewRef(lp));
    Py_DECREF(lp);
    if (pair == NULL)
        return -1;
    int rc = PyList_Append(out, pair);
    Py_DECREF(pair);
    return rc;
}

/* 1 when the entries a and b have the same fields, in order. */
static int
same_fields(const Fields *a, const Fields *b)
{
    Py_ssize_t n = nfields(a);
    if (nfields(b) != n)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int eq = PyObject_RichCompareBool(field(a, i), field(b, i), Py_EQ);
        if (eq <= 0)
            return eq;
    }
    return 1;
}

static int
check_pairs(PyObject *fv)
{
    if (!IS_SEQ(fv)) {
        PyErr_SetString(PyExc_TypeError, "stream_nodes: an entry's fields are a sequence of pairs");
        return -1;
    }
    for (Py_ssize_t i = 0; i < N(fv); i++) {
        PyObject *p = AT(fv, i);
        if (!IS_SEQ(p) || N(p) != 2) {
            PyErr_SetString(PyExc_TypeError, "stream_nodes: a field and its value are a pair");
            return -1;
        }
    }
    return 0;
}

/* Bytes of a field or value (len()), without a reference for bytes. */
static Py_ssize_t
item_len(PyObject *o)
{
    return PyBytes_Check(o) ? PyBytes_GET_SIZE(o) : PyObject_Length(o);
}

/* streamAppendItem of one entry: a new node when the open one is full
 * (policy.stream_node_full), then its elements. sid: its (ms, seq) object or NULL. */
static int
node_add(Node *nd, PyObject *out, PyObject *sid, uint64_t ms, uint64_t sq, const Fields *f)
{
    Py_ssize_t nf = nfields(f);
    if (nd->open) {
        uint8_t tmp[16];
        long long lp_bytes = 7 + lp_int(nd->count, tmp) + nd->body.len;
        long long new_bytes = 0;
        for (Py_ssize_t i = 0; i < nf; i++) {
            Py_ssize_t a = item_len(field(f, i)), b = item_len(value(f, i));
            if (a < 0 || b < 0)
                return -1;
            new_bytes += a + b;
        }
        int full = nd->version >= 10 ? lp_bytes + new_bytes >= nd->max_bytes
                                     : nd->max_bytes && lp_bytes >= nd->max_bytes;
        if (full || (nd->max_entries && nd->count >= nd->max_entries)) {
            if (close_node(nd, out) < 0)
                return -1;
            nd->open = 0;
        }
    }
    int same;
    if (!nd->open) {
        nd->open = 1;
        nd->master = sid;
        nd->ms = ms;
        nd->seq = sq;
        nd->fields = *f;
        nd->count = 0;
        nd->body.len = 0;
        if (put_int(&nd->body, 0) < 0 || put_int(&nd->body, nf) < 0) /* deleted, master fields */
            return -1;
        for (Py_ssize_t i = 0; i < nf; i++)
            if (put_item(&nd->body, field(f, i)) < 0)
                return -1;
        if (put_int(&nd->body, 0) < 0) /* the master entry's terminator */
            return -1;
        nd->elements = 3 + nf;
        same = 1;
    }
    else if ((same = same_fields(f, &nd->fields)) < 0)
        return -1;
    if (put_int(&nd->body, same ? STREAM_ITEM_FLAG_SAMEFIELDS : 0) < 0 ||
        put_int(&nd->body, delta(ms, nd->ms)) < 0 || put_int(&nd->body, delta(sq, nd->seq)) < 0)
        return -1;
    if (same) {
        for (Py_ssize_t i = 0; i < nf; i++)
            if (put_item(&nd->body, value(f, i)) < 0)
                return -1;
        if (put_int(&nd->body, nf + 3) < 0)
            return -1;
        nd->elements += 3 + nf + 1;
    }
    else {
        if (put_int(&nd->body, nf) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < nf; i++)
            if (put_item(&nd->body, field(f, i)) < 0 || put_item(&nd->body, value(f, i)) < 0)
                return -1;
        if (put_int(&nd->body, 2 * nf + 4) < 0)
            return -1;
        nd->elements += 4 + 2 * nf + 1;
    }
    nd->count++;
    return 0;
}

static void
node_init(Node *nd, long long max_bytes, long long max_entries, long version)
{
    if (version >= 10 && (max_bytes <= 0 || max_bytes > LISTPACK_MAX_SAFETY_SIZE))
        max_bytes = LISTPACK_MAX_SAFETY_SIZE;
    nd->max_bytes = max_bytes;
    nd->max_entries = max_entries;
    nd->version = version;
    nd->open = 0;
    wb_init(&nd->body);
}

PyObject *
stream_nodes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "stream_nodes takes 4 arguments");
        return NULL;
    }
    long long max_bytes = PyLong_AsLongLong(args[1]);
    long long max_entries = PyLong_AsLongLong(args[2]);
    long version = PyLong_AsLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *seq = PySequence_Fast(args[0], "stream_nodes: entries must be a sequence");
    if (seq == NULL)
        return NULL;
    PyObject *out = PyList_New(0);
    Node nd;
    node_init(&nd, max_bytes, max_entries, version);
    if (out == NULL)
        goto error;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *ent = PySequence_Fast_GET_ITEM(seq, k);
        if (!IS_SEQ(ent) || N(ent) != 2 || !IS_SEQ(AT(ent, 0)) || N(AT(ent, 0)) != 2) {
            PyErr_SetString(PyExc_TypeError, "stream_nodes: an entry is ((ms, seq), pairs)");
            goto error;
        }
        PyObject *sid = AT(ent, 0);
        Fields f = {AT(ent, 1), 0};
        uint64_t ms, sq;
        if (id_part(AT(sid, 0), &ms) < 0 || id_part(AT(sid, 1), &sq) < 0 || check_pairs(f.fv) < 0 ||
            node_add(&nd, out, sid, ms, sq, &f) < 0)
            goto error;
    }
    if (nd.open && close_node(&nd, out) < 0)
        goto error;
    wb_free(&nd.body);
    Py_DECREF(seq);
    return out;
error:
    wb_free(&nd.body);
    Py_DECREF(seq);
    Py_XDECREF(out);
    return NULL;
}

PyObject *
stream_nodes_of(PyObject *ids, PyObject *entries, long long max_bytes, long long max_entries, long version)
{
    if (!PyList_Check(ids) || !PyDict_Check(entries)) {
        PyErr_SetString(PyExc_TypeError, "stream_nodes_of: ids is a list, entries a dict");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Node nd;
    node_init(&nd, max_bytes, max_entries, version);
    PyObject *shift = PyLong_FromLong(64);
    if (shift == NULL)
        goto error;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(ids); k++) {
        PyObject *id = PyList_GET_ITEM(ids, k);
        PyObject *fv = PyDict_GetItemWithError(entries, id);
        if (fv == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_KeyError, "stream_nodes_of: an id without its entry");
            goto error;
        }
        if (!PyLong_Check(id) || !PyList_Check(fv) || PyList_GET_SIZE(fv) % 2) {
            PyErr_SetString(PyExc_TypeError, "stream_nodes_of: an entry is an int id and a flat list");
            goto error;
        }
        PyObject *hi = PyNumber_Rshift(id, shift);
        if (hi == NULL)
            goto error;
        uint64_t ms = PyLong_AsUnsignedLongLong(hi);
        Py_DECREF(hi);
        uint64_t sq = PyLong_AsUnsignedLongLongMask(id);
        if (PyErr_Occurred())
            goto error;
        Fields f = {fv, 1};
        if (node_add(&nd, out, NULL, ms, sq, &f) < 0)
            goto error;
    }
    if (nd.open && close_node(&nd, out) < 0)
        goto error;
    Py_DECREF(shift);
    wb_free(&nd.body);
    return out;
error:
    Py_XDECREF(shift);
    wb_free(&nd.body);
    Py_DECREF(out);
    return NULL;
}
