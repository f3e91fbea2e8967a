/* Redis's dataset digest (DEBUG DIGEST, `rdbkit check --digest`) in C: one key's
 * digest and its fold into the dataset's, for strings, lists, sets, hashes and sorted
 * sets and streams (their entries; consumer groups are not part of it). The Python
 * module rdbtools/digest.py defines the construction and is the reference;
 * tests/rdbtools/test_digest_accel.py holds the two to the same digests.
 *
 * The digest is made of SHA-1 (FIPS 180-4) calls on short inputs, millions of them for
 * a large file, so the hash is here too: a plain one-block-at-a-time implementation
 * written from the standard. xor(d, s): d ^= SHA1(s); mix(d, s): xor then d = SHA1(d). */

#include "speedups.h"

#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* One 64-byte block into the state, portable C. */
static void
sha1_block_c(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = rd_u32be(p + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
#define STEP(f, k)                                     \
    do {                                               \
        uint32_t t = ROL(a, 5) + (f) + e + (k) + w[i]; \
        e = d;                                         \
        d = c;                                         \
        c = ROL(b, 30);                                \
        b = a;                                         \
        a = t;                                         \
    } while (0)
    int i = 0;
    for (; i < 20; i++)
        STEP((b & c) | (~b & d), 0x5A827999u);
    for (; i < 40; i++)
        STEP(b ^ c ^ d, 0x6ED9EBA1u);
    for (; i < 60; i++)
        STEP((b & c) | (b & d) | (c & d), 0x8F1BBCDCu);
    for (; i < 80; i++)
        STEP(b ^ c ^ d, 0xCA62C1D6u);
#undef STEP
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

#ifdef HAVE_SHA_NI
/* The same block with the x86 SHA extensions: twenty groups of four rounds. Group g uses
 * message words W_g (W_g = msg2(msg1(W_{g-4}, W_{g-3}) ^ W_{g-2}, W_{g-1}) from g = 4),
 * its E input is nexte(state before the previous group, W_g) (the first group adds W_0
 * to e directly), and the round function changes every five groups. LANE is one group of
 * one message; EVERY_GROUP(STEP) runs STEP for the twenty, unrolled so g is a constant in
 * each and the words stay in registers. */
#define LANE(w, e, e0, prev, abcd, f)                                                      \
    do {                                                                                   \
        if (g >= 4)                                                                        \
            w[g & 3] = _mm_sha1msg2_epu32(                                                 \
                _mm_xor_si128(_mm_sha1msg1_epu32(w[g & 3], w[(g + 1) & 3]), w[(g + 2) & 3]), \
                w[(g + 3) & 3]);                                                           \
        e = g == 0 ? _mm_add_epi32(e0, w[0]) : _mm_sha1nexte_epu32(prev, w[g & 3]);        \
        prev = abcd;                                                                       \
        abcd = _mm_sha1rnds4_epu32(abcd, e, f);                                            \
    } while (0)
#define FIVE_GROUPS(STEP, f)      \
    _Pragma("GCC unroll 5")       \
    for (int r = 0; r < 5; r++) { \
        STEP(f);                  \
        g++;                      \
    }
#define EVERY_GROUP(STEP)   \
    FIVE_GROUPS(STEP, 0)    \
    FIVE_GROUPS(STEP, 1)    \
    FIVE_GROUPS(STEP, 2)    \
    FIVE_GROUPS(STEP, 3)

__attribute__((target("sha,sse4.1,ssse3"))) static void
sha1_block_ni(uint32_t h[5], const uint8_t *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
    const __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0), save = abcd;
    __m128i w[4];
    for (int j = 0; j < 4; j++)
        w[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), bswap);
    __m128i prev = abcd, e;
    int g = 0;
#define STEP1(f) LANE(w, e, e0, prev, abcd, f)
    EVERY_GROUP(STEP1)
#undef STEP1
    __m128i e_out = _mm_sha1nexte_epu32(prev, e0);
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(_mm_add_epi32(abcd, save), 0x1B));
    h[4] = (uint32_t)_mm_extract_epi32(e_out, 3);
}

/* Two independent blocks at once (two states, two messages), the rounds interleaved so
 * each lane's instructions fill the other's latency: most of the digest's SHA-1 calls
 * are independent of each other (hash fields and values, set members, whole pairs). */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha1_block_ni2(uint32_t ha[5], const uint8_t *pa, uint32_t hb[5], const uint8_t *pb)
{
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd_a = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)ha), 0x1B);
    __m128i abcd_b = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)hb), 0x1B);
    const __m128i e0_a = _mm_set_epi32((int)ha[4], 0, 0, 0), e0_b = _mm_set_epi32((int)hb[4], 0, 0, 0);
    const __m128i save_a = abcd_a, save_b = abcd_b;
    __m128i wa[4], wb[4];
    for (int j = 0; j < 4; j++) {
        wa[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16 * j)), bswap);
        wb[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16 * j)), bswap);
    }
    __m128i prev_a = abcd_a, prev_b = abcd_b, ea, eb;
    int g = 0;
#define STEP2(f)                                \
    do {                                        \
        LANE(wa, ea, e0_a, prev_a, abcd_a, f);  \
        LANE(wb, eb, e0_b, prev_b, abcd_b, f);  \
    } while (0)
    EVERY_GROUP(STEP2)
#undef STEP2
    __m128i ea_out = _mm_sha1nexte_epu32(prev_a, e0_a), eb_out = _mm_sha1nexte_epu32(prev_b, e0_b);
    _mm_storeu_si128((__m128i *)ha, _mm_shuffle_epi32(_mm_add_epi32(abcd_a, save_a), 0x1B));
    _mm_storeu_si128((__m128i *)hb, _mm_shuffle_epi32(_mm_add_epi32(abcd_b, save_b), 0x1B));
    ha[4] = (uint32_t)_mm_extract_epi32(ea_out, 3);
    hb[4] = (uint32_t)_mm_extract_epi32(eb_out, 3);
}
#undef EVERY_GROUP
#undef FIVE_GROUPS
#undef LANE
#endif

typedef void (*BlockFn)(uint32_t h[5], const uint8_t *p);
typedef void (*Block2Fn)(uint32_t ha[5], const uint8_t *pa, uint32_t hb[5], const uint8_t *pb);
static BlockFn sha1_block = NULL;
static Block2Fn sha1_block2 = NULL;  /* NULL: two single blocks instead */

static BlockFn
pick_block(void)
{
#ifdef HAVE_SHA_NI
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29))) {  /* CPUID.7.0:EBX.SHA */
        sha1_block2 = sha1_block_ni2;
        return sha1_block_ni;
    }
#endif
    return sha1_block_c;
}

static void sha1_out(const uint32_t h[5], uint8_t out[20]);

/* SHA-1 of n bytes into out: whole blocks from p, then the tail with the padding (0x80,
 * zeros, the bit length big-endian) in one or two blocks on the stack. */
static void
sha1(const uint8_t *p, size_t n, uint8_t out[20], BlockFn block)
{
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    size_t whole = n & ~(size_t)63;
    for (size_t i = 0; i < whole; i += 64)
        block(h, p + i);
    uint8_t tail[128];
    size_t rest = n - whole;
    size_t tlen = rest < 56 ? 64 : 128;
    memcpy(tail, p + whole, rest);
    tail[rest] = 0x80;
    memset(tail + rest + 1, 0, tlen - rest - 1);
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(h, tail);
    if (tlen == 128)
        block(h, tail + 64);
    sha1_out(h, out);
}

static void
sha1_out(const uint32_t h[5], uint8_t out[20])
{
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* The one padded block of a message of under 56 bytes. */
static void
one_block(uint8_t blk[64], const uint8_t *p, size_t n)
{
    memcpy(blk, p, n);
    blk[n] = 0x80;
    memset(blk + n + 1, 0, 63 - n);
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        blk[63 - i] = (uint8_t)(bits >> (8 * i));
}

/* SHA-1 of two messages: both in one two-lane pass when each fits one block and the
 * CPU can, else one after the other. `oa` may be `pa` (and `ob` `pb`). */
static void
sha1x2(const uint8_t *pa, size_t na, uint8_t oa[20], const uint8_t *pb, size_t nb, uint8_t ob[20])
{
    if (sha1_block2 == NULL || na >= 56 || nb >= 56) {
        sha1(pa, na, oa, sha1_block);
        sha1(pb, nb, ob, sha1_block);
        return;
    }
    uint8_t ba[64], bb[64];
    one_block(ba, pa, na);
    one_block(bb, pb, nb);
    uint32_t ha[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    uint32_t hb[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    sha1_block2(ha, ba, hb, bb);
    sha1_out(ha, oa);
    sha1_out(hb, ob);
}

/* A pair's digest (eledigest: mix(field), mix(value) from zero) folded into d as
 * xorDigest(d, eledigest) does — for two pairs at once, lane by lane:
 * e = SHA1(SHA1(a)); e = SHA1(e ^ SHA1(b)); d ^= SHA1(e). */
static void
xor_pairs2(uint8_t d[20], const uint8_t *a0, size_t na0, const uint8_t *b0, size_t nb0,
           const uint8_t *a1, size_t na1, const uint8_t *b1, size_t nb1)
{
    uint8_t e0[20], e1[20], h0[20], h1[20];
    sha1x2(a0, na0, e0, a1, na1, e1);
    sha1x2(e0, 20, e0, e1, 20, e1);
    sha1x2(b0, nb0, h0, b1, nb1, h1);
    for (int i = 0; i < 20; i++) {
        e0[i] ^= h0[i];
        e1[i] ^= h1[i];
    }
    sha1x2(e0, 20, e0, e1, 20, e1);
    sha1x2(e0, 20, h0, e1, 20, h1);
    for (int i = 0; i < 20; i++)
        d[i] ^= h0[i] ^ h1[i];
}

/* xorDigest / mixDigest of debug.c */
static void
dg_xor(uint8_t d[20], const void *p, size_t n)
{
    uint8_t h[20];
    sha1(p, n, h, sha1_block);
    for (int i = 0; i < 20; i++)
        d[i] ^= h[i];
}

static void
dg_mix(uint8_t d[20], const void *p, size_t n)
{
    dg_xor(d, p, n);
    sha1(d, 20, d, sha1_block);
}

/* mix(d, obj) for a bytes-like obj; -1 with an exception set otherwise. */
static int
mix_obj(uint8_t d[20], PyObject *o, int xor_only)
{
    if (PyBytes_CheckExact(o)) {
        if (xor_only)
            dg_xor(d, PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o));
        else
            dg_mix(d, PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o));
        return 0;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(o, &view, PyBUF_SIMPLE) < 0)
        return -1;
    if (xor_only)
        dg_xor(d, view.buf, (size_t)view.len);
    else
        dg_mix(d, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return 0;
}

/* %.17g of a score into buf (at least 32 bytes) as glibc prints it: CPython's correctly
 * rounded formatter gives the same digits, faster (and is what the Python reference
 * uses); a NaN's sign by hand. Its length, or -1 with an exception. */
static int
score_text(double score, char *buf)
{
    if (score != score) {
        strcpy(buf, signbit(score) ? "-nan" : "nan");
        return (int)strlen(buf);
    }
    char *text = PyOS_double_to_string(score, 'g', 17, 0, NULL);
    if (text == NULL)
        return -1;
    size_t n = strlen(text);
    if (n > 31)
        n = 31;  /* cannot happen: %.17g is at most 24 characters */
    memcpy(buf, text, n);
    buf[n] = 0;
    PyMem_Free(text);
    return (int)n;
}

/* The pair digest of a hash field/value or a zset member/score, xored into d. */
static int
xor_pair(uint8_t d[20], PyObject *pair, int zset)
{
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
        PyErr_SetString(PyExc_TypeError, "digest: pairs must be 2-tuples");
        return -1;
    }
    uint8_t e[20] = {0};
    if (mix_obj(e, PyTuple_GET_ITEM(pair, 0), 0) < 0)
        return -1;
    PyObject *second = PyTuple_GET_ITEM(pair, 1);
    if (zset) {
        double score = PyFloat_AsDouble(second);
        if (score == -1.0 && PyErr_Occurred())
            return -1;
        char text[32];
        int n = score_text(score, text);
        if (n < 0)
            return -1;
        dg_mix(e, text, (size_t)n);
    } else if (mix_obj(e, second, 0) < 0) {
        return -1;
    }
    dg_xor(d, e, 20);  /* xorDigest(digest, eledigest, 20): SHA1 of the pair's digest */
    return 0;
}

enum { K_STRING, K_LIST, K_SET, K_ZSET, K_HASH, K_MODULE, K_STREAM };

/* A list: each element mixed in order (a chain: nothing to pair). */
static int
walk_list(uint8_t d[20], PyObject *it)
{
    PyObject *item;
    int rc = 0;
    while (rc == 0 && (item = PyIter_Next(it)) != NULL) {
        rc = mix_obj(d, item, 0);
        Py_DECREF(item);
    }
    return rc;
}

typedef struct {
    PyObject *item;  /* held while its bytes are read */
    const uint8_t *a, *b;
    size_t na, nb;
    char score[32];
} Pend;

/* One element of a set or hash/zset pair whose parts are plain bytes (a float score),
 * readable in place; 0 when it is not (then it goes the general way). */
static int
pend_fill(Pend *p, PyObject *item, int kind)
{
    if (kind == K_SET) {
        if (!PyBytes_CheckExact(item))
            return 0;
        p->a = (const uint8_t *)PyBytes_AS_STRING(item);
        p->na = (size_t)PyBytes_GET_SIZE(item);
        return 1;
    }
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2)
        return 0;
    PyObject *x = PyTuple_GET_ITEM(item, 0), *y = PyTuple_GET_ITEM(item, 1);
    if (!PyBytes_CheckExact(x))
        return 0;
    p->a = (const uint8_t *)PyBytes_AS_STRING(x);
    p->na = (size_t)PyBytes_GET_SIZE(x);
    if (kind == K_ZSET) {
        if (!PyFloat_CheckExact(y))
            return 0;
        int n = score_text(PyFloat_AS_DOUBLE(y), p->score);
        if (n < 0)
            return -1;
        p->b = (const uint8_t *)p->score;
        p->nb = (size_t)n;
    } else {
        if (!PyBytes_CheckExact(y))
            return 0;
        p->b = (const uint8_t *)PyBytes_AS_STRING(y);
        p->nb = (size_t)PyBytes_GET_SIZE(y);
    }
    return 1;
}

/* One element the general way: a set member xored, a pair's digest xored. */
static int
xor_one(uint8_t d[20], PyObject *item, int kind)
{
    return kind == K_SET ? mix_obj(d, item, 1) : xor_pair(d, item, kind == K_ZSET);
}

/* A set, hash or sorted set: each element's digest xored into d, so their order does
 * not matter and two elements of plain bytes are hashed side by side (sha1x2). */
static int
walk_unordered(uint8_t d[20], PyObject *it, int kind)
{
    Pend p[2];
    int np = 0, rc = 0;
    PyObject *item;
    while (rc == 0 && (item = PyIter_Next(it)) != NULL) {
        int ok = pend_fill(&p[np], item, kind);
        if (ok < 0) {
            rc = -1;
            Py_DECREF(item);
        } else if (ok == 0) {
            rc = xor_one(d, item, kind);
            Py_DECREF(item);
        } else {
            p[np++].item = item;
            if (np == 2) {
                if (kind == K_SET) {
                    uint8_t h0[20], h1[20];
                    sha1x2(p[0].a, p[0].na, h0, p[1].a, p[1].na, h1);
                    for (int i = 0; i < 20; i++)
                        d[i] ^= h0[i] ^ h1[i];
                } else {
                    xor_pairs2(d, p[0].a, p[0].na, p[0].b, p[0].nb, p[1].a, p[1].na, p[1].b, p[1].nb);
                }
                Py_DECREF(p[0].item);
                Py_DECREF(p[1].item);
                np = 0;
            }
        }
    }
    if (np == 1) {
        if (rc == 0)
            rc = xor_one(d, p[0].item, kind);
        Py_DECREF(p[0].item);
    }
    return rc;
}

/* A stream's entries (`entries`: (id, fields) with id a (ms, seq) pair of ints and fields
 * pairs): each id mixed as "<ms>.<seq>", then each field and value mixed, in order. */
static int
mix_stream(uint8_t d[20], PyObject *stream)
{
    PyObject *entries = PyObject_GetAttrString(stream, "entries");
    if (entries == NULL)
        return -1;
    PyObject *seq = PySequence_Fast(entries, "digest: stream entries must be a sequence");
    Py_DECREF(entries);
    if (seq == NULL)
        return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *entry = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *id, *fields;
        unsigned long long ms, sq;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 ||
            !PyTuple_Check(id = PyTuple_GET_ITEM(entry, 0)) || PyTuple_GET_SIZE(id) != 2) {
            PyErr_SetString(PyExc_TypeError, "digest: stream entries must be (id, fields)");
            rc = -1;
            break;
        }
        fields = PyTuple_GET_ITEM(entry, 1);
        ms = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(id, 0));
        sq = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(id, 1));
        if (PyErr_Occurred()) {
            rc = -1;
            break;
        }
        char buf[48];
        int n = snprintf(buf, sizeof buf, "%llu.%llu", ms, sq);
        dg_mix(d, buf, (size_t)n);
        PyObject *fseq = PySequence_Fast(fields, "digest: stream fields must be a sequence");
        if (fseq == NULL) {
            rc = -1;
            break;
        }
        for (Py_ssize_t j = 0; rc == 0 && j < PySequence_Fast_GET_SIZE(fseq); j++) {
            PyObject *fv = PySequence_Fast_GET_ITEM(fseq, j);
            if (!PyTuple_Check(fv) || PyTuple_GET_SIZE(fv) != 2) {
                PyErr_SetString(PyExc_TypeError, "digest: stream fields must be pairs");
                rc = -1;
            } else if (mix_obj(d, PyTuple_GET_ITEM(fv, 0), 0) < 0 || mix_obj(d, PyTuple_GET_ITEM(fv, 1), 0) < 0) {
                rc = -1;
            }
        }
        Py_DECREF(fseq);
    }
    Py_DECREF(seq);
    return rc;
}

/* xorObjectDigest of `value` after mixing `key`, then the key's digest xored into the
 * 20 bytes at `f` as computeDatasetDigest does. `kind` picks how `value` (bytes-like, an
 * iterable of elements or of pairs, or a Stream) is walked. */
static int
key_into(uint8_t *f, PyObject *key, long kind, long obj_type, PyObject *value, int has_expire)
{
    if (sha1_block == NULL)
        sha1_block = pick_block();
    uint8_t d[20] = {0};
    if (mix_obj(d, key, 0) < 0)
        return -1;
    uint8_t be[4] = {(uint8_t)(obj_type >> 24), (uint8_t)(obj_type >> 16), (uint8_t)(obj_type >> 8),
                     (uint8_t)obj_type};
    dg_mix(d, be, 4);
    if (kind == K_STRING) {
        if (mix_obj(d, value, 0) < 0)
            return -1;
    } else if (kind >= K_LIST && kind <= K_HASH) {
        PyObject *it = PyObject_GetIter(value);
        if (it == NULL)
            return -1;
        int rc = kind == K_LIST ? walk_list(d, it) : walk_unordered(d, it, kind);
        Py_DECREF(it);
        if (rc < 0 || PyErr_Occurred())
            return -1;
    } else if (kind == K_STREAM) {
        if (mix_stream(d, value) < 0)
            return -1;
    } else if (kind != K_MODULE) {  /* a module value: its type only (its digest is the module's) */
        PyErr_SetString(PyExc_ValueError, "digest: unknown kind");
        return -1;
    }
    if (has_expire)
        dg_xor(d, "!!expire!!", 10);
    dg_xor(f, d, 20);
    return 0;
}

static uint8_t *
final_bytes(PyObject *final)
{
    if (!PyByteArray_Check(final) || PyByteArray_GET_SIZE(final) != 20) {
        PyErr_SetString(PyExc_TypeError, "digest: final must be a 20-byte bytearray");
        return NULL;
    }
    return (uint8_t *)PyByteArray_AS_STRING(final);
}

/* digest_add(final, key, kind, obj_type, value, has_expire): key_into for a value the
 * caller describes (DEBUG DIGEST-VALUE's, the engine's live values). */
PyObject *
digest_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "digest_add takes 6 arguments");
        return NULL;
    }
    uint8_t *f = final_bytes(args[0]);
    if (f == NULL)
        return NULL;
    long kind = PyLong_AsLong(args[2]);
    long obj_type = PyLong_AsLong(args[3]);
    int has_expire = PyObject_IsTrue(args[5]);
    if ((kind == -1 || obj_type == -1 || has_expire < 0) && PyErr_Occurred())
        return NULL;
    if (key_into(f, args[1], kind, obj_type, args[4], has_expire) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* digest_record(final, record): key_into for an rdbtools.model.Record (type, key, value,
 * expire_ms). */
PyObject *
digest_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static PyObject *a_type, *a_key, *a_value, *a_expire, *s_module, *s_stream;
    if (a_type == NULL) {
        s_module = PyUnicode_InternFromString("module");
        a_type = PyUnicode_InternFromString("type");
        a_key = PyUnicode_InternFromString("key");
        a_value = PyUnicode_InternFromString("value");
        a_expire = PyUnicode_InternFromString("expire_ms");
        s_stream = PyUnicode_InternFromString("stream");
        if (!a_type || !a_key || !a_value || !a_expire || !s_module || !s_stream)
            return NULL;
    }
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "digest_record takes 2 arguments");
        return NULL;
    }
    uint8_t *f = final_bytes(args[0]);
    if (f == NULL)
        return NULL;
    PyObject *rec = args[1];
    PyObject *t = PyObject_GetAttr(rec, a_type);
    if (t == NULL)
        return NULL;
    /* the kinds are server.h's OBJ_STRING 0 ... OBJ_STREAM 6 */
    long kind = -1;
    PyObject *names[7] = {s_string, s_list, s_set, s_zset, s_hash, s_module, s_stream};
    for (int i = 0; i < 7 && kind < 0; i++)
        if (t == names[i] || PyUnicode_Compare(t, names[i]) == 0)
            kind = i;
    Py_DECREF(t);
    if (PyErr_Occurred())
        return NULL;
    if (kind < 0) {
        PyErr_SetString(PyExc_ValueError, "digest: unknown record type");
        return NULL;
    }
    PyObject *key = PyObject_GetAttr(rec, a_key);
    PyObject *value = key ? PyObject_GetAttr(rec, a_value) : NULL;
    PyObject *exp = value ? PyObject_GetAttr(rec, a_expire) : NULL;
    int rc = exp ? key_into(f, key, kind, kind, value, exp != Py_None) : -1;
    Py_XDECREF(key);
    Py_XDECREF(value);
    Py_XDECREF(exp);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* digest_sha1(data, portable): SHA-1 of a bytes-like `data` by the block function the
 * digest uses (the SHA extensions where the CPU has them) or, when `portable`, by the
 * portable one: tests compare both with hashlib. */
PyObject *
digest_sha1(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "digest_sha1 takes 2 arguments");
        return NULL;
    }
    int portable = PyObject_IsTrue(args[1]);
    if (portable < 0)
        return NULL;
    if (sha1_block == NULL)
        sha1_block = pick_block();
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint8_t out[20];
    sha1(view.buf, (size_t)view.len, out, portable ? sha1_block_c : sha1_block);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, 20);
}
