/* rdbtools._speedups.sort_runs, the C twin of rdbtools.spill._sort_py: the records of a
 * run, each RUN_RECORD bytes, sorted in place in ascending memcmp order. In place
 * because a run is the memory budget of rdbkit diff: a library sort (glibc's qsort is
 * a merge sort) would allocate a second run. Introsort: quicksort on the median of
 * three, insertion sort below 16 records, heapsort past 2*log2(n) levels so that no
 * input (many equal records) makes it quadratic.
 */

#include "speedups.h"

#define RUN_RECORD 32

static inline int
rec_cmp(const uint8_t *base, size_t i, size_t j)
{
    return memcmp(base + i * RUN_RECORD, base + j * RUN_RECORD, RUN_RECORD);
}

static inline void
rec_swap(uint8_t *base, size_t i, size_t j)
{
    uint8_t t[RUN_RECORD];
    memcpy(t, base + i * RUN_RECORD, RUN_RECORD);
    memcpy(base + i * RUN_RECORD, base + j * RUN_RECORD, RUN_RECORD);
    memcpy(base + j * RUN_RECORD, t, RUN_RECORD);
}

static void
sift_down(uint8_t *base, size_t lo, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && rec_cmp(base, lo + child, lo + child + 1) < 0)
            child++;
        if (rec_cmp(base, lo + root, lo + child) >= 0)
            return;
        rec_swap(base, lo + root, lo + child);
        root = child;
    }
}

static void
heap_sort(uint8_t *base, size_t lo, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, lo, i, n);
    for (size_t end = n; end-- > 1;) {
        rec_swap(base, lo, lo + end);
        sift_down(base, lo, 0, end);
    }
}

static void
intro_sort(uint8_t *base, size_t lo, size_t hi, int depth) /* [lo, hi) */
{
    while (hi - lo > 16) {
        if (depth-- == 0) {
            heap_sort(base, lo, hi - lo);
            return;
        }
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (rec_cmp(base, mid, lo) < 0)
            rec_swap(base, mid, lo);
        if (rec_cmp(base, last, lo) < 0)
            rec_swap(base, last, lo);
        if (rec_cmp(base, last, mid) < 0)
            rec_swap(base, last, mid);
        rec_swap(base, mid, last - 1); /* pivot at last - 1; lo <= pivot <= last */
        size_t p = last - 1, i = lo, j = last - 1;
        for (;;) {
            while (rec_cmp(base, ++i, p) < 0)
                ;
            while (rec_cmp(base, --j, p) > 0)
                ;
            if (i >= j)
                break;
            rec_swap(base, i, j);
        }
        rec_swap(base, i, p);
        if (i - lo < hi - i - 1) { /* recurse into the smaller side, loop on the larger */
            intro_sort(base, lo, i, depth);
            lo = i + 1;
        }
        else {
            intro_sort(base, i + 1, hi, depth);
            hi = i;
        }
    }
    for (size_t i = lo + 1; i < hi; i++)
        for (size_t j = i; j > lo && rec_cmp(base, j - 1, j) > 0; j--)
            rec_swap(base, j - 1, j);
}

PyObject *
sort_runs(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_WRITABLE) < 0)
        return NULL;
    if (view.len % RUN_RECORD) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "sort_runs: %zd bytes is not a whole number of %d-byte records",
                     view.len, RUN_RECORD);
        return NULL;
    }
    size_t n = (size_t)view.len / RUN_RECORD;
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    Py_BEGIN_ALLOW_THREADS
    intro_sort((uint8_t *)view.buf, 0, n, depth);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}
