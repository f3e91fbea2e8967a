/* rdbtools._speedups: a sorted set's listpack operations, what a small zset does to its
 * bytes (rdbtools/encodings/listpack_zset.py is the reference: same results, same
 * bytes; t_zset.c's zzl* functions). Entries are read by lp_ent (lpentry.c), found,
 * encoded and spliced by lpops.c's helpers; every read is checked against the end
 * marker, so a damaged listpack raises BadEncoding rather than read out of bounds. */

#include "speedups.h"

#include <math.h>
#include <stdlib.h>

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF

static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}; /* all exact */

/* A plain decimal's value to within a relative 1e-15 (its first 19 significant digits
 * as an integer, then one multiplication or division by an exact power of ten): 1, or
 * 0 when s[0:n] is not a plain decimal or its exponent is out of that easy range. What
 * the walk of zl_insert compares with, when the comparison cannot be close. */
static int
approx_decimal(const uint8_t *s, Py_ssize_t n, double *out)
{
    Py_ssize_t i = 0;
    int neg = 0, sig = 0, exp10 = 0, digits = 0;
    uint64_t m = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (sig < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            sig += m != 0;
        }
        else
            exp10++;
    }
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
            if (sig < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                sig += m != 0;
                exp10--;
            }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0, e = 0, ed = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (e < 10000)
                e = e * 10 + (s[i] - '0');
        if (!ed)
            return 0;
        exp10 += eneg ? -e : e;
    }
    if (i != n)
        return 0;
    double v = (double)m;
    if (m != 0) {
        if (exp10 > 22 || exp10 < -22)
            return 0;
        v = exp10 >= 0 ? v * P10[exp10] : v / P10[-exp10];
    }
    *out = neg ? -v : v;
    return 1;
}

/* zzlGetScore of an entry: the integer, or the text as float() parses it (a plain
 * decimal by pairs.c's decimal_value: Clinger's exact fast path, else strtod_l, both
 * rounding correctly as PyOS_string_to_double does, in a fraction of its time — a
 * load checks every score, the walk of zzlInsert parses every score it passes; other
 * common spellings by PyOS_string_to_double on a copy, and anything else by float()
 * itself). 0, or -1 with an error set. */
static int
ent_score(const LpEnt *e, double *out)
{
    if (e->is_int) {
        *out = (double)e->v;
        return 0;
    }
    char stack[64];
    char *buf = e->len < (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)e->len + 1);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(buf, e->s, (size_t)e->len);
    buf[e->len] = '\0';
    char *end = NULL;
    double d;
    if (decimal_value(buf, e->len, &d)) {
        if (buf != stack)
            PyMem_Free(buf);
        *out = d;
        return 0;
    }
    d = PyOS_string_to_double(buf, &end, NULL);
    int ok = !(d == -1.0 && PyErr_Occurred()) && e->len > 0 && end == buf + e->len;
    if (buf != stack)
        PyMem_Free(buf);
    if (ok) {
        *out = d;
        return 0;
    }
    PyErr_Clear();
    PyObject *b = PyBytes_FromStringAndSize((const char *)e->s, e->len);
    PyObject *f = b ? PyFloat_FromString(b) : NULL;
    Py_XDECREF(b);
    if (f == NULL)
        return -1;
    *out = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return 0;
}

/* The score entry zzlInsertAt writes (listpack_zset.score_entry): double2ll's integer,
 * else d2string's text ("%.17g"; inf, -inf, nan or -nan by the sign bit). */
static Py_ssize_t
put_score(double d, uint8_t *out)
{
    char text[40];
    Py_ssize_t n;
    if (isnan(d)) {
        n = signbit(d) ? 4 : 3;
        memcpy(text, signbit(d) ? "-nan" : "nan", (size_t)n);
    }
    else if (d >= (double)(-(INT64_MAX / 2)) && d <= (double)(INT64_MAX / 2) &&
             (double)(int64_t)d == d) {
        n = fmt_i64(text, (int64_t)d);
    }
    else if (isinf(d)) {
        n = d > 0 ? 3 : 4;
        memcpy(text, d > 0 ? "inf" : "-inf", (size_t)n);
    }
    else {
        n = snprintf(text, sizeof text, "%.17g", d);
    }
    return lp_encode_item((const uint8_t *)text, n, out);
}

/* The arguments (lp, member, ...): 0, or -1 with TypeError/BadEncoding. */
static int
zl_args(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, const char *func)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", func, want);
        return -1;
    }
    if (lp_check(args[0], func) < 0)
        return -1;
    if (!PyBytes_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s() needs bytes", func);
        return -1;
    }
    return 0;
}

/* zzlFind: 1 with the member's offset and its score entry, 0 absent, -1 error. */
static int
zl_find(PyObject *lp, PyObject *member, Py_ssize_t *mpos, LpEnt *score)
{
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = lp_find_field(p, n, (const uint8_t *)PyBytes_AS_STRING(member),
                                   PyBytes_GET_SIZE(member));
    if (pos == -2)
        return -1;
    if (pos < 0)
        return 0;
    LpEnt e;
    lp_ent(p, n, pos, &e);
    if (lp_ent(p, n, e.next, score) < 0) {
        lp_corrupt(e.next);
        return -1;
    }
    *mpos = pos;
    return 1;
}

/* zl_score and zl_delete: the member's score (None when absent), its pair deleted. */
static PyObject *
zl_lookup(PyObject *const *args, Py_ssize_t nargs, const char *func, int delete)
{
    if (zl_args(args, nargs, 2, func) < 0)
        return NULL;
    Py_ssize_t pos;
    LpEnt s;
    int rc = zl_find(args[0], args[1], &pos, &s);
    if (rc <= 0)
        return rc < 0 ? NULL : Py_NewRef(Py_None);
    double d;
    if (ent_score(&s, &d) < 0 || (delete && lp_splice(args[0], pos, s.next, NULL, 0, -2) < 0))
        return NULL;
    return PyFloat_FromDouble(d);
}

PyObject *
zl_score(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return zl_lookup(args, nargs, "zl_score", 0);
}

PyObject *
zl_delete(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return zl_lookup(args, nargs, "zl_delete", 1);
}

PyObject *
zl_rank(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (zl_args(args, nargs, 2, "zl_rank") < 0)
        return NULL;
    PyObject *lp = args[0];
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = lp_find_field(p, n, (const uint8_t *)PyBytes_AS_STRING(args[1]),
                                   PyBytes_GET_SIZE(args[1]));
    if (pos == -2)
        return NULL;
    if (pos < 0)
        return PyLong_FromLong(-1);
    Py_ssize_t rank = 0, q = LP_HDR_SIZE; /* the pairs before it, already walked once */
    LpEnt e;
    while (q != pos) {
        lp_ent(p, n, q, &e);
        lp_ent(p, n, e.next, &e);
        q = e.next;
        rank++;
    }
    return PyLong_FromSsize_t(rank);
}

/* memcmp order of an entry (integers as their text) against m[0:mlen]: <0, 0, >0. */
static int
ent_cmp(const LpEnt *e, const uint8_t *m, Py_ssize_t mlen)
{
    char num[24];
    const uint8_t *s = e->s;
    Py_ssize_t len = e->len;
    if (e->is_int) {
        len = fmt_i64(num, e->v);
        s = (const uint8_t *)num;
    }
    Py_ssize_t k = len < mlen ? len : mlen;
    int c = memcmp(s, m, (size_t)k);
    if (c)
        return c;
    return len < mlen ? -1 : len > mlen ? 1 : 0;
}

PyObject *
zl_insert(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (zl_args(args, nargs, 3, "zl_insert") < 0)
        return NULL;
    double score = PyFloat_AsDouble(args[2]);
    if (score == -1.0 && PyErr_Occurred())
        return NULL;
    PyObject *lp = args[0];
    const uint8_t *ms = (const uint8_t *)PyBytes_AS_STRING(args[1]);
    Py_ssize_t ml = PyBytes_GET_SIZE(args[1]);
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    Py_ssize_t pos = LP_HDR_SIZE;
    LpEnt m, s;
    while (p[pos] != LP_EOF) { /* zzlInsert's walk */
        if (lp_ent(p, n, pos, &m) < 0 || lp_ent(p, n, m.next, &s) < 0)
            return lp_corrupt(pos), NULL;
        double d;
        if (!s.is_int && approx_decimal(s.s, s.len, &d) &&
            fabs(d - score) > 1e-14 * fmax(fabs(d), fabs(score))) {
            /* far from the new score: the exact value is on the same side of it */
            if (d > score)
                break;
            pos = s.next;
            continue;
        }
        if (ent_score(&s, &d) < 0)
            return NULL;
        if (d > score || (d == score && ent_cmp(&m, ms, ml) > 0))
            break;
        pos = s.next;
    }
    uint8_t stack[256];
    Py_ssize_t need = lp_encoded_max(ml) + 64;
    uint8_t *buf = need <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)need);
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_ssize_t k = lp_encode_item(ms, ml, buf);
    Py_ssize_t all = k + put_score(score, buf + k);
    /* lpInsertString then the score after it: the count moves one entry at a time */
    int rc = lp_splice(lp, pos, pos, buf, all, 1);
    if (rc == 0)
        rc = lp_splice(lp, pos, pos, buf, 0, 1);
    if (buf != stack)
        PyMem_Free(buf);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

int
zl_scores_ok(const uint8_t *p, Py_ssize_t n)
{
    Py_ssize_t pos = LP_HDR_SIZE;
    LpEnt m, s;
    while (pos < n - 1) {
        double d;
        if (lp_ent(p, n, pos, &m) < 0 || lp_ent(p, n, m.next, &s) < 0)
            return 0;
        /* a plain decimal parses, whatever its value: the common text needs no strtod */
        int plain = !s.is_int && decimal_value((const char *)s.s, s.len, NULL);
        if (!plain && ent_score(&s, &d) < 0) {
            PyErr_Clear();
            return 0;
        }
        pos = s.next;
    }
    return 1;
}

/* The pair at member offset pos as a (member, score) tuple. */
static PyObject *
pair_at(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, double score)
{
    LpEnt m;
    lp_ent(p, n, pos, &m);
    PyObject *mo = m.is_int ? int_text(m.v) : PyBytes_FromStringAndSize((const char *)m.s, m.len);
    PyObject *so = mo ? PyFloat_FromDouble(score) : NULL;
    PyObject *t = so ? PyTuple_Pack(2, mo, so) : NULL;
    Py_XDECREF(mo);
    Py_XDECREF(so);
    if (t != NULL)
        PyObject_GC_UnTrack(t);
    return t;
}

/* Every pair's member offset and score, into arrays (on the stack for a small zset):
 * the count, or -1 with an error set. */
#define ZL_STACK 256
static Py_ssize_t
zl_index(const uint8_t *p, Py_ssize_t n, Py_ssize_t **pos, double **score, Py_ssize_t *spos,
         double *sscore)
{
    Py_ssize_t cap = ZL_STACK, k = 0, q = LP_HDR_SIZE;
    *pos = spos;
    *score = sscore;
    LpEnt m, s;
    while (p[q] != LP_EOF) {
        if (lp_ent(p, n, q, &m) < 0 || lp_ent(p, n, m.next, &s) < 0) {
            lp_corrupt(q);
            return -1;
        }
        if (k == cap) {
            Py_ssize_t ncap = cap * 2;
            Py_ssize_t *np = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)ncap);
            double *ns = PyMem_Malloc(sizeof(double) * (size_t)ncap);
            if (np == NULL || ns == NULL) {
                PyMem_Free(np);
                PyMem_Free(ns);
                PyErr_NoMemory();
                return -1;
            }
            memcpy(np, *pos, sizeof(Py_ssize_t) * (size_t)k);
            memcpy(ns, *score, sizeof(double) * (size_t)k);
            if (*pos != spos) {
                PyMem_Free(*pos);
                PyMem_Free(*score);
            }
            *pos = np;
            *score = ns;
            cap = ncap;
        }
        if (ent_score(&s, &(*score)[k]) < 0)
            return -1;
        (*pos)[k++] = q;
        q = s.next;
    }
    return k;
}

#define GTE(x) (loex ? (x) > lo : (x) >= lo)
#define LTE(x) (hiex ? (x) < hi : (x) <= hi)

/* zl_score_range(lp, lo, loex, hi, hiex, reverse, offset, limit): listpack_zset.
 * zl_score_range_py, the walk of genericZrangebyscoreCommand on a listpack. */
PyObject *
zl_score_range(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "zl_score_range() takes 8 arguments");
        return NULL;
    }
    if (lp_check(args[0], "zl_score_range") < 0)
        return NULL;
    double lo = PyFloat_AsDouble(args[1]), hi = PyFloat_AsDouble(args[3]);
    int loex = PyObject_IsTrue(args[2]), hiex = PyObject_IsTrue(args[4]);
    int reverse = PyObject_IsTrue(args[5]);
    Py_ssize_t offset = PyLong_AsSsize_t(args[6]), limit = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred() || loex < 0 || hiex < 0 || reverse < 0)
        return NULL;
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(args[0]);
    Py_ssize_t n = PyByteArray_GET_SIZE(args[0]);
    Py_ssize_t spos[ZL_STACK], *pos;
    double sscore[ZL_STACK], *sc;
    Py_ssize_t k = zl_index(p, n, &pos, &sc, spos, sscore);
    PyObject *out = NULL;
    if (k < 0)
        goto done;
    Py_ssize_t a = 0, b = 0; /* the pairs [a, b) taken, in order (reversed if reverse) */
    if (k && GTE(sc[k - 1]) && LTE(sc[0])) {
        if (reverse) {
            Py_ssize_t i = k - 1;
            while (i >= 0 && !LTE(sc[i]))
                i--;
            if (i >= 0 && GTE(sc[i]) && offset <= i) {
                i -= offset;
                Py_ssize_t end = limit < 0 ? -1 : (i - limit > -1 ? i - limit : -1), j = i;
                while (j > end && GTE(sc[j]))
                    j--;
                a = j + 1;
                b = i + 1;
            }
        }
        else {
            Py_ssize_t i = 0;
            while (i < k && !GTE(sc[i]))
                i++;
            if (i < k && LTE(sc[i]) && offset < k - i) {
                i += offset;
                Py_ssize_t end = limit < 0 || limit > k - i ? k : i + limit, j = i;
                while (j < end && LTE(sc[j]))
                    j++;
                a = i;
                b = j;
            }
        }
    }
    out = PyList_New(b - a);
    for (Py_ssize_t x = 0; out != NULL && x < b - a; x++) {
        Py_ssize_t idx = reverse ? b - 1 - x : a + x;
        PyObject *t = pair_at(p, n, pos[idx], sc[idx]);
        if (t == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, x, t);
    }
done:
    if (pos != spos) {
        PyMem_Free(pos);
        PyMem_Free(sc);
    }
    return out;
}

/* The pairs of ranks start .. start + count - 1 (count < 0: to the end): lpSeek then a
 * walk. */
static PyObject *
slice_impl(PyObject *lp, Py_ssize_t start, Py_ssize_t count)
{
    const uint8_t *p = (const uint8_t *)PyByteArray_AS_STRING(lp);
    Py_ssize_t n = PyByteArray_GET_SIZE(lp);
    PyObject *out = PyList_New(0);
    Py_ssize_t q = LP_HDR_SIZE, i = 0;
    LpEnt m, s;
    while (out != NULL && p[q] != LP_EOF && (count < 0 || i < start + count)) {
        if (lp_ent(p, n, q, &m) < 0 || lp_ent(p, n, m.next, &s) < 0) {
            lp_corrupt(q);
            Py_CLEAR(out);
            break;
        }
        if (i >= start) {
            double d;
            PyObject *t = ent_score(&s, &d) < 0 ? NULL : pair_at(p, n, q, d);
            if (t == NULL || PyList_Append(out, t) < 0)
                Py_CLEAR(out);
            Py_XDECREF(t);
        }
        q = s.next;
        i++;
    }
    return out;
}

/* zl_slice(lp, start, count): listpack_zset.zl_slice_py. */
PyObject *
zl_slice(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "zl_slice() takes 3 arguments");
        return NULL;
    }
    if (lp_check(args[0], "zl_slice") < 0)
        return NULL;
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), count = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    return slice_impl(args[0], start, count);
}

PyObject *
zl_pairs(PyObject *self, PyObject *lp)
{
    return lp_check(lp, "zl_pairs") < 0 ? NULL : slice_impl(lp, 0, -1);
}
