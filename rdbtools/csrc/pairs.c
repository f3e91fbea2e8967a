/* rdbtools._speedups: (member, score) and (field, value) pairs of a decoded zset or
 * hash blob, as rdbtools/values.py's _zset_pairs and _pairs make them. Scores in
 * plain decimal text are parsed here, correctly rounded as float() rounds them. */

#include "speedups.h"

#include <float.h>
#include <locale.h>
#include <stdlib.h>

static PyObject *str_items;    /* "items" */
static PyObject *fmt_d;        /* b"%d" */
static PyObject *default_what; /* "hash blob" */

/* items[i] as the reference's `items[i]` would (new reference). */
static PyObject *
get_item(PyObject *items, Py_ssize_t i)
{
    if (PyList_CheckExact(items)) {
        if (i < PyList_GET_SIZE(items)) {
            PyObject *o = PyList_GET_ITEM(items, i);
            Py_INCREF(o);
            return o;
        }
    }
    else if (PyTuple_CheckExact(items)) {
        if (i < PyTuple_GET_SIZE(items)) {
            PyObject *o = PyTuple_GET_ITEM(items, i);
            Py_INCREF(o);
            return o;
        }
    }
    PyObject *key = PyLong_FromSsize_t(i);
    if (key == NULL)
        return NULL;
    PyObject *o = PyObject_GetItem(items, key);
    Py_DECREF(key);
    return o;
}

/* `m if type(m) is bytes else b"%d" % m` */
static PyObject *
member_bytes(PyObject *m)
{
    if (PyBytes_CheckExact(m)) {
        Py_INCREF(m);
        return m;
    }
    if (PyLong_CheckExact(m)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(m, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred()))
            return int_text(v);
        PyErr_Clear();
    }
    return PyNumber_Remainder(fmt_d, m);
}

/* Powers of ten that a double holds exactly. */
static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#ifdef __GLIBC__
static locale_t c_locale; /* strtod_l in the "C" locale, whatever the process set */
#endif

/* float(text) for a plain decimal `[+-]digits[.digits][e[+-]digits]` (a NUL-
 * terminated bytes buffer). Returns 1 with *out set, or 0 when the text is not
 * of that form (whitespace, '_', inf/nan, garbage...): then float() itself must
 * decide and word the error. Every path rounds correctly, as float() does:
 * - up to 2**53 times/over an exact power of ten up to 1e22: one IEEE operation
 *   on exact operands (Clinger's fast path);
 * - anything else: glibc's strtod_l (correctly rounded) in the "C" locale, or
 *   CPython's own PyOS_string_to_double elsewhere. */
int
decimal_value(const char *b, Py_ssize_t len, double *out)
{
    const char *p = b, *end = b + len;
    int neg = 0, digits = 0, nd = 0, trunc = 0;
    uint64_t m = 0;
    long e10 = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        digits++;
        if (m == 0 && *p == '0')
            continue; /* leading zero */
        if (nd < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            nd++;
        }
        else {
            e10++;
            trunc |= *p != '0';
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            digits++;
            if (m == 0 && *p == '0') {
                e10--;
                continue;
            }
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd++;
                e10--;
            }
            else {
                trunc |= *p != '0';
            }
        }
    }
    if (!digits)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        long x = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || *p < '0' || *p > '9')
            return 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (x < 1000000)
                x = x * 10 + (*p - '0');
        e10 += eneg ? -x : x;
    }
    if (p != end)
        return 0;
    if (out == NULL) /* the form alone: float() accepts every such text */
        return 1;
    double d;
    if (m == 0) {
        d = 0.0;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    else if (!trunc && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
    }
#endif
    else {
        char *stop;
#ifdef __GLIBC__
        if (c_locale == (locale_t)0)
            return 0;
        d = strtod_l(b, &stop, c_locale);
        if (stop != end)
            return 0;
        *out = d; /* the sign was part of the text */
        return 1;
#else
        d = PyOS_string_to_double(b, &stop, NULL);
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (stop != end)
            return 0;
        *out = d;
        return 1;
#endif
    }
    *out = neg ? -d : d;
    return 1;
}

PyObject *
plain_float(PyObject *s)
{
    double d;
    if (!decimal_value(PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s), &d))
        return NULL;
    return PyFloat_FromDouble(d);
}

PyObject *
zset_pairs_impl(PyObject *items)
{
    Py_ssize_t n = PyObject_Size(items);
    if (n < 0)
        return NULL;
    if (n & 1) {
        bad(-1, "zset blob has an odd number of entries");
        return NULL;
    }
    PyObject *out = PyList_New(n / 2);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i += 2) {
        PyObject *m = get_item(items, i);
        if (m == NULL)
            goto fail;
        PyObject *s = get_item(items, i + 1);
        if (s == NULL) {
            Py_DECREF(m);
            goto fail;
        }
        PyObject *score;
        if (PyLong_CheckExact(s)) {
            double d = PyLong_AsDouble(s);
            score = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
        }
        else {
            score = PyBytes_CheckExact(s) ? plain_float(s) : NULL;
            if (score == NULL)
                score = PyNumber_Float(s); /* what float(s) does for bytes and the rest */
            if (score == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear(); /* `raise ... from None` */
                PyObject *msg = PyUnicode_FromFormat("zset score %R is not a number", s);
                if (msg != NULL)
                    raise_msg(msg);
            }
        }
        Py_DECREF(s);
        if (score == NULL) {
            Py_DECREF(m);
            goto fail;
        }
        PyObject *mb = member_bytes(m);
        Py_DECREF(m);
        if (mb == NULL) {
            Py_DECREF(score);
            goto fail;
        }
        PyObject *t = PyTuple_New(2);
        if (t == NULL) {
            Py_DECREF(mb);
            Py_DECREF(score);
            goto fail;
        }
        PyTuple_SET_ITEM(t, 0, mb);
        PyTuple_SET_ITEM(t, 1, score);
        PyList_SET_ITEM(out, i / 2, untrack_pair(t));
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

PyObject *
pair_up(PyObject *const *v, Py_ssize_t len)
{
    PyObject *out = PyList_New(len / 2);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i + 1 < len; i += 2) {
        PyObject *t = untrack_pair(PyTuple_Pack(2, v[i], v[i + 1]));
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i / 2, t);
    }
    return out;
}

PyObject *
hash_pairs_impl(PyObject *items, PyObject *what)
{
    Py_ssize_t n = PyObject_Size(items);
    if (n < 0)
        return NULL;
    if (n & 1) {
        PyObject *msg = PyUnicode_FromFormat("%S has an odd number of entries", what);
        if (msg != NULL)
            raise_msg(msg);
        return NULL;
    }
    if (PyList_CheckExact(items) || PyTuple_CheckExact(items)) /* nothing runs Python code */
        return pair_up(PySequence_Fast_ITEMS(items), PySequence_Fast_GET_SIZE(items));
    /* anything else: exactly list(zip(it, it)) */
    PyObject *it = PyObject_GetIter(items);
    if (it == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(2, it, it);
    Py_DECREF(it);
    if (args == NULL)
        return NULL;
    PyObject *z = PyObject_Call((PyObject *)&PyZip_Type, args, NULL);
    Py_DECREF(args);
    if (z == NULL)
        return NULL;
    PyObject *out = PySequence_List(z);
    Py_DECREF(z);
    return out;
}

PyObject *
zset_pairs(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *items = one_arg("zset_pairs", str_items, args, nargs, kwnames);
    return items ? zset_pairs_impl(items) : NULL;
}

PyObject *
hash_pairs(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"items", "what", NULL};
    PyObject *items, *what = default_what;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:hash_pairs", kwlist, &items, &what))
        return NULL;
    return hash_pairs_impl(items, what);
}

int
pairs_init(void)
{
#ifdef __GLIBC__
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); /* on failure: float() */
#endif
    str_items = PyUnicode_InternFromString("items");
    fmt_d = PyBytes_FromString("%d");
    default_what = PyUnicode_FromString("hash blob");
    return (str_items && fmt_d && default_what) ? 0 : -1;
}
