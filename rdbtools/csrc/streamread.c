/* A stream's nodes read back from an RDB value, the C twin of rdbtools/objects/streams.py
 * `_load_nodes_py` (with `decode_stream_node`), which defines the entries, the node
 * layouts, the checks and their errors; and a live stream's two indexes built from
 * decoded entries, the twin of `live_form_py`. tests/rdbtools/test_stream_read.py holds
 * each pair equal.
 *
 * stream_load_nodes(buf, pos, nodes, max_len, entries, layouts, layout_type, nmeta)
 *   reads up to `nodes` nodes (a 16-byte key, a listpack) at pos, appending each live
 *   entry ((ms, seq), ((field, value), ...)) to the list `entries` and each node's
 *   layout_type(master, fields, live, deleted, size, last) to the list `layouts`, then
 *   the `nmeta` lengths after them; returns (position after those lengths, nodes read,
 *   [lengths]) or, when it stopped early, (position after the last node read, nodes
 *   read, None). It stops before the first
 *   node it does not accept in every detail (a short buffer, a key of another size or
 *   out of order, a listpack that fails the deep check, a count or flag that is not an
 *   integer entry, any entry that does not add up): the Python reference reads from
 *   there, raising its precise error with its offset (or accepting what only it
 *   accepts, such as a count written as a string entry).
 *
 * live_form(entries) -> (ids, {id: [field, value, ...]}) for a list or tuple of such
 *   entries, ids as one int ms << 64 | seq (engine/types/streams.py keeps them so). */

#include "speedups.h"

#define STREAM_ITEM_FLAG_DELETED 1
#define STREAM_ITEM_FLAG_SAMEFIELDS 2

/* The next entry as an integer (lpGetIntegerIfValid without its string2ll case: a
 * string entry is left to the reference, whose int() reads more than string2ll). */
static inline int
next_int(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, int64_t *v)
{
    LpEnt e;
    if (*pos >= n - 1 || lp_ent(p, n, *pos, &e) < 0 || !e.is_int)
        return -1;
    *v = e.v;
    *pos = e.next;
    return 0;
}

/* The next entry as bytes (its text for an integer); NULL with no error set when
 * there is none. */
static inline PyObject *
next_bytes(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos)
{
    LpEnt e;
    if (*pos >= n - 1 || lp_ent(p, n, *pos, &e) < 0)
        return NULL;
    *pos = e.next;
    return ent_bytes(&e);
}

/* (a, b) of two new references (stolen), untracked from the GC as the collector would
 * untrack it; NULL when either is NULL. */
static PyObject *
pair(PyObject *a, PyObject *b)
{
    if (a == NULL || b == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    PyObject *t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(a);
        Py_DECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, a);
    PyTuple_SET_ITEM(t, 1, b);
    return untrack_pair(t);
}

static PyObject *
id_pair(uint64_t ms, uint64_t seq)
{
    return pair(PyLong_FromUnsignedLongLong(ms), PyLong_FromUnsignedLongLong(seq));
}

/* One node listpack p[0:n] with master id (mms, mseq): its live entries appended to
 * `entries`, its layout to `layouts`. 1 done, 0 not accepted (nothing appended), -1
 * error. Mirrors decode_stream_node (streamValidateListpackIntegrity's walk). */
static int
read_node(const uint8_t *p, Py_ssize_t n, uint64_t mms, uint64_t mseq, PyObject *entries,
          PyObject *layouts, PyObject *layout_type)
{
    Py_ssize_t entries_before = PyList_GET_SIZE(entries);
    Py_ssize_t k;
    if (!lp_list_ok(p, n, &k) || k == 0)
        return 0;
    int rc = 0;
    PyObject *mfields = NULL, *last = NULL;
    Py_ssize_t pos = 6;
    int64_t count, deleted, nmaster, zero;
    if (next_int(p, n, &pos, &count) < 0 || next_int(p, n, &pos, &deleted) < 0 ||
        next_int(p, n, &pos, &nmaster) < 0 || nmaster < 0 || nmaster > k)
        return 0;
    if ((mfields = PyTuple_New((Py_ssize_t)nmaster)) == NULL)
        return -1;
    for (Py_ssize_t j = 0; j < nmaster; j++) {
        PyObject *f = next_bytes(p, n, &pos);
        if (f == NULL)
            goto out;
        PyTuple_SET_ITEM(mfields, j, f);
    }
    if (next_int(p, n, &pos, &zero) < 0 || zero != 0)
        goto out;
    uint64_t lms = mms, lseq = mseq;
    int64_t total = 0, live = 0;
    while (pos < n - 1) {
        int64_t flags, dms, dseq, nf, lp_count, expect;
        if (next_int(p, n, &pos, &flags) < 0 || next_int(p, n, &pos, &dms) < 0 ||
            next_int(p, n, &pos, &dseq) < 0)
            goto out;
        /* int64 deltas added in uint64 arithmetic (streamDecodeID wraps) */
        lms = mms + (uint64_t)dms;
        lseq = mseq + (uint64_t)dseq;
        int same = (flags & STREAM_ITEM_FLAG_SAMEFIELDS) != 0;
        if (same) {
            nf = nmaster;
            expect = nmaster + 3;
        }
        else {
            if (next_int(p, n, &pos, &nf) < 0 || nf < 0 || nf > k)
                goto out;
            expect = 2 * nf + 4;
        }
        PyObject *fields = PyTuple_New((Py_ssize_t)nf);
        if (fields == NULL) {
            rc = -1;
            goto out;
        }
        for (Py_ssize_t j = 0; j < nf; j++) {
            PyObject *f;
            if (same) {
                f = PyTuple_GET_ITEM(mfields, j);
                Py_INCREF(f);
            }
            else if ((f = next_bytes(p, n, &pos)) == NULL) {
                Py_DECREF(fields);
                goto out;
            }
            PyObject *v = next_bytes(p, n, &pos);
            if (v == NULL) {
                Py_DECREF(f);
                Py_DECREF(fields);
                goto out;
            }
            PyObject *fv = pair(f, v);
            if (fv == NULL) {
                Py_DECREF(fields);
                rc = -1;
                goto out;
            }
            PyTuple_SET_ITEM(fields, j, fv);
        }
        if (next_int(p, n, &pos, &lp_count) < 0 || lp_count != expect) {
            Py_DECREF(fields);
            goto out;
        }
        total++;
        if (flags & STREAM_ITEM_FLAG_DELETED) {
            Py_DECREF(fields);
            continue;
        }
        PyObject *entry = pair(id_pair(lms, lseq), fields);
        if (entry == NULL || PyList_Append(entries, entry) < 0) {
            Py_XDECREF(entry);
            rc = -1;
            goto out;
        }
        Py_DECREF(entry);
        live++;
    }
    /* count + deleted == total and count == live, without overflowing count + deleted */
    if (count != live || deleted != total - live)
        goto out;
    last = id_pair(lms, lseq);
    PyObject *master = id_pair(mms, mseq);
    if (last == NULL || master == NULL) {
        Py_XDECREF(master);
        rc = -1;
        goto out;
    }
    /* layout_type(master, fields, live, deleted, size, last): the named tuple made as its
     * __new__ makes it (tuple.__new__ of the six items), without the call */
    PyObject *layout = ((PyTypeObject *)layout_type)->tp_alloc((PyTypeObject *)layout_type, 6);
    if (layout == NULL) {
        Py_DECREF(master);
        rc = -1;
        goto out;
    }
    PyTuple_SET_ITEM(layout, 0, master);
    PyTuple_SET_ITEM(layout, 1, Py_NewRef(mfields));
    PyTuple_SET_ITEM(layout, 2, PyLong_FromLongLong(count));
    PyTuple_SET_ITEM(layout, 3, PyLong_FromLongLong(deleted));
    PyTuple_SET_ITEM(layout, 4, PyLong_FromSsize_t(n));
    PyTuple_SET_ITEM(layout, 5, Py_NewRef(last));
    for (int j = 2; j < 5; j++)
        if (PyTuple_GET_ITEM(layout, j) == NULL)
            rc = -1;
    if (rc < 0 || PyList_Append(layouts, layout) < 0) {
        Py_DECREF(layout);
        rc = -1;
        goto out;
    }
    Py_DECREF(layout);
    rc = 1;
out:
    Py_XDECREF(mfields);
    Py_XDECREF(last);
    if (rc != 1 && PyList_SetSlice(entries, entries_before, PyList_GET_SIZE(entries), NULL) < 0)
        rc = -1;
    return rc;
}

PyObject *
stream_load_nodes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyList_Check(args[4]) || !PyList_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "stream_load_nodes(buf, pos, nodes, max_len, entries list, layouts list, layout_type, nmeta)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    unsigned long long nodes = PyLong_AsUnsignedLongLong(args[2]);
    unsigned long long max_len = PyLong_AsUnsignedLongLong(args[3]);
    Py_ssize_t nmeta = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred())
        return NULL;
    if (nmeta < 0 || nmeta > 16) {
        PyErr_SetString(PyExc_ValueError, "stream_load_nodes: nmeta is 0..16");
        return NULL;
    }
    PyObject *entries = args[4], *layouts = args[5], *layout_type = args[6];
    if (!PyType_Check(layout_type) || !PyType_IsSubtype((PyTypeObject *)layout_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "stream_load_nodes: layout_type is a tuple type");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *p = view.buf;
    Py_ssize_t n = view.len;
    unsigned long long done = 0;
    int rc = 0;
    /* the previous node's key: the keys must increase (raxTryInsert refuses a repeat) */
    int have_prev = 0;
    uint64_t prev_ms = 0, prev_seq = 0;
    Py_ssize_t nl = PyList_GET_SIZE(layouts);
    if (nl > 0) {
        PyObject *m = PyTuple_GetItem(PyList_GET_ITEM(layouts, nl - 1), 0);
        if (m == NULL || !PyTuple_Check(m) || PyTuple_GET_SIZE(m) != 2)
            goto fail;
        prev_ms = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(m, 0));
        prev_seq = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(m, 1));
        if (PyErr_Occurred())
            goto fail;
        have_prev = 1;
    }
    while (done < nodes && pos >= 0 && pos < n) {
        Py_ssize_t q = pos;
        SkStr key, lp;
        if (sk_str(p, n, &q, max_len, &key) < 0)
            break;
        if (key.len != 16) {
            sk_release(&key);
            break;
        }
        uint64_t ms = rd_u64be(key.s), seq = rd_u64be(key.s + 8);
        sk_release(&key);
        if (have_prev && (ms < prev_ms || (ms == prev_ms && seq <= prev_seq)))
            break;
        if (sk_str(p, n, &q, max_len, &lp) < 0)
            break;
        rc = read_node(lp.s, lp.len, ms, seq, entries, layouts, layout_type);
        sk_release(&lp);
        if (rc <= 0)
            break;
        have_prev = 1;
        prev_ms = ms;
        prev_seq = seq;
        pos = q;
        done++;
    }
    /* the metadata lengths, when every node was read and they are all there */
    uint64_t meta[16];
    int have_meta = done == nodes && rc >= 0;
    Py_ssize_t q = pos;
    for (Py_ssize_t j = 0; have_meta && j < nmeta; j++)
        have_meta = pos >= 0 && sk_len(p, n, &q, &meta[j]) == 0;
    PyBuffer_Release(&view);
    if (rc < 0 || PyErr_Occurred())
        return NULL;
    if (!have_meta)
        return Py_BuildValue("(nKO)", pos, done, Py_None);
    PyObject *lens = PyList_New(nmeta);
    if (lens == NULL)
        return NULL;
    for (Py_ssize_t j = 0; j < nmeta; j++) {
        PyObject *v = PyLong_FromUnsignedLongLong(meta[j]);
        if (v == NULL) {
            Py_DECREF(lens);
            return NULL;
        }
        PyList_SET_ITEM(lens, j, v);
    }
    return Py_BuildValue("(nKN)", q, done, lens);
fail:
    PyBuffer_Release(&view);
    return NULL;
}

/* ms << 64 | seq as one int (make_id) */
static PyObject *
id_int(PyObject *sid)
{
    if (!PyTuple_Check(sid) || PyTuple_GET_SIZE(sid) != 2) {
        PyErr_SetString(PyExc_TypeError, "live_form: an id is (ms, seq)");
        return NULL;
    }
    uint64_t ms = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(sid, 0));
    uint64_t seq = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(sid, 1));
    if (PyErr_Occurred())
        return NULL;
    if (ms == 0)
        return PyLong_FromUnsignedLongLong(seq);
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(seq >> (8 * i));
        b[8 + i] = (uint8_t)(ms >> (8 * i));
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(b, 16, Py_ASNATIVEBYTES_LITTLE_ENDIAN);
#else
    return _PyLong_FromByteArray(b, 16, 1, 0);
#endif
}

PyObject *
live_form(PyObject *self, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "live_form: entries must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *ids = PyList_New(n), *map = PyDict_New();
    if (ids == NULL || map == NULL)
        goto fail;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *ent = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyTuple_Check(ent) || PyTuple_GET_SIZE(ent) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(ent, 1))) {
            PyErr_SetString(PyExc_TypeError, "live_form: an entry is ((ms, seq), ((field, value), ...))");
            goto fail;
        }
        PyObject *id = id_int(PyTuple_GET_ITEM(ent, 0));
        if (id == NULL)
            goto fail;
        PyList_SET_ITEM(ids, k, id);
        PyObject *fv = PyTuple_GET_ITEM(ent, 1);
        Py_ssize_t nf = PyTuple_GET_SIZE(fv);
        PyObject *flat = PyList_New(2 * nf);
        if (flat == NULL)
            goto fail;
        for (Py_ssize_t j = 0; j < nf; j++) {
            PyObject *pr = PyTuple_GET_ITEM(fv, j);
            if (!PyTuple_Check(pr) || PyTuple_GET_SIZE(pr) != 2) {
                Py_DECREF(flat);
                PyErr_SetString(PyExc_TypeError, "live_form: a field and its value are a pair");
                goto fail;
            }
            PyList_SET_ITEM(flat, 2 * j, Py_NewRef(PyTuple_GET_ITEM(pr, 0)));
            PyList_SET_ITEM(flat, 2 * j + 1, Py_NewRef(PyTuple_GET_ITEM(pr, 1)));
        }
        int rc = PyDict_SetItem(map, id, flat);
        Py_DECREF(flat);
        if (rc < 0)
            goto fail;
    }
    Py_DECREF(seq);
    PyObject *out = PyTuple_Pack(2, ids, map);
    Py_DECREF(ids);
    Py_DECREF(map);
    return out;
fail:
    Py_DECREF(seq);
    Py_XDECREF(ids);
    Py_XDECREF(map);
    return NULL;
}
