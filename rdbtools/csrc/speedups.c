/* rdbtools._speedups: the C accelerators of rdbtools, one module built from the
 * files of this directory (speedups.h says which file holds what, and why one
 * module). This file is the module itself: its functions with their docstrings,
 * the state the parts share, and the error helpers.
 *
 * Same interface, results and errors as the pure-Python reference code; those
 * files define the semantics, these only make them fast. Wire forms:
 * docs/formats.md §3. Written from that document and the Python reference,
 * not from Redis sources.
 *
 * Every read is bounds-checked against its buffer; nothing is allocated beyond
 * what the input's own size allows. Malformed input raises
 * rdbtools.errors.BadEncoding with the same message and `offset` (relative to
 * the blob start) as the Python version.
 */

#include "speedups.h"

#include <stdarg.h>
#include <stdio.h>

PyObject *BadEncoding;
PyObject *str_blob;
PyObject *s_string, *s_list, *s_set, *s_zset, *s_hash;
PyObject *text_cache[TEXT_CACHE_MAX - TEXT_CACHE_MIN + 1];

/* ------------------------------------------------------------------ errors and arguments */

/* Raise BadEncoding(message, offset=offset); offset < 0 means offset=None. */
void
bad(Py_ssize_t offset, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    PyObject *msg = PyUnicode_FromString(buf);
    if (msg == NULL)
        return;
    PyObject *args = PyTuple_Pack(1, msg);
    Py_DECREF(msg);
    if (args == NULL)
        return;
    PyObject *kwargs;
    if (offset >= 0)
        kwargs = Py_BuildValue("{s:n}", "offset", offset);
    else
        kwargs = Py_BuildValue("{s:O}", "offset", Py_None);
    if (kwargs == NULL) {
        Py_DECREF(args);
        return;
    }
    PyObject *exc = PyObject_Call(BadEncoding, args, kwargs);
    Py_DECREF(args);
    Py_DECREF(kwargs);
    if (exc == NULL)
        return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* Raise BadEncoding(msg) (offset None); steals msg. */
void
raise_msg(PyObject *msg)
{
    PyObject *exc = PyObject_CallOneArg(BadEncoding, msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* decode() over a contiguous byte view of `blob`. Mirrors `bytes(blob)`: anything
 * with a buffer is read in place; anything else goes through bytes() first. */
PyObject *
decode_blob(PyObject *blob, blob_fn decode, int text)
{
    Py_buffer view;
    PyObject *tmp = NULL;
    if (!PyObject_CheckBuffer(blob) || PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0) {
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_BufferError))
                return NULL;
            PyErr_Clear(); /* e.g. a non-contiguous memoryview: copy it */
        }
        tmp = PyObject_CallOneArg((PyObject *)&PyBytes_Type, blob);
        if (tmp == NULL)
            return NULL;
        if (PyObject_GetBuffer(tmp, &view, PyBUF_SIMPLE) < 0) {
            Py_DECREF(tmp);
            return NULL;
        }
    }
    PyObject *out = decode((const uint8_t *)view.buf, view.len, text);
    PyBuffer_Release(&view);
    Py_XDECREF(tmp);
    return out;
}

/* One positional-or-keyword argument named `name` (vectorcall convention). */
PyObject *
one_arg(const char *func, PyObject *name, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", func,
                     nargs + nkw);
        return NULL;
    }
    if (nkw) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, 0);
        int eq = PyUnicode_Compare(k, name) == 0;
        if (!eq) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'",
                             func, k);
            return NULL;
        }
    }
    return args[0];
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"decode_listpack", (PyCFunction)(void (*)(void))decode_listpack,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_listpack($module, /, blob)\n--\n\n"
     "Entries of a listpack: strings as bytes, integer entries as int."},
    {"decode_listpack_strings", (PyCFunction)(void (*)(void))decode_listpack_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_listpack_strings($module, /, blob)\n--\n\n"
     "Entries of a listpack as bytes, integers as their decimal text."},
    {"decode_ziplist", (PyCFunction)(void (*)(void))decode_ziplist,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_ziplist($module, /, blob)\n--\n\n"
     "Entries of a ziplist: strings as bytes, integer entries as int."},
    {"decode_ziplist_strings", (PyCFunction)(void (*)(void))decode_ziplist_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_ziplist_strings($module, /, blob)\n--\n\n"
     "Entries of a ziplist as bytes, integers as their decimal text."},
    {"decode_intset", (PyCFunction)(void (*)(void))decode_intset, METH_FASTCALL | METH_KEYWORDS,
     "decode_intset($module, /, blob)\n--\n\nMembers of an intset, ascending."},
    {"decode_intset_strings", (PyCFunction)(void (*)(void))decode_intset_strings,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_intset_strings($module, /, blob)\n--\n\n"
     "Members of an intset as their decimal text, ascending."},
    {"zset_pairs", (PyCFunction)(void (*)(void))zset_pairs, METH_FASTCALL | METH_KEYWORDS,
     "zset_pairs($module, /, items)\n--\n\n"
     "(member, score) pairs of a decoded zset listpack/ziplist: members as bytes,\n"
     "scores as float (int entries or text that float() accepts)."},
    {"hash_pairs", (PyCFunction)(void (*)(void))hash_pairs, METH_VARARGS | METH_KEYWORDS,
     "hash_pairs($module, /, items, what='hash blob')\n--\n\n"
     "(field, value) pairs of a decoded hash listpack/ziplist; `what` names the blob\n"
     "in the error for an odd entry count."},
    {"lzf_decompress", (PyCFunction)(void (*)(void))lzf_decompress, METH_FASTCALL,
     "lzf_decompress($module, data, expected_len, /)\n--\n\n"
     "rdbtools.lzf.decompress: exactly expected_len bytes from the LZF stream `data`,\n"
     "or BadEncoding with the message of the Python decoder."},
    {"scan_keys", (PyCFunction)(void (*)(void))scan_keys, METH_FASTCALL,
     "scan_keys($module, buf, pos, base, db, max_len, record, out, expire, idle, freq,\n"
     "          limit=sys.maxsize, keys=None, packed=None, sink=None, /)\n--\n\n"
     "The decoder's fast path: from buf[pos:], parse EXPIRETIME(_MS)/IDLE/FREQ opcodes and\n"
     "keys of types 0-5, 10-14, 16-18 and 20, appending record(...) for each key to `out`\n"
     "exactly as RdbDecoder._parse_key builds them (offset = base + position of the type\n"
     "byte). Stops before the first item it does not handle, that is incomplete or that is\n"
     "invalid in any way (the Python path then parses it and raises what it raises),\n"
     "or once `out` holds `limit` events. With `keys` (a KeySet), each key is recorded\n"
     "and the scan stops before a key already recorded for this db. With `packed` (a dict\n"
     "type byte -> factory), a hash listpack that passes lp_pairs_check or a set intset that\n"
     "passes is_check becomes packed[t](bytearray, count). With `sink`, each key is first\n"
     "offered as sink(db, key, type, value, expire, idle, freq, encoding): a true result\n"
     "takes it (no record); a false one appends its record and ends the scan there.\n"
     "Returns (pos, expire, idle, freq): where it stopped and the pending key metadata."},
    {"record_to_line", (PyCFunction)record_to_line, METH_O,
     "record_to_line($module, record, /)\n--\n\n"
     "rdbtools.jsonl.record_to_line(record) for string/list/set/zset records and hashes\n"
     "without field TTLs; None for anything else (use the Python function)."},
    {"records_to_jsonl", (PyCFunction)(void (*)(void))records_to_jsonl, METH_FASTCALL,
     "records_to_jsonl($module, records, fallback, /)\n--\n\n"
     "UTF-8 bytes of the JSONL lines of `records`, each followed by a newline;\n"
     "fallback(record) -> str gives the lines record_to_line leaves to Python."},
    {"hll_sparse_set", (PyCFunction)(void (*)(void))hll_sparse_set, METH_FASTCALL,
     "hll_sparse_set($module, s, index, count, max_bytes, /)\n--\n\n"
     "engine.types.hyperloglog._sparse_set_py on the bytearray `s`, in place: 1 updated,\n"
     "0 unchanged, -1 corrupt, 2 the value must be promoted to dense (left untouched)."},
    {"lp_pairs_get", (PyCFunction)(void (*)(void))lp_pairs_get, METH_FASTCALL,
     "lp_pairs_get($module, lp, field, /)\n--\n\n"
     "listpack_ops.lp_pairs_get_py: the value after `field` in the bytearray `lp`, or None."},
    {"lp_pairs_set", (PyCFunction)(void (*)(void))lp_pairs_set, METH_FASTCALL,
     "lp_pairs_set($module, lp, field, value, /)\n--\n\n"
     "listpack_ops.lp_pairs_set_py, in place: True when the pair was appended."},
    {"lp_pairs_delete", (PyCFunction)(void (*)(void))lp_pairs_delete, METH_FASTCALL,
     "lp_pairs_delete($module, lp, field, /)\n--\n\n"
     "listpack_ops.lp_pairs_delete_py, in place: True when the field was there."},
    {"lp_length", (PyCFunction)lp_length, METH_O,
     "lp_length($module, lp, /)\n--\n\nlistpack_ops.lp_length_py (lpLength)."},
    {"lpl_push", (PyCFunction)(void (*)(void))lpl_push, METH_FASTCALL,
     "lpl_push($module, lp, item, head, /)\n--\n\nquicklist_ops.lpl_push_py: lpPrepend/lpAppend in place."},
    {"lpl_pop", (PyCFunction)(void (*)(void))lpl_pop, METH_FASTCALL,
     "lpl_pop($module, lp, head, /)\n--\n\nquicklist_ops.lpl_pop_py: the first/last entry, deleted."},
    {"lpl_get", (PyCFunction)(void (*)(void))lpl_get, METH_FASTCALL,
     "lpl_get($module, lp, i, /)\n--\n\nquicklist_ops.lpl_get_py: entry i as text."},
    {"lpl_replace", (PyCFunction)(void (*)(void))lpl_replace, METH_FASTCALL,
     "lpl_replace($module, lp, i, item, /)\n--\n\nquicklist_ops.lpl_replace_py: lpReplace of entry i."},
    {"lpl_insert", (PyCFunction)(void (*)(void))lpl_insert, METH_FASTCALL,
     "lpl_insert($module, lp, i, item, /)\n--\n\nquicklist_ops.lpl_insert_py: insert before entry i."},
    {"lpl_delete", (PyCFunction)(void (*)(void))lpl_delete, METH_FASTCALL,
     "lpl_delete($module, lp, start, n, /)\n--\n\nquicklist_ops.lpl_delete_py: lpDeleteRange."},
    {"ql_push", (PyCFunction)(void (*)(void))ql_push, METH_FASTCALL,
     "ql_push($module, nodes, items, head, fill, /)\n--\n\nquicklist_ops.ql_push_py: quicklistPush of each item; the nodes made."},
    {"ql_pop", (PyCFunction)(void (*)(void))ql_pop, METH_FASTCALL,
     "ql_pop($module, nodes, head, /)\n--\n\nquicklist_ops.ql_pop_py: the end element, popped (None: compressed end node)."},
    {"ql_get", (PyCFunction)(void (*)(void))ql_get, METH_FASTCALL,
     "ql_get($module, nodes, index, /)\n--\n\nquicklist_ops.ql_get_py: element index."},
    {"ql_range", (PyCFunction)(void (*)(void))ql_range, METH_FASTCALL,
     "ql_range($module, nodes, start, stop, /)\n--\n\nquicklist_ops.ql_range_py: elements start..stop-1."},
    {"lps_find", (PyCFunction)(void (*)(void))lps_find, METH_FASTCALL,
     "lps_find($module, lp, member, /)\n--\n\nlistpack_set.lps_find_py: is member in the set listpack."},
    {"lps_add", (PyCFunction)(void (*)(void))lps_add, METH_FASTCALL,
     "lps_add($module, lp, member, /)\n--\n\nlistpack_set.lps_add_py, in place: True when appended."},
    {"lps_remove", (PyCFunction)(void (*)(void))lps_remove, METH_FASTCALL,
     "lps_remove($module, lp, member, /)\n--\n\nlistpack_set.lps_remove_py, in place: True when it was there."},
    {"lps_build", (PyCFunction)lps_build, METH_O,
     "lps_build($module, members, /)\n--\n\nlistpack_set.lps_build_py: a listpack of the members in order."},
    {"lp_entries_size", (PyCFunction)(void (*)(void))lp_entries_size, METH_FASTCALL,
     "lp_entries_size($module, items, start, step, /)\n--\n\nlistpack.lp_entries_size_py: the bytes of items[start::step] as entries."},
    {"string2ll", (PyCFunction)ll_parse, METH_O,
     "string2ll($module, s, /)\n--\n\nnumbers.string2ll_py: the int64 s canonically spells, else None."},
    {"ll_incr_text", (PyCFunction)(void (*)(void))ll_incr_text, METH_FASTCALL,
     "ll_incr_text($module, text, incr, /)\n--\n\n"
     "numbers.incr_text_py: string2ll(text) + incr as text, None when not an int64 or out of range."},
    {"lpl_check", (PyCFunction)lpl_check, METH_O,
     "lpl_check($module, blob, /)\n--\n\n"
     "quicklist_ops.lpl_validate_py without its error: the entry count, or -1 when the blob is not a valid listpack."},
    {"ql_locate", (PyCFunction)(void (*)(void))ql_locate, METH_FASTCALL,
     "ql_locate($module, nodes, index, /)\n--\n\n"
     "quicklist_ops.ql_locate_py: (node number, offset in it) of element index."},
    {"lzf_compress", (PyCFunction)(void (*)(void))lzf_compress, METH_FASTCALL,
     "lzf_compress($module, data, out_len, /)\n--\n\n"
     "lzf._compress_py: liblzf's output into at most out_len bytes, or None."},
    {"lzf_fits", (PyCFunction)(void (*)(void))lzf_fits, METH_FASTCALL,
     "lzf_fits($module, n, compressed, /)\n--\n\n"
     "lzf._lzf_fits_py: would liblzf have produced `compressed` (from n bytes) into n - 4 bytes?"},
    {"stream_nodes", (PyCFunction)(void (*)(void))stream_nodes, METH_FASTCALL,
     "stream_nodes($module, entries, max_bytes, max_entries, version, /)\n--\n\n"
     "objects.streams._encode_stream_nodes_py with the policy's two limits: [(master id, listpack), ...]."},
    {"stream_load_nodes", (PyCFunction)(void (*)(void))stream_load_nodes, METH_FASTCALL,
     "stream_load_nodes($module, buf, pos, nodes, max_len, entries, layouts, layout_type, nmeta, /)\n--\n\n"
     "objects.stream_nodes._load_nodes_py up to the first node it does not accept (the reference\n"
     "reads from there): (position, nodes read, the nmeta lengths or None when it stopped)."},
    {"live_form", (PyCFunction)live_form, METH_O,
     "live_form($module, entries, /)\n--\n\n"
     "objects.stream_nodes.live_form_py: (ids as ms << 64 | seq, {id: [field, value, ...]})."},
    {"snapshot_keys", (PyCFunction)(void (*)(void))snapshot_keys, METH_FASTCALL,
     "snapshot_keys($module, data, expires, pos, chunk_size, now, compress, layouts, fallback, hints, /)\n--\n\n"
     "snapshot._key_runs_py's loop from dict position pos: (bytes, next pos or -1, keys written)."},
    {"lp_pairs_check", (PyCFunction)lp_pairs_check, METH_O,
     "lp_pairs_check($module, blob, /)\n--\n\n"
     "The entry count when listpack_ops.lp_validate_pairs_py accepts `blob`, else -1."},
    {"digest_add", (PyCFunction)(void (*)(void))digest_add, METH_FASTCALL,
     "digest_add($module, final, key, kind, obj_type, value, has_expire, /)\n--\n\n"
     "rdbtools.digest: one key's digest xored into the bytearray `final` (kind 0 string,\n"
     "1 list, 2 set, 3 zset, 4 hash, 5 module, 6 stream: OBJ_* numbers)."},
    {"save_string", (PyCFunction)(void (*)(void))save_string, METH_FASTCALL | METH_KEYWORDS,
     "save_string($module, s, compress=True, lzf=rdbtools.lzf.compress, /)\n--\n\n"
     "rdbtools.primitives._save_string_py: `s` as an RDB string; lzf(s) -> bytes | None\n"
     "compresses (called for strings over 20 bytes when `compress`)."},
    {"digest_record", (PyCFunction)(void (*)(void))digest_record, METH_FASTCALL,
     "digest_record($module, final, record, /)\n--\n\n"
     "rdbtools.digest._add_py: one record's digest xored into the bytearray `final`."},
    {"digest_sha1", (PyCFunction)(void (*)(void))digest_sha1, METH_FASTCALL,
     "digest_sha1($module, data, portable, /)\n--\n\n"
     "SHA-1 of `data` by digest.c (the portable block function when `portable`)."},
    {"sort_runs", (PyCFunction)sort_runs, METH_O,
     "sort_runs($module, buf, /)\n--\n\n"
     "rdbtools.spill._sort_py, in place: the 32-byte records of the writable buffer `buf`\n"
     "in ascending byte order."},
    {"zl_score", (PyCFunction)(void (*)(void))zl_score, METH_FASTCALL,
     "zl_score($module, lp, member, /)\n--\n\nlistpack_zset.zl_score_py: the score or None."},
    {"zl_insert", (PyCFunction)(void (*)(void))zl_insert, METH_FASTCALL,
     "zl_insert($module, lp, member, score, /)\n--\n\nlistpack_zset.zl_insert_py, in place."},
    {"zl_delete", (PyCFunction)(void (*)(void))zl_delete, METH_FASTCALL,
     "zl_delete($module, lp, member, /)\n--\n\n"
     "listpack_zset.zl_delete_py, in place: the removed score or None."},
    {"zl_rank", (PyCFunction)(void (*)(void))zl_rank, METH_FASTCALL,
     "zl_rank($module, lp, member, /)\n--\n\nlistpack_zset.zl_rank_py: 0-based, -1 absent."},
    {"zl_slice", (PyCFunction)(void (*)(void))zl_slice, METH_FASTCALL,
     "zl_slice($module, lp, start, count, /)\n--\n\nlistpack_zset.zl_slice_py."},
    {"zl_score_range", (PyCFunction)(void (*)(void))zl_score_range, METH_FASTCALL,
     "zl_score_range($module, lp, lo, loex, hi, hiex, reverse, offset, limit, /)\n--\n\n"
     "listpack_zset.zl_score_range_py."},
    {"zl_pairs", (PyCFunction)zl_pairs, METH_O,
     "zl_pairs($module, lp, /)\n--\n\nlistpack_zset.zl_pairs_py: [(member, score), ...]."},
    {"is_find", (PyCFunction)(void (*)(void))is_find, METH_FASTCALL,
     "is_find($module, is_, member, /)\n--\n\nintset_ops.is_find_py: is `member` in the intset?"},
    {"is_add", (PyCFunction)(void (*)(void))is_add, METH_FASTCALL,
     "is_add($module, is_, member, /)\n--\n\n"
     "intset_ops.is_add_py, in place: 1 added, 0 already there, -1 not an integer."},
    {"is_add_all", (PyCFunction)(void (*)(void))is_add_all, METH_FASTCALL,
     "is_add_all($module, is_, members, start, max_entries, /)\n--\n\n"
     "intset_ops.is_add_all_py, in place: the count added, or (added, stop) to convert."},
    {"is_remove", (PyCFunction)(void (*)(void))is_remove, METH_FASTCALL,
     "is_remove($module, is_, member, /)\n--\n\n"
     "intset_ops.is_remove_py, in place: True when the member was there."},
    {"is_get", (PyCFunction)(void (*)(void))is_get, METH_FASTCALL,
     "is_get($module, is_, i, /)\n--\n\nintset_ops.is_get_py: member i as decimal text."},
    {"is_pop", (PyCFunction)(void (*)(void))is_pop, METH_FASTCALL,
     "is_pop($module, is_, i, /)\n--\n\nintset_ops.is_pop_py, in place: member i removed."},
    {"is_check", (PyCFunction)is_check, METH_O,
     "is_check($module, blob, /)\n--\n\n"
     "The member count when intset_ops.is_validate_py accepts `blob`, else -1."},
    {NULL, NULL, 0, NULL},
};


static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "rdbtools._speedups",
    "C accelerators for rdbtools (same interface and errors as the Python code).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *errors = PyImport_ImportModule("rdbtools.errors");
    if (errors == NULL)
        return NULL;
    BadEncoding = PyObject_GetAttrString(errors, "BadEncoding");
    Py_DECREF(errors);
    if (BadEncoding == NULL)
        return NULL;
    for (int v = TEXT_CACHE_MIN; v <= TEXT_CACHE_MAX; v++) {
        char buf[8];
        Py_ssize_t len = fmt_i64(buf, v);
        text_cache[v - TEXT_CACHE_MIN] = PyBytes_FromStringAndSize(buf, len);
        if (text_cache[v - TEXT_CACHE_MIN] == NULL)
            return NULL;
    }
#define INTERN(var, text)                                                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                  \
        return NULL;
    INTERN(str_blob, "blob")
    INTERN(s_string, "string")
    INTERN(s_list, "list")
    INTERN(s_set, "set")
    INTERN(s_zset, "zset")
    INTERN(s_hash, "hash")
#undef INTERN
    if (pairs_init() < 0 || scan_init() < 0 || jsonl_init() < 0)
        return NULL;
    jsontext_init();
    if (PyType_Ready(&KeySetType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "KeySet", (PyObject *)&KeySetType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    /* the one listpack entry reader, for aof._respfast's list replies (aof is above us) */
    PyObject *api = PyCapsule_New((void *)lp_ent, "rdbtools._speedups.lp_ent_api", NULL);
    if (api == NULL || PyModule_AddObject(m, "lp_ent_api", api) < 0) {
        Py_XDECREF(api);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
