/* autobp._node: the speed layer.  C twins of four things in autobp/engine.py.
 *
 *   make_node(cls, data, op, operands)  = engine._make_node_in_python, and the
 *       node is left out of the cyclic garbage collector (see below);
 *   apply(op, *args)                     = engine.apply, on its common path;
 *   float_sweep(root)                    = engine.Sweep(root).run(), floats;
 *   topo_order(*roots)                   = engine.topo_order, which every tool walks.
 *
 * A learner may skip this file: engine.py is the reference, and with
 * AUTOBP_PURE_PYTHON=1 it is exactly what runs.  Each twin takes the same
 * steps in the same order, so it gives identical numbers (tests check this),
 * and on anything unusual — an error, a number type other than float or int,
 * a non-finite result, a partials that does not return plain numbers — it
 * hands the call to the Python original, which then raises or returns
 * exactly what the reference does.  No autograd rule lives here: every
 * value and derivative comes from the op table's own functions.
 *
 * Why nodes may leave the cyclic collector.  It exists to find reference
 * cycles, and rescans every tracked object again and again while a graph
 * grows (measured at 170-750 ns per node, growing with the heap).  A graph
 * has no cycles: a node refers only to older nodes, to floats, to its op
 * record and to its label, so reference counting alone frees it.  An
 * untracked object still counts as a reference for the collector, so nothing
 * it holds is freed early; what is given up is a cycle through a node (a user
 * op whose function keeps a node made by that op), which is never collected.
 * Only nodes of exactly the bound class are untracked: a subclass may carry a
 * __dict__, and so cycles.
 *
 * bind(cls, grad_enabled, apply, sweep) is called once by engine.py: it reads
 * the slot offsets from the class's member descriptors (the layout is declared
 * in one place, Value.__slots__) and keeps the grad-mode context variable and
 * the Python originals to fall back on.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

enum { DATA, GRAD, LABEL, OP, OPERANDS, ID, NSLOTS };
static const char *const SLOT_NAMES[NSLOTS] = {"data", "grad", "label", "op_record", "operands", "_id"};

static PyTypeObject *node_type = NULL;     /* the bound class, engine.Value */
static Py_ssize_t offset[NSLOTS];          /* where each slot lives inside an instance */
static PyObject *grad_enabled = NULL;      /* engine._grad_enabled: a ContextVar, per thread */
static PyObject *py_apply = NULL;          /* engine.apply as written in Python */
static PyObject *py_sweep = NULL;          /* engine._float_sweep_in_python */
static PyObject *py_topo_order = NULL;     /* engine._topo_order_in_python */
static long long next_id = 0;              /* creation numbers, shared with engine._new_id's range */
static PyObject *zero, *one, *empty, *empty_tuple;
static PyObject *s_forward, *s_partials, *s_domain, *s_formulas, *s_variadic;

#define SLOT(node, i) (*(PyObject **)((char *)(node) + offset[i]))
#define IS_NODE(x) PyObject_TypeCheck((x), node_type)

PyDoc_STRVAR(bind_doc,
"bind(cls, grad_enabled, apply, sweep, topo_order)\n--\n\n"
"Make make_node() build instances of `cls`, whose __slots__ must include\n"
"data, grad, label, op_record, operands and _id; keep the grad-mode object\n"
"and the Python apply, float sweep and topo_order to fall back on.");

static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        return PyErr_Format(PyExc_TypeError,
                            "bind() takes 5 arguments (cls, grad_enabled, apply, sweep, topo_order), got %zd", nargs);
    }
    PyObject *cls = args[0];
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
    if (!PyContextVar_CheckExact(args[1])) {
        return PyErr_Format(PyExc_TypeError, "bind(): grad_enabled must be a ContextVar, got %R", args[1]);
    }
    Py_XSETREF(grad_enabled, Py_NewRef(args[1]));
    Py_XSETREF(py_apply, Py_NewRef(args[2]));
    Py_XSETREF(py_sweep, Py_NewRef(args[3]));
    Py_XSETREF(py_topo_order, Py_NewRef(args[4]));
    Py_RETURN_NONE;
}

/* A new node of class `cls`: the body of engine._make_node_in_python. */
static PyObject *
new_node(PyTypeObject *cls, PyObject *data, PyObject *op, PyObject *operands)
{
    PyObject *id = PyLong_FromLongLong(next_id);
    if (id == NULL) {
        return NULL;
    }
    PyObject *node = cls->tp_alloc(cls, 0);
    if (node == NULL) {
        Py_DECREF(id);
        return NULL;
    }
    if (cls == node_type) {
        PyObject_GC_UnTrack(node);
        if (PyObject_GC_IsTracked(operands)) {
            PyObject_GC_UnTrack(operands);     /* Values and floats: no cycle can run through it either */
        }
    }
    next_id++;
    SLOT(node, DATA) = Py_NewRef(data);
    SLOT(node, GRAD) = Py_NewRef(zero);
    SLOT(node, LABEL) = Py_NewRef(empty);
    SLOT(node, OP) = Py_NewRef(op);
    SLOT(node, OPERANDS) = Py_NewRef(operands);
    SLOT(node, ID) = id;
    return node;
}

PyDoc_STRVAR(make_node_doc,
"make_node(cls, data, op, operands)\n--\n\n"
"engine._make_node_in_python in C: a new node of `cls` holding `data`, made by\n"
"`op` from `operands`, grad 0.0, the next creation number; a node of exactly\n"
"the bound class is not tracked by the cyclic garbage collector.");

static PyObject *
make_node(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        return PyErr_Format(PyExc_TypeError, "make_node() takes 4 arguments (cls, data, op, operands), got %zd", nargs);
    }
    if (node_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "make_node(): call bind() first");
        return NULL;
    }
    if (!PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], node_type)) {
        return PyErr_Format(PyExc_TypeError, "make_node() needs a subclass of %s, got %R", node_type->tp_name, args[0]);
    }
    return new_node((PyTypeObject *)args[0], args[1], args[2], args[3]);
}

/* ------------------------------------------------------------------------- */
/* apply: the common path of engine.apply                                    */
/* ------------------------------------------------------------------------- */

#define ON_STACK 8       /* operands held in arrays on the C stack; more (an n-ary sum) on the heap */

static PyObject *
fall_back_to_python_apply(PyObject *const *args, Py_ssize_t nargs)
{
    PyErr_Clear();
    return PyObject_Vectorcall(py_apply, args, nargs, NULL);
}

PyDoc_STRVAR(apply_doc,
"apply(op, *args)\n--\n\n"
"engine.apply in C, for Value and float/int operands whose result is a\n"
"finite float; every other call (and every error) goes to engine.apply as\n"
"written in Python, which gives the same result or raises the same error.");

static PyObject *
apply(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t n = nargs - 1;
    if (n < 1 || py_apply == NULL) {
        return fall_back_to_python_apply(args, nargs);
    }
    PyObject *op = args[0];
    PyObject *stack_operands[ON_STACK], *stack_numbers[ON_STACK];
    PyObject **operands = stack_operands, **numbers = stack_numbers;
    if (n > ON_STACK) {
        operands = PyMem_New(PyObject *, n);
        numbers = PyMem_New(PyObject *, n);
        if (operands == NULL || numbers == NULL) {
            PyMem_Free(operands);
            PyMem_Free(numbers);
            return PyErr_NoMemory();
        }
    }
    PyObject *result = NULL, *forward = NULL, *domain = NULL, *formulas = NULL, *variadic = NULL;
    PyObject *out = NULL, *operand_tuple = NULL, *enabled = NULL;
    PyTypeObject *cls = NULL;
    Py_ssize_t made = 0;

    /* operands: Values as they are, floats and ints as finite float constants */
    for (; made < n; made++) {
        PyObject *a = args[made + 1];
        if (IS_NODE(a)) {
            operands[made] = Py_NewRef(a);
            numbers[made] = SLOT(a, DATA);
            if (cls == NULL || PyType_IsSubtype(Py_TYPE(a), cls)) {
                cls = Py_TYPE(a);
            }
        } else if (PyFloat_CheckExact(a) && isfinite(PyFloat_AS_DOUBLE(a))) {
            operands[made] = numbers[made] = Py_NewRef(a);
        } else if (PyLong_CheckExact(a)) {
            double d = PyLong_AsDouble(a);
            if (d == -1.0 && PyErr_Occurred()) {
                goto python;
            }
            operands[made] = numbers[made] = PyFloat_FromDouble(d);
            if (operands[made] == NULL) {
                goto python;
            }
        } else {
            goto python;
        }
    }
    if (cls == NULL) {
        goto python;                           /* numbers only: the result is a leaf */
    }
    forward = PyObject_GetAttr(op, s_forward);
    domain = forward ? PyObject_GetAttr(op, s_domain) : NULL;
    formulas = domain ? PyObject_GetAttr(op, s_formulas) : NULL;
    variadic = formulas ? PyObject_GetAttr(op, s_variadic) : NULL;
    if (variadic == NULL || !PyTuple_Check(formulas)
        || (variadic != Py_True && PyTuple_GET_SIZE(formulas) != n)) {
        goto python;
    }
    if (domain != Py_None) {
        PyObject *ok = PyObject_Vectorcall(domain, operands, n, NULL);
        if (ok == NULL) {
            goto python;
        }
        Py_DECREF(ok);
    }
    out = PyObject_Vectorcall(forward, numbers, n, NULL);
    if (out == NULL || !PyFloat_CheckExact(out) || !isfinite(PyFloat_AS_DOUBLE(out))) {
        goto python;
    }
    if (PyContextVar_Get(grad_enabled, NULL, &enabled) < 0 || enabled == NULL) {
        goto python;
    }
    if (enabled == Py_True) {
        operand_tuple = PyTuple_New(n);
        if (operand_tuple == NULL) {
            goto python;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyTuple_SET_ITEM(operand_tuple, i, Py_NewRef(operands[i]));
        }
        result = new_node(cls, out, op, operand_tuple);
    } else {
        result = new_node(cls, out, Py_None, empty_tuple);
    }
    goto done;
python:
    result = fall_back_to_python_apply(args, nargs);
done:
    for (Py_ssize_t i = 0; i < made; i++) {
        Py_DECREF(operands[i]);
    }
    if (operands != stack_operands) {
        PyMem_Free(operands);
        PyMem_Free(numbers);
    }
    Py_XDECREF(forward);
    Py_XDECREF(domain);
    Py_XDECREF(formulas);
    Py_XDECREF(variadic);
    Py_XDECREF(out);
    Py_XDECREF(operand_tuple);
    Py_XDECREF(enabled);
    return result;
}

/* ------------------------------------------------------------------------- */
/* float_sweep: engine.Sweep(root).run() with floats                         */
/* ------------------------------------------------------------------------- */

typedef struct {
    long long id;
    PyObject *node;      /* borrowed: the `seen` dict holds it */
} Entry;

static int
by_creation_number(const void *a, const void *b)
{
    long long x = ((const Entry *)a)->id, y = ((const Entry *)b)->id;
    return (x > y) - (x < y);
}

/* The nodes the roots depend on (kept alive by the dict `seen`), sorted by creation number into *entries. */
static Py_ssize_t
collect_sorted(PyObject *const *roots, Py_ssize_t nroots, PyObject *seen, Entry **entries)
{
    PyObject *stack = PyList_New(0);
    if (stack == NULL) {
        return -1;
    }
    for (Py_ssize_t r = 0; r < nroots; r++) {
        if (PyDict_SetItem(seen, roots[r], Py_None) < 0 || PyList_Append(stack, roots[r]) < 0) {
            Py_DECREF(stack);
            return -1;
        }
    }
    while (PyList_GET_SIZE(stack) > 0) {
        Py_ssize_t last = PyList_GET_SIZE(stack) - 1;
        PyObject *node = PyList_GET_ITEM(stack, last);     /* kept alive by `seen` */
        if (PyList_SetSlice(stack, last, last + 1, NULL) < 0) {
            Py_DECREF(stack);
            return -1;
        }
        PyObject *operands = SLOT(node, OPERANDS);
        if (!PyTuple_Check(operands)) {
            PyErr_SetString(PyExc_TypeError, "a node's operands must be a tuple");
            Py_DECREF(stack);
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands); i++) {
            PyObject *child = PyTuple_GET_ITEM(operands, i);
            if (!IS_NODE(child)) {
                continue;
            }
            int known = PyDict_Contains(seen, child);
            if (known < 0 || (!known && (PyDict_SetItem(seen, child, Py_None) < 0
                                         || PyList_Append(stack, child) < 0))) {
                Py_DECREF(stack);
                return -1;
            }
        }
    }
    Py_DECREF(stack);
    Py_ssize_t count = PyDict_GET_SIZE(seen), k = 0, pos = 0;
    PyObject *node, *unused;
    *entries = PyMem_New(Entry, count);
    if (*entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    while (PyDict_Next(seen, &pos, &node, &unused)) {
        (*entries)[k].id = PyLong_AsLongLong(SLOT(node, ID));
        (*entries)[k].node = node;
        k++;
    }
    if (PyErr_Occurred()) {
        PyMem_Free(*entries);
        return -1;
    }
    qsort(*entries, count, sizeof(Entry), by_creation_number);
    return count;
}

/* One node's step: grads[child] = grads.get(child) + local · g for each Value operand.
 * 1 = done, 0 = not the common path (fall back), -1 = a real error (memory). */
static int
chain_rule_step(PyObject *node, PyObject *grads)
{
    PyObject *g_obj = PyDict_GetItemWithError(grads, node);       /* borrowed */
    if (g_obj == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    double g = PyFloat_AS_DOUBLE(g_obj);
    PyObject *operands = SLOT(node, OPERANDS);
    Py_ssize_t n = PyTuple_GET_SIZE(operands);
    PyObject *stack_call[ON_STACK + 1];
    PyObject **call = n > ON_STACK ? PyMem_New(PyObject *, n + 1) : stack_call;
    if (call == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    call[0] = SLOT(node, DATA);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(operands, i);
        call[i + 1] = IS_NODE(a) ? SLOT(a, DATA) : a;
    }
    PyObject *partials = PyObject_GetAttr(SLOT(node, OP), s_partials);
    PyObject *locals = partials ? PyObject_Vectorcall(partials, call, n + 1, NULL) : NULL;
    Py_XDECREF(partials);
    if (call != stack_call) {
        PyMem_Free(call);
    }
    if (locals == NULL) {
        return 0;
    }
    int status = 1;
    PyObject *seq = PySequence_Fast(locals, "partials must return a sequence");
    if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != n) {
        status = 0;
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *child = PyTuple_GET_ITEM(operands, i);
        if (!IS_NODE(child)) {
            continue;                                  /* constants get no gradient */
        }
        PyObject *local = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyFloat_Check(local) && !PyLong_Check(local)) {
            status = 0;
            goto done;
        }
        double share = PyFloat_AsDouble(local) * g;
        if (share == -1.0 && PyErr_Occurred()) {
            status = 0;
            goto done;
        }
        PyObject *before = PyDict_GetItemWithError(grads, child);
        if (before == NULL && PyErr_Occurred()) {
            status = -1;
            goto done;
        }
        double total = before ? PyFloat_AS_DOUBLE(before) + share : share;
        if (!isfinite(total)) {
            status = 0;
            goto done;
        }
        PyObject *boxed = PyFloat_FromDouble(total);
        if (boxed == NULL || PyDict_SetItem(grads, child, boxed) < 0) {
            Py_XDECREF(boxed);
            status = -1;
            goto done;
        }
        Py_DECREF(boxed);
    }
done:
    Py_XDECREF(seq);
    Py_DECREF(locals);
    return status;
}

PyDoc_STRVAR(float_sweep_doc,
"float_sweep(root)\n--\n\n"
"engine.Sweep(root).run() in C: the map node -> d root/d node as floats.\n"
"Whenever a step leaves the common path (an error in a partials, a local\n"
"derivative that is not a plain number, a gradient that is not finite), the\n"
"whole sweep is run again by the Python original, which raises or returns\n"
"exactly what the reference does.");

static PyObject *
float_sweep(PyObject *module, PyObject *root)
{
    if (node_type == NULL || !IS_NODE(root)) {
        return PyObject_CallOneArg(py_sweep, root);
    }
    PyObject *seen = PyDict_New();
    PyObject *grads = PyDict_New();
    Entry *entries = NULL;
    Py_ssize_t count = -1;
    if (seen != NULL && grads != NULL && PyDict_SetItem(grads, root, one) == 0) {
        count = collect_sorted(&root, 1, seen, &entries);
    }
    for (Py_ssize_t k = count - 1; k >= 0; k--) {
        PyObject *node = entries[k].node;
        if (SLOT(node, OP) == Py_None) {
            continue;                                  /* a leaf: nothing below it */
        }
        int status = chain_rule_step(node, grads);
        if (status != 1) {
            Py_CLEAR(grads);
            if (status == 0) {
                PyErr_Clear();
                grads = PyObject_CallOneArg(py_sweep, root);
            }
            break;
        }
    }
    PyMem_Free(entries);
    Py_XDECREF(seen);
    if (count < 0) {
        Py_CLEAR(grads);
    }
    return grads;
}

PyDoc_STRVAR(topo_order_doc,
"topo_order(*roots)\n--\n\n"
"engine.topo_order in C: every node the roots depend on, children before\n"
"parents (sorted by creation number).  A root that is not a node goes to\n"
"the Python original, which raises what it raises.");

static PyObject *
topo_order(PyObject *module, PyObject *const *roots, Py_ssize_t nroots)
{
    for (Py_ssize_t r = 0; r < nroots; r++) {
        if (node_type == NULL || !IS_NODE(roots[r])) {
            return PyObject_Vectorcall(py_topo_order, roots, nroots, NULL);
        }
    }
    PyObject *seen = PyDict_New(), *order = NULL;
    Entry *entries = NULL;
    Py_ssize_t count = seen ? collect_sorted(roots, nroots, seen, &entries) : -1;
    if (count >= 0) {
        order = PyList_New(count);
        for (Py_ssize_t k = 0; order != NULL && k < count; k++) {
            PyList_SET_ITEM(order, k, Py_NewRef(entries[k].node));
        }
        PyMem_Free(entries);
    }
    Py_XDECREF(seen);
    return order;
}

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL, bind_doc},
    {"make_node", (PyCFunction)(void (*)(void))make_node, METH_FASTCALL, make_node_doc},
    {"apply", (PyCFunction)(void (*)(void))apply, METH_FASTCALL, apply_doc},
    {"float_sweep", float_sweep, METH_O, float_sweep_doc},
    {"topo_order", (PyCFunction)(void (*)(void))topo_order, METH_FASTCALL, topo_order_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "autobp._node",
    "C twins of engine.py's node maker, apply and float sweep (see _node.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__node(void)
{
    zero = PyFloat_FromDouble(0.0);
    one = PyFloat_FromDouble(1.0);
    empty = PyUnicode_FromString("");
    empty_tuple = PyTuple_New(0);
    s_forward = PyUnicode_InternFromString("forward");
    s_partials = PyUnicode_InternFromString("partials");
    s_domain = PyUnicode_InternFromString("domain");
    s_formulas = PyUnicode_InternFromString("formulas");
    s_variadic = PyUnicode_InternFromString("variadic");
    if (!zero || !one || !empty || !empty_tuple || !s_forward || !s_partials
        || !s_domain || !s_formulas || !s_variadic) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
