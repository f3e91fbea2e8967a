/* engine._fastpath.received(c, data): Client._received (engine/execution/client.py) in C
 * for the read that is all common case — included by _fastpath.c, one module.
 *
 * Python is the reference and keeps every other case. received() first checks, changing
 * nothing, that the read can only go the common way: the client is not closing, blocked,
 * in MULTI, subscribed, a replica or muted; its parser
 * holds nothing and is healthy; and fast_path()'s and _fast_context()'s server checks
 * hold (no MONITOR, maxmemory, write refusal, pause, busy script, client tracking,
 * cluster, loading). Replies held behind the AOF's group commit do not matter here:
 * Client.flush holds the new ones after them. Then the C request scanner of the parser (aof/_respfast.c) must take
 * the whole read as complete canonical commands. If any of that fails it returns False
 * and Client._received does all of the read itself, as without the accelerator.
 *
 * Otherwise it does what _received would: the input counters, the parser's offsets (as
 * RequestParser.parse's one-chunk path leaves them), the commands through run_loop()
 * (call()'s steps), and the replies out in one transport.write with the output
 * counters. A command the loop leaves to Python (not fast, bad arity, replies past high
 * water) and the rest of the batch go to Client.resume_batch with the replies gathered
 * so far; replies that must wait for the AOF, or pass the static reply buffer, go
 * through Client.flush. */


/* configure(): lookup, after_call, internal_error, CommandError, HIST_MIN, HIST_MAX,
 * REPLY_CHUNK, HIGH_WATER */
enum { K_LOOKUP, K_AFTER, K_INTERNAL, K_CMDERR, K_HMIN, K_HMAX, K_REPLY_CHUNK, K_HIGH_WATER, K_LEN };
static PyObject *konst[K_LEN];
static long long reply_chunk, high_water;

static PyObject *
fp_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != K_LEN) {
        PyErr_SetString(PyExc_TypeError, "configure() takes 8 arguments");
        return NULL;
    }
    long long rc = PyLong_AsLongLong(args[K_REPLY_CHUNK]), hw = PyLong_AsLongLong(args[K_HIGH_WATER]);
    if (PyErr_Occurred())
        return NULL;
    if (!PyDict_Check(args[K_LOOKUP])) {
        PyErr_SetString(PyExc_TypeError, "configure(): the command lookup must be a dict");
        return NULL;
    }
    for (int k = 0; k < K_LEN; k++) {
        Py_INCREF(args[k]);
        Py_XSETREF(konst[k], args[k]);
    }
    reply_chunk = rc;
    high_water = hw;
    Py_RETURN_NONE;
}

/* getattr(getattr(o, a), b)'s truth. */
static int
truth2(PyObject *o, int a, int b)
{
    PyObject *v = fget(o, a);
    if (v == NULL)
        return -1;
    int t = attr_true(v, b);
    Py_DECREF(v);
    return t;
}

/* The checks of the file header, in Python's terms. 1: the read may go the common way. */
#define WANT(expr)                                                                                                 \
    do {                                                                                                           \
        int t_ = (expr);                                                                                           \
        if (t_ <= 0)                                                                                               \
            return t_;                                                                                             \
    } while (0)

static int
negate(int t)
{
    return t < 0 ? -1 : !t;
}

static int
user_unrestricted(PyObject *c)
{ /* c.user is None or User.unrestricted() */
    PyObject *user = fget(c, N_USER);
    if (user == NULL)
        return -1;
    int t = 1;
    if (user != Py_None) {
        PyObject *root = fget(user, N_ROOT);
        t = root == NULL ? -1 : attr_true(root, N_ALLCOMMANDS);
        if (t > 0)
            t = attr_true(root, N_ALLKEYS);
        if (t > 0)
            t = attr_true(root, N_ALLCHANNELS);
        Py_XDECREF(root);
    }
    Py_DECREF(user);
    return t;
}

static int
client_ok(PyObject *c)
{
    WANT(negate(attr_true(c, N_CLOSING)));
    WANT(attr_none(c, N_BLOCKED));
    WANT(negate(attr_true(c, N_PENDING)));
    WANT(attr_none(c, N_MULTI));
    WANT(attr_true(c, N_AUTHENTICATED));
    WANT(negate(attr_true(c, N_SUB_CHANNELS)));
    WANT(negate(attr_true(c, N_SUB_PATTERNS)));
    WANT(negate(attr_true(c, N_SUB_SHARD)));
    WANT(attr_none(c, N_REPL));
    WANT(negate(attr_true(c, N_REPLY_OFF)));
    WANT(negate(attr_true(c, N_REPLY_SKIP)));
    WANT(negate(attr_true(c, N_CLOSE_AFTER_REPLY)));
    WANT(negate(attr_none(c, N_TRANSPORT)));
    return user_unrestricted(c);
}

static int
server_ok(PyObject *srv)
{
    WANT(attr_none(srv, N_DENY));
    WANT(negate(attr_true(srv, N_MONITORS)));
    WANT(attr_none(srv, N_EVICTOR));
    WANT(negate(truth2(srv, N_REPLICATION, N_GUARD)));
    WANT(attr_none(srv, N_BUSY_REPLY));
    WANT(negate(truth2(srv, N_PAUSE, N_TYPE)));
    WANT(negate(truth2(srv, N_TRACKING, N_TRACKING_CLIENTS)));
    WANT(negate(truth2(srv, N_TRACKING, N_ACTIVE)));
    WANT(attr_none(srv, N_CLUSTER));
    WANT(negate(truth2(srv, N_KEYSPACE, N_LOADING)));
    WANT(negate(attr_true(srv, N_READY_KEYS)));
    return 1;
}

/* Whether replies may be written now rather than held for the AOF (Client.flush's gate). */
static int
gate_open(PyObject *srv)
{
    PyObject *gate = fget(srv, N_AOF_GATE);
    if (gate == NULL)
        return -1;
    int t = gate == Py_None ? 1 : negate(attr_true(gate, N_FLUSH_SCHEDULED));
    Py_DECREF(gate);
    return t;
}

/* getattr(o, k) as a C integer; -1 with an error set on failure. */
static int
attr_ll(PyObject *o, int k, long long *v)
{
    PyObject *x = fget(o, k);
    if (x == NULL)
        return -1;
    *v = PyLong_AsLongLong(x);
    Py_DECREF(x);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

static int
set_ll(PyObject *o, int k, long long v)
{
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL)
        return -1;
    int rc = fset(o, k, x);
    Py_DECREF(x);
    return rc;
}

/* o.k += by */
static int
add_ll(PyObject *o, int k, long long by)
{
    long long v;
    return attr_ll(o, k, &v) < 0 ? -1 : set_ll(o, k, v + by);
}

/* The parser holds nothing and is healthy (RequestParser.parse's one-chunk case), and its
 * C scanner takes all of data as complete commands into *cmds: 1, 0 (nothing changed), -1. */
static int
scan_all(PyObject *parser, PyObject *data, PyObject **cmds, long long *base)
{
    WANT(attr_true(parser, N_P_AUTHENTICATED));
    WANT(negate(attr_true(parser, N_CHUNKS)));
    WANT(negate(attr_true(parser, N_DATA)));
    WANT(attr_none(parser, N_ARGV));
    WANT(attr_none(parser, N_ERROR));
    long long slow_left, nbuf;
    if (attr_ll(parser, N_SLOW_LEFT, &slow_left) < 0 || attr_ll(parser, N_NBUF, &nbuf) < 0 ||
        attr_ll(parser, N_BASE, base) < 0)
        return -1;
    if (slow_left > 0 || nbuf != 0)
        return 0;
    PyObject *scan = fget(parser, N_SCAN);
    if (scan == NULL)
        return -1;
    PyObject *limits = scan == Py_None ? NULL : fget(parser, N_LIMITS);
    if (limits == NULL) {
        Py_DECREF(scan);
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *mmb = fget(limits, N_MAX_MB);
    PyObject *mbulk = mmb == NULL ? NULL : fget(limits, N_MAX_BULK);
    PyObject *out = mbulk == NULL ? NULL : PyList_New(0);
    PyObject *zero = out == NULL ? NULL : PyLong_FromLong(0);
    PyObject *b = zero == NULL ? NULL : PyLong_FromLongLong(*base);
    PyObject *r = NULL;
    if (b != NULL) {
        PyObject *a[7] = {data, zero, mmb, mbulk, out, Py_None, b};
        r = PyObject_Vectorcall(scan, a, 7, NULL);
    }
    Py_XDECREF(b);
    Py_XDECREF(zero);
    Py_XDECREF(mbulk);
    Py_XDECREF(mmb);
    Py_DECREF(limits);
    Py_DECREF(scan);
    if (r == NULL) {
        Py_XDECREF(out);
        return -1;
    }
    Py_ssize_t took = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    if (took == -1 && PyErr_Occurred()) {
        Py_DECREF(out);
        return -1;
    }
    if (took != PyBytes_GET_SIZE(data)) {
        Py_DECREF(out);
        return 0;
    }
    *cmds = out;
    return 1;
}

/* What _fast_context() gives run(): the server's part of the context, new references in
 * ctx[] (the constants borrowed). */
static int
build_ctx(PyObject *srv, PyObject **ctx)
{
    memset(ctx, 0, sizeof(PyObject *) * CX_LEN);
    ctx[CX_LOOKUP] = konst[K_LOOKUP];
    ctx[CX_AFTER] = konst[K_AFTER];
    ctx[CX_INTERNAL] = konst[K_INTERNAL];
    ctx[CX_CMDERR] = konst[K_CMDERR];
    ctx[CX_HMIN] = konst[K_HMIN];
    ctx[CX_HMAX] = konst[K_HMAX];
    ctx[CX_SERVER] = srv;
    if ((ctx[CX_STATS] = fget(srv, N_CMDSTATS)) == NULL)
        return -1;
    if ((ctx[CX_PROP] = fget(srv, N_PROPAGATOR)) == NULL)
        return -1;
    int t = attr_true(srv, N_LATENCY_TRACKING);
    if (t < 0)
        return -1;
    ctx[CX_HISTS] = t ? fget(srv, N_HISTOGRAMS) : (Py_INCREF(Py_None), Py_None);
    if (ctx[CX_HISTS] == NULL)
        return -1;
    PyObject *a = fget(srv, N_SLOWLOG_THR);
    PyObject *b = a == NULL ? NULL : fget(srv, N_LATENCY_THR);
    int lt = b == NULL ? -1 : PyObject_RichCompareBool(b, a, Py_LT);
    if (lt >= 0) {
        ctx[CX_THRESHOLD] = lt ? b : a;
        Py_INCREF(ctx[CX_THRESHOLD]);
    }
    Py_XDECREF(a);
    Py_XDECREF(b);
    return lt < 0 ? -1 : 0;
}

static void
drop_ctx(PyObject **ctx)
{
    Py_CLEAR(ctx[CX_STATS]);
    Py_CLEAR(ctx[CX_PROP]);
    Py_CLEAR(ctx[CX_HISTS]);
    Py_CLEAR(ctx[CX_THRESHOLD]);
}

static PyObject *
call_method(PyObject *o, int k, PyObject *const *args, size_t n)
{
    PyObject *a[4] = {o, NULL, NULL, NULL};
    for (size_t j = 0; j < n && j < 3; j++)
        a[j + 1] = args[j];
    return PyObject_VectorcallMethod(nm[k], a, n + 1, NULL);
}

/* The replies out: Client.flush's common case (or Client.flush itself). 0 or -1. */
static int
write_replies(PyObject *c, PyObject *srv, PyObject *out)
{
    PyObject *t = fget(c, N_TRANSPORT);
    if (t == NULL)
        return -1;
    int rc = -1;
    PyObject *data = NULL, *stats = NULL, *r = NULL;
    int closing = attr_true(c, N_CLOSING);
    if (closing < 0)
        goto done;
    if (t == Py_None || closing) {
        rc = 0;
        goto done;
    }
    int open = gate_open(srv);
    int held = open > 0 ? attr_none(c, N_HELD) : 1;
    if (open < 0 || held < 0)
        goto done;
    Py_ssize_t n = PyList_GET_SIZE(out);
    if (n == 1) {
        data = PyList_GET_ITEM(out, 0);
        Py_INCREF(data);
    }
    else { /* b"".join(out): every reply is bytes (run_loop checked) */
        Py_ssize_t total = 0;
        for (Py_ssize_t j = 0; j < n; j++)
            total += PyBytes_GET_SIZE(PyList_GET_ITEM(out, j));
        if ((data = PyBytes_FromStringAndSize(NULL, total)) == NULL)
            goto done;
        char *p = PyBytes_AS_STRING(data);
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *x = PyList_GET_ITEM(out, j);
            memcpy(p, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x));
            p += PyBytes_GET_SIZE(x);
        }
    }
    Py_ssize_t len = PyBytes_GET_SIZE(data);
    if (!open || !held || len > reply_chunk) { /* AOF hold, output limits: Client.flush */
        r = call_method(c, N_FLUSH, &out, 1);
        rc = r == NULL ? -1 : 0;
        goto done;
    }
    if ((stats = fget(srv, N_STATS)) == NULL || add_ll(stats, N_NET_OUT, len) < 0)
        goto done;
    long long rbp, rbs;
    if (attr_ll(c, N_RBP, &rbp) < 0)
        goto done;
    if (len > rbp) { /* Client.note_reply */
        if (attr_ll(c, N_RBS, &rbs) < 0 || set_ll(c, N_RBP, len < rbs ? len : rbs) < 0)
            goto done;
    }
    if ((r = call_method(t, N_WRITE, &data, 1)) == NULL)
        goto done;
    Py_CLEAR(r);
    int w = attr_true(c, N_OBUF_WATCH);
    if (w < 0 || (w && (r = call_method(c, N_OUTPUT_GREW, NULL, 0)) == NULL))
        goto done;
    Py_CLEAR(r);
    int cl = attr_true(c, N_CLOSE_AFTER_REPLY);
    if (cl < 0 || (cl && (r = call_method(c, N_CLOSE, NULL, 0)) == NULL))
        goto done;
    rc = 0;
done:
    Py_XDECREF(r);
    Py_XDECREF(stats);
    Py_XDECREF(data);
    Py_DECREF(t);
    return rc;
}

static double
wall_clock(void)
{ /* time.time() */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The read's bookkeeping once it is taken: what _received and parse() change. */
static int
take_read(PyObject *c, PyObject *srv, PyObject *parser, long long n, long long base)
{
    long long done;
    PyObject *stats = fget(srv, N_STATS);
    if (stats == NULL)
        return -1;
    int rc = add_ll(stats, N_NET_IN, n);
    Py_DECREF(stats);
    if (rc < 0)
        return -1;
    PyObject *now = PyFloat_FromDouble(wall_clock());
    if (now == NULL)
        return -1;
    rc = fset(c, N_LAST_INTERACTION, now);
    Py_DECREF(now);
    if (rc < 0 || attr_ll(parser, N_DONE, &done) < 0)
        return -1;
    /* feed() then buffered_bytes, then parse(): the scan took everything */
    long long backoff;
    if (set_ll(c, N_QBUF_READ, base + n - done) < 0 || set_ll(parser, N_DONE, base + n) < 0 ||
        set_ll(parser, N_BASE, base + n) < 0 || attr_ll(parser, N_BACKOFF, &backoff) < 0)
        return -1;
    return backoff == 1 ? 0 : set_ll(parser, N_BACKOFF, 1);
}

static PyObject *
fp_received(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "received(c, data)");
        return NULL;
    }
    PyObject *c = args[0], *data = args[1];
    if (konst[K_LOOKUP] == NULL || !PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) == 0 ||
        PyBytes_AS_STRING(data)[0] != '*')
        Py_RETURN_FALSE;
    PyObject *srv = fget(c, N_SERVER);
    if (srv == NULL)
        return NULL;
    PyObject *parser = NULL, *cmds = NULL, *out = NULL, *r = NULL;
    PyObject *ctx[CX_LEN] = {NULL};
    PyObject *result = NULL;
    long long base = 0;
    int ok = client_ok(c);
    if (ok > 0)
        ok = server_ok(srv);
    if (ok > 0 && (parser = fget(c, N_PARSER)) == NULL)
        ok = -1;
    if (ok > 0)
        ok = scan_all(parser, data, &cmds, &base);
    if (ok <= 0) {
        result = ok < 0 ? NULL : (Py_INCREF(Py_False), Py_False);
        goto done;
    }
    /* taken: from here on, this read is ours */
    if (take_read(c, srv, parser, PyBytes_GET_SIZE(data), base) < 0 || build_ctx(srv, ctx) < 0)
        goto done;
    if ((out = PyList_New(0)) == NULL)
        goto done;
    Py_ssize_t i = 0;
    long long nbytes = 0;
    if (run_loop(ctx, c, cmds, &i, out, &nbytes, high_water) < 0)
        goto done;
    if (i < PyList_GET_SIZE(cmds)) { /* the general path goes on (Client.resume_batch) */
        PyObject *io = PyLong_FromSsize_t(i);
        if (io == NULL)
            goto done;
        PyObject *a[3] = {cmds, io, out};
        r = call_method(c, N_RESUME_BATCH, a, 3);
        Py_DECREF(io);
        if (r == NULL)
            goto done;
    }
    else {
        int ready = attr_true(srv, N_READY_KEYS);
        if (ready < 0 || (ready && (r = call_method(srv, N_HANDLE_READY_KEYS, NULL, 0)) == NULL))
            goto done;
        if (write_replies(c, srv, out) < 0)
            goto done;
    }
    result = Py_True;
    Py_INCREF(result);
done:
    drop_ctx(ctx);
    Py_XDECREF(r);
    Py_XDECREF(out);
    Py_XDECREF(cmds);
    Py_XDECREF(parser);
    Py_DECREF(srv);
    return result;
}
