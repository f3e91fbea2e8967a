/* The sparse HyperLogLog update (engine/types/hyperloglog.py `_sparse_set_py`, Redis's
 * hllSparseSet) in C: find the opcode covering a register, rewrite it in place or split
 * it, then merge equal neighbouring VAL opcodes. The Python function defines the
 * semantics; tests/engine/test_hll_accel.py holds the two to the same bytes.
 *
 * Opcodes: 00xxxxxx ZERO (1..64 zero registers), 01xxxxxx yyyyyyyy XZERO (1..16384),
 * 1vvvvvxx VAL (1..4 registers of value 1..32), after a 16-byte header whose last byte's
 * top bit marks the cached cardinality stale. */

#include "speedups.h"

#define HLL_HDR 16
#define HLL_VAL_MAX_VALUE 32
#define HLL_VAL_MAX_LEN 4
#define HLL_ZERO_MAX_LEN 64

/* What the Python caller must do itself: promote the value to dense (a count too large
 * for a VAL, or a split that would grow the value past max_bytes). */
#define HLL_PROMOTE 2

static inline uint8_t
val_op(long value, long length)
{
    return (uint8_t)((((value - 1) << 2) | (length - 1)) | 0x80);
}

static inline int
zero_run(uint8_t *out, long length)
{
    if (length > HLL_ZERO_MAX_LEN) {
        out[0] = (uint8_t)(((length - 1) >> 8) | 0x40);
        out[1] = (uint8_t)((length - 1) & 0xFF);
        return 2;
    }
    out[0] = (uint8_t)(length - 1);
    return 1;
}

/* Step 4: merge adjacent VALs of equal value, up to 5 opcodes from the one before the
 * change; shrink the bytearray to what is left and mark the cached count stale. */
static long
merge_adjacent(PyObject *ba, Py_ssize_t prev, Py_ssize_t end)
{
    uint8_t *s = (uint8_t *)PyByteArray_AS_STRING(ba);
    Py_ssize_t p = prev >= 0 ? prev : HLL_HDR;
    int scanlen = 5;
    while (p < end) {
        if (!scanlen)
            break;
        scanlen--;
        uint8_t b = s[p];
        if (!(b & 0x80)) {
            p += (b & 0x40) ? 2 : 1;
            continue;
        }
        if (p + 1 < end && (s[p + 1] & 0x80)) {
            uint8_t b2 = s[p + 1];
            long v1 = (b >> 2) & 0x1F;
            if (v1 == ((b2 >> 2) & 0x1F)) {
                long length = (b & 3) + (b2 & 3) + 2;
                if (length <= HLL_VAL_MAX_LEN) {
                    s[p + 1] = val_op(v1 + 1, length);
                    memmove(s + p, s + p + 1, (size_t)(end - p - 1));
                    end--;
                    continue;
                }
            }
        }
        p++;
    }
    if (end != PyByteArray_GET_SIZE(ba) && PyByteArray_Resize(ba, end) < 0)
        return -2;
    s = (uint8_t *)PyByteArray_AS_STRING(ba);
    s[15] |= 0x80;
    return 1;
}

/* hll_sparse_set(s: bytearray, index, count, max_bytes) -> 1 updated, 0 unchanged,
 * -1 corrupt, 2 promote to dense (the caller does it). */
PyObject *
hll_sparse_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyByteArray_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "hll_sparse_set(bytearray, index, count, max_bytes)");
        return NULL;
    }
    PyObject *ba = args[0];
    long index = PyLong_AsLong(args[1]);
    long count = PyLong_AsLong(args[2]);
    Py_ssize_t max_bytes = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (count > HLL_VAL_MAX_VALUE)
        return PyLong_FromLong(HLL_PROMOTE);

    /* Step 1: the opcode covering `index`. */
    uint8_t *s = (uint8_t *)PyByteArray_AS_STRING(ba);
    Py_ssize_t end = PyByteArray_GET_SIZE(ba);
    Py_ssize_t p = HLL_HDR, prev = -1;
    long first = 0, span = 0, value = 0;
    int kind = 0, size = 0;
    while (p < end) {
        uint8_t b = s[p];
        if (!(b & 0xC0)) {
            kind = 0, span = (b & 0x3F) + 1, value = 0, size = 1;
        } else if (b & 0x80) {
            kind = 2, span = (b & 0x3) + 1, value = ((b >> 2) & 0x1F) + 1, size = 1;
        } else {
            /* a truncated XZERO reads the terminator (0), as Redis does */
            uint8_t b1 = p + 1 < end ? s[p + 1] : 0;
            kind = 1, span = (((long)(b & 0x3F) << 8) | b1) + 1, value = 0, size = 2;
        }
        if (index <= first + span - 1)
            break;
        prev = p;
        p += size;
        first += span;
    }
    if (span == 0 || p >= end)
        return PyLong_FromLong(-1);

    /* Step 2: the in-place updates, else the split sequence. */
    if (kind == 2) {
        if (value >= count)
            return PyLong_FromLong(0);
        if (span == 1) {
            s[p] = val_op(count, 1);
            return PyLong_FromLong(merge_adjacent(ba, prev, end) == -2 ? -1 : 1);
        }
    }
    if (kind == 0 && span == 1) {
        s[p] = val_op(count, 1);
        return PyLong_FromLong(merge_adjacent(ba, prev, end) == -2 ? -1 : 1);
    }
    long last = first + span - 1;
    uint8_t seq[5];
    int n = 0;
    if (kind != 2) {
        if (index != first)
            n += zero_run(seq + n, index - first);
        seq[n++] = val_op(count, 1);
        if (index != last)
            n += zero_run(seq + n, last - index);
    } else {
        if (index != first)
            seq[n++] = val_op(value, index - first);
        seq[n++] = val_op(count, 1);
        if (index != last)
            seq[n++] = val_op(value, last - index);
    }

    /* Step 3: the sequence in place of the opcode (or promote if it grows too big). */
    Py_ssize_t oldlen = kind == 1 ? 2 : 1;
    Py_ssize_t delta = n - oldlen;
    if (delta > 0 && end + delta > max_bytes)
        return PyLong_FromLong(HLL_PROMOTE);
    /* A truncated XZERO at the very end has one byte, not two: what follows the
     * replaced bytes is then nothing, and the value ends `delta` past its old end as
     * for a whole opcode (the reference's slice assignment and `del s[end:]`). */
    Py_ssize_t gone = end - p < oldlen ? end - p : oldlen;
    Py_ssize_t tail = end - p - gone;
    Py_ssize_t need = p + n + tail;
    if (need > end) {
        if (PyByteArray_Resize(ba, need) < 0)
            return NULL;
        s = (uint8_t *)PyByteArray_AS_STRING(ba);
    }
    memmove(s + p + n, s + p + gone, (size_t)tail);
    memcpy(s + p, seq, (size_t)n);
    end += delta;
    if (merge_adjacent(ba, prev, end) == -2)
        return NULL;
    return PyLong_FromLong(1);
}
