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
 * MSETNX; INCR, DECR, INCRBY, DECRBY) are described where they start.
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

/* No TTL on key (the lookup could expire it) and the access clock kept as LRU, not LFU:
 * 1, 0, or -1 with an error. */
static int
lru_no_ttl(PyObject *db, PyObject *key)
{
    PyObject *exp = fget(db, N_EXPIRES);
    if (exp == NULL)
        return -1;
    int t = !PyDict_CheckExact(exp) ? 1 : PyDict_GET_SIZE(exp) == 0 ? 0 : PyDict_Contains(exp, key);
    Py_DECREF(exp);
    if (t == 0)
        t = attr_true(db, N_LFU);
    return t < 0 ? -1 : !t;
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
    int t = Py_TYPE(v) == (PyTypeObject *)tp ? lru_no_ttl(db, key) : 0;
    if (t <= 0) {
        Py_DECREF(v);
        return t;
    }
    *o = v;
    return 1;
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

/* No keyspace event selected (notify-keyspace-events read as an integer): 1, 0, or -1. */
static int
no_events(PyObject *c)
{
    PyObject *server = fget(c, N_SERVER), *cfg;
    long long events = 0;
    if (server == NULL)
        return -1;
    cfg = dict_fget(server, N_CONFIG);
    Py_DECREF(server);
    int t = cfg == NULL ? -1 : dict_ll(cfg, N_NOTIFY_EVENTS, &events);
    Py_XDECREF(cfg);
    return t != 0 ? (t < 0 ? -1 : 0) : events == 0;
}

/* Whether lookupKeyWrite of key (there) and its store can only go the common way with
 * no keyspace event: the key has no TTL, the access clock is kept as LRU (not LFU) and
 * no event is selected. 1, 0, or -1 with an error. */
static int
quiet_lru_key(PyObject *c, PyObject *db, PyObject *key)
{
    int t = lru_no_ttl(db, key);
    return t <= 0 ? t : no_events(c);
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

/* SADD key member [member ...] (engine/commands/sets.py, saddCommand) takes an existing
 * set whose key has no TTL, the access clock kept as LRU (not LFU), no keyspace event
 * selected: lookupKeyWrite's access time (no keyspace hit: a write lookup counts none),
 * then setTypeAdd of each member as sadd_cmd does it — the hashtable inline, the intset
 * by is_add_all (a conversion by the SetValue's own methods), the listpack by lps_add
 * while every member fits it without a conversion (else SetValue.add_all) — and the
 * dirty count by the members added, the integer reply. A member already there changes
 * nothing but the access time (redis-benchmark's SADD sends one member every time). */

/* configure_sets(): what the SADD body uses, from sets.py */
enum { T_SET, T_SADD, T_ZERO, T_ONE, T_INTEGER, T_IS_ADD_ALL, T_LPS_ADD, T_LP_LENGTH, T_LP_ENTRIES, T_LP_VALUE,
       T_LEN };
static PyObject *tk[T_LEN];
enum { TS_IS, TS_LP, TS_HT, TS_LEN };
static Py_ssize_t set_slot[TS_LEN]; /* SetValue's slots is_, lp, ht (their offsets) */
static PyObject *max_intset_name, *convert_name;
static long long lp_entries, lp_value;

static PyObject *
fp_configure_sets(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const slots[TS_LEN] = {"is_", "lp", "ht"};
    if (nargs != T_LEN || !PyType_Check(args[T_SET])) {
        PyErr_SetString(PyExc_TypeError, "configure_sets(SetValue, sadd_cmd, ZERO, ONE, integer, is_add_all, lps_add, "
                                         "lp_length, LISTPACK_ENTRIES, LISTPACK_VALUE)");
        return NULL;
    }
    for (int k = 0; k < TS_LEN; k++) /* member descriptors: a plain load at their offset */
        if ((set_slot[k] = slot_offset_of(args[T_SET], slots[k])) < 0)
            return NULL;
    lp_entries = PyLong_AsLongLong(args[T_LP_ENTRIES]);
    lp_value = PyLong_AsLongLong(args[T_LP_VALUE]);
    if (PyErr_Occurred())
        return NULL;
    if (max_intset_name == NULL && ((max_intset_name = PyUnicode_InternFromString("set_max_intset_entries")) == NULL ||
                                    (convert_name = PyUnicode_InternFromString("convert")) == NULL))
        return NULL;
    return keep(tk, args, T_LEN);
}

/* A SetValue's slot k: borrowed, NULL when unset. */
static inline PyObject *
set_field(PyObject *s, int k)
{
    return *(PyObject **)((char *)s + set_slot[k]);
}

/* The set at key when lookupKeyWrite can only go the common way and no event is
 * selected (see above): 1 with *s (a new reference), 0, or -1 with an error. */
static int
plain_set(PyObject *c, PyObject *db, PyObject *key, PyObject **s)
{
    PyObject *data = fget(db, N_KEYS_DATA);
    if (data == NULL)
        return -1;
    PyObject *o = PyDict_CheckExact(data) ? PyDict_GetItemWithError(data, key) : NULL;
    Py_XINCREF(o);
    Py_DECREF(data);
    if (o == NULL)
        return PyErr_Occurred() ? -1 : 0; /* a new set: setTypeCreate, dbAdd's event */
    int t = Py_TYPE(o) == (PyTypeObject *)tk[T_SET] ? quiet_lru_key(c, db, key) : 0;
    if (t > 0)
        *s = o;
    else
        Py_DECREF(o);
    return t;
}

/* The listpack's members argv[2:] added by lps_add, when all fit it without a
 * conversion: the count added, -1 with an error, -2 for SetValue.add_all to do it. */
static Py_ssize_t
lps_add_fitting(PyObject *lp, PyObject *argv, Py_ssize_t n)
{
    for (Py_ssize_t i = 2; i < n; i++)
        if (PyBytes_GET_SIZE(PyList_GET_ITEM(argv, i)) > lp_value)
            return -2;
    PyObject *len = PyObject_Vectorcall(tk[T_LP_LENGTH], &lp, 1, NULL);
    if (len == NULL)
        return -1;
    long long count = PyLong_AsLongLong(len);
    Py_DECREF(len);
    if (count == -1 && PyErr_Occurred())
        return -1;
    if (count + (n - 2) > lp_entries)
        return -2;
    Py_ssize_t added = 0;
    for (Py_ssize_t i = 2; i < n; i++) {
        PyObject *a[2] = {lp, PyList_GET_ITEM(argv, i)};
        PyObject *r = PyObject_Vectorcall(tk[T_LPS_ADD], a, 2, NULL);
        if (r == NULL)
            return -1;
        added += r == Py_True;
        Py_DECREF(r);
    }
    return added;
}

/* The intset's members argv[2:] by is_add_all, converting as sadd_cmd does past a
 * member that is not an integer or past set-max-intset-entries: the count added, or -1. */
static Py_ssize_t
is_add_members(PyObject *c, PyObject *s, PyObject *is, PyObject *argv)
{
    PyObject *server = fget(c, N_SERVER), *cfg = NULL, *max = NULL, *r = NULL;
    Py_ssize_t added = -1;
    if (server == NULL || (cfg = dict_fget(server, N_CONFIG)) == NULL ||
        (max = PyObject_GetAttr(cfg, max_intset_name)) == NULL)
        goto done;
    PyObject *two = PyLong_FromLong(2);
    PyObject *a[4] = {is, argv, two, max};
    r = two == NULL ? NULL : PyObject_Vectorcall(tk[T_IS_ADD_ALL], a, 4, NULL);
    Py_XDECREF(two);
    if (r == NULL)
        goto done;
    if (PyLong_CheckExact(r)) {
        added = PyLong_AsSsize_t(r);
        goto done;
    }
    Py_ssize_t before, stop; /* (added, stop): it converts, the rest goes there */
    if (!PyArg_ParseTuple(r, "nn", &before, &stop))
        goto done;
    PyObject *extra = stop < PyList_GET_SIZE(argv) ? PyList_GET_ITEM(argv, stop) : Py_None;
    PyObject *cv = PyObject_CallMethodOneArg(s, convert_name, extra);
    if (cv == NULL)
        goto done;
    Py_DECREF(cv);
    PyObject *rest = PyObject_CallMethod(s, "add_all", "Oin", argv, 0, stop);
    if (rest != NULL) {
        added = PyLong_AsSsize_t(rest);
        added = added < 0 ? -1 : before + added;
        Py_DECREF(rest);
    }
done:
    Py_XDECREF(r);
    Py_XDECREF(max);
    Py_XDECREF(cfg);
    Py_XDECREF(server);
    return added;
}

/* sadd(c, argv): sadd_cmd's reply (see above). */
static PyObject *
fp_sadd(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || tk[T_SADD] == NULL) {
        PyErr_SetString(PyExc_TypeError, "sadd(c, argv), after configure_sets()");
        return NULL;
    }
    PyObject *c = args[0], *argv = args[1];
    Py_ssize_t n = PyList_CheckExact(argv) ? PyList_GET_SIZE(argv) : 0;
    if (n < 3) /* the arity error, or not a list */
        return PyObject_Vectorcall(tk[T_SADD], args, 2, NULL);
    for (Py_ssize_t i = 1; i < n; i++)
        if (!PyBytes_CheckExact(PyList_GET_ITEM(argv, i)))
            return PyObject_Vectorcall(tk[T_SADD], args, 2, NULL);
    PyObject *key = PyList_GET_ITEM(argv, 1), *db = fget(c, N_DB), *s = NULL, *reply = NULL;
    if (db == NULL)
        return NULL;
    int t = plain_set(c, db, key, &s);
    PyObject *ht = t > 0 ? set_field(s, TS_HT) : NULL, *is = t > 0 ? set_field(s, TS_IS) : NULL;
    PyObject *lp = t > 0 ? set_field(s, TS_LP) : NULL;
    if (t > 0 && !(ht != NULL && ht != Py_None ? PySet_CheckExact(ht)
                   : is != NULL && is != Py_None ? PyByteArray_CheckExact(is)
                   : lp != NULL && PyByteArray_CheckExact(lp))) {
        t = 0; /* not what SetValue holds: the handler decides */
        Py_CLEAR(s);
    }
    if (t <= 0) {
        Py_DECREF(db);
        return t < 0 ? NULL : PyObject_Vectorcall(tk[T_SADD], args, 2, NULL);
    }
    Py_ssize_t added = -1;
    if (touch(db, key) < 0) /* lookupKeyWrite */
        goto done;
    if (ht != NULL && ht != Py_None) { /* setTypeAdd's dictAddRaw */
        Py_ssize_t before = PySet_GET_SIZE(ht);
        for (Py_ssize_t i = 2; i < n; i++)
            if (PySet_Add(ht, PyList_GET_ITEM(argv, i)) < 0)
                goto done;
        added = PySet_GET_SIZE(ht) - before;
    }
    else if (is != NULL && is != Py_None) {
        added = is_add_members(c, s, is, argv);
    }
    else if ((added = lps_add_fitting(lp, argv, n)) == -2) {
        PyObject *r = PyObject_CallMethod(s, "add_all", "Oin", argv, 0, 2);
        added = r == NULL ? -1 : PyLong_AsSsize_t(r);
        Py_XDECREF(r);
    }
    if (added < 0)
        goto done;
    if (added <= 1) { /* nothing added: no dirty, no event */
        reply = added ? dirtied(c, 1, tk[T_ONE]) : Py_NewRef(tk[T_ZERO]);
    }
    else {
        PyObject *num = PyLong_FromSsize_t(added), *r = num == NULL ? NULL : PyObject_Vectorcall(tk[T_INTEGER], &num, 1, NULL);
        Py_XDECREF(num);
        if (r != NULL)
            reply = dirtied(c, added, r);
        Py_XDECREF(r);
    }
done:
    Py_DECREF(s);
    Py_DECREF(db);
    return reply;
}

/* INCR, DECR, INCRBY and DECRBY key (engine/commands/strings.py, _incr; Redis's
 * incrDecrCommand) take an existing string key held as bytes whose text is an integer,
 * the key without a TTL, the access clock kept as LRU (not LFU), no keyspace event
 * selected, the increment an integer (INCRBY's and DECRBY's argument as get_int reads
 * it; DECRBY's not LONG_MIN) and the sum within int64. Then what _incr does: the new
 * value by incr_text (string2ll, the add and ll2string in one call), lookupKeyWrite's
 * access time, the bytes stored in place of the old (dbReplaceValue: the TTL and the
 * key's place kept), the dirty count, the integer reply by integer_text. A missing key,
 * another type, a value that is no integer, an overflow, a TTL, LFU or an event: _incr
 * does all of the call, before anything changed (redis-benchmark's INCR sends one key,
 * there after the first call). */

/* configure_incr(): what the INCR bodies use, from strings.py */
enum { I_INCR, I_DECR, I_INCRBY, I_DECRBY, I_INCR_TEXT, I_INTEGER_TEXT, I_PARSE_INT, I_LEN };
static PyObject *ik[I_LEN];
static PyObject *incr_one, *incr_minus_one; /* INCR's and DECR's increments */

static PyObject *
fp_configure_incr(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != I_LEN) {
        PyErr_SetString(PyExc_TypeError, "configure_incr(incr_cmd, decr_cmd, incrby_cmd, decrby_cmd, incr_text, "
                                         "integer_text, parse_int)");
        return NULL;
    }
    if (incr_one == NULL && ((incr_one = PyLong_FromLong(1)) == NULL ||
                             (incr_minus_one = PyLong_FromLong(-1)) == NULL))
        return NULL;
    return keep(ik, args, I_LEN);
}

/* The value at key when lookupKeyWrite and the store can only go the common way (see
 * above): 1 with *old and *data (new references), 0, or -1 with an error. */
static int
plain_string(PyObject *c, PyObject *db, PyObject *key, PyObject **old, PyObject **data)
{
    if ((*data = fget(db, N_KEYS_DATA)) == NULL)
        return -1;
    PyObject *o = PyDict_CheckExact(*data) ? PyDict_GetItemWithError(*data, key) : NULL;
    Py_XINCREF(o);
    /* a new key (dbAdd's event), another type, an EmbStr or a bytearray: _incr's */
    int t = o == NULL || !PyBytes_CheckExact(o) ? 0 : quiet_lru_key(c, db, key);
    if (t > 0) {
        *old = o;
    }
    else {
        Py_XDECREF(o);
        Py_CLEAR(*data);
    }
    return t < 0 || PyErr_Occurred() ? -1 : t;
}

/* The increment of the call: a new reference, NULL for the handler (argv not the
 * common shape, INCRBY's argument no integer, DECRBY's LONG_MIN), or NULL with an error. */
static PyObject *
incr_by(PyObject *argv, int k)
{
    Py_ssize_t n = PyList_CheckExact(argv) ? PyList_GET_SIZE(argv) : 0;
    if (n != (k <= I_DECR ? 2 : 3))
        return NULL;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!PyBytes_CheckExact(PyList_GET_ITEM(argv, i)))
            return NULL;
    if (k <= I_DECR)
        return Py_NewRef(k == I_INCR ? incr_one : incr_minus_one);
    PyObject *arg = PyList_GET_ITEM(argv, 2), *by = PyObject_Vectorcall(ik[I_PARSE_INT], &arg, 1, NULL);
    if (by == NULL || k == I_INCRBY || by == Py_None)
        goto out;
    int overflow = 0; /* DECRBY: -by, LONG_MIN left to decrby_cmd's error */
    long long v = PyLong_AsLongLongAndOverflow(by, &overflow);
    Py_DECREF(by);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    return overflow || v == LLONG_MIN ? NULL : PyLong_FromLongLong(-v);
out:
    if (by == Py_None)
        Py_CLEAR(by);
    return by;
}

/* incr(c, argv), decr, incrby, decrby: _incr's reply (see above). */
static PyObject *
incr_generic(PyObject *const *args, Py_ssize_t nargs, int k)
{
    PyObject *handler = ik[k];
    if (nargs != 2 || handler == NULL) {
        PyErr_SetString(PyExc_TypeError, "incr(c, argv), after configure_incr()");
        return NULL;
    }
    PyObject *c = args[0], *by = incr_by(args[1], k), *db = NULL, *old = NULL, *data = NULL, *new = NULL;
    PyObject *num = NULL, *reply = NULL;
    int t = 0;
    if (by == NULL || (db = fget(c, N_DB)) == NULL)
        goto out;
    PyObject *key = PyList_GET_ITEM(args[1], 1);
    if ((t = plain_string(c, db, key, &old, &data)) <= 0)
        goto out;
    PyObject *a[2] = {old, by};
    if ((new = PyObject_Vectorcall(ik[I_INCR_TEXT], a, 2, NULL)) == NULL) {
        t = -1;
        goto out;
    }
    if (!PyBytes_CheckExact(new)) { /* None: not an integer, or an overflow */
        t = 0;
        goto out;
    }
    if ((num = PyObject_Vectorcall(ik[I_INTEGER_TEXT], &new, 1, NULL)) == NULL || touch(db, key) < 0 ||
        PyDict_SetItem(data, key, new) < 0) /* lookupKeyWrite, dbReplaceValue */
        t = -1;
    else
        reply = dirtied(c, 1, num);
out:
    Py_XDECREF(num);
    Py_XDECREF(new);
    Py_XDECREF(data);
    Py_XDECREF(old);
    Py_XDECREF(db);
    Py_XDECREF(by);
    if (reply != NULL || t < 0 || PyErr_Occurred())
        return reply;
    return PyObject_Vectorcall(handler, args, 2, NULL);
}

static PyObject *
fp_incr(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return incr_generic(args, nargs, I_INCR);
}

static PyObject *
fp_decr(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return incr_generic(args, nargs, I_DECR);
}

static PyObject *
fp_incrby(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return incr_generic(args, nargs, I_INCRBY);
}

static PyObject *
fp_decrby(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return incr_generic(args, nargs, I_DECRBY);
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
enum { L_LIST, L_LPUSH, L_RPUSH, L_QL_PUSH, L_INTEGER, L_LEN };
static PyObject *lk[L_LEN];

/* ListValue's slots, by offset (its __slots__: member descriptors resolved once). */
enum { LS_NODES, LS_COUNT, LS_FILL, LS_COMPRESS, LS_LEN };
static const char *const list_slot_names[LS_LEN] = {"nodes", "count", "fill", "compress"};
static Py_ssize_t list_slot[LS_LEN];

static PyObject *
fp_configure_lists(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != L_LEN || !PyType_Check(args[L_LIST])) {
        PyErr_SetString(PyExc_TypeError, "configure_lists(ListValue, lpush_cmd, rpush_cmd, ql_push, integer)");
        return NULL;
    }
    for (int k = 0; k < LS_LEN; k++)
        if ((list_slot[k] = slot_offset_of(args[L_LIST], list_slot_names[k])) < 0)
            return NULL;
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
    PyObject *o = *l, *compress = list_get(o, LS_COMPRESS);
    if (list_get(o, LS_NODES) == NULL || !PyList_CheckExact(list_get(o, LS_NODES)) ||
        list_get(o, LS_COUNT) == NULL || list_get(o, LS_FILL) == NULL || compress == NULL ||
        !PyLong_CheckExact(compress) || (t = PyObject_IsTrue(compress)) != 0)
        goto no;
    if ((t = no_events(c)) <= 0)
        goto no;
    return 1;
no:
    Py_CLEAR(*l);
    return t < 0 ? -1 : 0;
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
    PyObject *r = PyObject_Vectorcall(lk[L_INTEGER], &count, 1, NULL); /* aof.replies.integer */
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
