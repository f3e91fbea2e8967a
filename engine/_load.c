/* engine._load: the per-key part of a load (rdbLoadRio's dbAddRDBLoad and the LRU/LFU
 * hint of objectSetLRUOrLFU) in C, for the keys the decoder's C scan reads.
 *
 * engine/persistence/dataset.py DatasetLoader.add is the reference. A Sink made by
 * DatasetLoader.sink() is handed to rdbtools.io.iter_events(sink=...); the scan offers
 * it each key as sink(db, key, type, value, expire, idle, freq, encoding) before it
 * builds a Record. The sink takes the key (True) when add() would simply store it:
 * the value becomes its in-memory form through the one conversion the Python path
 * uses (engine.materialize.value_of; a string's bytes are kept as they are), the key
 * goes into the database's table with its deadline and access hint, replacing what
 * was there as add() does. Everything that is not that plain case is declined
 * (False) and comes back as a Record for add(): a key already expired that a master
 * drops (counted, maybe listed), a database past `databases`, a duplicate when
 * duplicates are an error. Nothing is done for a declined key.
 *
 * value_of's common cases are made here without a Python call (its ~2 µs a value was a
 * fifth of a load): a hash listpack, set intset or zset listpack the decoder kept as
 * bytes becomes HashValue / SetValue / ZSetValue around the same bytearray while its
 * header count is within the configured limit, and a list's quicklist nodes a ListValue
 * holding them when nothing is compressed and every node's count is known. The instances
 * are made as their classes make them: every slot set, the list's fill and compress
 * depth copied from a ListValue the loader made for this config. Anything else (over a
 * limit, an "unknown" count, compression) goes to value_of.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "_slots.h"

/* A class of ours with __slots__: where each named slot lives in its instances. */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t off[4];
} Shape;

enum { W_PAIRS, W_INTSET, W_ZSET, W_NODES, V_HASH, V_SET, V_ZSET, V_LIST, N_SHAPES };
static const char *const shape_slots[N_SHAPES][4] = {
    [W_PAIRS] = {"blob"},                                /* rdbtools ListpackPairs */
    [W_INTSET] = {"blob", "count"},                      /* IntsetMembers */
    [W_ZSET] = {"blob"},                                 /* ListpackZset */
    [W_NODES] = {"nodes", "count"},                      /* QuicklistNodes */
    [V_HASH] = {"lp", "ht", "fx", "wide"},               /* engine HashValue */
    [V_SET] = {"is_", "lp", "ht"},                       /* SetValue */
    [V_ZSET] = {"lp", "dict", "zsl", "nan"},             /* ZSetValue */
    [V_LIST] = {"nodes", "count", "fill", "compress"},  /* ListValue */
};

#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Shape shapes[N_SHAPES];
    PyObject *list_proto; /* ListValue.new(config): its fill and compress depth */
    PyObject *zero;       /* ZSetValue's nan count */
    long long hash_entries, intset_entries, zset_entries;
    PyObject *tables;   /* list of (data, expires, lru) dict tuples, by db */
    PyObject *value_of; /* engine.materialize.value_of(type, value, encoding, config) */
    PyObject *config;
    PyObject *now;      /* int ms: keys expired before it are declined; None: none are */
    long long lru_clock;
    long long lfu_minutes;
    int lfu;
    int allow_dup;
    Py_ssize_t taken;
    Py_ssize_t hinted; /* of those, keys that came with an IDLE or FREQ hint */
} Sink;

static PyObject *s_string; /* the scan's interned "string" type name */

/* Each slot name of shape k in type t: a writable object slot (T_OBJECT_EX). */
static int
shape_init(Shape *sh, PyObject *t, int k)
{
    if (!PyType_Check(t)) {
        PyErr_SetString(PyExc_TypeError, "Sink: classes expected");
        return -1;
    }
    sh->type = (PyTypeObject *)t;
    for (int i = 0; i < 4 && shape_slots[k][i] != NULL; i++)
        if ((sh->off[i] = slot_offset_of(t, shape_slots[k][i])) < 0)
            return -1;
    return 0;
}

/* An instance of shape k with its slots set to v[0..] (new references taken). */
static PyObject *
make(Sink *s, int k, PyObject *const *v)
{
    Shape *sh = &s->shapes[k];
    PyObject *o = sh->type->tp_alloc(sh->type, 0);
    if (o == NULL)
        return NULL;
    for (int i = 0; i < 4 && shape_slots[k][i] != NULL; i++)
        SLOT(o, sh->off[i]) = Py_NewRef(v[i]);
    return o;
}

/* A listpack's header count, -1 when "unknown" (65535) or not a listpack bytearray. */
static long long
lp_count(PyObject *lp)
{
    if (!PyByteArray_CheckExact(lp) || PyByteArray_GET_SIZE(lp) < 7)
        return -1;
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    unsigned c = p[4] | (unsigned)p[5] << 8;
    return c == 0xFFFF ? -1 : (long long)c;
}

/* value_of's common cases (see above); NULL without an error: value_of decides. */
static PyObject *
value_here(Sink *s, PyObject *value)
{
    PyTypeObject *t = Py_TYPE(value);
    if (t == s->shapes[W_PAIRS].type) { /* HashValue(lp) while lpLength/2 fits */
        PyObject *lp = SLOT(value, s->shapes[W_PAIRS].off[0]);
        long long c = lp_count(lp);
        if (c < 0 || c / 2 > s->hash_entries)
            return NULL;
        PyObject *v[4] = {lp, Py_None, Py_None, Py_None};
        return make(s, V_HASH, v);
    }
    if (t == s->shapes[W_INTSET].type) { /* SetValue(is_) within set-max-intset-entries */
        PyObject *blob = SLOT(value, s->shapes[W_INTSET].off[0]);
        PyObject *count = SLOT(value, s->shapes[W_INTSET].off[1]);
        if (!PyByteArray_CheckExact(blob) || !PyLong_CheckExact(count))
            return NULL;
        long long c = PyLong_AsLongLong(count);
        if (c < 0 || c > s->intset_entries) {
            PyErr_Clear();
            return NULL;
        }
        PyObject *v[3] = {blob, Py_None, Py_None};
        return make(s, V_SET, v);
    }
    if (t == s->shapes[W_ZSET].type) { /* ZSetValue.from_listpack within the limit */
        PyObject *lp = SLOT(value, s->shapes[W_ZSET].off[0]);
        long long c = lp_count(lp);
        if (c < 0 || c / 2 > s->zset_entries)
            return NULL;
        PyObject *v[4] = {lp, Py_None, Py_None, s->zero};
        return make(s, V_ZSET, v);
    }
    if (t == s->shapes[W_NODES].type) { /* ListValue.from_nodes, uncompressed */
        PyObject *proto = s->list_proto;
        PyObject *fill = SLOT(proto, s->shapes[V_LIST].off[2]);
        PyObject *compress = SLOT(proto, s->shapes[V_LIST].off[3]);
        PyObject *nodes = SLOT(value, s->shapes[W_NODES].off[0]);
        PyObject *count = SLOT(value, s->shapes[W_NODES].off[1]);
        if (compress == NULL || fill == NULL || !PyLong_CheckExact(compress) || PyLong_AsLong(compress) != 0 ||
            !PyList_CheckExact(nodes) || !PyLong_CheckExact(count))
            return NULL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nodes); i++) {
            PyObject *node = PyList_GET_ITEM(nodes, i);
            if (PyByteArray_CheckExact(node) && lp_count(node) < 0) /* lpLength stores it */
                return NULL;
        }
        PyObject *copy = PyList_GetSlice(nodes, 0, PyList_GET_SIZE(nodes)); /* fit() */
        if (copy == NULL)
            return NULL;
        PyObject *v[4] = {copy, count, fill, compress};
        PyObject *o = make(s, V_LIST, v);
        Py_DECREF(copy);
        return o;
    }
    return NULL;
}

/* expires/lru without `key` (dict.pop(key, None)) */
static int
drop(PyObject *d, PyObject *key)
{
    int has = PyDict_Contains(d, key);
    if (has <= 0)
        return has;
    return PyDict_DelItem(d, key);
}

static int
set_long(PyObject *d, PyObject *key, long long v)
{
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL)
        return -1;
    int rc = PyDict_SetItem(d, key, o);
    Py_DECREF(o);
    return rc;
}

static PyObject *
sink_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Sink *s = (Sink *)self;
    if (PyVectorcall_NARGS(nargsf) != 8 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "sink(db, key, type, value, expire, idle, freq, encoding)");
        return NULL;
    }
    PyObject *key = args[1], *type = args[2], *value = args[3];
    PyObject *expire = args[4], *idle = args[5], *freq = args[6], *enc = args[7];
    if (expire != Py_None && s->now != Py_None) { /* dropped by add(), counted there */
        int past = PyObject_RichCompareBool(expire, s->now, Py_LT);
        if (past != 0)
            return past < 0 ? NULL : Py_NewRef(Py_False);
    }
    Py_ssize_t db = PyLong_AsSsize_t(args[0]);
    if (db == -1 && PyErr_Occurred())
        return NULL;
    if (db < 0 || db >= PyList_GET_SIZE(s->tables)) /* add() raises LoadError */
        Py_RETURN_FALSE;
    PyObject *t = PyList_GET_ITEM(s->tables, db);
    PyObject *data = PyTuple_GET_ITEM(t, 0), *expires = PyTuple_GET_ITEM(t, 1), *lru = PyTuple_GET_ITEM(t, 2);
    int replaced = PyDict_Contains(data, key);
    if (replaced < 0)
        return NULL;
    if (replaced && !s->allow_dup) /* add() raises "RDB has duplicated key" */
        Py_RETURN_FALSE;
    PyObject *v;
    if (PyBytes_CheckExact(value) && (type == s_string || PyUnicode_CompareWithASCIIString(type, "string") == 0)) {
        v = Py_NewRef(value);
    }
    else if ((v = value_here(s, value)) == NULL) {
        if (PyErr_Occurred())
            return NULL;
        PyObject *vargs[4] = {type, value, enc, s->config};
        v = PyObject_Vectorcall(s->value_of, vargs, 4, NULL);
        if (v == NULL)
            return NULL;
    }
    int rc = PyDict_SetItem(data, key, v);
    Py_DECREF(v);
    if (rc < 0)
        return NULL;
    if (expire != Py_None)
        rc = PyDict_SetItem(expires, key, expire);
    else if (replaced)
        rc = drop(expires, key);
    if (rc < 0)
        return NULL;
    if (s->lfu) {
        if (freq != Py_None) {
            long long f = PyLong_AsLongLong(freq);
            if (f == -1 && PyErr_Occurred())
                return NULL;
            rc = set_long(lru, key, (s->lfu_minutes << 8) | f);
        }
        else if (replaced)
            rc = drop(lru, key);
    }
    else if (idle != Py_None) {
        long long i = PyLong_AsLongLong(idle);
        if (i == -1 && PyErr_Occurred())
            return NULL;
        rc = set_long(lru, key, s->lru_clock - i);
    }
    else if (replaced)
        rc = drop(lru, key);
    if (rc < 0)
        return NULL;
    s->taken++;
    if (idle != Py_None || freq != Py_None)
        s->hinted++;
    Py_RETURN_TRUE;
}

static PyObject *
sink_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *tables, *value_of, *config, *now, *classes, *list_proto;
    int lfu, allow_dup;
    long long lru_clock, lfu_minutes;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Sink takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!OOOpLLpO!O:Sink", &PyList_Type, &tables, &value_of, &config, &now, &lfu,
                          &lru_clock, &lfu_minutes, &allow_dup, &PyTuple_Type, &classes, &list_proto))
        return NULL;
    if (PyTuple_GET_SIZE(classes) != N_SHAPES) {
        PyErr_SetString(PyExc_TypeError, "Sink: classes are (ListpackPairs, IntsetMembers, ListpackZset, "
                                         "QuicklistNodes, HashValue, SetValue, ZSetValue, ListValue)");
        return NULL;
    }
    long long limits[3];
    static const char *const limit_names[3] = {"hash_max_listpack_entries", "set_max_intset_entries",
                                               "zset_max_listpack_entries"};
    for (int i = 0; i < 3; i++) {
        PyObject *o = PyObject_GetAttrString(config, limit_names[i]);
        limits[i] = o != NULL ? PyLong_AsLongLong(o) : -1;
        Py_XDECREF(o);
        if (limits[i] == -1 && PyErr_Occurred())
            return NULL;
    }
    if (now != Py_None && !PyLong_Check(now)) {
        PyErr_SetString(PyExc_TypeError, "Sink: now must be an int or None");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(tables); i++) {
        PyObject *t = PyList_GET_ITEM(tables, i);
        if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 3 || !PyDict_CheckExact(PyTuple_GET_ITEM(t, 0)) ||
            !PyDict_CheckExact(PyTuple_GET_ITEM(t, 1)) || !PyDict_CheckExact(PyTuple_GET_ITEM(t, 2))) {
            PyErr_SetString(PyExc_TypeError, "Sink: tables must be (data, expires, lru) dict tuples");
            return NULL;
        }
    }
    Sink *s = (Sink *)type->tp_alloc(type, 0);
    if (s == NULL)
        return NULL;
    s->vectorcall = sink_call;
    for (int k = 0; k < N_SHAPES; k++) {
        if (shape_init(&s->shapes[k], PyTuple_GET_ITEM(classes, k), k) < 0) {
            Py_DECREF(s);
            return NULL;
        }
        Py_INCREF(PyTuple_GET_ITEM(classes, k));
    }
    if (Py_TYPE(list_proto) != s->shapes[V_LIST].type) {
        PyErr_SetString(PyExc_TypeError, "Sink: list_proto must be a ListValue");
        Py_DECREF(s);
        return NULL;
    }
    s->list_proto = Py_NewRef(list_proto);
    s->zero = PyLong_FromLong(0);
    s->hash_entries = limits[0];
    s->intset_entries = limits[1];
    s->zset_entries = limits[2];
    /* the list is copied: the tables a sink writes into are the ones it was made with */
    s->tables = PyList_GetSlice(tables, 0, PyList_GET_SIZE(tables));
    if (s->tables == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    s->value_of = Py_NewRef(value_of);
    s->config = Py_NewRef(config);
    s->now = Py_NewRef(now);
    s->lfu = lfu;
    s->allow_dup = allow_dup;
    s->lru_clock = lru_clock;
    s->lfu_minutes = lfu_minutes;
    return (PyObject *)s;
}

static int
sink_traverse(Sink *s, visitproc visit, void *arg)
{
    Py_VISIT(s->tables);
    Py_VISIT(s->value_of);
    Py_VISIT(s->config);
    Py_VISIT(s->now);
    Py_VISIT(s->list_proto);
    for (int k = 0; k < N_SHAPES; k++)
        Py_VISIT(s->shapes[k].type);
    return 0;
}

static int
sink_clear(Sink *s)
{
    Py_CLEAR(s->tables);
    Py_CLEAR(s->value_of);
    Py_CLEAR(s->config);
    Py_CLEAR(s->now);
    Py_CLEAR(s->list_proto);
    Py_CLEAR(s->zero);
    for (int k = 0; k < N_SHAPES; k++)
        Py_CLEAR(s->shapes[k].type);
    return 0;
}

static void
sink_dealloc(Sink *s)
{
    PyObject_GC_UnTrack(s);
    sink_clear(s);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMemberDef sink_members[] = {
    {"taken", T_PYSSIZET, offsetof(Sink, taken), READONLY, "keys stored so far"},
    {"hinted", T_PYSSIZET, offsetof(Sink, hinted), READONLY, "keys stored with an IDLE or FREQ hint"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SinkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine._load.Sink",
    .tp_basicsize = sizeof(Sink),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Sink(tables, value_of, config, now, lfu, lru_clock, lfu_minutes, allow_dup, classes, list_proto)\n--\n\n"
              "DatasetLoader.add for the plain keys the decoder's C scan offers (see engine/_load.c).",
    .tp_new = sink_new,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Sink, vectorcall),
    .tp_traverse = (traverseproc)sink_traverse,
    .tp_clear = (inquiry)sink_clear,
    .tp_dealloc = (destructor)sink_dealloc,
    .tp_members = sink_members,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "engine._load",
                                    "A load's per-key part for the decoder's C scan "
                                    "(engine/persistence/dataset.py DatasetLoader.add).",
                                    -1, NULL};

PyMODINIT_FUNC
PyInit__load(void)
{
    if ((s_string = PyUnicode_InternFromString("string")) == NULL)
        return NULL;
    if (PyType_Ready(&SinkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Sink", (PyObject *)&SinkType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
