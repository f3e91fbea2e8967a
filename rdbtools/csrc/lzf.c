/* rdbtools._speedups: the one LZF decoder in C, used by rdbtools.lzf.decompress and
 * by the key scan (scan.c) for LZF-compressed strings. rdbtools/lzf.py's
 * _decompress_py is the reference for the rules and the messages.
 *
 * The stream is liblzf's (Redis's lzf_d.c): a control byte below 32 starts a
 * literal run of ctrl + 1 bytes; otherwise its top three bits are a length - 2
 * (7: one more length byte follows) and its low five bits with the next byte a
 * distance - 1 back into the output. Literal runs and back-references must stay
 * inside the input and the output, references may not reach before the start,
 * and the output must be exactly the declared length. python-neo-lzf (the binding
 * that compresses) could be called only through Python, a call and a copy per
 * string; this loop is as fast as its decoder (bench/bench_speedups.py).
 */

#include "speedups.h"

int
lzf_decode(const uint8_t *in, Py_ssize_t in_len, uint8_t *out, Py_ssize_t out_len,
           Py_ssize_t *made)
{
    const uint8_t *ip = in, *in_end = in + in_len;
    uint8_t *op = out, *out_end = out + out_len;
    int rc = LZF_OK;
    while (ip < in_end) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            Py_ssize_t run = (Py_ssize_t)ctrl + 1;
            if (in_end - ip < run || out_end - op < run) {
                rc = LZF_E_LITERAL;
                break;
            }
            memcpy(op, ip, (size_t)run);
            op += run;
            ip += run;
            continue;
        }
        Py_ssize_t len = ctrl >> 5;
        if (len == 7) {
            if (ip >= in_end) {
                rc = LZF_E_TRUNCATED;
                break;
            }
            len += *ip++;
        }
        if (ip >= in_end) {
            rc = LZF_E_TRUNCATED;
            break;
        }
        Py_ssize_t back = ((Py_ssize_t)(ctrl & 0x1F) << 8) + *ip++ + 1;
        len += 2;
        if (op - out < back) {
            rc = LZF_E_BEFORE_START;
            break;
        }
        if (out_end - op < len) {
            rc = LZF_E_TOO_LONG;
            break;
        }
        const uint8_t *ref = op - back;
        if (back >= len) {
            memcpy(op, ref, (size_t)len);
            op += len;
        }
        else { /* the copy overlaps what it makes: a run, byte by byte */
            do
                *op++ = *ref++;
            while (--len);
        }
    }
    *made = op - out;
    if (rc == LZF_OK && op != out_end)
        rc = LZF_E_SHORT;
    return rc;
}

PyObject *
lzf_decompress(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "lzf_decompress(data, expected_len)");
        return NULL;
    }
    Py_ssize_t want = PyLong_AsSsize_t(args[1]);
    if (want == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = NULL;
    if (want < 0) {
        bad(-1, "invalid LZF data: negative length %zd", want);
        goto done;
    }
    if (want == 0) {
        if (view.len)
            bad(-1, "invalid LZF data: data for an empty string");
        else
            out = PyBytes_FromStringAndSize(NULL, 0);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, want);
    if (out == NULL)
        goto done;
    Py_ssize_t made;
    switch (lzf_decode((const uint8_t *)view.buf, view.len, (uint8_t *)PyBytes_AS_STRING(out),
                       want, &made)) {
    case LZF_OK:
        goto done;
    case LZF_E_LITERAL:
        bad(-1, "invalid LZF data: literal run past the end");
        break;
    case LZF_E_TRUNCATED:
        bad(-1, "invalid LZF data: truncated back-reference");
        break;
    case LZF_E_BEFORE_START:
        bad(-1, "invalid LZF data: back-reference before the start");
        break;
    case LZF_E_TOO_LONG:
        bad(-1, "invalid LZF data: output longer than declared");
        break;
    default:
        bad(-1, "invalid LZF data: decompressed to %zd bytes, expected %zd", made, want);
    }
    Py_CLEAR(out);
done:
    PyBuffer_Release(&view);
    return out;
}
