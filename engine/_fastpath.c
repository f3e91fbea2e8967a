/* engine._fastpath: the pipelined request loop's common case in C.
 *
 * engine/execution/dispatch.py is the reference: run_commands() hands a batch to
 * run(c, cmds, i, out, nbytes, high_water, ctx), which goes on from command i while
 * each one is a known `fast` command with a valid arity, and for each does what
 * call() does (c.last_cmd set before and after, cmd.proc timed, its CommandError
 * turned into the error reply, another exception into internal_error's) and then the
 * common case of after_call() itself: the command's calls and time, its latency
 * histogram slot. Any other case — an error reply, a slow command, a change that must
 * be signalled or propagated, a stats entry or histogram not made yet, a reply that is
 * not bytes — goes to after_call() (ctx), which does all of it. It returns (i, nbytes)
 * at the first command it leaves to Python, at the end of the batch, or once the
 * replies gathered pass high_water.
 *
 * run_commands() builds ctx only while nothing else can observe a command: the
 * keyspace is not loading, no client-side caching is on, and fast_path() holds (no
 * MONITOR, maxmemory, cluster, MULTI, pause, tracking clients ...). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <time.h>

enum { CX_LOOKUP, CX_SERVER, CX_STATS, CX_HISTS, CX_THRESHOLD, CX_AFTER, CX_INTERNAL, CX_CMDERR, CX_PROP,
       CX_HMIN, CX_HMAX, CX_LEN };

static PyObject *s_fast, *s_arity, *s_proc, *s_is_write, *s_last_cmd, *s_dirty, *s_db, *s_watched, *s_blocking,
    *s_targets, *s_ops, *s_rewritten, *s_modified, *s_counts, *s_total, *s_reply;

static inline long long
now_ns(void)
{ /* time.perf_counter_ns() */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* getattr(o, name) as a truth value: 1, 0, or -1 with an error. */
static int
attr_true(PyObject *o, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(o, name);
    if (v == NULL)
        return -1;
    int t = PyObject_IsTrue(v);
    Py_DECREF(v);
    return t;
}

/* getattr(o, name) is None: 1, 0, or -1. */
static int
attr_none(PyObject *o, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(o, name);
    if (v == NULL)
        return -1;
    int t = v == Py_None;
    Py_DECREF(v);
    return t;
}

/* lst[k] += by (a list of ints, the command's stats). */
static int
list_add(PyObject *lst, Py_ssize_t k, long long by)
{
    if (!PyList_Check(lst) || PyList_GET_SIZE(lst) <= k) {
        PyErr_SetString(PyExc_TypeError, "command stats must be a list");
        return -1;
    }
    PyObject *b = PyLong_FromLongLong(by);
    if (b == NULL)
        return -1;
    PyObject *v = PyNumber_Add(PyList_GET_ITEM(lst, k), b);
    Py_DECREF(b);
    if (v == NULL)
        return -1;
    PyList_SetItem(lst, k, v); /* steals v, drops the old item */
    return 0;
}

/* Histogram.record(ns): the slot of v at two significant digits, counted. */
static int
hist_record(PyObject *h, long long v, long long lo, long long hi)
{
    v = v < lo ? lo : v > hi ? hi : v;
    int shift = (64 - __builtin_clzll((unsigned long long)v)) - 8;
    long long slot = shift <= 0 ? v : (v >> shift) << shift;
    PyObject *counts = PyObject_GetAttr(h, s_counts);
    if (counts == NULL)
        return -1;
    PyObject *key = PyLong_FromLongLong(slot);
    int rc = -1;
    if (key != NULL) {
        PyObject *old = PyDict_GetItemWithError(counts, key);
        if (old != NULL || !PyErr_Occurred()) {
            PyObject *one = PyLong_FromLong(1);
            PyObject *nv = old == NULL ? (Py_XINCREF(one), one) : PyNumber_Add(old, one);
            Py_XDECREF(one);
            if (nv != NULL) {
                rc = PyDict_SetItem(counts, key, nv);
                Py_DECREF(nv);
            }
        }
        Py_DECREF(key);
    }
    Py_DECREF(counts);
    if (rc < 0)
        return -1;
    PyObject *total = PyObject_GetAttr(h, s_total);
    if (total == NULL)
        return -1;
    PyObject *one = PyLong_FromLong(1);
    PyObject *nt = one == NULL ? NULL : PyNumber_Add(total, one);
    Py_XDECREF(one);
    Py_DECREF(total);
    if (nt == NULL)
        return -1;
    rc = PyObject_SetAttr(h, s_total, nt);
    Py_DECREF(nt);
    return rc;
}

/* The reply of a command whose proc raised (call()'s except clauses); NULL with the
 * exception still set when it is not an Exception (KeyboardInterrupt, SystemExit). */
static PyObject *
reply_for_exception(PyObject *const *ctx, PyObject *cmd, PyObject *argv)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    PyObject *reply = NULL;
    if (value != NULL && PyErr_GivenExceptionMatches(type, ctx[CX_CMDERR])) {
        reply = PyObject_GetAttr(value, s_reply);
    }
    else if (value != NULL && PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
        PyObject *a[3] = {cmd, argv, value};
        reply = PyObject_Vectorcall(ctx[CX_INTERNAL], a, 3, NULL);
    }
    else {
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return reply;
}

/* Whether after_call() would do nothing but the stats and the histogram for this
 * command: 1, 0, or -1 with an error. Sets *st and *h (borrowed) when 1. */
static int
common_case(PyObject *const *ctx, PyObject *c, PyObject *cmd, PyObject *reply, long long dt,
            PyObject *dirty0, PyObject **st, PyObject **h)
{
    if (!PyBytes_CheckExact(reply) || PyBytes_GET_SIZE(reply) == 0 || PyBytes_AS_STRING(reply)[0] == '-')
        return 0;
    long long thr = PyLong_AsLongLong(ctx[CX_THRESHOLD]);
    if (thr == -1 && PyErr_Occurred())
        return -1;
    if (dt >= thr)
        return 0;
    PyObject *dirty = PyObject_GetAttr(ctx[CX_SERVER], s_dirty);
    if (dirty == NULL)
        return -1;
    int changed = PyObject_RichCompareBool(dirty, dirty0, Py_GT);
    Py_DECREF(dirty);
    if (changed < 0)
        return -1;
    int t;
    if (changed) {
        if ((t = attr_true(cmd, s_is_write)) != 0) {
            if (t < 0)
                return -1;
            PyObject *db = PyObject_GetAttr(c, s_db);
            if (db == NULL)
                return -1;
            int w = attr_true(db, s_watched);
            int b = w == 0 ? attr_true(db, s_blocking) : 0;
            Py_DECREF(db);
            if (w < 0 || b < 0)
                return -1;
            if (w || b)
                return 0;
        }
        if ((t = attr_true(ctx[CX_PROP], s_targets)) != 0)
            return t < 0 ? -1 : 0;
    }
    if ((t = attr_none(c, s_rewritten)) != 1 || (t = attr_none(c, s_modified)) != 1)
        return t < 0 ? -1 : 0;
    if ((t = attr_true(ctx[CX_PROP], s_ops)) != 0)
        return t < 0 ? -1 : 0;
    *st = PyDict_GetItemWithError(ctx[CX_STATS], cmd);
    if (*st == NULL)
        return PyErr_Occurred() ? -1 : 0;
    *h = NULL;
    if (ctx[CX_HISTS] != Py_None) {
        *h = PyDict_GetItemWithError(ctx[CX_HISTS], cmd);
        if (*h == NULL)
            return PyErr_Occurred() ? -1 : 0;
    }
    return 1;
}

/* One command through call()'s steps: the reply (new reference) or NULL. */
static PyObject *
run_one(PyObject *const *ctx, PyObject *c, PyObject *cmd, PyObject *proc, PyObject *argv)
{
    PyObject *dirty0 = PyObject_GetAttr(ctx[CX_SERVER], s_dirty);
    if (dirty0 == NULL)
        return NULL;
    PyObject *reply = NULL;
    if (PyObject_SetAttr(c, s_last_cmd, cmd) < 0)
        goto done;
    long long t0 = now_ns();
    PyObject *a[2] = {c, argv};
    reply = PyObject_Vectorcall(proc, a, 2, NULL);
    if (reply == NULL && (reply = reply_for_exception(ctx, cmd, argv)) == NULL)
        goto done;
    if (PyObject_SetAttr(c, s_last_cmd, cmd) < 0)
        goto fail;
    long long dt = now_ns() - t0;
    PyObject *st = NULL, *h = NULL;
    int common = common_case(ctx, c, cmd, reply, dt, dirty0, &st, &h);
    if (common < 0)
        goto fail;
    if (common) {
        if (list_add(st, 0, 1) < 0 || list_add(st, 1, dt) < 0)
            goto fail;
        if (h != NULL) {
            long long lo = PyLong_AsLongLong(ctx[CX_HMIN]), hi = PyLong_AsLongLong(ctx[CX_HMAX]);
            if (PyErr_Occurred() || hist_record(h, dt / 1000 * 1000, lo, hi) < 0)
                goto fail;
        }
        goto done;
    }
    PyObject *dto = PyLong_FromLongLong(dt);
    if (dto == NULL)
        goto fail;
    PyObject *b[6] = {c, cmd, argv, reply, dto, dirty0};
    PyObject *r = PyObject_Vectorcall(ctx[CX_AFTER], b, 6, NULL);
    Py_DECREF(dto);
    Py_DECREF(reply);
    reply = r;
    goto done;
fail:
    Py_CLEAR(reply);
done:
    Py_DECREF(dirty0);
    return reply;
}

static PyObject *
fp_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "run(c, cmds, i, out, nbytes, high_water, ctx)");
        return NULL;
    }
    PyObject *c = args[0], *cmds = args[1], *out = args[3], *ctxo = args[6];
    Py_ssize_t i = PyLong_AsSsize_t(args[2]);
    long long nbytes = PyLong_AsLongLong(args[4]), high = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred())
        return NULL;
    if (!PyList_Check(cmds) || !PyList_Check(out) || !PyTuple_Check(ctxo) || PyTuple_GET_SIZE(ctxo) != CX_LEN) {
        PyErr_SetString(PyExc_TypeError, "run() needs lists and its context tuple");
        return NULL;
    }
    PyObject *const *ctx = &PyTuple_GET_ITEM(ctxo, 0);
    while (i < PyList_GET_SIZE(cmds)) {
        PyObject *argv = PyList_GET_ITEM(cmds, i);
        if (!PyList_Check(argv) || PyList_GET_SIZE(argv) == 0)
            break;
        PyObject *cmd = PyDict_GetItemWithError(ctx[CX_LOOKUP], PyList_GET_ITEM(argv, 0));
        if (cmd == NULL) {
            if (PyErr_Occurred())
                return NULL;
            break;
        }
        Py_INCREF(cmd);
        int fast = attr_true(cmd, s_fast);
        PyObject *ar = fast > 0 ? PyObject_GetAttr(cmd, s_arity) : NULL;
        long a = ar != NULL ? PyLong_AsLong(ar) : 0;
        Py_XDECREF(ar);
        if (fast < 0 || PyErr_Occurred()) {
            Py_DECREF(cmd);
            return NULL;
        }
        Py_ssize_t n = PyList_GET_SIZE(argv);
        if (!fast || (a > 0 && n != a) || n < -a) { /* the general path decides */
            Py_DECREF(cmd);
            break;
        }
        PyObject *proc = PyObject_GetAttr(cmd, s_proc);
        if (proc == NULL) {
            Py_DECREF(cmd);
            return NULL;
        }
        Py_INCREF(argv);
        PyObject *reply = run_one(ctx, c, cmd, proc, argv);
        Py_DECREF(argv);
        Py_DECREF(proc);
        Py_DECREF(cmd);
        if (reply == NULL)
            return NULL;
        i++;
        if (!PyBytes_Check(reply)) { /* a fast command never blocks; anything else: Python's turn */
            PyErr_SetString(PyExc_TypeError, "a fast command replied with something other than bytes");
            Py_DECREF(reply);
            return NULL;
        }
        nbytes += PyBytes_GET_SIZE(reply);
        int rc = PyList_Append(out, reply);
        Py_DECREF(reply);
        if (rc < 0)
            return NULL;
        if (nbytes > high)
            break;
    }
    return Py_BuildValue("(nL)", i, nbytes);
}

static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))fp_run, METH_FASTCALL,
     "run($module, c, cmds, i, out, nbytes, high_water, ctx, /)\n--\n\n"
     "dispatch.run_commands's fast commands from cmds[i] on: (next index, reply bytes so far)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "engine._fastpath",
                                    "The pipelined request loop's common case (engine/execution/dispatch.py).", -1,
                                    methods};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
#define INTERN(var, text)                                                                                        \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                        \
        return NULL;
    INTERN(s_fast, "fast")
    INTERN(s_arity, "arity")
    INTERN(s_proc, "proc")
    INTERN(s_is_write, "is_write")
    INTERN(s_last_cmd, "last_cmd")
    INTERN(s_dirty, "dirty")
    INTERN(s_db, "db")
    INTERN(s_watched, "watched")
    INTERN(s_blocking, "blocking")
    INTERN(s_targets, "targets")
    INTERN(s_ops, "ops")
    INTERN(s_rewritten, "rewritten")
    INTERN(s_modified, "modified")
    INTERN(s_counts, "counts")
    INTERN(s_total, "total")
    INTERN(s_reply, "reply")
#undef INTERN
    return PyModule_Create(&module);
}
