/* rdbtools._speedups.KeySet, the C table of rdbtools.keyset.KeySet: the keys a
 * decoder has read, to refuse a key seen twice in one db (a loading redis-server
 * panics on it). Each (db, key) is kept as an 8-byte digest — Python's keyed hash
 * of the key bytes (SipHash, seeded per process) mixed with the db — in an
 * open-addressing table of uint64 (0 = empty slot) grown at 2/3 load: 12 to 24
 * bytes a key, never the keys themselves. Two different keys share a digest with
 * probability 2^-64 a pair; the seed makes that impossible to aim for.
 */

#include "speedups.h"

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

int
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

int
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

/* The digest of add()'s and digest()'s (db, key) arguments; 0, or -1 with an error set. */
static int
ks_args(PyObject *const *args, Py_ssize_t nargs, const char *usage, uint64_t *d)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    uint64_t db = PyLong_AsUnsignedLongLong(args[0]);
    if (db == (uint64_t)-1 && PyErr_Occurred())
        return -1;
    return ks_digest(args[1], db, d);
}

static PyObject *
KeySet_add(KeySetObject *ks, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t d;
    if (ks_args(args, nargs, "KeySet.add(db, key)", &d) < 0)
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

static PyObject *
KeySet_digest(KeySetObject *ks, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t d;
    if (ks_args(args, nargs, "KeySet.digest(db, key)", &d) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(d);
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The digests held, sorted, as native uint64 bytes; the table is emptied (its memory
 * kept): a caller bounding its memory keeps these runs on disk and merges them. */
static PyObject *
KeySet_drain(KeySetObject *ks, PyObject *unused)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(ks->count * sizeof(uint64_t)));
    if (out == NULL)
        return NULL;
    uint64_t *dst = (uint64_t *)PyBytes_AS_STRING(out);
    size_t n = 0;
    for (size_t i = 0; i <= ks->mask; i++)
        if (ks->slots[i])
            dst[n++] = ks->slots[i];
    qsort(dst, n, sizeof(uint64_t), u64_cmp);
    memset(ks->slots, 0, (ks->mask + 1) * sizeof(uint64_t));
    ks->count = 0;
    return out;
}

static PyMethodDef KeySet_methods[] = {
    {"add", (PyCFunction)(void (*)(void))KeySet_add, METH_FASTCALL,
     "add($self, db, key, /)\n--\n\nTrue if (db, key) is new (and now recorded), False if seen."},
    {"digest", (PyCFunction)(void (*)(void))KeySet_digest, METH_FASTCALL,
     "digest($self, db, key, /)\n--\n\nThe digest add() records for (db, key), never 0."},
    {"drain", (PyCFunction)KeySet_drain, METH_NOARGS,
     "drain($self, /)\n--\n\nThe digests held, sorted, as native uint64 bytes; the set is emptied."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef KeySet_getset[] = {
    {"nbytes", (getter)KeySet_nbytes, NULL, "Bytes held by the digest table.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods KeySet_as_sequence = {
    .sq_length = (lenfunc)KeySet_len,
};

PyTypeObject KeySetType = {
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
