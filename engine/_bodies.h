/* engine._fastpath's command bodies: the common case of a command's handler in C —
 * included by _fastpath.c after _received.h, one module: its attribute access (fget,
 * attr_true, attr_ll, add_ll) shared.
 *
 * The Python handler is the reference and keeps every other case. A body first checks,
 * changing nothing, that the call can only go the common way; if any check fails it
 * calls the Python handler with the same arguments, which does all of the call. The
 * handler module installs the body as the command's proc (Command.proc) where the
 * accelerator is built, so every caller — the loops, MULTI/EXEC, scripts, the AOF
 * loader, replication — runs the same body; tests/engine/test_bodies.py holds the two
 * to the same replies, values and side effects.
 *
 * HSET key field value (engine/commands/hashes.py hset_cmd, its one-field branch), the
 * common case: an existing listpack hash without field TTLs, the key without a TTL, the
 * access clock kept as LRU (not LFU), no keyspace event selected, field and value within
 * hash-max-listpack-value. Then it does what hset_cmd does: lookupKeyWrite's access
 * time, hashTypeSet's listpack branch (lp_pairs_set, a conversion past
 * hash-max-listpack-entries), the dirty count, the integer reply. */

/* hset_configure(): hset_cmd, HashValue, ONE, ZERO, lp_pairs_set, lp_length */
enum { HS_PROC, HS_TYPE, HS_ONE, HS_ZERO, HS_SET, HS_LENGTH, HS_LEN };
static PyObject *hs[HS_LEN];

static PyObject *
fp_hset_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != HS_LEN || !PyType_Check(args[HS_TYPE])) {
        PyErr_SetString(PyExc_TypeError, "hset_configure(hset_cmd, HashValue, ONE, ZERO, lp_pairs_set, lp_length)");
        return NULL;
    }
    for (int k = 0; k < HS_LEN; k++) {
        Py_INCREF(args[k]);
        Py_XSETREF(hs[k], args[k]);
    }
    Py_RETURN_NONE;
}

/* Whether HSET argv takes the common way: 1 with *h, *lp and *cfg (new references)
 * set, 0 (Python's turn), or -1 with an error. */
static int
hset_common(PyObject *c, PyObject *argv, PyObject *db, PyObject **h, PyObject **lp, PyObject **cfg)
{
    if (!PyList_CheckExact(argv) || PyList_GET_SIZE(argv) != 4)
        return 0;
    PyObject *key = PyList_GET_ITEM(argv, 1), *f = PyList_GET_ITEM(argv, 2), *v = PyList_GET_ITEM(argv, 3);
    if (!PyBytes_CheckExact(key) || !PyBytes_CheckExact(f) || !PyBytes_CheckExact(v))
        return 0;
    PyObject *data = fget(db, N_KEYS_DATA);
    if (data == NULL)
        return -1;
    PyObject *o = PyDict_CheckExact(data) ? PyDict_GetItemWithError(data, key) : NULL;
    Py_DECREF(data);
    if (o == NULL)
        return PyErr_Occurred() ? -1 : 0; /* a new hash: dbAdd's notification, Python's */
    if (Py_TYPE(o) != (PyTypeObject *)hs[HS_TYPE])
        return 0;
    PyObject *exp = fget(db, N_EXPIRES); /* lookupKeyWrite may expire it */
    if (exp == NULL)
        return -1;
    int t = !PyDict_CheckExact(exp) ? 1 : PyDict_GET_SIZE(exp) == 0 ? 0 : PyDict_Contains(exp, key);
    Py_DECREF(exp);
    if (t != 0 || (t = attr_true(db, N_LFU)) != 0 || (t = attr_true(o, N_FX)) != 0)
        return t < 0 ? -1 : 0;
    PyObject *server = fget(c, N_SERVER);
    if (server == NULL)
        return -1;
    *cfg = fget(server, N_CONFIG);
    Py_DECREF(server);
    if (*cfg == NULL)
        return -1;
    long long mv = 0;
    if ((t = attr_true(*cfg, N_NOTIFY_EVENTS)) != 0 || (t = attr_ll(*cfg, N_HASH_MAX_VALUE, &mv)) != 0)
        goto no;
    if (PyBytes_GET_SIZE(f) > mv || PyBytes_GET_SIZE(v) > mv)
        goto no;
    *lp = fget(o, N_LP);
    if (*lp == NULL)
        goto err;
    if (!PyByteArray_CheckExact(*lp)) {
        Py_CLEAR(*lp);
        goto no;
    }
    Py_INCREF(o);
    *h = o;
    return 1;
no:
    Py_CLEAR(*cfg);
    return t < 0 ? -1 : 0;
err:
    Py_CLEAR(*cfg);
    return -1;
}

/* hset(c, argv): hset_cmd's reply (see the header). */
static PyObject *
fp_hset(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || hs[HS_PROC] == NULL) {
        PyErr_SetString(PyExc_TypeError, "hset(c, argv), after hset_configure()");
        return NULL;
    }
    PyObject *c = args[0], *argv = args[1];
    PyObject *db = fget(c, N_DB);
    if (db == NULL)
        return NULL;
    PyObject *h = NULL, *lp = NULL, *cfg = NULL, *reply = NULL;
    int t = hset_common(c, argv, db, &h, &lp, &cfg);
    if (t <= 0) {
        Py_DECREF(db);
        return t < 0 ? NULL : PyObject_Vectorcall(hs[HS_PROC], args, 2, NULL);
    }
    PyObject *key = PyList_GET_ITEM(argv, 1);
    PyObject *lru = fget(db, N_LRU), *clock = lru == NULL ? NULL : fget(db, N_CLOCK);
    if (clock == NULL || PyDict_SetItem(lru, key, clock) < 0) /* lookupKeyWrite: the access time */
        goto done;
    PyObject *a[3] = {lp, PyList_GET_ITEM(argv, 2), PyList_GET_ITEM(argv, 3)};
    PyObject *added = PyObject_Vectorcall(hs[HS_SET], a, 3, NULL);
    if (added == NULL)
        goto done;
    int is_new = added == Py_True;
    Py_DECREF(added);
    if (is_new) { /* hashTypeSet: past hash-max-listpack-entries, a hashtable */
        long long me, n;
        PyObject *len = PyObject_Vectorcall(hs[HS_LENGTH], &lp, 1, NULL);
        if (len == NULL)
            goto done;
        n = PyLong_AsLongLong(len);
        Py_DECREF(len);
        if ((n == -1 && PyErr_Occurred()) || attr_ll(cfg, N_HASH_MAX_ENTRIES, &me) < 0)
            goto done;
        if (n > 2 * me) {
            PyObject *r = PyObject_CallMethodNoArgs(h, nm[N_CONVERT]);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    PyObject *server = fget(c, N_SERVER);
    if (server == NULL)
        goto done;
    t = add_ll(server, N_DIRTY, 1);
    Py_DECREF(server);
    if (t == 0)
        reply = Py_NewRef(hs[is_new ? HS_ONE : HS_ZERO]);
done:
    Py_XDECREF(lru);
    Py_XDECREF(clock);
    Py_DECREF(h);
    Py_DECREF(lp);
    Py_DECREF(cfg);
    Py_DECREF(db);
    return reply;
}
