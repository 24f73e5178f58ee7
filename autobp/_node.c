/* autobp._node: makes graph nodes (autobp.engine.Value) without the cyclic garbage collector.
 *
 * This is the one piece of autobp written in C, and it holds no autograd
 * logic: `new(op, out, x, y)` does exactly what engine._record does in Python
 * (allocate a Value, fill its eight slots, give it the next creation number),
 * and then takes the node off the cyclic collector's lists.
 *
 * Why that is safe.  Every Python object that can hold references is tracked
 * by CPython's cyclic collector, which rescans the live ones again and again
 * while a graph grows: measured at 170-750 ns per node on top of about 450 ns
 * of real work, and growing with the heap.  A collector exists to find
 * reference cycles, and an autobp graph has none: a node refers only to nodes
 * created before it, to floats, to its Op record and to its label.  Reference
 * counting alone frees a dropped graph, so tracing it finds nothing.
 *
 * An untracked object is still counted as a reference by the collector (it
 * acts as a root), so nothing a node refers to can be freed early.  The one
 * thing given up: a cycle through a node (say a user op whose function keeps
 * a node made by that op) is never collected.
 *
 * The module must be bound once to the class: bind(Value) reads the slots'
 * offsets from its member descriptors, so the layout is declared in one place,
 * the class's __slots__.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

enum { DATA, GRAD, LABEL, OP, X, Y, G, ID, NSLOTS };
static const char *const SLOT_NAMES[NSLOTS] = {"data", "grad", "label", "_op", "_x", "_y", "_g", "_id"};

static PyTypeObject *node_type = NULL;     /* the bound class */
static Py_ssize_t offset[NSLOTS];          /* where each slot lives inside an instance */
static long long next_id = 0;              /* creation numbers: operands before results */
static PyObject *zero = NULL, *empty = NULL;

#define SLOT(node, i) (*(PyObject **)((char *)(node) + offset[i]))

PyDoc_STRVAR(bind_doc,
"bind(cls)\n--\n\n"
"Make new() build instances of `cls`, whose __slots__ must include\n"
"data, grad, label, _op, _x, _y, _g and _id.");

static PyObject *
bind(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        return PyErr_Format(PyExc_TypeError, "bind() needs a class, got %R", cls);
    }
    Py_ssize_t found[NSLOTS];
    for (int i = 0; i < NSLOTS; i++) {
        PyObject *descr = PyObject_GetAttrString(cls, SLOT_NAMES[i]);
        if (descr == NULL) {
            return NULL;
        }
        int is_slot = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                      && ((PyMemberDescrObject *)descr)->d_common.d_type == (PyTypeObject *)cls;
        if (is_slot) {
            found[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!is_slot) {
            return PyErr_Format(PyExc_TypeError, "bind(): %s.%s must be one of its own __slots__",
                                ((PyTypeObject *)cls)->tp_name, SLOT_NAMES[i]);
        }
    }
    memcpy(offset, found, sizeof offset);
    Py_XSETREF(node_type, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

PyDoc_STRVAR(new_doc,
"new(op, out, x, y)\n--\n\n"
"A new node of the bound class: data=out, grad=0.0, label='', _op=op,\n"
"_x=x, _y=y, _g=None and the next creation number, not tracked by the\n"
"cyclic garbage collector.");

static PyObject *
new(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        return PyErr_Format(PyExc_TypeError, "new() takes 4 arguments (op, out, x, y), got %zd", nargs);
    }
    if (node_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "new(): call bind(cls) first");
        return NULL;
    }
    PyObject *id = PyLong_FromLongLong(next_id);
    if (id == NULL) {
        return NULL;
    }
    PyObject *node = node_type->tp_alloc(node_type, 0);
    if (node == NULL) {
        Py_DECREF(id);
        return NULL;
    }
    PyObject_GC_UnTrack(node);
    next_id++;
    SLOT(node, DATA) = Py_NewRef(args[1]);
    SLOT(node, GRAD) = Py_NewRef(zero);
    SLOT(node, LABEL) = Py_NewRef(empty);
    SLOT(node, OP) = Py_NewRef(args[0]);
    SLOT(node, X) = Py_NewRef(args[2]);
    SLOT(node, Y) = Py_NewRef(args[3]);
    SLOT(node, G) = Py_NewRef(Py_None);
    SLOT(node, ID) = id;
    return node;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_O, bind_doc},
    {"new", (PyCFunction)(void (*)(void))new, METH_FASTCALL, new_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "autobp._node",
    "Graph nodes made without the cyclic garbage collector (see _node.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__node(void)
{
    zero = PyFloat_FromDouble(0.0);
    empty = PyUnicode_FromString("");
    if (zero == NULL || empty == NULL) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
