/* rdbtools._speedups: the values the key scan (scan.c) builds, type by type as
 * rdbtools/values.py's load_value builds them; -1 at anything it would refuse
 * (a duplicate member, a NaN score, a bad blob...), and the Python path says why. */

#include "speedups.h"

static PyObject *e_linkedlist, *e_hashtable, *e_skiplist, *e_ziplist, *e_intset, *e_quicklist,
    *e_listpack;

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
    return pair_up(((PyListObject *)items)->ob_item, n);
}

static PyObject *
is_decode_blob(const uint8_t *p, Py_ssize_t n, int text)
{
    return is_decode_raw(p, n, n, text);
}

/* Read a blob string and decode it with `dec` (listpack/ziplist, text or not) or
 * intset; NULL to stop. */
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

/* A zset listpack's check: lp_pairs_ok, and every score parses
 * (zsets.load_zset_listpack_packed). */
static int
zl_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *entries)
{
    int r = lp_pairs_ok(p, n, entries);
    return r > 0 && !zl_scores_ok(p, n) ? 0 : r;
}

/* A blob kept as its bytes: make(bytearray, count) once ok() accepts it (a hash
 * listpack: lp_pairs_ok, hashes.load_hash_listpack_packed; a zset listpack: zl_ok; a
 * set intset: is_ok, sets.load_set_intset_packed), or NULL. */
static PyObject *
sk_packed(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len, PyObject *make,
          int (*ok)(const uint8_t *, Py_ssize_t, Py_ssize_t *))
{
    SkStr r;
    if (sk_str(p, n, pos, max_len, &r) < 0)
        return NULL;
    Py_ssize_t entries;
    PyObject *v = NULL;
    if (ok(r.s, r.len, &entries) > 0) {
        PyObject *args[2] = {PyByteArray_FromStringAndSize((const char *)r.s, r.len),
                             PyLong_FromSsize_t(entries)};
        if (args[0] != NULL && args[1] != NULL)
            v = PyObject_Vectorcall(make, args, 2, NULL);
        Py_XDECREF(args[0]);
        Py_XDECREF(args[1]);
    }
    sk_release(&r);
    return v;
}

int
sk_value(unsigned t, const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len,
         PyObject *packed, PyObject **value, PyObject **tname, PyObject **enc)
{
    PyObject *v = NULL, *items = NULL;
    uint64_t count;
    PyObject *make = NULL;
    if (t == 12 && packed != NULL)
        return -1; /* a zset ziplist, converted once by zsets.load_zset_ziplist_packed */
    if (packed != NULL && (t == 16 || t == 17 || t == 11 || t == 18)) {
        PyObject *tb = PyLong_FromLong((long)t);
        make = tb != NULL ? PyDict_GetItemWithError(packed, tb) : NULL; /* borrowed */
        Py_XDECREF(tb);
        if (make == NULL && PyErr_Occurred())
            return -1;
    }
    if (make != NULL && t == 18) {
        v = sk_quicklist_packed(p, n, pos, max_len, make);
        *tname = s_list;
        *enc = e_quicklist;
        t = 0xFF;
    }
    else if (make != NULL) {
        v = sk_packed(p, n, pos, max_len, make, t == 16 ? lp_pairs_ok : t == 17 ? zl_ok : is_ok);
        *tname = t == 16 ? s_hash : t == 17 ? s_zset : s_set;
        *enc = t == 11 ? e_intset : e_listpack;
        t = 0xFF; /* past the switch */
    }
    else if (t == 14 && packed != NULL) {
        return -1; /* ziplist nodes converted to listpack nodes: the Python path */
    }
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
    case 0xFF:
        break;
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


int
scan_init(void)
{
#define INTERN(var, text)                                                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                  \
        return -1;
    INTERN(e_linkedlist, "linkedlist")
    INTERN(e_hashtable, "hashtable")
    INTERN(e_skiplist, "skiplist")
    INTERN(e_ziplist, "ziplist")
    INTERN(e_intset, "intset")
    INTERN(e_quicklist, "quicklist")
    INTERN(e_listpack, "listpack")
#undef INTERN
    return 0;
}
