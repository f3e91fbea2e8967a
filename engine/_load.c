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
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *tables;   /* list of (data, expires, lru) dict tuples, by db */
    PyObject *value_of; /* engine.materialize.value_of(type, value, encoding, config) */
    PyObject *config;
    PyObject *now;      /* int ms: keys expired before it are declined; None: none are */
    long long lru_clock;
    long long lfu_minutes;
    int lfu;
    int allow_dup;
    Py_ssize_t taken;
} Sink;

static PyObject *s_string; /* the scan's interned "string" type name */

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
    else {
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
    Py_RETURN_TRUE;
}

static PyObject *
sink_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *tables, *value_of, *config, *now;
    int lfu, allow_dup;
    long long lru_clock, lfu_minutes;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Sink takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!OOOpLLp:Sink", &PyList_Type, &tables, &value_of, &config, &now, &lfu,
                          &lru_clock, &lfu_minutes, &allow_dup))
        return NULL;
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
    return 0;
}

static int
sink_clear(Sink *s)
{
    Py_CLEAR(s->tables);
    Py_CLEAR(s->value_of);
    Py_CLEAR(s->config);
    Py_CLEAR(s->now);
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
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SinkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine._load.Sink",
    .tp_basicsize = sizeof(Sink),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Sink(tables, value_of, config, now, lfu, lru_clock, lfu_minutes, allow_dup)\n--\n\n"
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
