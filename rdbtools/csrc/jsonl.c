/* rdbtools._speedups: rdbtools.jsonl.record_to_line for string/list/set/hash (no
 * field TTLs)/zset records, byte for byte: keys in the same order, strings escaped as
 * json.encoder.encode_basestring (ensure_ascii=False) does, invalid UTF-8 as
 * {"base64":"..."}, sets sorted bytewise, hashes by (field, value), zsets by
 * (score, member) keeping the input order of equal keys (Python's sort is
 * stable: 0.0 and -0.0 tie), scores as repr(float) or "inf"/"-inf".
 * Anything else (other types, field TTLs, NaN scores, values that are not
 * exactly bytes/float/int/list/tuple) is left to the Python function.
 */

#include "speedups.h"

#include <stdlib.h>

static PyObject *a_db, *a_key, *a_type, *a_value, *a_expire_ms, *a_idle, *a_freq,
    *a_field_expires;

/* Writing results: 0 done, -1 Python error, 1 "not for C" (use the Python function). */
#define WB_PY 1

static inline int
wb_obj_bytes(WBuf *w, PyObject *b)
{
    if (!PyBytes_CheckExact(b))
        return WB_PY;
    return wb_jbytes(w, (const uint8_t *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
}

/* An exact int as %d (or str()): only int64 here; anything else is Python's. */
static int
wb_int(WBuf *w, PyObject *v)
{
    if (!PyLong_CheckExact(v))
        return WB_PY;
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow)
        return WB_PY;
    if (x == -1 && PyErr_Occurred())
        return -1;
    return wb_i64(w, x);
}

typedef struct {
    const char *s;
    Py_ssize_t n;
    const char *s2;
    Py_ssize_t n2;
    double score;
    Py_ssize_t idx;
} SortItem;

static inline int
cmp_bytes(const char *a, Py_ssize_t na, const char *b, Py_ssize_t nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    if (c)
        return c;
    return na < nb ? -1 : na > nb;
}

static int
cmp_set(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    return cmp_bytes(a->s, a->n, b->s, b->n);
}

static int
cmp_hash(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    int c = cmp_bytes(a->s, a->n, b->s, b->n);
    return c ? c : cmp_bytes(a->s2, a->n2, b->s2, b->n2);
}

static int
cmp_zset(const void *x, const void *y)
{
    const SortItem *a = x, *b = y;
    if (a->score < b->score)
        return -1;
    if (a->score > b->score)
        return 1;
    int c = cmp_bytes(a->s, a->n, b->s, b->n);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx; /* stable, as sorted() */
}

/* The value of a list/set/hash/zset record ('l', 's', 'h', 'z'). */
static int
wb_collection(WBuf *w, char kind, PyObject *v)
{
    if (!PyList_CheckExact(v) && !PyTuple_CheckExact(v))
        return WB_PY;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
    PyObject **items = PySequence_Fast_ITEMS(v);
    if (kind == 'l') {
        if (wb_char(w, '[') < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && wb_char(w, ',') < 0)
                return -1;
            int rc = wb_obj_bytes(w, items[i]);
            if (rc)
                return rc;
        }
        return wb_char(w, ']');
    }
    SortItem stack[64];
    SortItem *si = n <= 64 ? stack : PyMem_Malloc((size_t)n * sizeof(SortItem));
    if (si == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = 0;
    /* Collect (and type-check) everything before sorting: the list cannot change
     * under us since no Python code runs from here on. */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = items[i];
        si[i].idx = i;
        if (kind == 's') {
            if (!PyBytes_CheckExact(it)) {
                rc = WB_PY;
                goto done;
            }
            si[i].s = PyBytes_AS_STRING(it);
            si[i].n = PyBytes_GET_SIZE(it);
            continue;
        }
        if (!PyTuple_CheckExact(it) || PyTuple_GET_SIZE(it) != 2) {
            rc = WB_PY;
            goto done;
        }
        PyObject *a = PyTuple_GET_ITEM(it, 0), *b = PyTuple_GET_ITEM(it, 1);
        if (!PyBytes_CheckExact(a)) {
            rc = WB_PY;
            goto done;
        }
        si[i].s = PyBytes_AS_STRING(a);
        si[i].n = PyBytes_GET_SIZE(a);
        if (kind == 'h') {
            if (!PyBytes_CheckExact(b)) {
                rc = WB_PY;
                goto done;
            }
            si[i].s2 = PyBytes_AS_STRING(b);
            si[i].n2 = PyBytes_GET_SIZE(b);
        }
        else {
            if (!PyFloat_CheckExact(b)) {
                rc = WB_PY;
                goto done;
            }
            si[i].score = PyFloat_AS_DOUBLE(b);
            if (si[i].score != si[i].score) { /* NaN: sorted() and _score() have views */
                rc = WB_PY;
                goto done;
            }
        }
    }
    if (n > 1)
        qsort(si, (size_t)n, sizeof(SortItem),
              kind == 's' ? cmp_set : kind == 'h' ? cmp_hash : cmp_zset);
    if ((rc = wb_char(w, '[')) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i && (rc = wb_char(w, ',')) < 0)
            goto done;
        if (kind == 's') {
            if ((rc = wb_jbytes(w, (const uint8_t *)si[i].s, si[i].n)) < 0)
                goto done;
            continue;
        }
        if ((rc = wb_char(w, '[')) < 0 ||
            (rc = wb_jbytes(w, (const uint8_t *)si[i].s, si[i].n)) < 0 ||
            (rc = wb_char(w, ',')) < 0)
            goto done;
        if (kind == 'h')
            rc = wb_jbytes(w, (const uint8_t *)si[i].s2, si[i].n2);
        else
            rc = wb_score(w, si[i].score);
        if (rc < 0 || (rc = wb_char(w, ']')) < 0)
            goto done;
    }
    rc = wb_char(w, ']');
done:
    if (si != stack)
        PyMem_Free(si);
    return rc;
}

/* Append the line of record r (no newline); 0, -1 (error) or WB_PY. On WB_PY
 * the buffer may hold a partial line: the caller truncates it. */
static int
wb_record(WBuf *w, PyObject *r)
{
    PyObject *db = NULL, *key = NULL, *type = NULL, *value = NULL, *exp = NULL, *idle = NULL,
             *freq = NULL;
    int rc = -1;
    char kind;
    if ((type = PyObject_GetAttr(r, a_type)) == NULL)
        goto done;
    const char *tname;
    if (type == s_string || (PyUnicode_CheckExact(type) &&
                             PyUnicode_CompareWithASCIIString(type, "string") == 0)) {
        kind = 'v';
        tname = "string";
    }
    else if (type == s_list || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "list") == 0)) {
        kind = 'l';
        tname = "list";
    }
    else if (type == s_set || (PyUnicode_CheckExact(type) &&
                               PyUnicode_CompareWithASCIIString(type, "set") == 0)) {
        kind = 's';
        tname = "set";
    }
    else if (type == s_zset || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "zset") == 0)) {
        kind = 'z';
        tname = "zset";
    }
    else if (type == s_hash || (PyUnicode_CheckExact(type) &&
                                PyUnicode_CompareWithASCIIString(type, "hash") == 0)) {
        kind = 'h';
        tname = "hash";
    }
    else {
        rc = WB_PY;
        goto done;
    }
    if (kind == 'h') {
        PyObject *fe = PyObject_GetAttr(r, a_field_expires);
        if (fe == NULL)
            goto done;
        int truth = fe == Py_None ? 0 : PyObject_IsTrue(fe);
        Py_DECREF(fe);
        if (truth < 0)
            goto done;
        if (truth) {
            rc = WB_PY;
            goto done;
        }
    }
    if ((db = PyObject_GetAttr(r, a_db)) == NULL || (key = PyObject_GetAttr(r, a_key)) == NULL ||
        (value = PyObject_GetAttr(r, a_value)) == NULL ||
        (exp = PyObject_GetAttr(r, a_expire_ms)) == NULL ||
        (idle = PyObject_GetAttr(r, a_idle)) == NULL || (freq = PyObject_GetAttr(r, a_freq)) == NULL)
        goto done;
    if (!PyBytes_CheckExact(key) || (exp != Py_None && !PyLong_CheckExact(exp)) ||
        (idle != Py_None && !PyLong_CheckExact(idle)) ||
        (freq != Py_None && !PyLong_CheckExact(freq))) {
        rc = WB_PY;
        goto done;
    }
    if ((rc = WB_LIT(w, "{\"db\":")) != 0 || (rc = wb_int(w, db)) != 0 ||
        (rc = WB_LIT(w, ",\"key\":")) != 0 || (rc = wb_obj_bytes(w, key)) != 0 ||
        (rc = WB_LIT(w, ",\"type\":\"")) != 0 ||
        (rc = wb_put(w, tname, (Py_ssize_t)strlen(tname))) != 0 ||
        (rc = WB_LIT(w, "\",\"expire_ms\":")) != 0)
        goto done;
    rc = exp == Py_None ? WB_LIT(w, "null") : wb_int(w, exp);
    if (rc != 0 || (rc = WB_LIT(w, ",\"value\":")) != 0)
        goto done;
    rc = kind == 'v' ? wb_obj_bytes(w, value) : wb_collection(w, kind, value);
    if (rc != 0)
        goto done;
    if (idle != Py_None &&
        ((rc = WB_LIT(w, ",\"lru_idle\":")) != 0 || (rc = wb_int(w, idle)) != 0))
        goto done;
    if (freq != Py_None &&
        ((rc = WB_LIT(w, ",\"lfu_freq\":")) != 0 || (rc = wb_int(w, freq)) != 0))
        goto done;
    rc = wb_char(w, '}');
done:
    Py_XDECREF(db);
    Py_XDECREF(key);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(exp);
    Py_XDECREF(idle);
    Py_XDECREF(freq);
    return rc;
}

PyObject *
record_to_line(PyObject *self, PyObject *r)
{
    WBuf w;
    wb_init(&w);
    int rc = wb_record(&w, r);
    PyObject *res;
    if (rc < 0)
        res = NULL;
    else if (rc == WB_PY)
        res = Py_NewRef(Py_None);
    else
        res = PyUnicode_DecodeUTF8(w.buf, w.len, NULL);
    wb_free(&w);
    return res;
}

PyObject *
records_to_jsonl(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "records_to_jsonl(records, fallback)");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "records_to_jsonl: records must be a sequence");
    if (seq == NULL)
        return NULL;
    PyObject *fallback = args[1];
    WBuf w;
    wb_init(&w);
    PyObject *res = NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *r = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t mark = w.len;
        int rc = wb_record(&w, r);
        if (rc < 0)
            goto done;
        if (rc == WB_PY) {
            w.len = mark;
            Py_INCREF(r); /* the fallback may drop the caller's list entry */
            PyObject *line = PyObject_CallOneArg(fallback, r);
            Py_DECREF(r);
            if (line == NULL)
                goto done;
            Py_ssize_t ln;
            const char *s = PyUnicode_Check(line) ? PyUnicode_AsUTF8AndSize(line, &ln) : NULL;
            if (s == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "records_to_jsonl: fallback must return str");
                Py_DECREF(line);
                goto done;
            }
            rc = wb_put(&w, s, ln);
            Py_DECREF(line);
            if (rc < 0)
                goto done;
        }
        if (wb_char(&w, '\n') < 0)
            goto done;
    }
    res = PyBytes_FromStringAndSize(w.buf, w.len);
done:
    wb_free(&w);
    Py_DECREF(seq);
    return res;
}

int
jsonl_init(void)
{
#define INTERN(var, text)                                                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                  \
        return -1;
    INTERN(a_db, "db")
    INTERN(a_key, "key")
    INTERN(a_type, "type")
    INTERN(a_value, "value")
    INTERN(a_expire_ms, "expire_ms")
    INTERN(a_idle, "idle")
    INTERN(a_freq, "freq")
    INTERN(a_field_expires, "field_expires")
#undef INTERN
    return 0;
}
