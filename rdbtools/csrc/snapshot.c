/* A database's keys written as RDB bytes in one pass: the per-key loop of a SAVE
 * (rdbSaveDb + rdbSaveKeyValuePair), the C twin of rdbtools/snapshot.py
 * `_key_runs_py`, which defines the bytes, the layouts and the hints; this file only
 * makes the loop fast. tests/rdbtools/test_snapshot.py holds the two equal.
 *
 * snapshot_keys(data, expires, pos, chunk_size, now, compress, layouts, fallback, hints)
 *   -> (bytes, next pos or -1 when done, keys written)
 *
 * Resumable: `pos` is the dict position PyDict_Next left (0 to start); a run stops
 * after the key that takes it to `chunk_size` bytes. */

#include "speedups.h"

#include <structmember.h>

#define MAX_LAYOUTS 16
enum {
    KIND_STRING = 0,
    KIND_BLOB = 1,
    KIND_QUICKLIST = 2,
    KIND_LISTPACK_SET = 3,
    KIND_STREAM = 4,
    KIND_PAIRS_DICT = 5,
    KIND_MEMBER_SET = 6,
};
#define KIND_LAST KIND_MEMBER_SET
/* rdbtools.snapshot.STREAM_SHAPE, in its order */
enum { S_IDS, S_ENTRIES, S_LAST, S_FIRST, S_MAX_DELETED, S_ADDED, S_GROUPS, S_N };
static const char *stream_shape[S_N] = {"ids", "entries", "last_id", "first_id", "max_deleted",
                                        "entries_added", "groups"};
#define LP_HDR_SIZE 6
#define MAX_GUARDS 2 /* a layout's guard: an attribute name, or a tuple of up to 2 */
enum { HINT_NONE = 0, HINT_IDLE = 1, HINT_FREQ = 2 };

typedef struct {
    PyTypeObject *cls;
    uint8_t type_byte;
    int kind;
    PyObject *attr;  /* borrowed from the layouts dict, or NULL */
    PyObject *guard[MAX_GUARDS]; /* borrowed, or NULL */
    Py_ssize_t attr_off, guard_off[MAX_GUARDS]; /* where a __slots__ member sits in the object, or -1 */
    /* the fifth item, an int or a tuple of up to 3: KIND_LISTPACK_SET, KIND_MEMBER_SET: the
     * intset limit; KIND_STREAM: the layout version (1-3), the node limits; KIND_PAIRS_DICT:
     * the listpack limits (entries, value bytes) */
    long long param[3];
    /* KIND_STREAM: the shape's names and offsets */
    PyObject *shape[S_N];
    Py_ssize_t shape_off[S_N];
} Layout;

typedef struct {
    int mode;
    PyObject *table; /* dict key -> int (borrowed) */
    int64_t clock, dflt, decay;
} Hints;

static int
int64_arg(PyObject *o, int64_t *out)
{
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* Where the __slots__ member `name` of cls sits in its objects, or -1 (not a plain
 * member: read through getattr). Reading it there takes no reference: a BGSAVE child
 * that only reads a value copies none of its pages. */
static Py_ssize_t
member_offset(PyObject *cls, PyObject *name)
{
    if (name == NULL)
        return -1;
    PyObject *d = PyObject_GetAttr(cls, name);
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_ssize_t off = -1;
    if (Py_IS_TYPE(d, &PyMemberDescr_Type) && ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX)
        off = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return off;
}

/* value.<attr>, borrowed: the member read in place when it is set, else getattr's
 * result, whose reference *held takes (to release after use). NULL with an error. */
static PyObject *
get_member(PyObject *value, PyObject *name, Py_ssize_t off, PyObject **held)
{
    *held = NULL;
    if (off >= 0) {
        PyObject *v = *(PyObject **)((char *)value + off);
        if (v != NULL)
            return v;
    }
    return *held = PyObject_GetAttr(value, name);
}

/* One layout tuple of class cls into out[*n]. */
static int
read_layout(PyObject *cls, PyObject *spec, Layout *out, int *n)
{
    if (*n == MAX_LAYOUTS || !PyType_Check(cls) || !PyTuple_CheckExact(spec) ||
        PyTuple_GET_SIZE(spec) < 4 || PyTuple_GET_SIZE(spec) > 5) {
        PyErr_SetString(PyExc_TypeError,
                        "snapshot_keys: layouts maps classes to at most 16 layouts "
                        "(type byte, attr, kind, guard[, limit])");
        return -1;
    }
    Layout *l = &out[*n];
    long tb = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
    l->param[0] = l->param[1] = l->param[2] = 0;
    if (PyTuple_GET_SIZE(spec) == 5) {
        PyObject *p = PyTuple_GET_ITEM(spec, 4);
        if (PyTuple_Check(p)) {
            if (PyTuple_GET_SIZE(p) > 3) {
                PyErr_SetString(PyExc_ValueError, "snapshot_keys: a layout's limits are at most 3");
                return -1;
            }
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(p); i++)
                l->param[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(p, i));
        }
        else
            l->param[0] = PyLong_AsLongLong(p);
    }
    if (PyErr_Occurred())
        return -1;
    int needs = kind == KIND_STREAM || kind == KIND_PAIRS_DICT || kind == KIND_LISTPACK_SET ||
                kind == KIND_MEMBER_SET;
    if ((needs && PyTuple_GET_SIZE(spec) != 5) ||
        (kind == KIND_STREAM && (l->param[0] < 1 || l->param[0] > 3))) {
        PyErr_SetString(PyExc_ValueError, "snapshot_keys: a layout without its limits");
        return -1;
    }
    PyObject *attr = PyTuple_GET_ITEM(spec, 1), *guard = PyTuple_GET_ITEM(spec, 3);
    PyObject *guards[MAX_GUARDS] = {NULL, NULL};
    int guards_ok = 1;
    if (PyUnicode_Check(guard))
        guards[0] = guard;
    else if (PyTuple_CheckExact(guard) && PyTuple_GET_SIZE(guard) <= MAX_GUARDS) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(guard); i++) {
            guards[i] = PyTuple_GET_ITEM(guard, i);
            guards_ok = guards_ok && PyUnicode_Check(guards[i]);
        }
    }
    else
        guards_ok = guard == Py_None;
    if (tb < 0 || tb > 255 || kind < KIND_STRING || kind > KIND_LAST ||
        (kind != KIND_STRING && kind != KIND_STREAM && !PyUnicode_Check(attr)) || !guards_ok) {
        PyErr_SetString(PyExc_ValueError, "snapshot_keys: a layout is not valid");
        return -1;
    }
    l->cls = (PyTypeObject *)cls;
    l->type_byte = (uint8_t)tb;
    l->kind = (int)kind;
    l->attr = kind == KIND_STRING ? NULL : attr;
    for (int i = 0; i < MAX_GUARDS; i++)
        l->guard[i] = guards[i];
    if (kind == KIND_STREAM)
        l->attr = NULL;
    l->attr_off = member_offset(cls, l->attr);
    for (int i = 0; i < MAX_GUARDS; i++)
        l->guard_off[i] = member_offset(cls, l->guard[i]);
    for (int i = 0; i < S_N; i++) {
        l->shape[i] = NULL;
        l->shape_off[i] = -1;
        if (kind != KIND_STREAM)
            continue;
        l->shape[i] = PyUnicode_InternFromString(stream_shape[i]); /* kept: a few, once */
        if (l->shape[i] == NULL)
            return -1;
        l->shape_off[i] = member_offset(cls, l->shape[i]);
    }
    (*n)++;
    return 0;
}

/* The references read_layout took (a stream layout's names). */
static void
free_layouts(Layout *layouts, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < S_N; k++)
            Py_CLEAR(layouts[i].shape[k]);
}

/* The layouts dict as an array (a class test per key instead of a dict lookup); a
 * class mapped to a list gives its layouts in order. */
static int
read_layouts(PyObject *layouts, Layout *out, int *n)
{
    if (!PyDict_Check(layouts)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys: layouts must be a dict");
        return -1;
    }
    Py_ssize_t i = 0;
    PyObject *cls, *spec;
    *n = 0;
    while (PyDict_Next(layouts, &i, &cls, &spec)) {
        if (!PyList_CheckExact(spec)) {
            if (read_layout(cls, spec, out, n) < 0)
                return -1;
            continue;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(spec); j++)
            if (read_layout(cls, PyList_GET_ITEM(spec, j), out, n) < 0)
                return -1;
    }
    return 0;
}

static int
read_hints(PyObject *hints, Hints *h)
{
    h->mode = HINT_NONE;
    if (hints == Py_None)
        return 0;
    if (!PyTuple_CheckExact(hints) || PyTuple_GET_SIZE(hints) != 5 ||
        !PyDict_Check(PyTuple_GET_ITEM(hints, 1))) {
        PyErr_SetString(PyExc_TypeError,
                        "snapshot_keys: hints is None or (mode, dict, clock, default, decay)");
        return -1;
    }
    int64_t mode;
    if (int64_arg(PyTuple_GET_ITEM(hints, 0), &mode) < 0 ||
        int64_arg(PyTuple_GET_ITEM(hints, 2), &h->clock) < 0 ||
        int64_arg(PyTuple_GET_ITEM(hints, 3), &h->dflt) < 0 ||
        int64_arg(PyTuple_GET_ITEM(hints, 4), &h->decay) < 0)
        return -1;
    if (mode != HINT_IDLE && mode != HINT_FREQ) {
        PyErr_SetString(PyExc_ValueError, "snapshot_keys: unknown hint mode");
        return -1;
    }
    h->mode = (int)mode;
    h->table = PyTuple_GET_ITEM(hints, 1);
    return 0;
}

/* IDLE (estimateObjectIdleTime, seconds) or FREQ (LFUDecrAndReturn) of key into w. */
static int
put_hint(WBuf *w, const Hints *h, PyObject *key)
{
    PyObject *wo = PyDict_GetItemWithError(h->table, key);
    if (wo == NULL && PyErr_Occurred())
        return -1;
    int64_t word = h->dflt;
    if (wo != NULL && int64_arg(wo, &word) < 0)
        return -1;
    if (wb_reserve(w, 10) < 0)
        return -1;
    uint8_t *b = (uint8_t *)w->buf + w->len;
    if (h->mode == HINT_IDLE) {
        int64_t idle = h->clock - word;
        b[0] = 0xF8; /* RDB_OPCODE_IDLE */
        w->len += 1 + rdb_put_len(b + 1, idle > 0 ? (uint64_t)idle : 0);
        return 0;
    }
    int64_t counter = word;
    if (wo != NULL) {
        int64_t last = word >> 8, minutes = h->clock;
        int64_t elapsed = minutes >= last ? minutes - last : 65535 - last + minutes;
        int64_t periods = h->decay ? elapsed / h->decay : 0;
        counter = word & 255;
        counter = periods > counter ? 0 : counter - periods;
    }
    b[0] = 0xF9; /* RDB_OPCODE_FREQ */
    b[1] = (uint8_t)counter;
    w->len += 2;
    return 0;
}

/* The bytes of a bytes-like object: a bytes or bytearray read in place (no reference,
 * no buffer export: see member_offset), anything else through a buffer that
 * data_release gives back. 0, or -1 with an error. */
typedef struct {
    const uint8_t *s;
    Py_ssize_t n;
    Py_buffer view;
    int held;
} Data;

static int
data_get(PyObject *obj, Data *d)
{
    d->held = 0;
    if (PyBytes_Check(obj)) {
        d->s = (const uint8_t *)PyBytes_AS_STRING(obj);
        d->n = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyByteArray_CheckExact(obj)) {
        d->s = (const uint8_t *)PyByteArray_AS_STRING(obj);
        d->n = PyByteArray_GET_SIZE(obj);
        return 0;
    }
    if (PyObject_GetBuffer(obj, &d->view, PyBUF_SIMPLE) < 0)
        return -1;
    d->s = d->view.buf;
    d->n = d->view.len;
    d->held = 1;
    return 0;
}

static void
data_release(Data *d)
{
    if (d->held)
        PyBuffer_Release(&d->view);
}

/* save_string of any bytes-like object. */
static int
put_string(WBuf *w, PyObject *obj, int compress)
{
    Data d;
    if (data_get(obj, &d) < 0)
        return -1;
    int rc = wb_save_string(w, obj, d.s, d.n, compress, NULL);
    data_release(&d);
    return rc;
}

static int
put_len_wb(WBuf *w, uint64_t n)
{
    if (wb_reserve(w, 9) < 0)
        return -1;
    w->len += rdb_put_len((uint8_t *)w->buf + w->len, n);
    return 0;
}

/* lists.save_quicklist_nodes: the node count, then each node (_save_node). */
static int
put_quicklist(WBuf *w, PyObject *nodes, int compress)
{
    if (!PyList_Check(nodes)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys: quicklist nodes must be a list");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(nodes);
    if (put_len_wb(w, (uint64_t)n) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nodes); i++) {
        PyObject *node = PyList_GET_ITEM(nodes, i);
        if (PyBytes_CheckExact(node)) { /* QUICKLIST_NODE_CONTAINER_PLAIN */
            if (wb_char(w, 1) < 0 || put_string(w, node, compress) < 0)
                return -1;
            continue;
        }
        if (wb_char(w, 2) < 0) /* QUICKLIST_NODE_CONTAINER_PACKED */
            return -1;
        if (!PyTuple_CheckExact(node)) {
            if (put_string(w, node, compress) < 0)
                return -1;
            continue;
        }
        /* held compressed: its LZF block as it is (rdbSaveLzfBlob) */
        if (PyTuple_GET_SIZE(node) < 2) {
            PyErr_SetString(PyExc_TypeError, "snapshot_keys: a compressed node is (lzf, size)");
            return -1;
        }
        Data d;
        int64_t sz;
        if (int64_arg(PyTuple_GET_ITEM(node, 1), &sz) < 0)
            return -1;
        if (data_get(PyTuple_GET_ITEM(node, 0), &d) < 0)
            return -1;
        int rc = wb_char(w, (char)0xC3) < 0 || put_len_wb(w, (uint64_t)d.n) < 0 ||
                 put_len_wb(w, (uint64_t)sz) < 0 || wb_put(w, (const char *)d.s, d.n) < 0;
        data_release(&d);
        if (rc)
            return -1;
    }
    return 0;
}

/* 1 when s[0:n] spells an integer as string2ll reads it. */
static int
is_int_text(const uint8_t *s, Py_ssize_t n)
{
    int64_t v;
    return canon_ll(s, n, &v);
}

/* A set's listpack as a member list: 1 written, 0 for the fallback (empty, or at most
 * `limit` members all integers), -1 error. BadEncoding for a damaged listpack. */
static int
put_listpack_set(WBuf *w, PyObject *lp, Py_ssize_t limit, int compress)
{
    Data d;
    if (data_get(lp, &d) < 0)
        return -1;
    const uint8_t *p = d.s;
    Py_ssize_t n = d.n, count = 0, pos = LP_HDR_SIZE;
    int all_ints = 1, rc = -1;
    LpEnt e;
    while (n > LP_HDR_SIZE && pos < n - 1) {
        if (lp_ent(p, n, pos, &e) < 0) {
            bad(pos, "listpack entry at %zd is damaged", pos);
            goto done;
        }
        if (!e.is_int && !is_int_text(e.s, e.len))
            all_ints = 0;
        count++;
        pos = e.next;
    }
    if (count == 0 || (count <= limit && all_ints)) {
        rc = 0;
        goto done;
    }
    if (put_len_wb(w, (uint64_t)count) < 0)
        goto done;
    for (pos = LP_HDR_SIZE; pos < n - 1; pos = e.next) {
        lp_ent(p, n, pos, &e);
        if (e.is_int) {
            char text[24];
            Py_ssize_t tl = fmt_i64(text, e.v);
            if (wb_save_string(w, NULL, (const uint8_t *)text, tl, compress, NULL) < 0)
                goto done;
        }
        else if (wb_save_string(w, NULL, e.s, e.len, compress, NULL) < 0)
            goto done;
    }
    rc = 1;
done:
    data_release(&d);
    return rc;
}

/* A hash kept as a dict of bytes as a field-value list (RDB_TYPE_HASH: the count, each
 * field and value), when the encoder's policy makes it a hash table: more than
 * `max_entries` fields, or a field or value over `max_value` bytes; else 0 (the
 * encoder packs it). 1 written, -1 error. */
static int
put_pairs_dict(WBuf *w, PyObject *ht, long long max_entries, long long max_value, int compress)
{
    if (!PyDict_Check(ht)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys: a hash's fields are a dict");
        return -1;
    }
    Py_ssize_t n = PyDict_GET_SIZE(ht), pos = 0;
    PyObject *f, *v;
    int big = n > max_entries;
    while (!big && PyDict_Next(ht, &pos, &f, &v)) {
        Py_ssize_t fl = PyBytes_Check(f) ? PyBytes_GET_SIZE(f) : PyObject_Length(f);
        Py_ssize_t vl = PyBytes_Check(v) ? PyBytes_GET_SIZE(v) : PyObject_Length(v);
        if (fl < 0 || vl < 0)
            return -1;
        big = fl > max_value || vl > max_value;
    }
    if (!big)
        return 0;
    if (put_len_wb(w, (uint64_t)n) < 0)
        return -1;
    for (pos = 0; PyDict_Next(ht, &pos, &f, &v);)
        if (put_string(w, f, compress) < 0 || put_string(w, v, compress) < 0)
            return -1;
    return 1;
}

/* A set kept as a Python set of bytes as a member list (RDB_TYPE_SET), unless it is
 * empty or has at most `limit` members that all spell integers (the encoder writes an
 * intset): then 0. 1 written, -1 error. */
static int
put_member_set(WBuf *w, PyObject *set, Py_ssize_t limit, int compress)
{
    if (!PyAnySet_Check(set)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys: a set's members are a set");
        return -1;
    }
    Py_ssize_t n = PySet_GET_SIZE(set), pos = 0;
    PyObject *m;
    Py_hash_t hash;
    int ints = n > 0 && n <= limit;
    while (ints && _PySet_NextEntry(set, &pos, &m, &hash)) {
        Data d;
        if (data_get(m, &d) < 0)
            return -1;
        ints = is_int_text(d.s, d.n);
        data_release(&d);
    }
    if (n == 0 || ints)
        return 0;
    if (put_len_wb(w, (uint64_t)n) < 0)
        return -1;
    for (pos = 0; _PySet_NextEntry(set, &pos, &m, &hash);)
        if (put_string(w, m, compress) < 0)
            return -1;
    return 1;
}

/* A stream id kept as one int ms << 64 | seq, as two RDB lengths. */
static int
put_id(WBuf *w, PyObject *id)
{
    PyObject *shift = PyLong_FromLong(64);
    PyObject *hi = shift != NULL ? PyNumber_Rshift(id, shift) : NULL;
    Py_XDECREF(shift);
    if (hi == NULL)
        return -1;
    uint64_t ms = PyLong_AsUnsignedLongLong(hi);
    Py_DECREF(hi);
    uint64_t sq = PyLong_AsUnsignedLongLongMask(id);
    if (PyErr_Occurred())
        return -1;
    return put_len_wb(w, ms) < 0 || put_len_wb(w, sq) < 0 ? -1 : 0;
}

/* streams.save_stream of a live stream without consumer groups (KIND_STREAM): the node
 * listpacks (streamlp.c), the length, the last id, then (layout 2+) the first id, the
 * max deleted id and the entries added, and no groups. 1, 0 (it has groups: the
 * fallback), or -1. */
static int
put_stream_body(WBuf *w, PyObject *key, PyObject *value, const Layout *l, int compress)
{
    PyObject *a[S_N], *held[S_N] = {NULL};
    PyObject *nodes = NULL;
    int rc = -1, refs = 0;
    for (int i = 0; i < S_N; i++)
        refs |= l->shape_off[i] < 0;
    if (refs) { /* getattr may run Python code: hold the key and the value meanwhile */
        Py_INCREF(key);
        Py_INCREF(value);
    }
    for (int i = 0; i < S_N; i++)
        if ((a[i] = get_member(value, l->shape[i], l->shape_off[i], &held[i])) == NULL)
            goto done;
    int groups = PyObject_IsTrue(a[S_GROUPS]);
    if (groups != 0) {
        rc = groups < 0 ? -1 : 0;
        goto done;
    }
    nodes = stream_nodes_of(a[S_IDS], a[S_ENTRIES], l->param[1], l->param[2],
                            (long)l->param[0] + 8); /* the node rule of RDB 9, 10, 11 */
    if (nodes == NULL || wb_char(w, (char)l->type_byte) < 0 || put_string(w, key, compress) < 0 ||
        put_len_wb(w, (uint64_t)PyList_GET_SIZE(nodes)) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nodes); i++) {
        PyObject *node = PyList_GET_ITEM(nodes, i), *master = PyTuple_GET_ITEM(node, 0);
        uint64_t ms = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(master, 0));
        uint64_t sq = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(master, 1));
        if (PyErr_Occurred())
            goto done;
        uint8_t id[16]; /* the master id, big-endian: the node's key in the radix tree */
        for (int k = 0; k < 8; k++) {
            id[k] = (uint8_t)(ms >> (56 - 8 * k));
            id[8 + k] = (uint8_t)(sq >> (56 - 8 * k));
        }
        if (wb_save_string(w, NULL, id, 16, compress, NULL) < 0 ||
            put_string(w, PyTuple_GET_ITEM(node, 1), compress) < 0)
            goto done;
    }
    if (!PyList_Check(a[S_IDS]) || put_len_wb(w, (uint64_t)PyList_GET_SIZE(a[S_IDS])) < 0 ||
        put_id(w, a[S_LAST]) < 0)
        goto done;
    if (l->param[0] >= 2) {
        uint64_t added = PyLong_AsUnsignedLongLong(a[S_ADDED]);
        if ((added == (uint64_t)-1 && PyErr_Occurred()) || put_id(w, a[S_FIRST]) < 0 ||
            put_id(w, a[S_MAX_DELETED]) < 0 || put_len_wb(w, added) < 0)
            goto done;
    }
    rc = put_len_wb(w, 0) < 0 ? -1 : 1; /* no consumer groups */
done:
    Py_XDECREF(nodes);
    for (int i = 0; i < S_N; i++)
        Py_XDECREF(held[i]);
    if (refs) {
        Py_DECREF(key);
        Py_DECREF(value);
    }
    return rc;
}

/* put_body for a value whose blob sits in an attribute. */
static int put_blob_body(WBuf *w, PyObject *key, PyObject *value, const Layout *l, int compress);

/* TYPE key value of a value a layout describes: 1 written, 0 for the fallback, -1 error. */
static int
put_body(WBuf *w, PyObject *key, PyObject *value, const Layout *l, int compress)
{
    if (l->kind == KIND_STRING)
        return wb_char(w, (char)l->type_byte) < 0 || put_string(w, key, compress) < 0 ||
                       put_string(w, value, compress) < 0
                   ? -1
                   : 1;
    if (l->kind == KIND_STREAM)
        return put_stream_body(w, key, value, l, compress);
    if (l->attr_off < 0 || (l->guard[0] != NULL && l->guard_off[0] < 0) ||
        (l->guard[1] != NULL && l->guard_off[1] < 0)) {
        /* getattr may run Python code: hold the key and the value meanwhile */
        Py_INCREF(key);
        Py_INCREF(value);
        int rc = put_blob_body(w, key, value, l, compress);
        Py_DECREF(key);
        Py_DECREF(value);
        return rc;
    }
    return put_blob_body(w, key, value, l, compress);
}

static int
put_blob_body(WBuf *w, PyObject *key, PyObject *value, const Layout *l, int compress)
{
    PyObject *held;
    for (int i = 0; i < MAX_GUARDS && l->guard[i] != NULL; i++) {
        PyObject *g = get_member(value, l->guard[i], l->guard_off[i], &held);
        Py_XDECREF(held);
        if (g == NULL)
            return -1;
        if (g != Py_None)
            return 0;
    }
    PyObject *blob = get_member(value, l->attr, l->attr_off, &held);
    if (blob == NULL)
        return -1;
    int rc = 0;
    if (blob != Py_None && (l->kind == KIND_LISTPACK_SET || l->kind == KIND_PAIRS_DICT ||
                            l->kind == KIND_MEMBER_SET)) { /* these may leave it to the fallback */
        Py_ssize_t mark = w->len;
        rc = wb_char(w, (char)l->type_byte) < 0 || put_string(w, key, compress) < 0 ? -1
             : l->kind == KIND_LISTPACK_SET ? put_listpack_set(w, blob, (Py_ssize_t)l->param[0], compress)
             : l->kind == KIND_MEMBER_SET   ? put_member_set(w, blob, (Py_ssize_t)l->param[0], compress)
                                            : put_pairs_dict(w, blob, l->param[0], l->param[1], compress);
        if (rc == 0)
            w->len = mark;
    }
    else if (blob != Py_None) {
        rc = wb_char(w, (char)l->type_byte) < 0 || put_string(w, key, compress) < 0 ||
                     (l->kind == KIND_BLOB ? put_string(w, blob, compress)
                                           : put_quicklist(w, blob, compress)) < 0
                 ? -1
                 : 1;
    }
    Py_XDECREF(held);
    return rc;
}

PyObject *
snapshot_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys takes 9 arguments");
        return NULL;
    }
    PyObject *data = args[0], *expires = args[1], *fallback = args[7];
    if (!PyDict_Check(data) || !PyDict_Check(expires)) {
        PyErr_SetString(PyExc_TypeError, "snapshot_keys: data and expires must be dicts");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[2]);
    Py_ssize_t chunk = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred())
        return NULL;
    int has_now = args[4] != Py_None;
    int64_t now = 0;
    if (has_now && int64_arg(args[4], &now) < 0)
        return NULL;
    int compress = PyObject_IsTrue(args[5]);
    if (compress < 0)
        return NULL;
    Layout layouts[MAX_LAYOUTS];
    int nlayouts = 0;
    Hints hints = {0};
    if (read_layouts(args[6], layouts, &nlayouts) < 0 || read_hints(args[8], &hints) < 0) {
        free_layouts(layouts, nlayouts);
        return NULL;
    }
    int has_expires = PyDict_GET_SIZE(expires) > 0;
    WBuf w;
    wb_init(&w);
    Py_ssize_t count = 0;
    PyObject *key, *value;
    int more;
    while ((more = PyDict_Next(data, &pos, &key, &value))) {
        int64_t when = 0;
        int has_when = 0;
        if (has_expires) {
            PyObject *wo = PyDict_GetItemWithError(expires, key);
            if (wo == NULL && PyErr_Occurred())
                goto error;
            if (wo != NULL) {
                if (int64_arg(wo, &when) < 0)
                    goto error;
                has_when = 1;
                if (has_now && when < now)
                    continue;
            }
        }
        Py_ssize_t mark = w.len;
        if (has_when) { /* RDB_OPCODE_EXPIRETIME_MS, the deadline as an int64 LE */
            if (wb_reserve(&w, 9) < 0)
                goto error;
            uint8_t *b = (uint8_t *)w.buf + w.len;
            b[0] = 0xFC;
            for (int i = 0; i < 8; i++)
                b[1 + i] = (uint8_t)((uint64_t)when >> (8 * i));
            w.len += 9;
        }
        if (hints.mode != HINT_NONE && put_hint(&w, &hints, key) < 0)
            goto error;
        /* no reference is taken on the way that runs no Python code (a BGSAVE child
         * then copies no page of the values it only reads) */
        PyTypeObject *cls = Py_TYPE(value);
        int rc = 0;
        for (int i = 0; i < nlayouts && rc == 0; i++)
            if (layouts[i].cls == cls)
                rc = put_body(&w, key, value, &layouts[i], compress);
        if (rc == 0) { /* the fallback writes TYPE key value, or b"" to leave the key out */
            Py_INCREF(key);
            Py_INCREF(value);
            PyObject *body = PyObject_CallFunctionObjArgs(fallback, key, value, NULL);
            Py_DECREF(key);
            Py_DECREF(value);
            if (body == NULL) {
                rc = -1;
            } else {
                Py_buffer view;
                if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) < 0) {
                    rc = -1;
                } else {
                    if (view.len == 0) {
                        w.len = mark;
                        rc = 0;
                    } else {
                        rc = wb_put(&w, view.buf, view.len) < 0 ? -1 : 1;
                    }
                    PyBuffer_Release(&view);
                }
                Py_DECREF(body);
            }
        }
        if (rc < 0)
            goto error;
        if (rc == 0)
            continue;
        count++;
        if (w.len >= chunk)
            break;
    }
    PyObject *out = PyBytes_FromStringAndSize(w.buf, w.len);
    wb_free(&w);
    free_layouts(layouts, nlayouts);
    if (out == NULL)
        return NULL;
    return Py_BuildValue("(Nnn)", out, more ? pos : (Py_ssize_t)-1, count);
error:
    wb_free(&w);
    free_layouts(layouts, nlayouts);
    return NULL;
}
