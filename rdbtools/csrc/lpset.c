/* rdbtools._speedups: in-place operations on a listpack of set members, what a small
 * set of strings does to its bytes (rdbtools/encodings/listpack_set.py is the
 * reference: same results, same bytes); and lp_entries_size, the bytes entries would
 * take (listpack.lp_entries_size_py), which a stream's node accounting sums per XADD. Members are found by lp_find_entry with skip 0
 * and written by lp_encode_item / lp_splice (lpops.c); every entry is checked to lie
 * before the end marker. */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

/* The arguments (lp, member) of `func` and the member's offset: >= 0 found, -1 absent,
 * -2 with an error set. */
static Py_ssize_t
member_at(PyObject *const *args, Py_ssize_t nargs, const char *func)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 2 arguments", func);
        return -2;
    }
    if (lp_check(args[0], func) < 0)
        return -2;
    if (!PyBytes_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s() needs bytes", func);
        return -2;
    }
    return lp_find_entry((const uint8_t *)PyByteArray_AS_STRING(args[0]), PyByteArray_GET_SIZE(args[0]),
                         (const uint8_t *)PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]), 0);
}

PyObject *
lps_find(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos = member_at(args, nargs, "lps_find");
    if (pos == -2)
        return NULL;
    return PyBool_FromLong(pos >= 0);
}

PyObject *
lps_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos = member_at(args, nargs, "lps_add");
    if (pos == -2)
        return NULL;
    if (pos >= 0)
        Py_RETURN_FALSE;
    const uint8_t *s = (const uint8_t *)PyBytes_AS_STRING(args[1]);
    Py_ssize_t len = PyBytes_GET_SIZE(args[1]);
    uint8_t stack[128];
    Py_ssize_t need = lp_encoded_max(len);
    uint8_t *buf = need <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)need);
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_ssize_t end = PyByteArray_GET_SIZE(args[0]) - 1;
    int rc = lp_splice(args[0], end, end, buf, lp_encode_item(s, len, buf), 1);
    if (buf != stack)
        PyMem_Free(buf);
    if (rc < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyObject *
lps_remove(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t pos = member_at(args, nargs, "lps_remove");
    if (pos == -2)
        return NULL;
    if (pos < 0)
        Py_RETURN_FALSE;
    LpEnt e;
    if (lp_ent((const uint8_t *)PyByteArray_AS_STRING(args[0]), PyByteArray_GET_SIZE(args[0]), pos, &e) < 0) {
        lp_corrupt(pos);
        return NULL;
    }
    if (lp_splice(args[0], pos, e.next, NULL, 0, -1) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

PyObject *
lps_build(PyObject *self, PyObject *members)
{
    PyObject *seq = PySequence_Fast(members, "lps_build() needs a sequence of bytes");
    if (seq == NULL)
        return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_ssize_t cap = LP_HDR_SIZE + 1;
    for (Py_ssize_t i = 0; i < k; i++) {
        if (!PyBytes_Check(items[i])) {
            Py_DECREF(seq);
            return PyErr_Format(PyExc_TypeError, "lps_build() needs bytes");
        }
        cap += lp_encoded_max(PyBytes_GET_SIZE(items[i]));
    }
    PyObject *out = PyByteArray_FromStringAndSize(NULL, cap);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    uint8_t *p = (uint8_t *)PyByteArray_AS_STRING(out);
    Py_ssize_t pos = LP_HDR_SIZE;
    for (Py_ssize_t i = 0; i < k; i++)
        pos += lp_encode_item((const uint8_t *)PyBytes_AS_STRING(items[i]), PyBytes_GET_SIZE(items[i]), p + pos);
    Py_DECREF(seq);
    p[pos++] = 0xFF;
    if (pos > 0xFFFFFFFFLL) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_OverflowError, "listpack would exceed 4 GiB");
        return NULL;
    }
    if (PyByteArray_Resize(out, pos) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    p = (uint8_t *)PyByteArray_AS_STRING(out);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint64_t)pos >> (8 * i));
    unsigned count = k < LP_HDR_NUMELE_UNKNOWN ? (unsigned)k : LP_HDR_NUMELE_UNKNOWN;
    p[4] = (uint8_t)(count & 0xFF);
    p[5] = (uint8_t)(count >> 8);
    return out;
}

/* The bytes a listpack entry for s[0:len] takes, backlen included (lpEncodeGetType's
 * choice: canonical integer text as the smallest integer form). */
static Py_ssize_t
entry_size(const uint8_t *s, Py_ssize_t len)
{
    int64_t v;
    if (canon_ll(s, len, &v)) {
        if (v >= 0 && v <= 127)
            return 2;
        if (v >= -4096 && v <= 4095)
            return 3;
        if (v >= -32768 && v <= 32767)
            return 4;
        if (v >= -8388608 && v <= 8388607)
            return 5;
        if (v >= -2147483648LL && v <= 2147483647)
            return 6;
        return 10;
    }
    Py_ssize_t size = len + (len < 64 ? 1 : len < 4096 ? 2 : 5);
    return size + lp_backlen_size((uint64_t)size);
}

PyObject *
lp_entries_size(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "lp_entries_size(items: list, start, step)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), step = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (start < 0 || step < 1) {
        PyErr_SetString(PyExc_ValueError, "lp_entries_size: start >= 0, step >= 1");
        return NULL;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = start; i < PyList_GET_SIZE(args[0]); i += step) {
        PyObject *it = PyList_GET_ITEM(args[0], i);
        if (!PyBytes_Check(it)) {
            PyErr_SetString(PyExc_TypeError, "lp_entries_size() needs bytes");
            return NULL;
        }
        total += entry_size((const uint8_t *)PyBytes_AS_STRING(it), PyBytes_GET_SIZE(it));
    }
    return PyLong_FromSsize_t(total);
}
