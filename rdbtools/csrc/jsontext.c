/* rdbtools._speedups: JSON text into a growing buffer, for the JSONL writer (jsonl.c):
 * byte strings as rdbtools/jsonl.py's _s() writes them (json.dumps of a str, with
 * ensure_ascii=False, when they are valid UTF-8, else {"base64": ...}) and scores
 * as its _score() does. */

#include "speedups.h"

void
wb_init(WBuf *w)
{
    w->buf = w->stack;
    w->len = 0;
    w->cap = sizeof w->stack;
}

void
wb_free(WBuf *w)
{
    if (w->buf != w->stack)
        PyMem_Free(w->buf);
}

int
wb_grow(WBuf *w, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX / 2 - w->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = w->len + extra, cap = w->cap * 2;
    if (cap < need)
        cap = need;
    char *nb;
    if (w->buf == w->stack) {
        nb = PyMem_Malloc((size_t)cap);
        if (nb != NULL)
            memcpy(nb, w->buf, (size_t)w->len);
    }
    else {
        nb = PyMem_Realloc(w->buf, (size_t)cap);
    }
    if (nb == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

/* Length of the valid UTF-8 (as CPython's strict decoder defines it: no
 * overlongs, no surrogates, nothing above U+10FFFF) at s, or -1. */
static int
utf8_valid(const uint8_t *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (x & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c < 0xC2 || c > 0xF4)
            return 0;
        if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
            continue;
        }
        if (c < 0xF0) {
            if (i + 2 >= n)
                return 0;
            unsigned c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return 0;
            if (c == 0xE0 && c1 < 0xA0)
                return 0; /* overlong */
            if (c == 0xED && c1 > 0x9F)
                return 0; /* surrogate */
            i += 3;
            continue;
        }
        if (i + 3 >= n)
            return 0;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && c1 < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && c1 > 0x8F)
            return 0; /* above U+10FFFF */
        i += 4;
    }
    return 1;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Which bytes encode_basestring rewrites: '"', '\\' and the C0 controls. */
static uint8_t json_esc[256];

int
wb_jbytes(WBuf *w, const uint8_t *s, Py_ssize_t n)
{
    if (!utf8_valid(s, n)) {
        Py_ssize_t out = 4 * ((n + 2) / 3);
        if (wb_reserve(w, out + 14) < 0)
            return -1;
        char *o = w->buf + w->len;
        memcpy(o, "{\"base64\":\"", 11);
        o += 11;
        Py_ssize_t i = 0;
        for (; i + 3 <= n; i += 3) {
            uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = b64chars[(v >> 6) & 63];
            *o++ = b64chars[v & 63];
        }
        if (n - i == 1) {
            uint32_t v = (uint32_t)s[i] << 16;
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = '=';
            *o++ = '=';
        }
        else if (n - i == 2) {
            uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
            *o++ = b64chars[v >> 18];
            *o++ = b64chars[(v >> 12) & 63];
            *o++ = b64chars[(v >> 6) & 63];
            *o++ = '=';
        }
        *o++ = '"';
        *o++ = '}';
        w->len = o - w->buf;
        return 0;
    }
    if (wb_reserve(w, 6 * n + 2) < 0)
        return -1;
    char *o = w->buf + w->len;
    *o++ = '"';
    Py_ssize_t i = 0, run = 0;
    while (i < n) {
        run = i;
        while (i < n && !json_esc[s[i]])
            i++;
        memcpy(o, s + run, (size_t)(i - run));
        o += i - run;
        if (i >= n)
            break;
        unsigned c = s[i++];
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789abcdef"[c >> 4];
            *o++ = "0123456789abcdef"[c & 15];
        }
    }
    *o++ = '"';
    w->len = o - w->buf;
    return 0;
}

void
jsontext_init(void)
{
    for (int c = 0; c < 0x20; c++)
        json_esc[c] = 1;
    json_esc['"'] = json_esc['\\'] = 1;
}

int
wb_score(WBuf *w, double d)
{
    if (Py_IS_INFINITY(d))
        return d > 0 ? WB_LIT(w, "\"inf\"") : WB_LIT(w, "\"-inf\"");
    char *r = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL)
        return -1;
    int rc = wb_put(w, r, (Py_ssize_t)strlen(r));
    PyMem_Free(r);
    return rc;
}

