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
 * The hash bodies (engine/commands/hashes.py) take an existing hash without field
 * TTLs whose key has no TTL, the access clock kept as LRU (not LFU): the lookup that
 * neither expires, notifies nor counts a miss (plain_hash). The string bodies (MSET,
 * MSETNX) are described where they start.
 *
 * HSET key field value (hset_cmd, its one-field branch) further needs a listpack, no
 * keyspace event selected, field and value within hash-max-listpack-value. Then it does
 * what hset_cmd does: lookupKeyWrite's access time, hashTypeSet's listpack branch
 * (lp_pairs_set, a conversion past hash-max-listpack-entries), the dirty count, the
 * integer reply.
 *
 * HGET key field (hget_cmd): lookupKeyRead's access time and keyspace hit, the value
 * from the listpack or the dict, its bulk reply or the null of the client's protocol. */

/* A configure function's arguments kept in to[] (references), None. */
static PyObject *
keep(PyObject **to, PyObject *const *args, int n)
{
    for (int k = 0; k < n; k++) {
        Py_INCREF(args[k]);
        Py_XSETREF(to[k], args[k]);
    }
    Py_RETURN_NONE;
}

/* configure_bodies(): what the bodies use, from hashes.py */
enum { B_HASH, B_HSET, B_HGET, B_ONE, B_ZERO, B_NULL, B_NULL3, B_BULK, B_LP_SET, B_LP_GET, B_LP_LENGTH, B_LEN };
static PyObject *bk[B_LEN];

static PyObject *
fp_configure_bodies(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != B_LEN || !PyType_Check(args[B_HASH])) {
        PyErr_SetString(PyExc_TypeError, "configure_bodies(HashValue, hset_cmd, hget_cmd, ONE, ZERO, NULL_BULK, "
                                         "NULL3, bulk, lp_pairs_set, lp_pairs_get, lp_length)");
        return NULL;
    }
    return keep(bk, args, B_LEN);
}

/* The arguments of a body: 1 with *c and *argv (a list of n bytes objects), 0 when
 * argv is anything else (Python's turn), -1 with an error. */
static int
body_args(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t n, const char *name)
{
    if (nargs != 2 || bk[B_HASH] == NULL) {
        PyErr_Format(PyExc_TypeError, "%s(c, argv), after configure_bodies()", name);
        return -1;
    }
    PyObject *argv = args[1];
    if (!PyList_CheckExact(argv) || PyList_GET_SIZE(argv) != n)
        return 0;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!PyBytes_CheckExact(PyList_GET_ITEM(argv, i)))
            return 0;
    return 1;
}

/* The value at key when it is of type tp and lookupKey can only go the common way: no
 * TTL on the key, the access clock kept as LRU (see the header). 1 with *o (a new
 * reference), 0, or -1 with an error. */
static int
plain_value(PyObject *db, PyObject *key, PyObject *tp, PyObject **o)
{
    PyObject *data = fget(db, N_KEYS_DATA);
    if (data == NULL)
        return -1;
    PyObject *v = PyDict_CheckExact(data) ? PyDict_GetItemWithError(data, key) : NULL;
    Py_XINCREF(v);
    Py_DECREF(data);
    if (v == NULL)
        return PyErr_Occurred() ? -1 : 0; /* a new key (dbAdd's event), a miss (keymiss) */
    int t = 0;
    if (Py_TYPE(v) != (PyTypeObject *)tp)
        goto no;
    PyObject *exp = fget(db, N_EXPIRES); /* the lookup may expire it */
    if (exp == NULL) {
        t = -1;
        goto no;
    }
    t = !PyDict_CheckExact(exp) ? 1 : PyDict_GET_SIZE(exp) == 0 ? 0 : PyDict_Contains(exp, key);
    Py_DECREF(exp);
    if (t != 0 || (t = attr_true(db, N_LFU)) != 0)
        goto no;
    *o = v;
    return 1;
no:
    Py_DECREF(v);
    return t < 0 ? -1 : 0;
}

/* The hash at key when lookupKey can only go the common way (see the header): 1 with
 * *h (a new reference), 0, or -1 with an error. */
static int
plain_hash(PyObject *db, PyObject *key, PyObject **h)
{
    int t = plain_value(db, key, bk[B_HASH], h);
    if (t <= 0)
        return t;
    if ((t = attr_true(*h, N_FX)) != 0) { /* field TTLs */
        Py_CLEAR(*h);
        return t < 0 ? -1 : 0;
    }
    return 1;
}

/* The entry of nm[k] in o's __dict__ when that is what getattr(o, nm[k]) returns: the
 * type has no attribute of that name and the generic getattr (as for Server.config,
 * Config's values, Client.resp). Borrowed; NULL when not there (getattr decides) or
 * with an error. PyObject_GenericGetAttr's answer without its descriptor lookup. */
static PyObject *
dict_entry(PyObject *o, int k)
{
    PyTypeObject *tp = Py_TYPE(o);
    if (tp->tp_getattro != PyObject_GenericGetAttr || _PyType_Lookup(tp, nm[k]) != NULL)
        return NULL;
    PyObject **dp = _PyObject_GetDictPtr(o);
    return dp != NULL && *dp != NULL ? PyDict_GetItemWithError(*dp, nm[k]) : NULL;
}

/* getattr(o, nm[k]) through dict_entry(): a new reference, or NULL with an error. */
static PyObject *
dict_fget(PyObject *o, int k)
{
    PyObject *v = dict_entry(o, k);
    return v != NULL ? Py_NewRef(v) : PyErr_Occurred() ? NULL : PyObject_GetAttr(o, nm[k]);
}

/* attr_ll() through dict_entry(): 0, or -1 with an error. */
static int
dict_ll(PyObject *o, int k, long long *out)
{
    PyObject *v = dict_entry(o, k);
    if (v == NULL)
        return PyErr_Occurred() ? -1 : attr_ll(o, k, out);
    *out = PyLong_AsLongLong(v);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* lookupKey's access time (LRU): db.lru[key] = db.clock. 0 or -1. */
static int
touch(PyObject *db, PyObject *key)
{
    PyObject *lru = fget(db, N_LRU);
    if (lru == NULL)
        return -1;
    PyObject *clock = fget(db, N_CLOCK);
    int rc = clock == NULL ? -1 : PyDict_SetItem(lru, key, clock);
    Py_XDECREF(clock);
    Py_DECREF(lru);
    return rc;
}

/* The end of a write: server.dirty += by, then reply (a new reference), or NULL. */
static PyObject *
dirtied(PyObject *c, long long by, PyObject *reply)
{
    PyObject *server = fget(c, N_SERVER);
    if (server == NULL)
        return NULL;
    int t = add_ll(server, N_DIRTY, by);
    Py_DECREF(server);
    return t < 0 ? NULL : Py_NewRef(reply);
}

/* HSET's checks past plain_hash: 1 with *lp and *cfg (new references), 0, or -1. */
static int
hset_common(PyObject *c, PyObject *h, PyObject *f, PyObject *v, PyObject **lp, PyObject **cfg)
{
    PyObject *server = fget(c, N_SERVER);
    if (server == NULL)
        return -1;
    *cfg = dict_fget(server, N_CONFIG);
    Py_DECREF(server);
    if (*cfg == NULL)
        return -1;
    long long events = 0, mv = 0;
    int t;
    if ((t = dict_ll(*cfg, N_NOTIFY_EVENTS, &events)) != 0 || (t = dict_ll(*cfg, N_HASH_MAX_VALUE, &mv)) != 0)
        goto no;
    if (events != 0 || PyBytes_GET_SIZE(f) > mv || PyBytes_GET_SIZE(v) > mv)
        goto no;
    if ((*lp = fget(h, N_LP)) == NULL) {
        t = -1;
        goto no;
    }
    if (PyByteArray_CheckExact(*lp))
        return 1;
    Py_CLEAR(*lp);
no:
    Py_CLEAR(*cfg);
    return t < 0 ? -1 : 0;
}

/* hset(c, argv): hset_cmd's reply (see the header). */
static PyObject *
fp_hset(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int t = body_args(args, nargs, 4, "hset");
    if (t <= 0)
        return t < 0 ? NULL : PyObject_Vectorcall(bk[B_HSET], args, 2, NULL);
    PyObject *c = args[0], *argv = args[1];
    PyObject *key = PyList_GET_ITEM(argv, 1), *f = PyList_GET_ITEM(argv, 2), *v = PyList_GET_ITEM(argv, 3);
    PyObject *db = fget(c, N_DB);
    if (db == NULL)
        return NULL;
    PyObject *h = NULL, *lp = NULL, *cfg = NULL, *reply = NULL;
    if ((t = plain_hash(db, key, &h)) > 0 && (t = hset_common(c, h, f, v, &lp, &cfg)) <= 0)
        Py_CLEAR(h);
    if (t <= 0) {
        Py_DECREF(db);
        return t < 0 ? NULL : PyObject_Vectorcall(bk[B_HSET], args, 2, NULL);
    }
    if (touch(db, key) < 0) /* lookupKeyWrite */
        goto done;
    PyObject *a[3] = {lp, f, v};
    PyObject *added = PyObject_Vectorcall(bk[B_LP_SET], a, 3, NULL);
    if (added == NULL)
        goto done;
    int is_new = added == Py_True;
    Py_DECREF(added);
    if (is_new) { /* hashTypeSet: past hash-max-listpack-entries, a hashtable */
        long long me, n;
        PyObject *len = PyObject_Vectorcall(bk[B_LP_LENGTH], &lp, 1, NULL);
        if (len == NULL)
            goto done;
        n = PyLong_AsLongLong(len);
        Py_DECREF(len);
        if ((n == -1 && PyErr_Occurred()) || dict_ll(cfg, N_HASH_MAX_ENTRIES, &me) < 0)
            goto done;
        if (n > 2 * me) {
            PyObject *r = PyObject_CallMethodNoArgs(h, nm[N_CONVERT]);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    reply = dirtied(c, 1, bk[is_new ? B_ONE : B_ZERO]);
done:
    Py_DECREF(h);
    Py_DECREF(lp);
    Py_DECREF(cfg);
    Py_DECREF(db);
    return reply;
}

/* hget(c, argv): hget_cmd's reply (see the header). */
static PyObject *
fp_hget(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    int t = body_args(args, nargs, 3, "hget");
    if (t <= 0)
        return t < 0 ? NULL : PyObject_Vectorcall(bk[B_HGET], args, 2, NULL);
    PyObject *c = args[0], *key = PyList_GET_ITEM(args[1], 1), *f = PyList_GET_ITEM(args[1], 2);
    PyObject *db = fget(c, N_DB);
    if (db == NULL)
        return NULL;
    PyObject *h = NULL, *store = NULL, *v = NULL, *reply = NULL;
    if ((t = plain_hash(db, key, &h)) > 0) { /* its listpack, else its dict */
        if ((store = fget(h, N_LP)) != NULL && store == Py_None) {
            Py_SETREF(store, fget(h, N_HT));
        }
        if (store == NULL)
            t = -1;
        else if (!PyByteArray_CheckExact(store) && !PyDict_CheckExact(store))
            t = 0;
    }
    if (t <= 0) {
        Py_XDECREF(store);
        Py_XDECREF(h);
        Py_DECREF(db);
        return t < 0 ? NULL : PyObject_Vectorcall(bk[B_HGET], args, 2, NULL);
    }
    if (touch(db, key) < 0 || add_ll(db, N_HITS, 1) < 0) /* lookupKeyRead */
        goto done;
    if (PyDict_CheckExact(store)) {
        v = PyDict_GetItemWithError(store, f);
        if (v == NULL && PyErr_Occurred())
            goto done;
        Py_XINCREF(v);
    }
    else {
        PyObject *a[2] = {store, f};
        if ((v = PyObject_Vectorcall(bk[B_LP_GET], a, 2, NULL)) == NULL)
            goto done;
        if (v == Py_None)
            Py_CLEAR(v);
    }
    if (v != NULL) {
        reply = PyObject_Vectorcall(bk[B_BULK], &v, 1, NULL);
    }
    else { /* the null of the client's protocol */
        long long resp;
        if (dict_ll(c, N_RESP, &resp) == 0)
            reply = Py_NewRef(bk[resp == 3 ? B_NULL3 : B_NULL]);
    }
done:
    Py_XDECREF(v);
    Py_DECREF(store);
    Py_DECREF(h);
    Py_DECREF(db);
    return reply;
}

/* MSET and MSETNX (engine/commands/strings.py, msetGenericCommand) take pairs of bytes
 * while no key of them has a TTL, the access clock is kept as LRU (not LFU) and no
 * keyspace event is selected: setKey is then the same for a new key as for an old one
 * (the value stored, lookupKeyWrite's or dbAdd's access time; Database.set_pairs's
 * loop), MSETNX further needs every key absent (its lookups then touch nothing). Then
 * the dirty count and the reply. A key given again by the next pair is set once, by
 * that pair: nothing sees the value in between (no event, no TTL, the same access
 * time) and the key takes the same place among the keys (redis-benchmark's MSET sends
 * one key ten times). */

/* configure_strings(): what the MSET bodies use, from strings.py */
enum { S_MSET, S_MSETNX, S_OK, S_ONE, S_LEN };
static PyObject *sk[S_LEN];

static PyObject *
fp_configure_strings(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != S_LEN) {
        PyErr_SetString(PyExc_TypeError, "configure_strings(mset_cmd, msetnx_cmd, OK, ONE)");
        return NULL;
    }
    return keep(sk, args, S_LEN);
}

/* Whether MSET's pairs in argv (n items) can go the common way on db (see above): 1, 0,
 * or -1 with an error. Sets *data, *lru and *clock (new references) when 1. */
static int
mset_common(PyObject *c, PyObject *db, PyObject *argv, Py_ssize_t n, int nx, PyObject **data, PyObject **lru,
            PyObject **clock)
{
    PyObject *server = NULL, *cfg = NULL, *exp = NULL;
    long long events = 0;
    int t;
    *data = *lru = *clock = NULL;
    if ((t = attr_true(db, N_LFU)) != 0 || (server = fget(c, N_SERVER)) == NULL)
        goto no;
    cfg = dict_fget(server, N_CONFIG);
    if (cfg == NULL || (t = dict_ll(cfg, N_NOTIFY_EVENTS, &events)) != 0 || events != 0)
        goto no;
    if ((*data = fget(db, N_KEYS_DATA)) == NULL || (exp = fget(db, N_EXPIRES)) == NULL ||
        (*lru = fget(db, N_LRU)) == NULL || (*clock = fget(db, N_CLOCK)) == NULL)
        goto no;
    if (!PyDict_CheckExact(*data) || !PyDict_CheckExact(exp) || !PyDict_CheckExact(*lru))
        goto no;
    for (Py_ssize_t i = 1; i < n; i += 2) { /* setKey's TTL removal; MSETNX's lookups */
        PyObject *key = PyList_GET_ITEM(argv, i);
        if ((PyDict_GET_SIZE(exp) != 0 && (t = PyDict_Contains(exp, key)) != 0) ||
            (nx && (t = PyDict_Contains(*data, key)) != 0))
            goto no;
    }
    Py_DECREF(exp);
    Py_DECREF(cfg);
    Py_DECREF(server);
    return 1;
no:
    if (t == 0 && PyErr_Occurred())
        t = -1;
    Py_CLEAR(*data);
    Py_CLEAR(*lru);
    Py_CLEAR(*clock);
    Py_XDECREF(exp);
    Py_XDECREF(cfg);
    Py_XDECREF(server);
    return t < 0 ? -1 : 0;
}

/* Whether bytes objects a and b are equal (a key given twice). */
static inline int
same_bytes(PyObject *a, PyObject *b)
{
    Py_ssize_t n = PyBytes_GET_SIZE(a);
    return a == b || (n == PyBytes_GET_SIZE(b) && memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), n) == 0);
}

/* mset(c, argv) and msetnx(c, argv): msetGenericCommand's reply (see above). */
static PyObject *
mset_generic(PyObject *const *args, Py_ssize_t nargs, int nx)
{
    PyObject *handler = sk[nx ? S_MSETNX : S_MSET];
    if (nargs != 2 || handler == NULL) {
        PyErr_SetString(PyExc_TypeError, "mset(c, argv), after configure_strings()");
        return NULL;
    }
    PyObject *c = args[0], *argv = args[1];
    Py_ssize_t n = PyList_CheckExact(argv) ? PyList_GET_SIZE(argv) : 0;
    if (n < 3 || n % 2 == 0) /* the arity error, or not a list */
        return PyObject_Vectorcall(handler, args, 2, NULL);
    for (Py_ssize_t i = 1; i < n; i++)
        if (!PyBytes_CheckExact(PyList_GET_ITEM(argv, i)))
            return PyObject_Vectorcall(handler, args, 2, NULL);
    PyObject *db = fget(c, N_DB);
    if (db == NULL)
        return NULL;
    PyObject *data, *lru, *clock, *reply = NULL;
    int t = mset_common(c, db, argv, n, nx, &data, &lru, &clock);
    Py_DECREF(db);
    if (t <= 0)
        return t < 0 ? NULL : PyObject_Vectorcall(handler, args, 2, NULL);
    for (Py_ssize_t i = 1; i < n; i += 2) {
        PyObject *key = PyList_GET_ITEM(argv, i);
        if (i + 2 < n && same_bytes(key, PyList_GET_ITEM(argv, i + 2)))
            continue; /* the next pair sets the key again: only its value stays seen */
        if (PyDict_SetItem(data, key, PyList_GET_ITEM(argv, i + 1)) < 0 || PyDict_SetItem(lru, key, clock) < 0)
            goto done;
    }
    reply = dirtied(c, n / 2, sk[nx ? S_ONE : S_OK]);
done:
    Py_DECREF(data);
    Py_DECREF(lru);
    Py_DECREF(clock);
    return reply;
}

static PyObject *
fp_mset(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return mset_generic(args, nargs, 0);
}

static PyObject *
fp_msetnx(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return mset_generic(args, nargs, 1);
}

/* LPUSH and RPUSH (engine/commands/lists.py, pushGenericCommand) take an existing list
 * without a compress depth whose key has no TTL, the access clock kept as LRU (not
 * LFU), no keyspace event selected. Then they do what the handler does: lookupKeyWrite's
 * access time, the elements pushed one by one by the one quicklist push there is
 * (quicklist_ops.ql_push: rdbtools' C quicklistPush, or its Python twin in the pure
 * pass; it makes new nodes past list-max-listpack-size and plain nodes for large
 * elements), the count, the dirty count, the new length. A new key (dbAdd: the key
 * made ready for clients blocked on it), LPUSHX and RPUSHX stay with the handler: an
 * existing list has no client blocked on it. */

/* configure_lists(): what the push bodies use, from lists.py */
enum { L_LIST, L_LPUSH, L_RPUSH, L_QL_PUSH, L_LEN };
static PyObject *lk[L_LEN];

/* ListValue's slots, by offset (its __slots__: member descriptors resolved once). */
enum { LS_NODES, LS_COUNT, LS_FILL, LS_COMPRESS, LS_LEN };
static const char *const list_slot_names[LS_LEN] = {"nodes", "count", "fill", "compress"};
static Py_ssize_t list_slot[LS_LEN];

static PyObject *
fp_configure_lists(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != L_LEN || !PyType_Check(args[L_LIST])) {
        PyErr_SetString(PyExc_TypeError, "configure_lists(ListValue, lpush_cmd, rpush_cmd, ql_push)");
        return NULL;
    }
    for (int k = 0; k < LS_LEN; k++) {
        PyObject *d = PyObject_GetAttrString(args[L_LIST], list_slot_names[k]);
        if (d == NULL)
            return NULL;
        int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) && ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX &&
                 !(((PyMemberDescrObject *)d)->d_member->flags & READONLY);
        if (ok)
            list_slot[k] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
        if (!ok)
            return PyErr_Format(PyExc_TypeError, "configure_lists: ListValue.%s is not a slot", list_slot_names[k]);
    }
    return keep(lk, args, L_LEN);
}

/* The object in ListValue o's slot k, borrowed (NULL when unset). */
static inline PyObject *
list_get(PyObject *o, int k)
{
    return *(PyObject **)((char *)o + list_slot[k]);
}

/* The list at key when the push can only go the common way (see above): 1 with *l (a
 * new reference), 0, or -1 with an error. */
static int
plain_list(PyObject *c, PyObject *db, PyObject *key, PyObject **l)
{
    int t = plain_value(db, key, lk[L_LIST], l);
    if (t <= 0)
        return t; /* a new list (dbAdd, the blocked clients), another type, a TTL, LFU */
    PyObject *o = *l, *compress = list_get(o, LS_COMPRESS), *server, *cfg;
    long long events = 0;
    if (list_get(o, LS_NODES) == NULL || !PyList_CheckExact(list_get(o, LS_NODES)) ||
        list_get(o, LS_COUNT) == NULL || list_get(o, LS_FILL) == NULL || compress == NULL ||
        !PyLong_CheckExact(compress) || (t = PyObject_IsTrue(compress)) != 0)
        goto no;
    if ((server = fget(c, N_SERVER)) == NULL) {
        t = -1;
        goto no;
    }
    cfg = dict_fget(server, N_CONFIG);
    Py_DECREF(server);
    if (cfg == NULL)
        t = -1;
    else {
        t = dict_ll(cfg, N_NOTIFY_EVENTS, &events);
        Py_DECREF(cfg);
    }
    if (t != 0 || events != 0)
        goto no;
    return 1;
no:
    Py_CLEAR(*l);
    return t < 0 ? -1 : 0;
}

/* addReplyLongLong: ":<v>\r\n", without printf's machinery. */
static PyObject *
integer_reply(long long v)
{
    char text[32], *p = text + sizeof text;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *--p = '\n';
    *--p = '\r';
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    *--p = ':';
    return PyBytes_FromStringAndSize(p, text + sizeof text - p);
}

/* lpush(c, argv) and rpush(c, argv): pushGenericCommand's reply (see above). */
static PyObject *
push_generic(PyObject *const *args, Py_ssize_t nargs, int head)
{
    PyObject *handler = lk[head ? L_LPUSH : L_RPUSH];
    if (nargs != 2 || handler == NULL) {
        PyErr_SetString(PyExc_TypeError, "lpush(c, argv), after configure_lists()");
        return NULL;
    }
    PyObject *c = args[0], *argv = args[1];
    Py_ssize_t n = PyList_CheckExact(argv) ? PyList_GET_SIZE(argv) : 0;
    if (n < 3) /* the arity error, or not a list */
        return PyObject_Vectorcall(handler, args, 2, NULL);
    for (Py_ssize_t i = 1; i < n; i++)
        if (!PyBytes_CheckExact(PyList_GET_ITEM(argv, i)))
            return PyObject_Vectorcall(handler, args, 2, NULL);
    PyObject *key = PyList_GET_ITEM(argv, 1);
    PyObject *db = fget(c, N_DB);
    if (db == NULL)
        return NULL;
    PyObject *l = NULL, *items = NULL, *count = NULL, *reply = NULL;
    int t = plain_list(c, db, key, &l);
    if (t <= 0) {
        Py_DECREF(db);
        return t < 0 ? NULL : PyObject_Vectorcall(handler, args, 2, NULL);
    }
    if (touch(db, key) < 0) /* lookupKeyWrite */
        goto done;
    if ((items = PyList_GetSlice(argv, 2, n)) == NULL)
        goto done;
    PyObject *a[4] = {list_get(l, LS_NODES), items, head ? Py_True : Py_False, list_get(l, LS_FILL)};
    PyObject *made = PyObject_Vectorcall(lk[L_QL_PUSH], a, 4, NULL); /* quicklistPush, each element */
    if (made == NULL)
        goto done;
    Py_DECREF(made);
    long long was = PyLong_AsLongLong(list_get(l, LS_COUNT));
    if ((was == -1 && PyErr_Occurred()) || (count = PyLong_FromLongLong(was + (n - 2))) == NULL)
        goto done;
    Py_XSETREF(*(PyObject **)((char *)l + list_slot[LS_COUNT]), Py_NewRef(count));
    PyObject *r = integer_reply(was + (n - 2));
    if (r != NULL) {
        reply = dirtied(c, n - 2, r);
        Py_DECREF(r);
    }
done:
    Py_XDECREF(count);
    Py_XDECREF(items);
    Py_DECREF(l);
    Py_DECREF(db);
    return reply;
}

static PyObject *
fp_lpush(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return push_generic(args, nargs, 1);
}

static PyObject *
fp_rpush(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return push_generic(args, nargs, 0);
}
