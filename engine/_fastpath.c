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
#include <structmember.h>

#include "_slots.h"
#include <stdint.h>
#include <string.h>
#include <time.h>

enum { CX_LOOKUP, CX_SERVER, CX_STATS, CX_HISTS, CX_THRESHOLD, CX_AFTER, CX_INTERNAL, CX_CMDERR, CX_PROP,
       CX_HMIN, CX_HMAX, CX_LEN };

/* The attribute names read and written, as N_<ID> indexes into nm[] (and cache[]). */
#define NAMES(X)                                                                                                   \
    X(FAST, "fast") X(ARITY, "arity") X(PROC, "proc") X(IS_WRITE, "is_write") X(LAST_CMD, "last_cmd")             \
    X(DIRTY, "dirty") X(DB, "db") X(WATCHED, "watched") X(BLOCKING, "blocking") X(TARGETS, "targets")              \
    X(OPS, "ops") X(REWRITTEN, "rewritten") X(MODIFIED, "modified") X(COUNTS, "counts") X(TOTAL, "total")          \
    X(REPLY, "reply") X(SERVER, "server") X(CLOSING, "closing") X(BLOCKED, "blocked") X(PENDING, "pending")        \
    X(PARSER, "parser") X(AUTHENTICATED, "authenticated") X(P_AUTHENTICATED, "authenticated")                     \
    X(DENY, "deny_write_reply") X(CHUNKS, "_chunks") X(DATA, "_data") X(ARGV, "_argv") X(SLOW_LEFT, "_slow_left") \
    X(ERROR, "_error") X(SCAN, "_scan") X(NBUF, "_nbuf") X(LIMITS, "limits") X(MAX_MB, "max_multibulk")            \
    X(MAX_BULK, "proto_max_bulk_len") X(BASE, "_base") X(DONE, "_done") X(BACKOFF, "_backoff") X(MULTI, "multi")   \
    X(MONITORS, "monitors") X(EVICTOR, "evictor") X(USER, "user") X(ROOT, "root") X(ALLCOMMANDS, "allcommands")    \
    X(ALLKEYS, "allkeys") X(ALLCHANNELS, "allchannels") X(SUB_CHANNELS, "sub_channels")                            \
    X(SUB_PATTERNS, "sub_patterns") X(SUB_SHARD, "sub_shard") X(REPLICATION, "replication") X(GUARD, "guard")      \
    X(BUSY_REPLY, "busy_reply") X(PAUSE, "pause") X(TYPE, "type") X(REPL, "repl") X(REPLY_OFF, "reply_off")        \
    X(REPLY_SKIP, "reply_skip") X(TRACKING, "tracking") X(TRACKING_CLIENTS, "tracking_clients")                   \
    X(ACTIVE, "active") X(CLUSTER, "cluster") X(KEYSPACE, "keyspace") X(LOADING, "loading")                        \
    X(TRANSPORT, "transport") X(AOF_GATE, "aof_gate") X(FLUSH_SCHEDULED, "flush_scheduled") X(HELD, "held")       \
    X(CLOSE_AFTER_REPLY, "close_after_reply") X(STATS, "stats") X(NET_IN, "net_input_bytes")                       \
    X(NET_OUT, "net_output_bytes") X(LAST_INTERACTION, "last_interaction") X(QBUF_READ, "qbuf_read")               \
    X(CMDSTATS, "cmdstats") X(LATENCY_TRACKING, "latency_tracking") X(HISTOGRAMS, "histograms")                   \
    X(SLOWLOG_THR, "slowlog_threshold_ns") X(LATENCY_THR, "latency_threshold_ns") X(PROPAGATOR, "propagator")      \
    X(READY_KEYS, "ready_keys") X(HANDLE_READY_KEYS, "handle_ready_keys") X(RBP, "rbp") X(RBS, "rbs")              \
    X(WRITE, "write") X(OBUF_WATCH, "obuf_watch") X(OUTPUT_GREW, "output_grew") X(CLOSE, "close")                 \
    X(FLUSH, "flush") X(RESUME_BATCH, "resume_batch") X(BATCHED_STATS, "batched_stats")                         \
    /* _bodies.h */                                                                                                \
    X(KEYS_DATA, "data") X(EXPIRES, "expires") X(LFU, "lfu") X(LRU, "lru") X(CLOCK, "clock") X(LP, "lp")          \
    X(FX, "fx") X(CONFIG, "config") X(NOTIFY_EVENTS, "notify_keyspace_events")                                     \
    X(HASH_MAX_VALUE, "hash_max_listpack_value") X(HASH_MAX_ENTRIES, "hash_max_listpack_entries")                 \
    X(CONVERT, "convert") X(HITS, "hits") X(HT, "ht") X(RESP, "resp")

#define AS_ENUM(id, text) N_##id,
#define AS_TEXT(id, text) text,
enum { NAMES(AS_ENUM) N_COUNT };
static const char *const name_text[N_COUNT] = {NAMES(AS_TEXT)};
static PyObject *nm[N_COUNT];

/* Attribute access at C speed for the instance slots of our classes (__slots__): the
 * member descriptor's offset, resolved once per name and type, then a plain load or
 * store — what member_get/member_set do for a T_OBJECT_EX slot. Anything else (a
 * property, a __dict__ attribute, another type, an unset slot) takes PyObject_GetAttr. */
typedef struct {
    PyTypeObject *tp[2];
    Py_ssize_t off[2]; /* -1: not a writable object slot of tp[j] */
} SlotCache;
static SlotCache cache[N_COUNT];

static Py_ssize_t slot_resolve(PyObject *o, int k);

static inline __attribute__((always_inline)) Py_ssize_t
slot_offset(PyObject *o, int k)
{
    SlotCache *s = &cache[k];
    PyTypeObject *tp = Py_TYPE(o);
    if (s->tp[0] == tp)
        return s->off[0];
    if (s->tp[1] == tp)
        return s->off[1];
    return s->tp[1] != NULL ? -1 : slot_resolve(o, k); /* -1: both taken by other types */
}

/* The first or second type seen for name k: its slot's offset, -1 if none. */
static Py_ssize_t
slot_resolve(PyObject *o, int k)
{
    SlotCache *s = &cache[k];
    PyTypeObject *tp = Py_TYPE(o);
    Py_ssize_t off = slot_member_offset((PyObject *)tp, nm[k]);
    int j = s->tp[0] == NULL ? 0 : 1;
    Py_INCREF(tp);
    s->tp[j] = tp;
    s->off[j] = off;
    return off;
}

/* getattr(o, nm[k]): a new reference, or NULL with an error. */
static inline PyObject *
fget(PyObject *o, int k)
{
    Py_ssize_t off = slot_offset(o, k);
    if (off >= 0) {
        PyObject *v = *(PyObject **)((char *)o + off);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
    }
    return PyObject_GetAttr(o, nm[k]);
}

/* setattr(o, nm[k], v): 0 or -1. */
static inline int
fset(PyObject *o, int k, PyObject *v)
{
    Py_ssize_t off = slot_offset(o, k);
    if (off >= 0) {
        PyObject **p = (PyObject **)((char *)o + off);
        PyObject *old = *p;
        Py_INCREF(v);
        *p = v;
        Py_XDECREF(old);
        return 0;
    }
    return PyObject_SetAttr(o, nm[k], v);
}

static inline long long
now_ns(void)
{ /* time.perf_counter_ns() */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* getattr(o, name) as a truth value: 1, 0, or -1 with an error. */
static int
attr_true(PyObject *o, int k)
{
    PyObject *v = fget(o, k);
    if (v == NULL)
        return -1;
    int t; /* PyObject_IsTrue, the types met here first */
    if (v == Py_True)
        t = 1;
    else if (v == Py_False || v == Py_None)
        t = 0;
    else if (PyList_CheckExact(v))
        t = PyList_GET_SIZE(v) != 0;
    else if (PyDict_CheckExact(v))
        t = PyDict_GET_SIZE(v) != 0;
    else
        t = PyObject_IsTrue(v);
    Py_DECREF(v);
    return t;
}

/* getattr(o, name) is None: 1, 0, or -1. */
static int
attr_none(PyObject *o, int k)
{
    PyObject *v = fget(o, k);
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

/* Histogram.record(ns)'s slot: v at two significant digits. */
static inline long long
slot_of(long long v, long long lo, long long hi)
{
    v = v < lo ? lo : v > hi ? hi : v;
    int shift = (64 - __builtin_clzll((unsigned long long)v)) - 8;
    return shift <= 0 ? v : (v >> shift) << shift;
}

/* counts[slot] += by (a dict of ints) */
static int
counts_add(PyObject *counts, long long slot, long long by)
{
    PyObject *key = PyLong_FromLongLong(slot), *b = PyLong_FromLongLong(by);
    int rc = -1;
    if (key != NULL && b != NULL) {
        PyObject *old = PyDict_GetItemWithError(counts, key);
        if (old != NULL || !PyErr_Occurred()) {
            PyObject *nv = old == NULL ? (Py_INCREF(b), b) : PyNumber_Add(old, b);
            if (nv != NULL) {
                rc = PyDict_SetItem(counts, key, nv);
                Py_DECREF(nv);
            }
        }
    }
    Py_XDECREF(key);
    Py_XDECREF(b);
    return rc;
}

/* Histogram.record(ns) n times over for each of slots[0..k): counts and total. */
static int
hist_add(PyObject *h, const long long *slots, const long long *cnt, int k)
{
    PyObject *counts = fget(h, N_COUNTS);
    if (counts == NULL)
        return -1;
    long long sum = 0;
    for (int j = 0; j < k; j++) {
        if (counts_add(counts, slots[j], cnt[j]) < 0) {
            Py_DECREF(counts);
            return -1;
        }
        sum += cnt[j];
    }
    Py_DECREF(counts);
    PyObject *total = fget(h, N_TOTAL);
    if (total == NULL)
        return -1;
    PyObject *b = PyLong_FromLongLong(sum);
    PyObject *nt = b == NULL ? NULL : PyNumber_Add(total, b);
    Py_XDECREF(b);
    Py_DECREF(total);
    if (nt == NULL)
        return -1;
    int rc = fset(h, N_TOTAL, nt);
    Py_DECREF(nt);
    return rc;
}

/* The stats of a run of one command (its commandstats calls and time, its latency
 * histogram), applied at once by batch_flush(): before another command runs (so INFO,
 * LATENCY HISTOGRAM and scripts, never batched, see every earlier call), before
 * after_call, and when the loop returns. Only data-type commands are batched
 * (Command.batched_stats): none of them reads the stats. */
#define BATCH_SLOTS 8
typedef struct {
    PyObject *cmd, *st, *h; /* strong references; cmd NULL: empty */
    long long calls, usec;
    int n;
    long long slot[BATCH_SLOTS], cnt[BATCH_SLOTS];
} Batch;

static int
batch_flush(Batch *b)
{
    if (b->cmd == NULL)
        return 0;
    int rc = 0;
    if (list_add(b->st, 0, b->calls) < 0 || list_add(b->st, 1, b->usec) < 0)
        rc = -1;
    if (rc == 0 && b->h != NULL && b->n > 0)
        rc = hist_add(b->h, b->slot, b->cnt, b->n);
    Py_CLEAR(b->cmd);
    Py_CLEAR(b->st);
    Py_CLEAR(b->h);
    b->calls = b->usec = 0;
    b->n = 0;
    return rc;
}

/* batch_flush() keeping an error already set (the exit of a failed loop). */
static void
batch_drop(Batch *b)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (batch_flush(b) < 0)
        PyErr_Clear();
    PyErr_Restore(t, v, tb);
}

/* One common-case command's stats: into the batch, or straight to Python's objects. */
static int
count_call(Batch *b, PyObject *const *ctx, PyObject *cmd, PyObject *st, PyObject *h, long long dt)
{
    long long slot = 0;
    if (h != NULL) {
        long long lo = PyLong_AsLongLong(ctx[CX_HMIN]), hi = PyLong_AsLongLong(ctx[CX_HMAX]);
        if (PyErr_Occurred())
            return -1;
        slot = slot_of(dt / 1000 * 1000, lo, hi);
    }
    if (b->cmd != cmd) {
        int t = attr_true(cmd, N_BATCHED_STATS);
        if (t <= 0) {
            long long one = 1;
            return t < 0 || list_add(st, 0, 1) < 0 || list_add(st, 1, dt) < 0 ||
                           (h != NULL && hist_add(h, &slot, &one, 1) < 0)
                       ? -1
                       : 0;
        }
        if (batch_flush(b) < 0)
            return -1;
        Py_INCREF(cmd);
        Py_INCREF(st);
        Py_XINCREF(h);
        b->cmd = cmd;
        b->st = st;
        b->h = h;
    }
    b->calls++;
    b->usec += dt;
    if (h != NULL) {
        int j = 0;
        while (j < b->n && b->slot[j] != slot)
            j++;
        if (j == BATCH_SLOTS) { /* full: out with it, the same command goes on */
            if (hist_add(h, b->slot, b->cnt, b->n) < 0)
                return -1;
            b->n = j = 0;
        }
        if (j == b->n) {
            b->slot[j] = slot;
            b->cnt[j] = 0;
            b->n++;
        }
        b->cnt[j]++;
    }
    return 0;
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
        reply = fget(value, N_REPLY);
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
            PyObject *dirty0, PyObject **st, PyObject **h, const Batch *b)
{
    if (!PyBytes_CheckExact(reply) || PyBytes_GET_SIZE(reply) == 0 || PyBytes_AS_STRING(reply)[0] == '-')
        return 0;
    long long thr = PyLong_AsLongLong(ctx[CX_THRESHOLD]);
    if (thr == -1 && PyErr_Occurred())
        return -1;
    if (dt >= thr)
        return 0;
    PyObject *dirty = fget(ctx[CX_SERVER], N_DIRTY);
    if (dirty == NULL)
        return -1;
    int changed = PyObject_RichCompareBool(dirty, dirty0, Py_GT);
    Py_DECREF(dirty);
    if (changed < 0)
        return -1;
    int t;
    if (changed) {
        if ((t = attr_true(cmd, N_IS_WRITE)) != 0) {
            if (t < 0)
                return -1;
            PyObject *db = fget(c, N_DB);
            if (db == NULL)
                return -1;
            int w = attr_true(db, N_WATCHED);
            int b = w == 0 ? attr_true(db, N_BLOCKING) : 0;
            Py_DECREF(db);
            if (w < 0 || b < 0)
                return -1;
            if (w || b)
                return 0;
        }
        if ((t = attr_true(ctx[CX_PROP], N_TARGETS)) != 0)
            return t < 0 ? -1 : 0;
    }
    if ((t = attr_none(c, N_REWRITTEN)) != 1 || (t = attr_none(c, N_MODIFIED)) != 1)
        return t < 0 ? -1 : 0;
    if ((t = attr_true(ctx[CX_PROP], N_OPS)) != 0)
        return t < 0 ? -1 : 0;
    if (b->cmd == cmd) { /* the run's entries, looked up at its first command */
        *st = b->st;
        *h = b->h;
        return 1;
    }
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
run_one(PyObject *const *ctx, PyObject *c, PyObject *cmd, PyObject *proc, PyObject *argv, Batch *b)
{
    PyObject *dirty0 = fget(ctx[CX_SERVER], N_DIRTY);
    if (dirty0 == NULL)
        return NULL;
    PyObject *reply = NULL;
    if (fset(c, N_LAST_CMD, cmd) < 0)
        goto done;
    long long t0 = now_ns();
    PyObject *a[2] = {c, argv};
    reply = PyObject_Vectorcall(proc, a, 2, NULL);
    if (reply == NULL && (reply = reply_for_exception(ctx, cmd, argv)) == NULL)
        goto done;
    if (fset(c, N_LAST_CMD, cmd) < 0)
        goto fail;
    long long dt = now_ns() - t0;
    PyObject *st = NULL, *h = NULL;
    int common = common_case(ctx, c, cmd, reply, dt, dirty0, &st, &h, b);
    if (common < 0)
        goto fail;
    if (common) {
        if (count_call(b, ctx, cmd, st, h, dt) < 0)
            goto fail;
        goto done;
    }
    if (batch_flush(b) < 0) /* after_call counts this one itself */
        goto fail;
    PyObject *dto = PyLong_FromLongLong(dt);
    if (dto == NULL)
        goto fail;
    PyObject *args6[6] = {c, cmd, argv, reply, dto, dirty0};
    PyObject *r = PyObject_Vectorcall(ctx[CX_AFTER], args6, 6, NULL);
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

/* cmds[*i:] through run_one() while each is a known fast command with a valid arity,
 * its reply appended to out and counted in *nbytes, until the end, high water passed, or
 * a command the general path must take: 0, or -1 with an error. */
static int
run_loop(PyObject *const *ctx, PyObject *c, PyObject *cmds, Py_ssize_t *i, PyObject *out, long long *nbytes,
         long long high)
{
    Batch b = {0};
    while (*i < PyList_GET_SIZE(cmds)) {
        PyObject *argv = PyList_GET_ITEM(cmds, *i);
        if (!PyList_Check(argv) || PyList_GET_SIZE(argv) == 0)
            break;
        PyObject *cmd = PyDict_GetItemWithError(ctx[CX_LOOKUP], PyList_GET_ITEM(argv, 0));
        if (cmd == NULL) {
            if (PyErr_Occurred())
                goto error;
            break;
        }
        Py_INCREF(cmd);
        int fast = attr_true(cmd, N_FAST);
        PyObject *ar = fast > 0 ? fget(cmd, N_ARITY) : NULL;
        long a = ar != NULL ? PyLong_AsLong(ar) : 0;
        Py_XDECREF(ar);
        if (fast < 0 || PyErr_Occurred()) {
            Py_DECREF(cmd);
            goto error;
        }
        Py_ssize_t n = PyList_GET_SIZE(argv);
        if (!fast || (a > 0 && n != a) || n < -a) { /* the general path decides */
            Py_DECREF(cmd);
            break;
        }
        PyObject *proc = b.cmd != NULL && b.cmd != cmd && batch_flush(&b) < 0 ? NULL : fget(cmd, N_PROC);
        if (proc == NULL) { /* another command: the run's stats went out first */
            Py_DECREF(cmd);
            goto error;
        }
        Py_INCREF(argv);
        PyObject *reply = run_one(ctx, c, cmd, proc, argv, &b);
        Py_DECREF(argv);
        Py_DECREF(proc);
        Py_DECREF(cmd);
        if (reply == NULL)
            goto error;
        (*i)++;
        if (!PyBytes_Check(reply)) { /* a fast command never blocks; anything else: Python's turn */
            PyErr_SetString(PyExc_TypeError, "a fast command replied with something other than bytes");
            Py_DECREF(reply);
            goto error;
        }
        *nbytes += PyBytes_GET_SIZE(reply);
        int rc = PyList_Append(out, reply);
        Py_DECREF(reply);
        if (rc < 0)
            goto error;
        if (*nbytes > high)
            break;
    }
    return batch_flush(&b);
error:
    batch_drop(&b);
    return -1;
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
    if (run_loop(&PyTuple_GET_ITEM(ctxo, 0), c, cmds, &i, out, &nbytes, high) < 0)
        return NULL;
    return Py_BuildValue("(nL)", i, nbytes);
}

#include "_received.h"
#include "_bodies.h"

static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))fp_run, METH_FASTCALL,
     "run($module, c, cmds, i, out, nbytes, high_water, ctx, /)\n--\n\n"
     "dispatch.run_commands's fast commands from cmds[i] on: (next index, reply bytes so far)."},
    {"received", (PyCFunction)(void (*)(void))fp_received, METH_FASTCALL,
     "received($module, c, data, /)\n--\n\n"
     "Client._received(data) when all of it is the common case (see _received.h): True, or False "
     "(nothing done) for Python to take the read."},
    {"configure", (PyCFunction)(void (*)(void))fp_configure, METH_FASTCALL,
     "configure($module, lookup, after_call, internal_error, command_error, hist_min, hist_max, "
     "reply_chunk, high_water, /)\n--\n\nThe constants received() uses."},
    /* _bodies.h */
    {"configure_bodies", (PyCFunction)(void (*)(void))fp_configure_bodies, METH_FASTCALL,
     "configure_bodies($module, HashValue, hset_cmd, hget_cmd, ONE, ZERO, NULL_BULK, NULL3, bulk, lp_pairs_set, "
     "lp_pairs_get, lp_length, /)\n--\n\nWhat the command bodies use."},
    {"hset", (PyCFunction)(void (*)(void))fp_hset, METH_FASTCALL,
     "hset($module, c, argv, /)\n--\n\nhashes.hset_cmd: its common case in C, the rest by hset_cmd."},
    {"hget", (PyCFunction)(void (*)(void))fp_hget, METH_FASTCALL,
     "hget($module, c, argv, /)\n--\n\nhashes.hget_cmd: its common case in C, the rest by hget_cmd."},
    /* _bodies.h: MSET, MSETNX */
    {"configure_strings", (PyCFunction)(void (*)(void))fp_configure_strings, METH_FASTCALL,
     "configure_strings($module, mset_cmd, msetnx_cmd, OK, ONE, /)\n--\n\nWhat the MSET bodies use."},
    {"mset", (PyCFunction)(void (*)(void))fp_mset, METH_FASTCALL,
     "mset($module, c, argv, /)\n--\n\nstrings.mset_cmd: its common case in C, the rest by mset_cmd."},
    {"msetnx", (PyCFunction)(void (*)(void))fp_msetnx, METH_FASTCALL,
     "msetnx($module, c, argv, /)\n--\n\nstrings.msetnx_cmd: its common case in C, the rest by msetnx_cmd."},
    /* _bodies.h: SADD */
    {"configure_sets", (PyCFunction)(void (*)(void))fp_configure_sets, METH_FASTCALL,
     "configure_sets($module, SetValue, sadd_cmd, ZERO, ONE, integer, is_add_all, lps_add, lp_length, "
     "LISTPACK_ENTRIES, LISTPACK_VALUE, /)\n--\n\nWhat the SADD body uses."},
    {"sadd", (PyCFunction)(void (*)(void))fp_sadd, METH_FASTCALL,
     "sadd($module, c, argv, /)\n--\n\nsets.sadd_cmd: its common case in C, the rest by sadd_cmd."},
    /* _bodies.h: INCR, DECR, INCRBY, DECRBY */
    {"configure_incr", (PyCFunction)(void (*)(void))fp_configure_incr, METH_FASTCALL,
     "configure_incr($module, incr_cmd, decr_cmd, incrby_cmd, decrby_cmd, incr_text, integer_text, parse_int, /)"
     "\n--\n\nWhat the INCR bodies use."},
    {"incr", (PyCFunction)(void (*)(void))fp_incr, METH_FASTCALL,
     "incr($module, c, argv, /)\n--\n\nstrings.incr_cmd: its common case in C, the rest by incr_cmd."},
    {"decr", (PyCFunction)(void (*)(void))fp_decr, METH_FASTCALL,
     "decr($module, c, argv, /)\n--\n\nstrings.decr_cmd: its common case in C, the rest by decr_cmd."},
    {"incrby", (PyCFunction)(void (*)(void))fp_incrby, METH_FASTCALL,
     "incrby($module, c, argv, /)\n--\n\nstrings.incrby_cmd: its common case in C, the rest by incrby_cmd."},
    {"decrby", (PyCFunction)(void (*)(void))fp_decrby, METH_FASTCALL,
     "decrby($module, c, argv, /)\n--\n\nstrings.decrby_cmd: its common case in C, the rest by decrby_cmd."},
    /* _bodies.h: LPUSH, RPUSH */
    {"configure_lists", (PyCFunction)(void (*)(void))fp_configure_lists, METH_FASTCALL,
     "configure_lists($module, ListValue, lpush_cmd, rpush_cmd, ql_push, integer, /)\n--\n\nWhat the push bodies use."},
    {"lpush", (PyCFunction)(void (*)(void))fp_lpush, METH_FASTCALL,
     "lpush($module, c, argv, /)\n--\n\nlists.lpush_cmd: its common case in C, the rest by lpush_cmd."},
    {"rpush", (PyCFunction)(void (*)(void))fp_rpush, METH_FASTCALL,
     "rpush($module, c, argv, /)\n--\n\nlists.rpush_cmd: its common case in C, the rest by rpush_cmd."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "engine._fastpath",
                                    "The pipelined request loop's common case (engine/execution/dispatch.py).", -1,
                                    methods};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
    for (int k = 0; k < N_COUNT; k++)
        if ((nm[k] = PyUnicode_InternFromString(name_text[k])) == NULL)
            return NULL;
    return PyModule_Create(&module);
}
