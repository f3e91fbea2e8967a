/* rdbtools._speedups: a list as Redis 7.0 keeps it, a quicklist of listpack nodes
 * (rdbtools/encodings/quicklist_ops.py is the reference: same results, same bytes;
 * it describes the nodes: a bytearray listpack, bytes for a plain node, a tuple
 * (lzf, sz, count) for a compressed one).
 *
 * lpl_*: one listpack node changed in place as listpack.c does; ql_*: the hot list
 * operations over the Python list of nodes (push/pop at either end, read by index
 * and by range). Entries are read by lp_ent (lpentry.c) and written by lp_encode_item
 * and lp_splice (lpops.c); every entry is checked to lie before the end marker. */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF
#define PACKED_THRESHOLD ((Py_ssize_t)1 << 30)
#define SIZE_SAFETY_LIMIT 8192
#define SIZE_ESTIMATE_OVERHEAD 8

static const Py_ssize_t node_levels[] = {4096, 8192, 16384, 32768, 65536};

static int
corrupt_at(Py_ssize_t pos)
{
    bad(pos, "listpack entry at offset %zd runs past the end or is invalid", pos);
    return -1;
}

/* Offset of the last entry (lpLast: its backlen read right to left), -1 if bad. */
static Py_ssize_t
last_entry(const uint8_t *p, Py_ssize_t n)
{
    Py_ssize_t q = n - 2;
    uint64_t size = 0;
    int shift = 0;
    while (q >= LP_HDR_SIZE) {
        uint8_t b = p[q];
        size |= (uint64_t)(b & 127) << shift;
        if (!(b & 128))
            break;
        q--;
        shift += 7;
        if (shift > 28)
            return -1;
    }
    if (q < LP_HDR_SIZE || (uint64_t)(q - LP_HDR_SIZE) < size)
        return -1;
    return q - (Py_ssize_t)size;
}

/* Offset of entry i (the end marker's when i is the count), -1 if there is none. */
static Py_ssize_t
seek(const uint8_t *p, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t pos = LP_HDR_SIZE;
    LpEnt e;
    while (i-- > 0) {
        if (pos >= n - 1 || lp_ent(p, n, pos, &e) < 0)
            return -1;
        pos = e.next;
    }
    return pos;
}

/* lpLength of a valid node: the header's count, a walk when it says "unknown". */
static Py_ssize_t
lp_count(const uint8_t *p, Py_ssize_t n)
{
    unsigned c = rd_u16le(p + 4);
    if (c != LP_HDR_NUMELE_UNKNOWN)
        return c;
    Py_ssize_t pos = LP_HDR_SIZE, k = 0;
    LpEnt e;
    while (pos < n - 1 && lp_ent(p, n, pos, &e) == 0) {
        pos = e.next;
        k++;
    }
    return k;
}

#define LP(o) ((const uint8_t *)PyByteArray_AS_STRING(o))

/* The entry lpAppend writes for the bytes `item`, spliced at lp[a:b]. */
static int
put_item(PyObject *lp, Py_ssize_t a, Py_ssize_t b, PyObject *item, int delta)
{
    Py_ssize_t len = PyBytes_GET_SIZE(item);
    uint8_t stack[256];
    uint8_t *buf = len + 10 <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)len + 10);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = lp_encode_item((const uint8_t *)PyBytes_AS_STRING(item), len, buf);
    int rc = lp_splice(lp, a, b, buf, m, delta);
    if (buf != stack)
        PyMem_Free(buf);
    return rc;
}

static int
args_ok(Py_ssize_t nargs, Py_ssize_t want, const char *func, PyObject *lp)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", func, want);
        return -1;
    }
    return lp_check(lp, func);
}

/* ------------------------------------------------------------------ one node */

PyObject *
lpl_push(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 3, "lpl_push", args[0]) < 0)
        return NULL;
    if (!PyBytes_Check(args[1]))
        return PyErr_Format(PyExc_TypeError, "lpl_push() needs bytes");
    Py_ssize_t pos = PyObject_IsTrue(args[2]) ? LP_HDR_SIZE : PyByteArray_GET_SIZE(args[0]) - 1;
    if (put_item(args[0], pos, pos, args[1], 1) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The first or last entry of the node lp as bytes, deleted (lpDelete). */
static PyObject *
pop_entry(PyObject *lp, int head)
{
    const uint8_t *p = LP(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = head ? LP_HDR_SIZE : last_entry(p, n);
    LpEnt e;
    if (pos < 0 || lp_ent(p, n, pos, &e) < 0) {
        corrupt_at(pos < 0 ? n - 2 : pos);
        return NULL;
    }
    PyObject *v = ent_bytes(&e);
    if (v == NULL || lp_splice(lp, pos, e.next, NULL, 0, -1) < 0) {
        Py_XDECREF(v);
        return NULL;
    }
    return v;
}

PyObject *
lpl_pop(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 2, "lpl_pop", args[0]) < 0)
        return NULL;
    return pop_entry(args[0], PyObject_IsTrue(args[1]));
}

/* Entry i of the node: its offset and the entry, or -1 with BadEncoding. */
static Py_ssize_t
node_entry(PyObject *lp, Py_ssize_t i, LpEnt *e)
{
    const uint8_t *p = LP(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = i < 0 ? -1 : seek(p, n, i);
    if (pos < 0 || lp_ent(p, n, pos, e) < 0) {
        bad(pos, "listpack has no entry %zd", i);
        return -1;
    }
    return pos;
}

PyObject *
lpl_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 2, "lpl_get", args[0]) < 0)
        return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    LpEnt e;
    if ((i == -1 && PyErr_Occurred()) || node_entry(args[0], i, &e) < 0)
        return NULL;
    return ent_bytes(&e);
}

PyObject *
lpl_replace(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 3, "lpl_replace", args[0]) < 0)
        return NULL;
    if (!PyBytes_Check(args[2]))
        return PyErr_Format(PyExc_TypeError, "lpl_replace() needs bytes");
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    LpEnt e;
    Py_ssize_t pos;
    if ((i == -1 && PyErr_Occurred()) || (pos = node_entry(args[0], i, &e)) < 0)
        return NULL;
    if (put_item(args[0], pos, e.next, args[2], 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *
lpl_insert(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 3, "lpl_insert", args[0]) < 0)
        return NULL;
    if (!PyBytes_Check(args[2]))
        return PyErr_Format(PyExc_TypeError, "lpl_insert() needs bytes");
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t pos = i < 0 ? -1 : seek(LP(args[0]), PyByteArray_GET_SIZE(args[0]), i);
    if (pos < 0) {
        bad(pos, "listpack has no entry %zd", i);
        return NULL;
    }
    if (put_item(args[0], pos, pos, args[2], 1) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *
lpl_delete(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (args_ok(nargs, 3, "lpl_delete", args[0]) < 0)
        return NULL;
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), k = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    const uint8_t *p = LP(args[0]);
    Py_ssize_t n = PyByteArray_GET_SIZE(args[0]);
    Py_ssize_t pos = start < 0 || k < 0 ? -1 : seek(p, n, start);
    Py_ssize_t end = pos < 0 ? -1 : seek(p + pos - LP_HDR_SIZE, n - pos + LP_HDR_SIZE, k);
    if (end < 0) {
        bad(pos, "listpack has no entries %zd..%zd", start, start + k);
        return NULL;
    }
    if (lp_splice(args[0], pos, pos + end - LP_HDR_SIZE, NULL, 0, (int)-k) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ the quicklist */

/* _quicklistNodeAllowInsert for the node lp (a bytearray) and an item of sz bytes. */
static int
allow_insert(PyObject *lp, int fill, Py_ssize_t sz)
{
    if (sz >= PACKED_THRESHOLD)
        return 0;
    Py_ssize_t new_sz = PyByteArray_GET_SIZE(lp) + sz + SIZE_ESTIMATE_OVERHEAD;
    if (fill < 0 && fill >= -5)
        return new_sz <= node_levels[-fill - 1];
    if (new_sz > SIZE_SAFETY_LIMIT)
        return 0;
    return lp_count(LP(lp), PyByteArray_GET_SIZE(lp)) < fill;
}

/* A node of one element: a listpack, or a plain node for a large element. */
static PyObject *
one_node(PyObject *item)
{
    Py_ssize_t len = PyBytes_GET_SIZE(item);
    if (len >= PACKED_THRESHOLD)
        return Py_NewRef(item);
    PyObject *lp = PyByteArray_FromStringAndSize(NULL, len + 10 + LP_HDR_SIZE + 1);
    if (lp == NULL)
        return NULL;
    uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t m = lp_encode_item((const uint8_t *)PyBytes_AS_STRING(item), len, p + LP_HDR_SIZE);
    Py_ssize_t total = LP_HDR_SIZE + m + 1;
    p[total - 1] = LP_EOF;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint64_t)total >> (8 * i));
    p[4] = 1;
    p[5] = 0;
    if (PyByteArray_Resize(lp, total) < 0) {
        Py_DECREF(lp);
        return NULL;
    }
    return lp;
}

PyObject *
ql_push(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "ql_push(nodes, items, head, fill)");
    PyObject *nodes = args[0];
    int head = PyObject_IsTrue(args[2]);
    long lfill = PyLong_AsLong(args[3]);
    if (lfill == -1 && PyErr_Occurred())
        return NULL;
    int fill = lfill < -5 ? -5 : lfill > 32767 ? 32767 : (int)lfill;
    PyObject *seq = PySequence_Fast(args[1], "ql_push() needs a sequence of items");
    if (seq == NULL)
        return NULL;
    Py_ssize_t made = 0, k = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *item = items[j];
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "ql_push() needs bytes items");
            goto fail;
        }
        Py_ssize_t nn = PyList_GET_SIZE(nodes);
        PyObject *end = nn ? PyList_GET_ITEM(nodes, head ? 0 : nn - 1) : NULL;
        if (end != NULL && PyByteArray_CheckExact(end) && allow_insert(end, fill, PyBytes_GET_SIZE(item))) {
            Py_ssize_t pos = head ? LP_HDR_SIZE : PyByteArray_GET_SIZE(end) - 1;
            if (put_item(end, pos, pos, item, 1) < 0)
                goto fail;
            continue;
        }
        PyObject *node = one_node(item);
        if (node == NULL)
            goto fail;
        int rc = head ? PyList_Insert(nodes, 0, node) : PyList_Append(nodes, node);
        Py_DECREF(node);
        if (rc < 0)
            goto fail;
        made++;
    }
    Py_DECREF(seq);
    return PyLong_FromSsize_t(made);
fail:
    Py_DECREF(seq);
    return NULL;
}

PyObject *
ql_pop(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || PyList_GET_SIZE(args[0]) == 0)
        return PyErr_Format(PyExc_TypeError, "ql_pop(nodes, head) needs a non-empty list");
    PyObject *nodes = args[0];
    int head = PyObject_IsTrue(args[1]);
    Py_ssize_t i = head ? 0 : PyList_GET_SIZE(nodes) - 1;
    PyObject *node = PyList_GET_ITEM(nodes, i);
    PyObject *v;
    if (PyBytes_CheckExact(node)) {
        v = Py_NewRef(node);
    }
    else if (PyByteArray_CheckExact(node)) {
        if (lp_check(node, "ql_pop") < 0 || (v = pop_entry(node, head)) == NULL)
            return NULL;
        if (LP(node)[LP_HDR_SIZE] != LP_EOF)
            return v;
    }
    else {
        Py_RETURN_NONE; /* compressed: the caller decompresses it first */
    }
    if (PySequence_DelItem(nodes, i) < 0) {
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* A node's entries as a listpack to read: the bytearray itself, or the compressed
 * node's decompressed bytes in *tmp (a new bytes object the caller releases). Returns
 * the node's count, 1 with *plain set for a plain node, -1 on error. */
static Py_ssize_t
node_view(PyObject *node, const uint8_t **p, Py_ssize_t *n, PyObject **tmp, int need_bytes)
{
    *tmp = NULL;
    if (PyByteArray_CheckExact(node)) {
        *p = LP(node);
        *n = PyByteArray_GET_SIZE(node);
        if (*n < LP_HDR_SIZE + 1 || (*p)[*n - 1] != LP_EOF) {
            bad(0, "not a listpack of %zd bytes", *n);
            return -1;
        }
        return lp_count(*p, *n);
    }
    if (PyBytes_CheckExact(node)) {
        *p = NULL;
        return 1;
    }
    if (!PyTuple_CheckExact(node) || PyTuple_GET_SIZE(node) != 3) {
        PyErr_SetString(PyExc_TypeError, "not a quicklist node");
        return -1;
    }
    Py_ssize_t count = PyLong_AsSsize_t(PyTuple_GET_ITEM(node, 2));
    if (!need_bytes || count < 0)
        return count;
    PyObject *a[2] = {PyTuple_GET_ITEM(node, 0), PyTuple_GET_ITEM(node, 1)};
    *tmp = lzf_decompress(NULL, a, 2);
    if (*tmp == NULL)
        return -1;
    *p = (const uint8_t *)PyBytes_AS_STRING(*tmp);
    *n = PyBytes_GET_SIZE(*tmp);
    return count;
}

/* fn(ctx, e, NULL) for each listpack entry among elements [start, stop) of the
 * quicklist, fn(ctx, NULL, node) for a plain node; 0, or -1 with an error. */
typedef int (*EntFn)(void *ctx, const LpEnt *e, PyObject *plain);

static int
walk(PyObject *nodes, Py_ssize_t start, Py_ssize_t stop, EntFn fn, void *ctx)
{
    Py_ssize_t at = 0, nn = PyList_GET_SIZE(nodes);
    for (Py_ssize_t j = 0; j < nn && at < stop; j++) {
        PyObject *node = PyList_GET_ITEM(nodes, j);
        const uint8_t *p;
        Py_ssize_t n;
        PyObject *tmp;
        Py_ssize_t c = node_view(node, &p, &n, &tmp, 0);
        if (c < 0)
            return -1;
        if (at + c > start) {
            if (PyBytes_CheckExact(node)) {
                if (fn(ctx, NULL, node) < 0)
                    return -1;
            }
            else {
                if (!PyByteArray_CheckExact(node) && node_view(node, &p, &n, &tmp, 1) < 0)
                    return -1;
                Py_ssize_t a = start > at ? start - at : 0, b = stop - at < c ? stop - at : c;
                Py_ssize_t pos = seek(p, n, a);
                LpEnt e;
                int rc = 0;
                for (Py_ssize_t i = a; i < b && rc == 0; i++) {
                    if (pos < 0 || lp_ent(p, n, pos, &e) < 0) {
                        rc = corrupt_at(pos);
                        break;
                    }
                    rc = fn(ctx, &e, NULL);
                    pos = e.next;
                }
                Py_XDECREF(tmp);
                if (rc < 0)
                    return -1;
            }
        }
        at += c;
    }
    return 0;
}

static int
append_ent(void *out, const LpEnt *e, PyObject *plain)
{
    PyObject *v = plain != NULL ? Py_NewRef(plain) : ent_bytes(e);
    int rc = v == NULL ? -1 : PyList_Append((PyObject *)out, v);
    Py_XDECREF(v);
    return rc;
}

/* Elements [start, stop) of the quicklist into a new list. */
static PyObject *
range(PyObject *nodes, Py_ssize_t start, Py_ssize_t stop)
{
    PyObject *out = PyList_New(0);
    if (out != NULL && walk(nodes, start, stop, append_ent, out) < 0)
        Py_CLEAR(out);
    return out;
}

PyObject *
ql_range(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "ql_range(nodes, start, stop)");
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), stop = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    return range(args[0], start, stop);
}

PyObject *
ql_locate(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "ql_locate(nodes, index)");
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t nn = PyList_GET_SIZE(args[0]);
    for (Py_ssize_t j = 0; j < nn && i >= 0; j++) {
        const uint8_t *p;
        Py_ssize_t n;
        PyObject *tmp;
        Py_ssize_t c = node_view(PyList_GET_ITEM(args[0], j), &p, &n, &tmp, 0);
        if (c < 0)
            return NULL;
        if (i < c)
            return Py_BuildValue("(nn)", j, i);
        i -= c;
    }
    PyErr_SetString(PyExc_IndexError, "quicklist index out of range");
    return NULL;
}

PyObject *
ql_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "ql_get(nodes, index)");
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    PyObject *out = range(args[0], i, i + 1);
    if (out == NULL)
        return NULL;
    if (PyList_GET_SIZE(out) != 1) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_IndexError, "quicklist index out of range");
        return NULL;
    }
    PyObject *v = Py_NewRef(PyList_GET_ITEM(out, 0));
    Py_DECREF(out);
    return v;
}

/* ------------------------------------------------------------------ loading */

/* The nodes of an RDB_TYPE_LIST_QUICKLIST_2 value at *pos for a packed load
 * (lists.load_list_quicklist_2_packed): factory(nodes, count), or NULL to stop (the
 * Python path then reads the value again for its precise error). */
PyObject *
sk_quicklist_packed(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len,
                    PyObject *factory)
{
    uint64_t len;
    if (sk_len(p, n, pos, &len) < 0 || len > (uint64_t)(n - *pos))
        return NULL;
    PyObject *nodes = PyList_New(0);
    if (nodes == NULL)
        return NULL;
    Py_ssize_t count = 0;
    for (uint64_t i = 0; i < len; i++) {
        uint64_t container;
        SkStr r;
        if (sk_len(p, n, pos, &container) < 0 || (container != 1 && container != 2) ||
            sk_str(p, n, pos, max_len, &r) < 0)
            goto fail;
        PyObject *node = NULL;
        Py_ssize_t k = 1;
        if (container == 1)
            node = r.obj != NULL ? Py_NewRef(r.obj) : PyBytes_FromStringAndSize((const char *)r.s, r.len);
        else if (lp_list_ok(r.s, r.len, &k) > 0 && k > 0)
            node = PyByteArray_FromStringAndSize((const char *)r.s, r.len);
        else if (k == 0) { /* an empty listpack: skipped, as Redis does */
            sk_release(&r);
            continue;
        }
        sk_release(&r);
        if (node == NULL)
            goto fail;
        int rc = PyList_Append(nodes, node);
        Py_DECREF(node);
        if (rc < 0)
            goto fail;
        count += k;
    }
    PyObject *c = PyLong_FromSsize_t(count);
    if (c == NULL)
        goto fail;
    PyObject *args[2] = {nodes, c};
    PyObject *v = PyObject_Vectorcall(factory, args, 2, NULL);
    Py_DECREF(c);
    Py_DECREF(nodes);
    return v;
fail:
    Py_DECREF(nodes);
    return NULL;
}

