/* rdbtools._speedups: the listpack decoder (rdbtools/encodings/listpack.py is the
 * reference; docs/formats.md §3.4). */

#include "speedups.h"

#define LP_HDR_SIZE 6
#define LP_EOF 0xFF
#define LP_HDR_NUMELE_UNKNOWN 0xFFFF

static int
lp_encode_backlen(uint64_t size, uint8_t *out)
{
    if (size <= 127) {
        out[0] = (uint8_t)size;
        return 1;
    }
    if (size < 16383) {
        out[0] = (uint8_t)(size >> 7);
        out[1] = (uint8_t)((size & 127) | 128);
        return 2;
    }
    if (size < 2097151) {
        out[0] = (uint8_t)(size >> 14);
        out[1] = (uint8_t)(((size >> 7) & 127) | 128);
        out[2] = (uint8_t)((size & 127) | 128);
        return 3;
    }
    if (size < 268435455) {
        out[0] = (uint8_t)(size >> 21);
        out[1] = (uint8_t)(((size >> 14) & 127) | 128);
        out[2] = (uint8_t)(((size >> 7) & 127) | 128);
        out[3] = (uint8_t)((size & 127) | 128);
        return 4;
    }
    /* size < 2**32 here: an entry lies inside a blob whose size is a u32 */
    out[0] = (uint8_t)(size >> 28);
    out[1] = (uint8_t)(((size >> 21) & 127) | 128);
    out[2] = (uint8_t)(((size >> 14) & 127) | 128);
    out[3] = (uint8_t)(((size >> 7) & 127) | 128);
    out[4] = (uint8_t)((size & 127) | 128);
    return 5;
}

static void
hex(char *dst, const uint8_t *src, Py_ssize_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* Entry `index` at `pos` whose backlen does not follow `size` bytes. */
static void
lp_bad_backlen(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, uint64_t size, Py_ssize_t index,
               Py_ssize_t end)
{
    uint64_t q = (uint64_t)pos + size;
    if (q >= (uint64_t)end) {
        bad(pos,
            "listpack entry %zd at offset %zd needs %llu bytes plus backlen "
            "but only %zd remain before the end marker",
            index, pos, (unsigned long long)size, end - pos);
        return;
    }
    uint8_t want[5];
    int wl = lp_encode_backlen(size, want);
    Py_ssize_t fl = (Py_ssize_t)q + wl <= n ? wl : n - (Py_ssize_t)q;
    char whex[11], fhex[11];
    hex(whex, want, wl);
    hex(fhex, p + q, fl);
    bad((Py_ssize_t)q,
        "listpack entry %zd at offset %zd: backlen %s does not match "
        "entry size %llu (expected %s)",
        index, pos, fhex, (unsigned long long)size, whex);
}

PyObject *
lp_decode_raw(const uint8_t *p, const Py_ssize_t n, int text)
{
    PyObject *out = NULL;

    if (n < LP_HDR_SIZE + 1) {
        bad(0, "listpack of %zd bytes is shorter than the 7-byte minimum", n);
        goto fail;
    }
    uint32_t total = rd_u32le(p);
    unsigned count = rd_u16le(p + 4);
    if ((uint64_t)total != (uint64_t)n) {
        bad(0, "listpack header says %lu bytes but the blob has %zd", (unsigned long)total, n);
        goto fail;
    }
    const Py_ssize_t end = n - 1;
    if (p[end] != LP_EOF) {
        bad(end, "listpack does not end with 0xff (last byte is 0x%02x)", p[end]);
        goto fail;
    }

    Py_ssize_t idx = 0, cap;
    out = new_out(count == LP_HDR_NUMELE_UNKNOWN ? -1 : (Py_ssize_t)count, end - LP_HDR_SIZE,
                  2, &cap);
    if (out == NULL)
        goto fail;

    Py_ssize_t pos = LP_HDR_SIZE;
    while (pos < end) {
        unsigned b0 = p[pos];
        PyObject *item;
        if (b0 < 0x80) { /* 7-bit uint; pos + 1 <= end */
            if (p[pos + 1] != 1) {
                lp_bad_backlen(p, n, pos, 1, idx, end);
                goto fail;
            }
            item = int_item(b0, text);
            pos += 2;
        }
        else if (b0 < 0xC0) { /* 6-bit string */
            Py_ssize_t size = (Py_ssize_t)b0 - 0x7F;
            Py_ssize_t q = pos + size;
            if (q > end)
                goto past_end;
            if (p[q] != size) {
                lp_bad_backlen(p, n, pos, size, idx, end);
                goto fail;
            }
            item = PyBytes_FromStringAndSize((const char *)p + pos + 1, size - 1);
            pos = q + 1;
        }
        else if (b0 < 0xE0) { /* 13-bit int */
            if (pos + 2 > end)
                goto past_end;
            if (p[pos + 2] != 2) {
                lp_bad_backlen(p, n, pos, 2, idx, end);
                goto fail;
            }
            int64_t v = ((b0 & 0x1F) << 8) | p[pos + 1];
            if (v >= 4096)
                v -= 8192;
            item = int_item(v, text);
            pos += 3;
        }
        else if (b0 <= 0xF0) { /* 12-bit / 32-bit string */
            uint64_t d, q;
            if (b0 < 0xF0) {
                d = (uint64_t)pos + 2;
                q = d + (((b0 & 0x0F) << 8) | p[pos + 1]);
            }
            else {
                if (pos + 5 > n)
                    goto past_end;
                d = (uint64_t)pos + 5;
                q = d + rd_u32le(p + pos + 1);
                if (q >= (uint64_t)end) {
                    lp_bad_backlen(p, n, pos, q - (uint64_t)pos, idx, end);
                    goto fail;
                }
            }
            uint64_t size = q - (uint64_t)pos;
            uint64_t nxt;
            if (size <= 127) {
                if (q > (uint64_t)end)
                    goto past_end;
                if (p[q] != size) {
                    lp_bad_backlen(p, n, pos, size, idx, end);
                    goto fail;
                }
                nxt = q + 1;
            }
            else {
                uint8_t want[5];
                int wl = lp_encode_backlen(size, want);
                nxt = q + (uint64_t)wl;
                if (nxt > (uint64_t)n || memcmp(p + q, want, (size_t)wl) != 0) {
                    lp_bad_backlen(p, n, pos, size, idx, end);
                    goto fail;
                }
            }
            item = PyBytes_FromStringAndSize((const char *)p + d, (Py_ssize_t)(q - d));
            pos = (Py_ssize_t)nxt;
        }
        else if (b0 <= 0xF4) { /* 16/24/32/64-bit int */
            Py_ssize_t size = b0 == 0xF1 ? 3 : b0 == 0xF2 ? 4 : b0 == 0xF3 ? 5 : 9;
            Py_ssize_t q = pos + size;
            if (q > end)
                goto past_end;
            int64_t v;
            if (b0 == 0xF1)
                v = as_i16(rd_u16le(p + pos + 1));
            else if (b0 == 0xF2)
                v = as_i24(p[pos + 1] | ((uint32_t)p[pos + 2] << 8) |
                           ((uint32_t)p[pos + 3] << 16));
            else if (b0 == 0xF3)
                v = as_i32(rd_u32le(p + pos + 1));
            else
                v = as_i64(rd_u64le(p + pos + 1));
            if (p[q] != size) {
                lp_bad_backlen(p, n, pos, size, idx, end);
                goto fail;
            }
            item = int_item(v, text);
            pos = q + 1;
        }
        else if (b0 == LP_EOF) {
            bad(pos,
                "listpack end marker at offset %zd, %zd bytes before the end "
                "(after %zd entries)",
                pos, end - pos, idx);
            goto fail;
        }
        else {
            bad(pos,
                "listpack entry %zd at offset %zd: invalid encoding byte "
                "0x%02x (0xf5..0xfe are not defined)",
                idx, pos, b0);
            goto fail;
        }
        if (put(out, &idx, cap, item) < 0)
            goto fail;
    }
    if (pos != end) {
        /* Only a multi-byte backlen that swallowed the 0xFF marker gets here. */
        bad(end, "listpack entry %zd overlaps the end marker at offset %zd", idx - 1, end);
        goto fail;
    }
    if (count != LP_HDR_NUMELE_UNKNOWN && (Py_ssize_t)count != idx) {
        bad(4, "listpack header counts %u entries but %zd were found", count, idx);
        goto fail;
    }
    return finish_out(out, idx, cap);

past_end:
    bad(pos, "listpack entry %zd at offset %zd runs past the end of the blob", idx, pos);
fail:
    Py_XDECREF(out);
    return NULL;
}

BLOB_FUNC(decode_listpack, decode_blob(blob, lp_decode_raw, 0))
BLOB_FUNC(decode_listpack_strings, decode_blob(blob, lp_decode_raw, 1))
