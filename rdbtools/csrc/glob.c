/* rdbtools._glob: Redis glob matching (stringmatchlen) in C, in bounded time.
 *
 * The same loop as rdbtools/glob.py, which is the reference and documents the
 * pattern language and its quirks; this file only makes it fast. One resume
 * point (the most recent '*') replaces stringmatchlen's recursion with
 * skipLongerMatches, so a match costs at most len(pattern) * len(subject)
 * steps and no stack. Bytes are compared as x86-64's signed char, and
 * case folding is glibc's C-locale tolower() written out (the process locale,
 * which Python sets from the environment, plays no part).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* glibc's C-locale tolower() of a signed char value. */
static inline int
fold_signed(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c + ('a' - 'A');
    if (c <= -2)
        return c + 256;
    return c;
}

static inline int
fold_byte(unsigned char b)
{
    return (b >= 'A' && b <= 'Z') ? b + ('a' - 'A') : b;
}

/* Mirrors the '[' case of stringmatchlen. p[*i] is the '['; on return *i is
 * the index of the class's last byte (its ']', or the pattern's last byte when
 * the class is unterminated). Returns whether c matched. */
static int
class_match(const unsigned char *p, Py_ssize_t n, Py_ssize_t *i, unsigned char c, int nocase)
{
    Py_ssize_t k = *i + 1;
    int negate = k < n && p[k] == '^';
    int hit = 0;

    if (negate)
        k++;
    for (;;) {
        if (k + 1 < n && p[k] == '\\') {
            k++;
            if (p[k] == c)
                hit = 1;
        } else if (k < n && p[k] == ']') {
            break;
        } else if (k >= n) {
            k--;
            break;
        } else if (k + 2 < n && p[k + 1] == '-') {
            int lo = (signed char)p[k], hi = (signed char)p[k + 2], x = (signed char)c;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = fold_signed(lo);
                hi = fold_signed(hi);
                x = fold_signed(x);
            }
            if (x >= lo && x <= hi)
                hit = 1;
            k += 2;
        } else if (p[k] == c || (nocase && fold_byte(p[k]) == fold_byte(c))) {
            hit = 1;
        }
        k++;
    }
    *i = k;
    return hit != negate;
}

/* Mirrors stringmatchlen(p, n, s, m, nocase) with skipLongerMatches. */
static int
glob_match_impl(const unsigned char *p, Py_ssize_t n, const unsigned char *s, Py_ssize_t m,
                int nocase)
{
    Py_ssize_t pi = 0, si = 0;
    Py_ssize_t star_p = -1, star_s = 0;

    for (;;) {
        int ok = 1;
        while (pi < n && si < m) {
            unsigned char ch = p[pi];
            if (ch == '*') {
                while (pi + 1 < n && p[pi + 1] == '*')
                    pi++;
                if (pi + 1 == n)
                    return 1;
                pi++;
                star_p = pi;
                star_s = si;
                continue;
            }
            if (ch == '[') {
                if (!class_match(p, n, &pi, s[si], nocase)) {
                    ok = 0;
                    break;
                }
            } else if (ch != '?') {
                if (ch == '\\' && pi + 1 < n)
                    ch = p[++pi];
                if (ch != s[si] && !(nocase && fold_byte(ch) == fold_byte(s[si]))) {
                    ok = 0;
                    break;
                }
            }
            pi++;
            si++;
            if (si == m) {
                while (pi < n && p[pi] == '*')
                    pi++;
                break;
            }
        }
        if (ok && pi == n && si == m)
            return 1;
        star_s++;
        if (star_p < 0 || star_s >= m)
            return 0;
        pi = star_p;
        si = star_s;
    }
}

static PyObject *
glob_match(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"pattern", "subject", "nocase", NULL};
    Py_buffer pat, sub;
    int nocase = 0, r;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*|p:glob_match", kwlist, &pat, &sub,
                                     &nocase))
        return NULL;
    r = glob_match_impl(pat.buf, pat.len, sub.buf, sub.len, nocase);
    PyBuffer_Release(&pat);
    PyBuffer_Release(&sub);
    return PyBool_FromLong(r);
}

/* The predicates glob_matcher() returns: builtin methods bound to the pattern
 * (a bytes object), one per case mode, so a call is one METH_O dispatch. */
static PyObject *
call_matcher(PyObject *pattern, PyObject *subject, int nocase)
{
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(pattern);
    Py_ssize_t n = PyBytes_GET_SIZE(pattern);
    Py_buffer sub;
    int r;

    if (PyBytes_CheckExact(subject))
        return PyBool_FromLong(glob_match_impl(p, n, (const unsigned char *)PyBytes_AS_STRING(subject),
                                               PyBytes_GET_SIZE(subject), nocase));
    if (PyObject_GetBuffer(subject, &sub, PyBUF_SIMPLE) < 0)
        return NULL;
    r = glob_match_impl(p, n, sub.buf, sub.len, nocase);
    PyBuffer_Release(&sub);
    return PyBool_FromLong(r);
}

static PyObject *
match_case(PyObject *pattern, PyObject *subject)
{
    return call_matcher(pattern, subject, 0);
}

static PyObject *
match_nocase(PyObject *pattern, PyObject *subject)
{
    return call_matcher(pattern, subject, 1);
}

static PyMethodDef match_case_def = {
    "glob_predicate", match_case, METH_O, "True if the subject matches the bound glob."};
static PyMethodDef match_nocase_def = {
    "glob_predicate_nocase", match_nocase, METH_O,
    "True if the subject matches the bound glob, ignoring ASCII case."};

static PyObject *
glob_matcher(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"pattern", "nocase", NULL};
    Py_buffer pat;
    int nocase = 0;
    PyObject *copy, *fn;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|p:glob_matcher", kwlist, &pat, &nocase))
        return NULL;
    copy = PyBytes_FromStringAndSize(pat.buf, pat.len);
    PyBuffer_Release(&pat);
    if (copy == NULL)
        return NULL;
    fn = PyCFunction_New(nocase ? &match_nocase_def : &match_case_def, copy);
    Py_DECREF(copy);
    return fn;
}

static PyMethodDef methods[] = {
    {"glob_match", (PyCFunction)(void (*)(void))glob_match, METH_VARARGS | METH_KEYWORDS,
     "glob_match(pattern, subject, nocase=False): True if subject matches the Redis glob."},
    {"glob_matcher", (PyCFunction)(void (*)(void))glob_matcher, METH_VARARGS | METH_KEYWORDS,
     "glob_matcher(pattern, nocase=False): a one-argument predicate for the Redis glob."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "rdbtools._glob",
    "Redis glob matching (stringmatchlen) in bounded time; reference: rdbtools/glob.py.",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__glob(void)
{
    return PyModule_Create(&module);
}
