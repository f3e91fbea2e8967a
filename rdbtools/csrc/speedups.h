/* What the parts of rdbtools._speedups share: one extension module built from the
 * .c files of this directory (setup.py), one file per concern:
 *
 *   speedups.c    the module: its functions, their docstrings, the shared state
 *   listpack.c    \
 *   ziplist.c      } blob decoders (rdbtools/encodings/listpack.py, ziplist.py, intset.py)
 *   intset.c      / (intset.c also: a small set's in-place intset operations,
 *                   rdbtools/encodings/intset_ops.py)
 *   lpentry.c     \ listpack entries and the deep checks (a listpack, pairs), the in-place
 *   lpops.c       / listpack-of-pairs operations (rdbtools/encodings/listpack_ops.py)
 *   zsetlp.c      a sorted set's listpack operations (rdbtools/encodings/listpack_zset.py)
 *   quicklist.c   a list's quicklist of listpack nodes (rdbtools/encodings/quicklist_ops.py)
 *   pairs.c       zset/hash pairing of decoded blobs (rdbtools/values.py)
 *   lzf.c         the one LZF decoder in C (rdbtools/lzf.py), also the scan's
 *   lzfc.c        the LZF compressor (rdbtools/lzf.py), save_string's
 *   keyset.c      the duplicate-key digest set (rdbtools/keyset.py)
 *   scan.c        the decoder's key scan (rdbtools/decoder.py) ...
 *   scan_value.c  ... and the values it builds (rdbtools/values.py)
 *   jsontext.c    JSON text into a growing buffer ...
 *   jsonl.c       ... and records as JSONL lines (rdbtools/jsonl.py)
 *   hll.c         the sparse HyperLogLog update (engine/types/hyperloglog.py)
 *   digest.c      DEBUG DIGEST's construction with its SHA-1 (rdbtools/digest.py)
 *   rdbstr.c      an RDB string as rdbSaveRawString writes it (rdbtools/primitives.py)
 *   snapshot.c    a database's keys written in one pass, SAVE's loop (rdbtools/snapshot.py)
 *   streamlp.c    a stream's node listpacks as XADD builds them (rdbtools/objects/streams.py)
 *   streamread.c  ... and read back from a value, with their layout (the same module)
 *   runs.c        a run of fixed-size records sorted in place (rdbtools/spill.py)
 *
 * They are one extension, not several, because the scan calls the decoders, the
 * pairing, the LZF decoder and the digest set directly, per key: separate modules
 * would need a C-API capsule between them, and two copies of KeySet would be two
 * Python types. Symbols are hidden (-fvisibility=hidden): only PyInit__speedups
 * leaves the shared object. The hot little helpers are static inline here.
 *
 * The Python files named above define the semantics (results, errors, offsets);
 * this code only makes them fast, and tests/rdbtools/test_speedups.py,
 * test_fastpath.py and test_keyset.py hold the two to the same answers.
 */

#ifndef RDBTOOLS_SPEEDUPS_H
#define RDBTOOLS_SPEEDUPS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ shared state
 * Set up once by PyInit__speedups (speedups.c). */

extern PyObject *BadEncoding;  /* rdbtools.errors.BadEncoding */
extern PyObject *str_blob;     /* "blob" */
/* Record.type values, interned: the scan makes them, the JSONL writer compares them. */
extern PyObject *s_string, *s_list, *s_set, *s_zset, *s_hash;

/* Cached decimal-text bytes for -128..127 (7-bit uints, ziplist imm and int8). */
#define TEXT_CACHE_MIN (-128)
#define TEXT_CACHE_MAX 127
extern PyObject *text_cache[TEXT_CACHE_MAX - TEXT_CACHE_MIN + 1];

/* ------------------------------------------------------------------ byte readers */

static inline uint16_t
rd_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((unsigned)p[1] << 8));
}

static inline uint32_t
rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t
rd_u32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static inline uint64_t
rd_u64le(const uint8_t *p)
{
    return (uint64_t)rd_u32le(p) | ((uint64_t)rd_u32le(p + 4) << 32);
}

static inline uint64_t
rd_u64be(const uint8_t *p)
{
    return ((uint64_t)rd_u32be(p) << 32) | (uint64_t)rd_u32be(p + 4);
}

static inline int64_t
as_i16(uint32_t u)
{
    return u >= 0x8000u ? (int64_t)u - 0x10000 : (int64_t)u;
}

static inline int64_t
as_i24(uint32_t u)
{
    return u >= 0x800000u ? (int64_t)u - 0x1000000 : (int64_t)u;
}

static inline int64_t
as_i32(uint32_t u)
{
    return u >= 0x80000000u ? (int64_t)u - 0x100000000LL : (int64_t)u;
}

static inline int64_t
as_i64(uint64_t u)
{
    /* two's complement without implementation-defined conversions */
    if (u >> 63)
        return -(int64_t)(~u) - 1;
    return (int64_t)u;
}

/* ------------------------------------------------------------------ integers as text */

/* Decimal text of v into buf (at least 21 bytes); returns the length. */
static inline Py_ssize_t
fmt_i64(char *buf, int64_t v)
{
    char tmp[24];
    int i = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[i++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    Py_ssize_t n = 0;
    if (v < 0)
        buf[n++] = '-';
    while (i)
        buf[n++] = tmp[--i];
    return n;
}

/* b"%d" % v */
static inline PyObject *
int_text(int64_t v)
{
    if (v >= TEXT_CACHE_MIN && v <= TEXT_CACHE_MAX) {
        PyObject *o = text_cache[v - TEXT_CACHE_MIN];
        Py_INCREF(o);
        return o;
    }
    char buf[24];
    Py_ssize_t n = fmt_i64(buf, v);
    return PyBytes_FromStringAndSize(buf, n);
}

static inline PyObject *
int_item(int64_t v, int text)
{
    return text ? int_text(v) : PyLong_FromLongLong(v);
}

/* ------------------------------------------------------------------ building lists */

/* Append `item` (stolen) to `out`; fills preallocated slots first. */
static inline int
put(PyObject *out, Py_ssize_t *idx, Py_ssize_t cap, PyObject *item)
{
    if (item == NULL)
        return -1;
    if (*idx < cap) {
        PyList_SET_ITEM(out, *idx, item);
    }
    else {
        int rc = PyList_Append(out, item);
        Py_DECREF(item);
        if (rc < 0)
            return -1;
    }
    (*idx)++;
    return 0;
}

static inline int
is_atom(PyObject *o)
{
    return PyBytes_CheckExact(o) || PyFloat_CheckExact(o) || PyLong_CheckExact(o);
}

/* Untrack a fresh 2-tuple of atoms (bytes, float, int) from the cyclic GC at
 * once, as the collector itself would at its next pass (_PyTuple_MaybeUntrack):
 * decoding a big file makes millions of these, and every collection would
 * walk them until then. Returns t. */
static inline PyObject *
untrack_pair(PyObject *t)
{
    if (t != NULL && is_atom(PyTuple_GET_ITEM(t, 0)) && is_atom(PyTuple_GET_ITEM(t, 1)))
        PyObject_GC_UnTrack(t);
    return t;
}

/* A list with room for `count` entries when the header's count is plausible for
 * a blob of `room` bytes holding entries of at least `min_entry` bytes. */
static inline PyObject *
new_out(Py_ssize_t count, Py_ssize_t room, Py_ssize_t min_entry, Py_ssize_t *cap)
{
    *cap = (count >= 0 && count <= room / min_entry) ? count : 0;
    return PyList_New(*cap);
}

/* A list built with new_out() must be complete before it is returned. */
static inline PyObject *
finish_out(PyObject *out, Py_ssize_t idx, Py_ssize_t cap)
{
    if (idx < cap) {
        /* Unreachable (the count check fails first); never return NULL slots. */
        Py_DECREF(out);
        PyErr_SetString(PyExc_SystemError, "rdbtools._speedups: incomplete list");
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------ speedups.c */

/* Raise BadEncoding(message, offset=offset); offset < 0 means offset=None. */
void bad(Py_ssize_t offset, const char *fmt, ...);
/* Raise BadEncoding(msg) (offset None); steals msg. */
void raise_msg(PyObject *msg);
/* A decoder of the blob p[0:n] (text: integers as their decimal bytes). */
typedef PyObject *(*blob_fn)(const uint8_t *p, Py_ssize_t n, int text);
/* decode() over the bytes of `blob`, read as `bytes(blob)` would read them. */
PyObject *decode_blob(PyObject *blob, blob_fn decode, int text);
/* One positional-or-keyword argument named `name` (vectorcall convention). */
PyObject *one_arg(const char *func, PyObject *name, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames);

/* The module function `pyname(blob)`, returning `call` (an expression of blob). */
#define BLOB_FUNC(pyname, call)                                                           \
    PyObject *pyname(PyObject *self, PyObject *const *args, Py_ssize_t nargs,             \
                     PyObject *kwnames)                                                   \
    {                                                                                     \
        PyObject *blob = one_arg(#pyname, str_blob, args, nargs, kwnames);                \
        return blob ? (call) : NULL;                                                      \
    }

/* ------------------------------------------------------------------ blob decoders
 * A list of the entries of the blob p[0:n]: integers as int, or with `text` as
 * their decimal bytes; NULL with BadEncoding (offset relative to p) if invalid. */

PyObject *lp_decode_raw(const uint8_t *p, Py_ssize_t n, int text);
PyObject *zl_decode_raw(const uint8_t *p, Py_ssize_t n, int text);
/* buflen: the bytes really readable at p (n is what len() said). */
PyObject *is_decode_raw(const uint8_t *p, Py_ssize_t n, Py_ssize_t buflen, int text);

/* ------------------------------------------------------------------ pairs.c */

int pairs_init(void);
/* values._zset_pairs / values._pairs of a decoded blob. */
PyObject *zset_pairs_impl(PyObject *items);
PyObject *hash_pairs_impl(PyObject *items, PyObject *what);
/* [(v[0], v[1]), (v[2], v[3]), ...]: list(zip(it, it)) over len items. */
PyObject *pair_up(PyObject *const *v, Py_ssize_t len);
/* float(s) for exact bytes in plain decimal form; NULL without an error set
 * means "not that simple": the caller falls back to float() itself. */
PyObject *plain_float(PyObject *s);
/* float(text) of a plain decimal, b NUL-terminated: 1 with *out, or 0 (not that form);
 * with out NULL, only whether it has that form (b need not be NUL-terminated) */
int decimal_value(const char *b, Py_ssize_t len, double *out);

/* ------------------------------------------------------------------ lzf.c */

/* What lzf_decode found wrong, one code per message of rdbtools.lzf._decompress_py. */
enum {
    LZF_OK = 0,
    LZF_E_LITERAL = -1,      /* literal run past the end (of the input or the output) */
    LZF_E_TRUNCATED = -2,    /* truncated back-reference */
    LZF_E_BEFORE_START = -3, /* back-reference before the start */
    LZF_E_TOO_LONG = -4,     /* output longer than declared */
    LZF_E_SHORT = -5,        /* input used up before out_len bytes were made */
};

/* Decompress in[0:in_len] into exactly out_len bytes at out (liblzf's stream
 * format); LZF_OK or an error code, with *made = the bytes written. */
int lzf_decode(const uint8_t *in, Py_ssize_t in_len, uint8_t *out, Py_ssize_t out_len,
               Py_ssize_t *made);

/* lzfc.c: compress in[0:n] into out (room for out_len + 8 bytes) as liblzf does (the
 * twin of rdbtools.lzf._compress_py); the length, or 0 when it would not fit out_len. */
Py_ssize_t lzf_encode(const uint8_t *in, Py_ssize_t n, uint8_t *out, Py_ssize_t out_len);

/* ------------------------------------------------------------------ keyset.c */

typedef struct {
    PyObject_HEAD
    uint64_t *slots;
    size_t mask; /* capacity - 1 (capacity is a power of two) */
    size_t count;
} KeySetObject;

extern PyTypeObject KeySetType;
/* The digest of (db, key); 0, or -1 with an error set. */
int ks_digest(PyObject *key, uint64_t db, uint64_t *out);
/* 1: added, 0: already there, -1: error. */
int ks_add(KeySetObject *ks, uint64_t d);

/* ------------------------------------------------------------------ scan.c, scan_value.c */

int scan_init(void);

/* primitives.load_len: 0 with *v set and *pos advanced, or -1 (stop). */
static inline int
sk_len(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t *v)
{
    Py_ssize_t i = *pos;
    if (i >= n)
        return -1;
    unsigned b = p[i];
    if (b < 0x40) {
        *v = b;
        *pos = i + 1;
        return 0;
    }
    if (b < 0x80) {
        if (i + 2 > n)
            return -1;
        *v = ((uint64_t)(b & 0x3F) << 8) | p[i + 1];
        *pos = i + 2;
        return 0;
    }
    if (b == 0x80) {
        if (i + 5 > n)
            return -1;
        *v = rd_u32be(p + i + 1);
        *pos = i + 5;
        return 0;
    }
    if (b == 0x81) {
        if (i + 9 > n)
            return -1;
        *v = rd_u64be(p + i + 1);
        *pos = i + 9;
        return 0;
    }
    return -1; /* 0x82..0xBF unknown, 0xC0.. an encoded string */
}

/* One RDB string, as primitives.load_string reads it: either bytes inside the
 * buffer, the decimal text of an INT8/16/32, or an LZF-decompressed bytes. */
typedef struct {
    const uint8_t *s;
    Py_ssize_t len;
    PyObject *obj; /* owned bytes holding s (LZF), else NULL */
    char num[24];
} SkStr;

int sk_str(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len, SkStr *r);

static inline void
sk_release(SkStr *r)
{
    Py_CLEAR(r->obj);
}

/* Read one string and return it as bytes, or NULL (stop). */
static inline PyObject *
sk_bytes_at(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len)
{
    SkStr r;
    if (sk_str(p, n, pos, max_len, &r) < 0)
        return NULL;
    if (r.obj != NULL) /* LZF: already a bytes object */
        return r.obj;
    return PyBytes_FromStringAndSize((const char *)r.s, r.len);
}
/* values.load_value for the types scan_keys handles: 0 with the value, its type
 * name and encoding (borrowed), or -1 to stop. `packed` (or NULL): a dict of type
 * byte -> the factory of a blob kept as its bytes (rdbtools.objects.table.PACKED_FACTORIES:
 * a hash or zset listpack, a set intset, a list's quicklist nodes). */
int sk_value(unsigned t, const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len,
             PyObject *packed, PyObject **value, PyObject **tname, PyObject **enc);

/* ------------------------------------------------------------------ lpentry.c, lpops.c */

/* One entry: a string (s, len) or an integer (v); next is the following entry. */
typedef struct {
    const uint8_t *s;
    Py_ssize_t len;
    int64_t v;
    int is_int;
    Py_ssize_t size; /* encoding + data, without the backlen */
    Py_ssize_t next;
} LpEnt;

/* The entry at pos of p[0:n] (lpGet + lpSkip): 0, or -1 when it is not a whole entry
 * before the end marker at n - 1. The one listpack entry reader: aof._respfast (LRANGE's
 * reply) gets it through the capsule rdbtools._speedups.lp_ent_api. */
int lp_ent(const uint8_t *p, Py_ssize_t n, Py_ssize_t pos, LpEnt *e);
/* Bytes of the backlen of an entry of `size` bytes (encoding + data). */
static inline Py_ssize_t
lp_backlen_size(uint64_t size)
{
    return size <= 127 ? 1 : size < 16383 ? 2 : size < 2097151 ? 3 : size < 268435455 ? 4 : 5;
}
/* lpEncodeBacklen of `size` into b; returns its length. */
Py_ssize_t lp_put_backlen(uint64_t size, uint8_t *b);

/* lpops.c's pieces the zset operations share (zsetlp.c): BadEncoding for a damaged
 * entry at pos (returns -2); lpFind of a field (skip=1): its offset, -1 absent, -2
 * error; the entry lpAppend writes for s[0:len] into out (at most lp_encoded_max(len)
 * bytes), its length returned; lp[a:b] = new[0:m] with the header updated (count moved
 * by delta); the bytearray check of an argument. */
int lp_corrupt(Py_ssize_t pos);
Py_ssize_t lp_find_field(const uint8_t *p, Py_ssize_t n, const uint8_t *s, Py_ssize_t slen);
/* lpFind with skip 0 (a set's members) or 1 (lp_find_field). */
Py_ssize_t lp_find_entry(const uint8_t *p, Py_ssize_t n, const uint8_t *s, Py_ssize_t slen, int skip);
Py_ssize_t lp_encode_item(const uint8_t *s, Py_ssize_t len, uint8_t *out);
Py_ssize_t lp_encoded_max(Py_ssize_t len);
int lp_splice(PyObject *lp, Py_ssize_t a, Py_ssize_t b, const uint8_t *new, Py_ssize_t m, int delta);
int lp_check(PyObject *lp, const char *func);
/* string2ll (rdbtools/numbers.py): 1 and *out when s[0:len] canonically spells an int64
 * (lpops.c; rdbstr.c's integer strings too) */
int canon_ll(const uint8_t *s, Py_ssize_t len, int64_t *out);
/* zsetlp.c: 1 when every score entry of the listpack of pairs p[0:n] (already checked by
 * lp_pairs_ok) parses as a double, else 0 (no error set). */
int zl_scores_ok(const uint8_t *p, Py_ssize_t n);

/* 1 when p[0:n] is a valid listpack of unique pairs (*entries: its entry count),
 * 0 when it is not, -1 with MemoryError. */
int lp_pairs_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *entries);
/* 1 when p[0:n] is an intset intsetValidateIntegrity accepts deeply (*count: its
 * member count), else 0 (intset.c). */
int is_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *count);
/* lpops.c, shared with quicklist.c: an entry's text as bytes. */
PyObject *ent_bytes(const LpEnt *e);
/* lpentry.c: the deep check of one listpack (1 valid, 0 not); quicklist.c: the nodes
 * of a quicklist-2 value kept as their bytes for a packed load (factory(nodes, count)). */
int lp_list_ok(const uint8_t *p, Py_ssize_t n, Py_ssize_t *entries);
PyObject *sk_quicklist_packed(const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos, uint64_t max_len,
                              PyObject *factory);

/* ------------------------------------------------------------------ jsontext.c */

/* A growing output buffer, on the stack until it outgrows 2 KiB. */
typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    char stack[2048];
} WBuf;

void wb_init(WBuf *w);
void wb_free(WBuf *w);
/* Room for `extra` more bytes; -1 with MemoryError set on failure. */
int wb_grow(WBuf *w, Py_ssize_t extra);

static inline int
wb_reserve(WBuf *w, Py_ssize_t extra)
{
    return w->cap - w->len >= extra ? 0 : wb_grow(w, extra);
}

static inline int
wb_put(WBuf *w, const char *s, Py_ssize_t n)
{
    if (wb_reserve(w, n) < 0)
        return -1;
    memcpy(w->buf + w->len, s, (size_t)n);
    w->len += n;
    return 0;
}

#define WB_LIT(w, lit) wb_put((w), (lit), (Py_ssize_t)(sizeof(lit) - 1))

static inline int
wb_char(WBuf *w, char c)
{
    if (wb_reserve(w, 1) < 0)
        return -1;
    w->buf[w->len++] = c;
    return 0;
}

static inline int
wb_i64(WBuf *w, int64_t v)
{
    if (wb_reserve(w, 24) < 0)
        return -1;
    w->len += fmt_i64(w->buf + w->len, v);
    return 0;
}

void jsontext_init(void);
/* jsonl._s(b): the JSON text of jbytes(b) (a string, or {"base64": ...}). */
int wb_jbytes(WBuf *w, const uint8_t *s, Py_ssize_t n);
/* jsonl._score(d) for a non-NaN d: repr(d), or "inf"/"-inf" as JSON strings. */
int wb_score(WBuf *w, double d);

/* ------------------------------------------------------------------ rdbstr.c */

/* rdbSaveLen into out (at most 9 bytes): the number of bytes written. */
int rdb_put_len(uint8_t *out, uint64_t n);
/* rdbSaveRawString of s[0:n] (held by obj) appended to w; lzf NULL: the default
 * compressor. 0, or -1 with an error set. */
int wb_save_string(WBuf *w, PyObject *obj, const uint8_t *s, Py_ssize_t n, int compress, PyObject *lzf);

/* ------------------------------------------------------------------ jsonl.c */

int jsonl_init(void);

/* ------------------------------------------------------------------ module functions
 * Defined in the files above; listed with their docstrings in speedups.c. */

PyObject *decode_listpack(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *decode_listpack_strings(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *decode_ziplist(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *decode_ziplist_strings(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *decode_intset(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *decode_intset_strings(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *zset_pairs(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *hash_pairs(PyObject *, PyObject *, PyObject *);
PyObject *lzf_decompress(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *scan_keys(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *record_to_line(PyObject *, PyObject *);
PyObject *records_to_jsonl(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *hll_sparse_set(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lp_pairs_get(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lp_pairs_set(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lp_pairs_delete(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lp_length(PyObject *, PyObject *);
PyObject *lp_pairs_check(PyObject *, PyObject *);
PyObject *digest_add(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *save_string(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
PyObject *digest_record(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *digest_sha1(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *sort_runs(PyObject *, PyObject *);
PyObject *zl_score(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *zl_insert(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *zl_delete(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *zl_pairs(PyObject *, PyObject *);
PyObject *zl_rank(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *zl_slice(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *zl_score_range(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_find(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_add(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_add_all(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_remove(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_get(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_pop(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *is_check(PyObject *, PyObject *);
PyObject *lpl_push(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_pop(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_get(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_replace(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_insert(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_delete(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *ql_push(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *ql_pop(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *ql_get(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *ql_range(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lpl_check(PyObject *, PyObject *);
PyObject *ll_incr_text(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *ll_parse(PyObject *, PyObject *);
PyObject *ql_locate(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *snapshot_keys(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *stream_nodes(PyObject *, PyObject *const *, Py_ssize_t);
/* streamlp.c: stream_nodes of a live stream kept as int ids and a dict id -> flat list. */
PyObject *stream_nodes_of(PyObject *ids, PyObject *entries, long long max_bytes, long long max_entries,
                          long version);
/* streamread.c: a stream value's nodes read back; decoded entries as a live stream's indexes. */
PyObject *stream_load_nodes(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *live_form(PyObject *, PyObject *);
PyObject *lzf_fits(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lzf_compress(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lps_find(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lps_add(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lps_remove(PyObject *, PyObject *const *, Py_ssize_t);
PyObject *lps_build(PyObject *, PyObject *);
PyObject *lp_entries_size(PyObject *, PyObject *const *, Py_ssize_t);

#endif /* RDBTOOLS_SPEEDUPS_H */
