/* engine's C modules (_fastpath.c with _received.h and _bodies.h, _load.c): where one of
 * our classes' __slots__ members lives in its instances, to load and store it as
 * member_get/member_set do. Only a writable object slot (T_OBJECT_EX, not READONLY)
 * qualifies; the class stays the reference for what the slot holds. */

#ifndef ENGINE_SLOTS_H
#define ENGINE_SLOTS_H

#include <Python.h>
#include <structmember.h>

/* type.name's offset, or -1 (no error set) when it is absent or not such a slot. */
static Py_ssize_t
slot_member_offset(PyObject *type, PyObject *name)
{
    PyObject *d = PyObject_GetAttr(type, name); /* a member descriptor returns itself */
    Py_ssize_t off = -1;
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READONLY))
            off = m->offset;
    }
    Py_DECREF(d);
    return off;
}

/* The same by a C name, -1 with a TypeError naming it when it is not such a slot. */
static Py_ssize_t
slot_offset_of(PyObject *type, const char *name)
{
    PyObject *n = PyUnicode_FromString(name);
    if (n == NULL)
        return -1;
    Py_ssize_t off = slot_member_offset(type, n);
    Py_DECREF(n);
    if (off < 0)
        PyErr_Format(PyExc_TypeError, "%s.%s is not a writable __slots__ member",
                     PyType_Check(type) ? ((PyTypeObject *)type)->tp_name : "?", name);
    return off;
}

#endif
