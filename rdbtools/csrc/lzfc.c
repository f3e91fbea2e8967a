/* The LZF compressor in C, the twin of rdbtools/lzf.py `_compress_py` (liblzf's
 * lzf_compress as Redis builds it: HLOG 16, VERY_FAST, a fresh hash table, the same
 * token choices and conservative end-of-buffer checks), which defines the bytes;
 * tests/rdbtools/test_lzf_compress.py holds the two equal, and both equal to the
 * python-lzf binding filtered by lzf_fits. save_string (rdbstr.c) compresses with it
 * without a call into Python, a bytes copy of a bytearray or an int object per string.
 *
 * "Fresh" without clearing 64K slots per call: a slot holds a position only while its
 * stamp is the call's generation. */

#include "speedups.h"

#define HSIZE (1u << 16)
#define MAX_LIT 32
#define MAX_OFF (1 << 13)
#define MAX_REF ((1 << 8) + (1 << 3))

static Py_ssize_t htab[HSIZE];
static uint32_t stamp[HSIZE];
static uint32_t generation;

static inline Py_ssize_t
slot_get(unsigned slot)
{
    return stamp[slot] == generation ? htab[slot] : -1;
}

static inline void
slot_set(unsigned slot, Py_ssize_t ip)
{
    htab[slot] = ip;
    stamp[slot] = generation;
}

static inline unsigned
hash_slot(uint32_t hval)
{
    return ((hval >> 8) - hval * 5) & 0xFFFF;
}

/* One literal byte; a full run (32) gets its control byte and a new run starts. */
static inline void
put_literal(uint8_t *out, Py_ssize_t *op, Py_ssize_t *lit, uint8_t b)
{
    (*lit)++;
    out[(*op)++] = b;
    if (*lit == MAX_LIT) {
        out[*op - *lit - 1] = (uint8_t)(*lit - 1);
        *lit = 0;
        out[(*op)++] = 0;
    }
}

/* Compress in[0:n] into out (room for out_len + 8 bytes); the compressed length, or 0
 * where liblzf gives up (the result would not fit out_len bytes). */
Py_ssize_t
lzf_encode(const uint8_t *in, Py_ssize_t n, uint8_t *out, Py_ssize_t out_len)
{
    if (n == 0 || out_len == 0)
        return 0;
    if (++generation == 0) { /* wrapped: every stamp may look current */
        memset(stamp, 0, sizeof stamp);
        generation = 1;
    }
    Py_ssize_t op = 1, lit = 0, ip = 0; /* out[0]: the first literal run's control byte */
    out[0] = 0;
    uint32_t hval = n > 1 ? ((uint32_t)in[0] << 8) | in[1] : (uint32_t)in[0] << 8;
    while (ip < n - 2) {
        hval = (hval << 8) | in[ip + 2];
        unsigned slot = hash_slot(hval);
        Py_ssize_t ref = slot_get(slot);
        slot_set(slot, ip);
        if (ref >= 1 && ip - ref - 1 < MAX_OFF && in[ref + 2] == in[ip + 2] && in[ref] == in[ip] &&
            in[ref + 1] == in[ip + 1]) {
            Py_ssize_t off = ip - ref - 1;
            Py_ssize_t maxlen = n - ip - 2 < MAX_REF ? n - ip - 2 : MAX_REF;
            if (op + 4 >= out_len && op - (lit == 0) + 4 >= out_len)
                return 0;
            out[op - lit - 1] = (uint8_t)(lit - 1); /* close the literal run */
            if (!lit)
                op--; /* an empty run takes no control byte */
            Py_ssize_t len = 2;
            int unrolled = maxlen > 16;
            if (unrolled) { /* liblzf compares 16 bytes before it looks at maxlen again */
                int k;
                for (k = 0; k < 16; k++) {
                    len++;
                    if (in[ref + len] != in[ip + len])
                        break;
                }
                if (k == 16)
                    unrolled = 0;
            }
            if (!unrolled) {
                len++;
                while (len < maxlen && in[ref + len] == in[ip + len])
                    len++;
            }
            len -= 2; /* octets - 1 */
            ip++;
            if (len < 7) {
                out[op++] = (uint8_t)((off >> 8) + (len << 5));
            }
            else {
                out[op++] = (uint8_t)((off >> 8) + (7 << 5));
                out[op++] = (uint8_t)(len - 7);
            }
            out[op++] = (uint8_t)(off & 0xFF);
            out[op++] = 0; /* the next literal run's control byte */
            lit = 0;
            ip += len + 1;
            if (ip >= n - 2)
                break;
            ip -= 2; /* VERY_FAST: hash the last two positions of the match */
            hval = ((uint32_t)in[ip] << 8) | in[ip + 1];
            for (int k = 0; k < 2; k++) {
                hval = (hval << 8) | in[ip + 2];
                slot_set(hash_slot(hval), ip);
                ip++;
            }
        }
        else {
            if (op >= out_len)
                return 0;
            put_literal(out, &op, &lit, in[ip++]);
        }
    }
    if (op + 3 > out_len)
        return 0;
    while (ip < n)
        put_literal(out, &op, &lit, in[ip++]);
    out[op - lit - 1] = (uint8_t)(lit - 1);
    if (!lit)
        op--;
    return op;
}

/* lzf_compress(data, out_len): _compress_py's answer, bytes or None. */
PyObject *
lzf_compress(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "lzf_compress takes 2 arguments");
        return NULL;
    }
    Py_ssize_t out_len = PyLong_AsSsize_t(args[1]);
    if (out_len == -1 && PyErr_Occurred())
        return NULL;
    if (out_len < 0) {
        PyErr_SetString(PyExc_ValueError, "lzf_compress: a negative output size");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *res = NULL;
    uint8_t *out = PyMem_Malloc((size_t)out_len + 8);
    if (out == NULL) {
        PyErr_NoMemory();
    }
    else {
        Py_ssize_t m = lzf_encode(view.buf, view.len, out, out_len);
        res = m ? PyBytes_FromStringAndSize((const char *)out, m) : Py_NewRef(Py_None);
        PyMem_Free(out);
    }
    PyBuffer_Release(&view);
    return res;
}
