/* rdbtools._speedups: the ziplist decoder (rdbtools/encodings/ziplist.py is the
 * reference; docs/formats.md §3.2). */

#include "speedups.h"

#define ZIPLIST_HEADER_SIZE 10
#define ZIPLIST_LEN_UNKNOWN 0xFFFF
#define ZIP_END 0xFF
#define ZIP_BIG_PREVLEN 0xFE

PyObject *
zl_decode_raw(const uint8_t *p, const Py_ssize_t n, int text)
{
    PyObject *out = NULL;

    if (n < ZIPLIST_HEADER_SIZE + 1) {
        bad(0, "ziplist of %zd bytes is shorter than the 11-byte minimum", n);
        goto fail;
    }
    uint32_t zlbytes = rd_u32le(p), zltail = rd_u32le(p + 4);
    unsigned zllen = rd_u16le(p + 8);
    if ((uint64_t)zlbytes != (uint64_t)n) {
        bad(0, "ziplist header says %lu bytes but the blob has %zd", (unsigned long)zlbytes, n);
        goto fail;
    }
    const Py_ssize_t end = n - 1;
    if (p[end] != ZIP_END) {
        bad(end, "ziplist does not end with 0xff (last byte is 0x%02x)", p[end]);
        goto fail;
    }
    if ((uint64_t)zltail > (uint64_t)end) {
        bad(4, "ziplist tail offset %lu is past the end marker at %zd", (unsigned long)zltail,
            end);
        goto fail;
    }

    Py_ssize_t idx = 0, cap;
    out = new_out(zllen == ZIPLIST_LEN_UNKNOWN ? -1 : (Py_ssize_t)zllen,
                  end - ZIPLIST_HEADER_SIZE, 2, &cap);
    if (out == NULL)
        goto fail;

    uint64_t prev_size = 0;
    Py_ssize_t pos = ZIPLIST_HEADER_SIZE; /* invariant: pos <= end */
    for (;;) {
        uint64_t prevlen = p[pos];
        Py_ssize_t h;
        if (prevlen == ZIP_END)
            break;
        if (prevlen < ZIP_BIG_PREVLEN) {
            h = pos + 1;
        }
        else {
            if (pos + 5 > n)
                goto past_end;
            prevlen = rd_u32le(p + pos + 1);
            h = pos + 5;
        }
        if (prevlen != prev_size) {
            bad(pos,
                "ziplist entry %zd at offset %zd: prevlen %llu does not match "
                "the previous entry's size %llu",
                idx, pos, (unsigned long long)prevlen, (unsigned long long)prev_size);
            goto fail;
        }
        if (h >= n)
            goto past_end;
        unsigned e = p[h];
        PyObject *item;
        uint64_t q;
        if (e < 0xC0) { /* strings */
            uint64_t d;
            if (e < 0x40) {
                d = (uint64_t)h + 1;
                q = d + e;
            }
            else if (e < 0x80) {
                if (h + 1 >= n)
                    goto past_end;
                d = (uint64_t)h + 2;
                q = d + (((e & 0x3F) << 8) | p[h + 1]);
            }
            else {
                if (h + 5 > n)
                    goto past_end;
                d = (uint64_t)h + 5;
                q = d + rd_u32be(p + h + 1);
            }
            if (q > (uint64_t)end)
                goto needs;
            item = PyBytes_FromStringAndSize((const char *)p + d, (Py_ssize_t)(q - d));
        }
        else if (e >= 0xF1 && e <= 0xFD) { /* immediate 0..12; h < end since p[end] is 0xFF */
            q = (uint64_t)h + 1;
            item = int_item((int64_t)(e & 0x0F) - 1, text);
        }
        else if (e == 0xFE) { /* int8 */
            q = (uint64_t)h + 2;
            if (q > (uint64_t)end)
                goto needs;
            unsigned u = p[h + 1];
            item = int_item(u >= 128 ? (int64_t)u - 256 : (int64_t)u, text);
        }
        else {
            Py_ssize_t w;
            if (e == 0xC0)
                w = 2;
            else if (e == 0xF0)
                w = 3;
            else if (e == 0xD0)
                w = 4;
            else if (e == 0xE0)
                w = 8;
            else {
                bad(h, "ziplist entry %zd at offset %zd: invalid encoding byte 0x%02x", idx, pos,
                    e);
                goto fail;
            }
            q = (uint64_t)h + 1 + (uint64_t)w;
            if (q > (uint64_t)n) /* the data itself is cut off */
                goto past_end;
            if (q > (uint64_t)end)
                goto needs;
            const uint8_t *s = p + h + 1;
            int64_t v;
            if (w == 2)
                v = as_i16(rd_u16le(s));
            else if (w == 3)
                v = as_i24(s[0] | ((uint32_t)s[1] << 8) | ((uint32_t)s[2] << 16));
            else if (w == 4)
                v = as_i32(rd_u32le(s));
            else
                v = as_i64(rd_u64le(s));
            item = int_item(v, text);
        }
        if (put(out, &idx, cap, item) < 0)
            goto fail;
        prev_size = q - (uint64_t)pos;
        pos = (Py_ssize_t)q;
        continue;
    needs:
        bad(pos,
            "ziplist entry %zd at offset %zd needs %llu bytes "
            "but only %zd remain before the end marker",
            idx, pos, (unsigned long long)(q - (uint64_t)pos), end - pos);
        goto fail;
    }
    if (pos != end) {
        bad(pos,
            "ziplist end marker at offset %zd, %zd bytes before the end "
            "(after %zd entries)",
            pos, end - pos, idx);
        goto fail;
    }
    long long last = (long long)end - (long long)prev_size; /* start of the last entry */
    if (idx && (long long)zltail != last) {
        bad(4, "ziplist tail offset %lu does not point at the last entry (offset %lld)",
            (unsigned long)zltail, last);
        goto fail;
    }
    if (zllen != ZIPLIST_LEN_UNKNOWN && (Py_ssize_t)zllen != idx) {
        bad(8, "ziplist header counts %u entries but %zd were found", zllen, idx);
        goto fail;
    }
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "ziplist entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    return NULL;
}

BLOB_FUNC(decode_ziplist, decode_blob(blob, zl_decode_raw, 0))
BLOB_FUNC(decode_ziplist_strings, decode_blob(blob, zl_decode_raw, 1))
