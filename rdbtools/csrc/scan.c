/* rdbtools._speedups.scan_keys, the decoder's fast path (rdbtools/decoder.py,
 * RdbDecoder.next_events): parse as many consecutive top-level items as possible
 * from the decoder's buffer,
 * building the same Record objects _parse_key builds. Only the expire/idle/freq
 * opcodes and keys of the common types are handled; at anything else, at the
 * end of the buffer and at ANY problem (truncation, corruption, a limit) the
 * scan stops *before* that item and reports where, so the Python path parses
 * it again and produces the exact events, errors and retries it always does.
 * The rules of rdbtools/primitives.py and values.py are mirrored check for
 * check; nothing is accepted here that the Python path would refuse.
 */

#include "speedups.h"

#define LZF_MAX_RATIO 100 /* primitives.LZF_MAX_RATIO */

/* primitives.load_string into *r: 0, or -1 to stop (r->obj is then NULL). */
int
sk_str(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len, SkStr *r)
{
    Py_ssize_t i = *pos;
    uint64_t len;
    r->obj = NULL;
    if (i >= n)
        return -1;
    unsigned b = p[i];
    if (b < 0x40) { /* never checked against max_len, as in load_string */
        len = b;
        i++;
    }
    else if (b < 0xC0) {
        if (sk_len(p, n, &i, &len) < 0 || len > max_len)
            return -1;
    }
    else {
        int64_t v;
        switch (b & 0x3F) {
        case 0:
            if (i + 2 > n)
                return -1;
            v = p[i + 1] >= 128 ? (int64_t)p[i + 1] - 256 : (int64_t)p[i + 1];
            i += 2;
            break;
        case 1:
            if (i + 3 > n)
                return -1;
            v = as_i16(rd_u16le(p + i + 1));
            i += 3;
            break;
        case 2:
            if (i + 5 > n)
                return -1;
            v = as_i32(rd_u32le(p + i + 1));
            i += 5;
            break;
        case 3: {
            uint64_t clen, ulen;
            Py_ssize_t j = i + 1;
            if (sk_len(p, n, &j, &clen) < 0 || sk_len(p, n, &j, &ulen) < 0)
                return -1;
            if (ulen > max_len || clen > (uint64_t)(n - j)) /* clen now bounded by the buffer */
                return -1;
            if (ulen > clen * LZF_MAX_RATIO + 64 || clen > ulen + 64)
                return -1;
            if (ulen > (uint64_t)PY_SSIZE_T_MAX)
                return -1;
            PyObject *o = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ulen);
            if (o == NULL)
                return -1;
            Py_ssize_t made;
            if (lzf_decode(p + j, (Py_ssize_t)clen, (uint8_t *)PyBytes_AS_STRING(o),
                           (Py_ssize_t)ulen, &made) != LZF_OK) {
                Py_DECREF(o);
                return -1;
            }
            r->obj = o;
            r->s = (const uint8_t *)PyBytes_AS_STRING(o);
            r->len = (Py_ssize_t)ulen;
            *pos = j + (Py_ssize_t)clen;
            return 0;
        }
        default:
            return -1;
        }
        r->len = fmt_i64(r->num, v);
        r->s = (const uint8_t *)r->num;
        *pos = i;
        return 0;
    }
    if (len > (uint64_t)(n - i))
        return -1;
    r->s = p + i;
    r->len = (Py_ssize_t)len;
    *pos = i + (Py_ssize_t)len;
    return 0;
}

/* Types whose keys scan_keys builds (and, for each, values.load_value's names). */
static const uint8_t sk_handled[21] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [10] = 1, [11] = 1,
    [12] = 1, [13] = 1, [14] = 1, [16] = 1, [17] = 1, [18] = 1, [20] = 1,
};

PyObject *
scan_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 10 || nargs > 14) {
        PyErr_SetString(PyExc_TypeError, "scan_keys(buf, pos, base, db, max_len, record, out, "
                                         "expire, idle, freq[, limit[, keys[, packed[, sink]]]])");
        return NULL;
    }
    Py_ssize_t limit = PY_SSIZE_T_MAX;
    if (nargs >= 11) {
        limit = PyLong_AsSsize_t(args[10]);
        if (limit == -1 && PyErr_Occurred())
            return NULL;
    }
    KeySetObject *keys = NULL;
    uint64_t dbnum = 0;
    PyObject *packed = nargs >= 13 && args[12] != Py_None ? args[12] : NULL;
    PyObject *sink = nargs == 14 && args[13] != Py_None ? args[13] : NULL;
    if (packed != NULL && !PyDict_Check(packed)) {
        PyErr_SetString(PyExc_TypeError, "scan_keys: packed must be a dict or None");
        return NULL;
    }
    if (nargs >= 12 && args[11] != Py_None) {
        if (!PyObject_TypeCheck(args[11], &KeySetType)) {
            PyErr_SetString(PyExc_TypeError, "scan_keys: keys must be a KeySet or None");
            return NULL;
        }
        keys = (KeySetObject *)args[11];
        dbnum = PyLong_AsUnsignedLongLong(args[3]);
        if (dbnum == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *buf = args[0], *db = args[3], *cls = args[5], *out = args[6];
    PyObject *expire = args[7], *idle = args[8], *freq = args[9];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    long long base = PyLong_AsLongLong(args[2]);
    if (base == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "scan_keys: out must be a list");
        return NULL;
    }
    int overflow;
    long long ml = PyLong_AsLongLongAndOverflow(args[4], &overflow);
    if (ml == -1 && PyErr_Occurred())
        return NULL;
    uint64_t max_len = overflow > 0 ? UINT64_MAX : (uint64_t)ml;
    const Py_ssize_t out_start = PyList_GET_SIZE(out);
    int usable = PyBytes_CheckExact(buf) && pos >= 0 && overflow >= 0 && ml >= 0;
    Py_INCREF(expire);
    Py_INCREF(idle);
    Py_INCREF(freq);
    const uint8_t *p = usable ? (const uint8_t *)PyBytes_AS_STRING(buf) : NULL;
    const Py_ssize_t n = usable ? PyBytes_GET_SIZE(buf) : 0;

    while (pos < n && PyList_GET_SIZE(out) < limit) {
        const Py_ssize_t start = pos;
        const unsigned t = p[pos];
        if (t == 0xFC) { /* EXPIRETIME_MS: ms8 */
            if (pos + 9 > n)
                break;
            PyObject *v = PyLong_FromLongLong(as_i64(rd_u64le(p + pos + 1)));
            if (v == NULL)
                goto error;
            Py_SETREF(expire, v);
            pos += 9;
            continue;
        }
        if (t == 0xFD) { /* EXPIRETIME: i32 seconds */
            if (pos + 5 > n)
                break;
            PyObject *v = PyLong_FromLongLong(as_i32(rd_u32le(p + pos + 1)) * 1000);
            if (v == NULL)
                goto error;
            Py_SETREF(expire, v);
            pos += 5;
            continue;
        }
        if (t == 0xF9) { /* FREQ: u8 */
            if (pos + 2 > n)
                break;
            Py_SETREF(freq, PyLong_FromLong(p[pos + 1])); /* a cached small int */
            pos += 2;
            continue;
        }
        if (t == 0xF8) { /* IDLE: len */
            uint64_t v;
            Py_ssize_t q = pos + 1;
            if (sk_len(p, n, &q, &v) < 0)
                break;
            PyObject *o = PyLong_FromUnsignedLongLong(v);
            if (o == NULL)
                goto error;
            Py_SETREF(idle, o);
            pos = q;
            continue;
        }
        if (t > 20 || !sk_handled[t])
            break;
        /* a key: type, key string, value */
        Py_ssize_t q = pos + 1;
        PyObject *key = sk_bytes_at(p, n, &q, max_len);
        if (key == NULL) {
            PyErr_Clear();
            break;
        }
        PyObject *value, *tname, *enc;
        if (sk_value(t, p, n, &q, max_len, packed, &value, &tname, &enc) < 0) {
            Py_DECREF(key);
            PyErr_Clear();
            break;
        }
        if (keys != NULL) { /* a key already read in this db: the Python path raises */
            uint64_t d;
            int added = ks_digest(key, dbnum, &d) < 0 ? -1 : ks_add(keys, d);
            if (added <= 0) {
                Py_DECREF(key);
                Py_DECREF(value);
                if (added < 0)
                    goto error;
                break;
            }
        }
        int declined = 0;
        if (sink != NULL) { /* offered first: what it takes is applied, not delivered */
            PyObject *sargs[8] = {db, key, tname, value, expire, idle, freq, enc};
            PyObject *took = PyObject_Vectorcall(sink, sargs, 8, NULL);
            int yes = took != NULL ? PyObject_IsTrue(took) : -1;
            Py_XDECREF(took);
            if (yes < 0) {
                Py_DECREF(key);
                Py_DECREF(value);
                goto error;
            }
            if (yes) {
                Py_DECREF(key);
                Py_DECREF(value);
                Py_SETREF(expire, Py_NewRef(Py_None));
                Py_SETREF(idle, Py_NewRef(Py_None));
                Py_SETREF(freq, Py_NewRef(Py_None));
                pos = q;
                continue;
            }
            declined = 1; /* delivered, and nothing after it is offered before it is used */
        }
        PyObject *off = PyLong_FromLongLong(base + (long long)start);
        PyObject *tb = PyLong_FromLong((long)t);
        if (off == NULL || tb == NULL) {
            Py_XDECREF(off);
            Py_XDECREF(tb);
            Py_DECREF(key);
            Py_DECREF(value);
            goto error;
        }
        PyObject *rargs[11] = {db, key, tname, value, expire, idle, freq, Py_None, enc, tb, off};
        PyObject *rec = PyObject_Vectorcall(cls, rargs, 11, NULL);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_DECREF(off);
        Py_DECREF(tb);
        if (rec == NULL)
            goto error;
        int rc = PyList_Append(out, rec);
        Py_DECREF(rec);
        if (rc < 0)
            goto error;
        if (expire != Py_None)
            Py_SETREF(expire, Py_NewRef(Py_None));
        if (idle != Py_None)
            Py_SETREF(idle, Py_NewRef(Py_None));
        if (freq != Py_None)
            Py_SETREF(freq, Py_NewRef(Py_None));
        pos = q;
        if (declined)
            break;
    }
    PyObject *res = PyTuple_New(4);
    PyObject *po = PyLong_FromSsize_t(pos);
    if (res == NULL || po == NULL) {
        Py_XDECREF(res);
        Py_XDECREF(po);
        goto error;
    }
    PyTuple_SET_ITEM(res, 0, po);
    PyTuple_SET_ITEM(res, 1, expire);
    PyTuple_SET_ITEM(res, 2, idle);
    PyTuple_SET_ITEM(res, 3, freq);
    return res;
error: /* not a data problem (no memory, an interrupt in Record()): propagate it, with
        * nothing consumed: the records of this call are taken back out of `out` */
    {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (PyList_GET_SIZE(out) > out_start &&
            PyList_SetSlice(out, out_start, PyList_GET_SIZE(out), NULL) < 0)
            PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    Py_DECREF(expire);
    Py_DECREF(idle);
    Py_DECREF(freq);
    return NULL;
}
