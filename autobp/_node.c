/* autobp._node: the speed layer.  C twins of six things in autobp/engine.py, of
 * two in autobp/forward.py and of two in autobp/batching.py (the trace's walk and its fusion analysis).
 *
 *   make_node(cls, data, op, operands)  = engine._make_node_in_python, and the
 *       node is left out of the cyclic garbage collector (see below);
 *   fast_operators(cls, ...)            = Value's operators for a subclass, as C slots;
 *   apply(op, *args)                     = engine.apply, on its common path;
 *   float_sweep(root)                    = engine.Sweep(root).run(), floats;
 *   graph_sweep(root)                    = engine.Sweep(root, create_graph=True).run();
 *   backward(root)                       = engine._backward, Value.backward's body;
 *   topo_order(*roots)                   = engine.topo_order, which every tool walks;
 *   float_push(outputs, seeds, fallback) = forward.Linearization(outputs).push_in_python,
 *       the tangent sweep on floats;
 *   float_hvp(output, inputs, seeds, fallback) = forward._hvp_in_python's floats,
 *       computed without making the gradient's graph (see there);
 *   walk(outputs, inputs, fallback)      = batching._walk_in_python;
 *   fusion(codes, start, args, ...)      = batching._fusion_in_python.
 *
 * A learner may skip this file: the Python is the reference, and with
 * AUTOBP_PURE_PYTHON=1 it is exactly what runs.  Each twin takes the same
 * steps in the same order (float_hvp: the same float operations, without
 * the nodes that would hold them), so it gives identical numbers (tests check this),
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
 * Only nodes of the bound class, or of a subclass that adds no storage (no
 * __dict__, no slots of its own, as autobp's trace placeholders), are
 * untracked: another subclass may hold anything, and so cycles.
 *
 * bind(cls, op_cls, grad_enabled, ...) is called once by engine.py: it reads
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
static PyTypeObject *op_type = NULL;       /* ops.Op, whose fields (slots) apply and the sweep read */
static Py_ssize_t offset[NSLOTS];          /* where each slot lives inside an instance */
enum { FORWARD, PARTIALS, FORMULAS, DOMAIN, VARIADIC, NOPSLOTS };
static const char *const OP_SLOT_NAMES[NOPSLOTS] = {"forward", "partials", "formulas", "domain", "variadic"};
static Py_ssize_t op_offset[NOPSLOTS];
static PyObject *grad_enabled = NULL;      /* engine._grad_enabled: a ContextVar, per thread */
static PyObject *py_apply = NULL;          /* engine.apply as written in Python */
static PyObject *py_sweep = NULL;          /* engine._float_sweep_in_python */
static PyObject *py_topo_order = NULL;     /* engine._topo_order_in_python */
static PyObject *py_backward = NULL;       /* engine._backward_in_python */
static PyObject *py_graph_sweep = NULL;    /* engine._graph_sweep_in_python */
static PyObject *mul_op = NULL, *add_op = NULL;    /* ops.MUL and ops.ADD, what Value's * and + apply */
static long long next_id = 0;              /* creation numbers, shared with engine._new_id's range */
static PyObject *zero, *one, *empty, *empty_tuple;
static PyObject *s_forward, *s_partials, *s_domain, *s_formulas, *s_variadic, *s_grad;

#define SLOT(node, i) (*(PyObject **)((char *)(node) + offset[i]))
#define OP_SLOT(op, i) (*(PyObject **)((char *)(op) + op_offset[i]))
#define IS_NODE(x) PyObject_TypeCheck((x), node_type)

PyDoc_STRVAR(bind_doc,
"bind(cls, op_cls, grad_enabled, apply, sweep, topo_order, backward, graph_sweep, mul, add)\n--\n\n"
"Make make_node() build instances of `cls`, whose __slots__ must include\n"
"data, grad, label, op_record, operands and _id; read an op record's fields\n"
"from the slots of `op_cls` (ops.Op); keep the grad-mode object and the\n"
"Python apply, float sweep, topo_order, backward and graph sweep to fall\n"
"back on, and the op records that cls's * and + apply.");

/* The offsets of the slots `names` in instances of `cls`, which must declare them in its own __slots__. */
static int
slot_offsets(PyObject *cls, const char *const *names, int n, Py_ssize_t *found)
{
    if (!PyType_Check(cls)) {
        PyErr_Format(PyExc_TypeError, "bind() needs a class, got %R", cls);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        PyObject *descr = PyObject_GetAttrString(cls, names[i]);
        if (descr == NULL) {
            return -1;
        }
        int is_slot = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                      && ((PyMemberDescrObject *)descr)->d_common.d_type == (PyTypeObject *)cls;
        if (is_slot) {
            found[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!is_slot) {
            PyErr_Format(PyExc_TypeError, "bind(): %s.%s must be one of its own __slots__",
                         ((PyTypeObject *)cls)->tp_name, names[i]);
            return -1;
        }
    }
    return 0;
}

static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10) {
        return PyErr_Format(PyExc_TypeError, "bind() takes 10 arguments (cls, op_cls, grad_enabled, apply, "
                            "sweep, topo_order, backward, graph_sweep, mul, add), got %zd", nargs);
    }
    Py_ssize_t found[NSLOTS], found_op[NOPSLOTS];
    if (slot_offsets(args[0], SLOT_NAMES, NSLOTS, found) < 0 || slot_offsets(args[1], OP_SLOT_NAMES, NOPSLOTS, found_op) < 0) {
        return NULL;
    }
    if (!PyContextVar_CheckExact(args[2])) {
        return PyErr_Format(PyExc_TypeError, "bind(): grad_enabled must be a ContextVar, got %R", args[2]);
    }
    if (!PyObject_TypeCheck(args[8], (PyTypeObject *)args[1]) || !PyObject_TypeCheck(args[9], (PyTypeObject *)args[1])) {
        return PyErr_Format(PyExc_TypeError, "bind(): mul and add must be op records, got %R and %R",
                            args[8], args[9]);
    }
    memcpy(offset, found, sizeof offset);
    memcpy(op_offset, found_op, sizeof op_offset);
    Py_XSETREF(node_type, (PyTypeObject *)Py_NewRef(args[0]));
    Py_XSETREF(op_type, (PyTypeObject *)Py_NewRef(args[1]));
    Py_XSETREF(grad_enabled, Py_NewRef(args[2]));
    Py_XSETREF(py_apply, Py_NewRef(args[3]));
    Py_XSETREF(py_sweep, Py_NewRef(args[4]));
    Py_XSETREF(py_topo_order, Py_NewRef(args[5]));
    Py_XSETREF(py_backward, Py_NewRef(args[6]));
    Py_XSETREF(py_graph_sweep, Py_NewRef(args[7]));
    Py_XSETREF(mul_op, Py_NewRef(args[8]));
    Py_XSETREF(add_op, Py_NewRef(args[9]));
    Py_RETURN_NONE;
}

/* An op record's field: read from its slot when it is an ops.Op (always, in practice), else by name. */
static PyObject *
op_field(PyObject *op, int field, PyObject *name)
{
    if (Py_IS_TYPE(op, op_type)) {
        PyObject *value = OP_SLOT(op, field);
        if (value != NULL) {
            return Py_NewRef(value);
        }
    }
    return PyObject_GetAttr(op, name);
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
    if (cls == node_type || (cls->tp_basicsize == node_type->tp_basicsize && cls->tp_dictoffset == 0)) {
        PyObject_GC_UnTrack(node);             /* the bound class, or a subclass that adds no storage */
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
"`op` from `operands`, grad 0.0, the next creation number; a node of the\n"
"bound class, or of a subclass adding no storage, is not tracked by the\n"
"cyclic garbage collector.");

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
    forward = op_field(op, FORWARD, s_forward);
    domain = forward ? op_field(op, DOMAIN, s_domain) : NULL;
    formulas = domain ? op_field(op, FORMULAS, s_formulas) : NULL;
    variadic = formulas ? op_field(op, VARIADIC, s_variadic) : NULL;
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
/* Operators that call apply directly, for autobp.placeholders' traced inputs */
/* ------------------------------------------------------------------------- */

/* Value's operators are Python methods (`return apply(MUL, self, other)`).  When the right operand's class
 * is a proper subclass of the left's, as in w * x for a parameter w and a traced input x, Python first
 * looks both classes up for a reflected method (__rmul__) the subclass might override: two class lookups
 * per op, about a fifth of a trace.  A class given these slots has its arithmetic go to apply at once,
 * with the same op records and operand order as Value's methods. */
enum { T_ADD, T_SUB, T_MUL, T_DIV, T_POW, T_NEG, T_ABS, N_FAST };
static PyObject *fast_op[N_FAST];

static PyObject *
fast_apply(int k, PyObject *a, PyObject *b)
{
    PyObject *args[3] = {fast_op[k], a, b};
    return apply(NULL, args, b == NULL ? 2 : 3);
}

static PyObject *fast_add(PyObject *a, PyObject *b) { return fast_apply(T_ADD, a, b); }
static PyObject *fast_subtract(PyObject *a, PyObject *b) { return fast_apply(T_SUB, a, b); }
static PyObject *fast_multiply(PyObject *a, PyObject *b) { return fast_apply(T_MUL, a, b); }
static PyObject *fast_divide(PyObject *a, PyObject *b) { return fast_apply(T_DIV, a, b); }
static PyObject *fast_negative(PyObject *a) { return fast_apply(T_NEG, a, NULL); }
static PyObject *fast_absolute(PyObject *a) { return fast_apply(T_ABS, a, NULL); }

static PyObject *
fast_power(PyObject *a, PyObject *b, PyObject *modulo)
{
    if (modulo != Py_None) {
        Py_RETURN_NOTIMPLEMENTED;          /* pow(x, y, m): Value's ** takes no modulo either */
    }
    return fast_apply(T_POW, a, b);
}

PyDoc_STRVAR(fast_operators_doc,
"fast_operators(cls, add, sub, mul, div, pow, neg, abs)\n--\n\n"
"Give `cls` (a subclass of the bound class, made by a class statement) the\n"
"operators + - * / ** unary - and abs() as C slots that call apply with these\n"
"op records, as Value's methods do, without Python's reflected-method checks.");

static PyObject *
fast_operators(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1 + N_FAST || node_type == NULL || !PyType_Check(args[0])
        || !(((PyTypeObject *)args[0])->tp_flags & Py_TPFLAGS_HEAPTYPE)
        || !PyType_IsSubtype((PyTypeObject *)args[0], node_type) || (PyTypeObject *)args[0] == node_type) {
        return PyErr_Format(PyExc_TypeError, "fast_operators() takes a subclass of the bound class and %d op "
                            "records", N_FAST);
    }
    for (int k = 0; k < N_FAST; k++) {
        if (!PyObject_TypeCheck(args[k + 1], op_type)) {
            return PyErr_Format(PyExc_TypeError, "fast_operators(): %R is not an op record", args[k + 1]);
        }
        Py_XSETREF(fast_op[k], Py_NewRef(args[k + 1]));
    }
    PyNumberMethods *number = &((PyHeapTypeObject *)args[0])->as_number;
    number->nb_add = fast_add;
    number->nb_subtract = fast_subtract;
    number->nb_multiply = fast_multiply;
    number->nb_true_divide = fast_divide;
    number->nb_power = fast_power;
    number->nb_negative = fast_negative;
    number->nb_absolute = fast_absolute;
    PyType_Modified((PyTypeObject *)args[0]);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------- */
/* The sweep's own map, and the C twins of topo_order, the float sweep and   */
/* backward()                                                                */
/* ------------------------------------------------------------------------- */

/* The nodes a sweep works on: each node (a reference held until the sweep
 * ends) with its creation number, found through an open-addressing table
 * keyed by the node's address.  It belongs to one sweep and nothing is
 * written on the nodes, as in engine.Sweep; it is only faster than a dict of
 * Python objects. */
typedef struct {
    long long id;
    PyObject *node;
    Py_ssize_t kids;         /* where this node's Value operands' positions start in Graph.kids */
} Entry;

typedef struct {
    Entry *entries;          /* in the order found; the table points here, so they never move */
    Py_ssize_t *order;       /* positions in entries, children before parents */
    Py_ssize_t n, capacity;
    PyObject **keys;         /* the table: a node's address ... */
    Py_ssize_t *where;       /* ... and its position in entries */
    Py_ssize_t mask;
    Py_ssize_t computed;     /* order[0:computed] is sorted (all of it unless leaves come last) */
    Py_ssize_t *kids;        /* each node's Value operands as positions in entries, in operand order */
    Py_ssize_t n_kids, kids_capacity;
} Graph;

/* Where the probe for `key` starts: its address in 16-byte units, modulo the table's size.  Nodes made
 * one after another lie close together in memory, so a sweep that meets them in order (or nearly) reads
 * neighbouring slots instead of scattering over the table; the table is at most half full and a node
 * takes about 100 bytes, so addresses that wrap around onto the same slots stay sparse. */
static size_t
slot_of(const Graph *g, PyObject *key)
{
    return (size_t)((uintptr_t)key >> 4) & (size_t)g->mask;
}

/* Position of `key` in entries, or -1. */
static Py_ssize_t
graph_find(const Graph *g, PyObject *key)
{
    if (g->keys == NULL) {
        return -1;                                 /* nothing added yet */
    }
    for (size_t s = slot_of(g, key);; s = (s + 1) & (size_t)g->mask) {
        if (g->keys[s] == key) {
            return g->where[s];
        }
        if (g->keys[s] == NULL) {
            return -1;
        }
    }
}

static void
graph_set(Graph *g, PyObject *key, Py_ssize_t position)
{
    size_t s = slot_of(g, key);
    while (g->keys[s] != NULL && g->keys[s] != key) {
        s = (s + 1) & (size_t)g->mask;
    }
    g->keys[s] = key;
    g->where[s] = position;
}

static int
graph_grow(Graph *g)
{
    Py_ssize_t old_size = g->keys ? g->mask + 1 : 0, size = old_size ? 2 * old_size : 1024;
    PyObject **old_keys = g->keys;
    Py_ssize_t *old_where = g->where;
    g->keys = PyMem_Calloc(size, sizeof(PyObject *));
    g->where = PyMem_Malloc(size * sizeof(Py_ssize_t));
    if (g->keys == NULL || g->where == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    g->mask = size - 1;
    for (Py_ssize_t s = 0; s < old_size; s++) {
        if (old_keys[s] != NULL) {
            graph_set(g, old_keys[s], old_where[s]);
        }
    }
    PyMem_Free(old_keys);
    PyMem_Free(old_where);
    return 0;
}

/* Add `node` (not yet in the graph) at the end of entries. */
static int
graph_add(Graph *g, PyObject *node)
{
    if ((g->keys == NULL || 2 * (g->n + 1) > g->mask + 1) && graph_grow(g) < 0) {
        return -1;
    }
    if (g->n == g->capacity) {
        Py_ssize_t capacity = g->capacity ? 2 * g->capacity : 1024;
        Entry *more = PyMem_Realloc(g->entries, capacity * sizeof(Entry));
        if (more == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        g->entries = more;
        g->capacity = capacity;
    }
    long long id = PyLong_AsLongLong(SLOT(node, ID));
    if (id == -1 && PyErr_Occurred()) {
        return -1;
    }
    g->entries[g->n].id = id;
    g->entries[g->n].node = Py_NewRef(node);
    graph_set(g, node, g->n);
    g->n++;
    return 0;
}

static void
graph_free(Graph *g)
{
    for (Py_ssize_t k = 0; k < g->n; k++) {
        Py_DECREF(g->entries[k].node);
    }
    PyMem_Free(g->entries);
    PyMem_Free(g->order);
    PyMem_Free(g->kids);
    PyMem_Free(g->keys);
    PyMem_Free(g->where);
}

static const Entry *sorting;      /* the entries the comparator reads (sorting runs under the GIL) */

static int
by_creation_number(const void *a, const void *b)
{
    long long x = sorting[*(const Py_ssize_t *)a].id, y = sorting[*(const Py_ssize_t *)b].id;
    return (x > y) - (x < y);
}

/* engine.topo_order's steps: every node the roots (all nodes) depend on, sorted by creation number.
 * With leaves_last, only the computed nodes are sorted and the leaves follow them in any order: a sweep
 * visits computed nodes only, and a graph's leaves (a model's parameters) can outnumber them. */
static int
graph_collect(Graph *g, PyObject *const *roots, Py_ssize_t nroots, int leaves_last)
{
    for (Py_ssize_t r = 0; r < nroots; r++) {
        if (graph_find(g, roots[r]) < 0 && graph_add(g, roots[r]) < 0) {
            return -1;
        }
    }
    for (Py_ssize_t k = 0; k < g->n; k++) {       /* entries is also the work list: it grows as we go */
        PyObject *operands = SLOT(g->entries[k].node, OPERANDS);
        if (!PyTuple_Check(operands)) {
            PyErr_SetString(PyExc_TypeError, "a node's operands must be a tuple");
            return -1;
        }
        g->entries[k].kids = g->n_kids;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands); i++) {
            PyObject *child = PyTuple_GET_ITEM(operands, i);
            if (!IS_NODE(child)) {
                continue;
            }
            Py_ssize_t j = graph_find(g, child);
            if (j < 0) {
                if (graph_add(g, child) < 0) {
                    return -1;
                }
                j = g->n - 1;
            }
            if (g->n_kids == g->kids_capacity) {      /* remember it: the sweep then needs no lookup */
                Py_ssize_t capacity = g->kids_capacity ? 2 * g->kids_capacity : 1024;
                Py_ssize_t *more = PyMem_Realloc(g->kids, capacity * sizeof(Py_ssize_t));
                if (more == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                g->kids = more;
                g->kids_capacity = capacity;
            }
            g->kids[g->n_kids++] = j;
        }
    }
    g->order = PyMem_New(Py_ssize_t, g->n ? g->n : 1);
    if (g->order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t front = 0, back = g->n;
    for (Py_ssize_t k = 0; k < g->n; k++) {        /* with leaves_last: computed nodes first, then leaves */
        int leaf = leaves_last && SLOT(g->entries[k].node, OP) == Py_None;
        g->order[leaf ? --back : front++] = k;
    }
    sorting = g->entries;
    qsort(g->order, front, sizeof(Py_ssize_t), by_creation_number);
    g->computed = front;
    return 0;
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
    Graph g = {0};
    PyObject *order = NULL;
    if (graph_collect(&g, roots, nroots, 0) == 0 && (order = PyList_New(g.n)) != NULL) {
        for (Py_ssize_t k = 0; k < g.n; k++) {
            PyList_SET_ITEM(order, k, Py_NewRef(g.entries[g.order[k]].node));
        }
    }
    graph_free(&g);
    return order;
}

/* `local` as a double, when it is a float or an int (1), else 0 (with an exception set, if any). */
static int
number_of(PyObject *local, double *d)
{
    if (!PyFloat_Check(local) && !PyLong_Check(local)) {
        return 0;
    }
    *d = PyFloat_AsDouble(local);
    return !(*d == -1.0 && PyErr_Occurred());
}

/* The local derivatives of a computed node: its op's partials(out, *inputs) called on the floats inside
 * (on_values = 0) or on the Values themselves (on_values = 1), as a sequence with one entry per operand.
 * NULL, with an exception set, when the call fails or returns anything else. */
static PyObject *
local_derivatives(PyObject *node, int on_values)
{
    PyObject *operands = SLOT(node, OPERANDS), *stack_call[ON_STACK + 1], **call = stack_call;
    Py_ssize_t n = PyTuple_GET_SIZE(operands);
    if (n + 1 > ON_STACK + 1 && (call = PyMem_Malloc((n + 1) * sizeof(PyObject *))) == NULL) {
        return PyErr_NoMemory();
    }
    call[0] = on_values ? node : SLOT(node, DATA);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(operands, i);
        call[i + 1] = IS_NODE(a) && !on_values ? SLOT(a, DATA) : a;
    }
    PyObject *partials = op_field(SLOT(node, OP), PARTIALS, s_partials);
    PyObject *locals = partials ? PyObject_Vectorcall(partials, call, n + 1, NULL) : NULL;
    Py_XDECREF(partials);
    if (call != stack_call) {
        PyMem_Free(call);
    }
    PyObject *seq = locals ? PySequence_Fast(locals, "partials must return a sequence") : NULL;
    Py_XDECREF(locals);
    if (seq != NULL && PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_SetString(PyExc_TypeError, "partials returned the wrong number of derivatives");
        Py_CLEAR(seq);
    }
    return seq;
}

/* The float sweep from root over g: grad[k] = d root / d entries[k].node.  `first` lists the positions in
 * the order they were first reached (the root first), as a dict of the Python sweep would hold them.
 * 1 = done, 0 = not the common path (the caller hands the sweep to Python), -1 = a real error. */
static int
graph_sweep(Graph *g, PyObject *root, double *grad, char *reached, Py_ssize_t *first)
{
    Py_ssize_t n_first = 0, top = graph_find(g, root);
    grad[top] = 1.0;
    reached[top] = 1;
    first[n_first++] = top;
    int status = 1;
    for (Py_ssize_t s = g->computed - 1; s >= 0 && status == 1; s--) {     /* parents before children */
        Py_ssize_t k = g->order[s];
        PyObject *node = g->entries[k].node, *operands = SLOT(node, OPERANDS);
        PyObject *seq = local_derivatives(node, 0);
        status = seq != NULL;
        double upstream = grad[k], local;
        const Py_ssize_t *kid = g->kids + g->entries[k].kids;     /* the Value operands' positions */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands) && status == 1; i++) {
            if (!IS_NODE(PyTuple_GET_ITEM(operands, i))) {
                continue;                              /* constants get no gradient */
            }
            Py_ssize_t j = *kid++;
            if (!number_of(PySequence_Fast_GET_ITEM(seq, i), &local)) {
                status = 0;
                break;
            }
            double total = reached[j] ? grad[j] + local * upstream : local * upstream;
            if (!isfinite(total)) {
                status = 0;
                break;
            }
            if (!reached[j]) {
                reached[j] = 1;
                first[n_first++] = j;
            }
            grad[j] = total;
        }
        Py_XDECREF(seq);
    }
    return status;
}

/* One float sweep's results: grad[k] = d root / d entries[k].node, for the positions reached. */
typedef struct {
    Graph g;
    double *grad;
    char *reached;
    Py_ssize_t *first;       /* positions in the order first reached, the root first */
} FloatSweep;

static void
sweep_free(FloatSweep *s)
{
    PyMem_Free(s->grad);
    PyMem_Free(s->reached);
    PyMem_Free(s->first);
    graph_free(&s->g);
}

/* Collect and sweep: 1 with the arrays filled, 0 to hand over to Python, -1 on a real error. */
static int
run_sweep(PyObject *root, FloatSweep *s)
{
    if (graph_collect(&s->g, &root, 1, 1) < 0) {
        return -1;
    }
    s->grad = PyMem_Malloc(s->g.n * sizeof(double));
    s->reached = PyMem_Calloc(s->g.n, 1);
    s->first = PyMem_Malloc(s->g.n * sizeof(Py_ssize_t));
    if (s->grad == NULL || s->reached == NULL || s->first == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int status = graph_sweep(&s->g, root, s->grad, s->reached, s->first);
    if (status == 0) {
        PyErr_Clear();
    }
    return status;
}

PyDoc_STRVAR(float_sweep_doc,
"float_sweep(root)\n--\n\n"
"engine.Sweep(root).run() in C: the map node -> d root/d node as floats, in\n"
"the same order.  Whenever a step leaves the common path (an error in a\n"
"partials, a local derivative that is not a plain number, a gradient that is\n"
"not finite), the whole sweep is run again by the Python original, which\n"
"raises or returns exactly what the reference does.");

static PyObject *
float_sweep(PyObject *module, PyObject *root)
{
    if (node_type == NULL || !IS_NODE(root)) {
        return PyObject_CallOneArg(py_sweep, root);
    }
    FloatSweep s = {0};
    PyObject *grads = NULL;
    int status = run_sweep(root, &s);
    if (status == 1 && (grads = PyDict_New()) != NULL) {
        Py_ssize_t n_reached = 0;
        for (Py_ssize_t k = 0; k < s.g.n; k++) {
            n_reached += s.reached[k];
        }
        for (Py_ssize_t i = 0; i < n_reached; i++) {
            PyObject *value = PyFloat_FromDouble(s.grad[s.first[i]]);
            if (value == NULL || PyDict_SetItem(grads, s.g.entries[s.first[i]].node, value) < 0) {
                Py_XDECREF(value);
                Py_CLEAR(grads);
                break;
            }
            Py_DECREF(value);
        }
    }
    sweep_free(&s);
    return status == 0 ? PyObject_CallOneArg(py_sweep, root) : grads;
}

PyDoc_STRVAR(backward_doc,
"backward(root)\n--\n\n"
"engine._backward (the body of Value.backward) in C: the float sweep from\n"
"root, each gradient added into its node's .grad.  Anything unusual goes to\n"
"the Python original.");

static PyObject *
backward(PyObject *module, PyObject *root)
{
    if (node_type == NULL || !IS_NODE(root)) {
        return PyObject_CallOneArg(py_backward, root);
    }
    FloatSweep s = {0};
    int status = run_sweep(root, &s);
    for (Py_ssize_t k = 0; status == 1 && k < s.g.n; k++) {
        if (!s.reached[k]) {
            continue;
        }
        PyObject *node = s.g.entries[k].node, *before = SLOT(node, GRAD), *after;
        if (Py_IS_TYPE(node, node_type) && PyFloat_CheckExact(before)) {
            after = PyFloat_FromDouble(PyFloat_AS_DOUBLE(before) + s.grad[k]);    /* node.grad += g */
            if (after == NULL) {
                status = -1;
                break;
            }
            Py_SETREF(SLOT(node, GRAD), after);
        } else {                                   /* a subclass, or a grad that is not a float */
            PyObject *share = PyFloat_FromDouble(s.grad[k]);
            PyObject *old = share ? PyObject_GetAttr(node, s_grad) : NULL;
            after = old ? PyNumber_InPlaceAdd(old, share) : NULL;
            if (after == NULL || PyObject_SetAttr(node, s_grad, after) < 0) {
                status = -1;
            }
            Py_XDECREF(share);
            Py_XDECREF(old);
            Py_XDECREF(after);
        }
    }
    sweep_free(&s);
    if (status == 0) {
        return PyObject_CallOneArg(py_backward, root);
    }
    if (status < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The number 1 as a local derivative (a float or an int), which passes the gradient on as it is. */
static int
is_one(PyObject *local)
{
    if (PyFloat_CheckExact(local)) {
        return PyFloat_AS_DOUBLE(local) == 1.0;
    }
    if (PyLong_CheckExact(local)) {
        int overflow;
        return PyLong_AsLongAndOverflow(local, &overflow) == 1 && !overflow;
    }
    return 0;
}

/* x * y and x + y as Value's operators compute them, apply(MUL or ADD, x, y), called directly when the
 * operands are of the bound class (or a float times one): the same call without a Python method frame. */
static PyObject *
times(PyObject *x, PyObject *y)
{
    if (Py_IS_TYPE(y, node_type) && (Py_IS_TYPE(x, node_type) || PyFloat_CheckExact(x))) {
        PyObject *args[3] = {mul_op, x, y};
        return apply(NULL, args, 3);
    }
    return PyNumber_Multiply(x, y);
}

static PyObject *
plus(PyObject *x, PyObject *y)
{
    if (Py_IS_TYPE(x, node_type) && Py_IS_TYPE(y, node_type)) {
        PyObject *args[3] = {add_op, x, y};
        return apply(NULL, args, 3);
    }
    return PyNumber_Add(x, y);
}

/* engine.Sweep(root, create_graph=True)'s loop over g: grad[k] = d root / d entries[k].node as a Value (a
 * new reference, NULL where not reached), built by the same arithmetic in the same order.  `first` as in
 * graph_sweep.  1 = done, 0 = an exception (the caller hands the sweep to Python), -1 = out of memory. */
static int
graph_sweep_values(Graph *g, PyObject *root, PyObject *seed, PyObject **grad, Py_ssize_t *first)
{
    Py_ssize_t n_first = 0, top = graph_find(g, root);
    grad[top] = Py_NewRef(seed);
    first[n_first++] = top;
    int status = 1;
    for (Py_ssize_t s = g->computed - 1; s >= 0 && status == 1; s--) {     /* parents before children */
        Py_ssize_t k = g->order[s];
        PyObject *node = g->entries[k].node, *operands = SLOT(node, OPERANDS);
        PyObject *seq = local_derivatives(node, 1), *upstream = grad[k];   /* complete: every parent came first */
        status = seq != NULL && upstream != NULL;
        const Py_ssize_t *kid = g->kids + g->entries[k].kids;     /* the Value operands' positions */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands) && status == 1; i++) {
            if (!IS_NODE(PyTuple_GET_ITEM(operands, i))) {
                continue;                              /* constants get no gradient */
            }
            Py_ssize_t j = *kid++;
            PyObject *local = PySequence_Fast_GET_ITEM(seq, i);
            PyObject *share = is_one(local) ? Py_NewRef(upstream) : times(local, upstream);
            PyObject *total = share == NULL || grad[j] == NULL ? share : plus(grad[j], share);
            if (total != share) {
                Py_XDECREF(share);
            }
            if (total == NULL || (PyFloat_CheckExact(total) && !isfinite(PyFloat_AS_DOUBLE(total)))) {
                Py_XDECREF(total);
                status = 0;
                break;
            }
            if (grad[j] == NULL) {
                first[n_first++] = j;
            }
            Py_XSETREF(grad[j], total);
        }
        Py_XDECREF(seq);
    }
    return status;
}

PyDoc_STRVAR(graph_sweep_doc,
"graph_sweep(root)\n--\n\n"
"engine.Sweep(root, create_graph=True).run() in C: the map node -> d root/d node\n"
"as Values, built by the same operations in the same order.  Whenever a step\n"
"raises or leaves the floats, the whole sweep is run again by the Python\n"
"original, which raises or returns exactly what the reference does.");

static PyObject *
create_graph_sweep(PyObject *module, PyObject *root)
{
    if (node_type == NULL || !IS_NODE(root)) {
        return PyObject_CallOneArg(py_graph_sweep, root);
    }
    Graph g = {0};
    PyObject **grad = NULL, *grads = NULL, *seed = NULL;
    Py_ssize_t *first = NULL, n_reached = 0;
    int status = -1;
    if (graph_collect(&g, &root, 1, 1) == 0) {
        grad = PyMem_Calloc(g.n, sizeof(PyObject *));
        first = PyMem_Malloc(g.n * sizeof(Py_ssize_t));
        if (grad == NULL || first == NULL) {
            PyErr_NoMemory();
        } else if ((seed = PyObject_CallOneArg((PyObject *)node_type, one)) != NULL) {    /* Value(1.0) */
            status = graph_sweep_values(&g, root, seed, grad, first);
        }
    }
    for (Py_ssize_t k = 0; grad != NULL && k < g.n; k++) {
        n_reached += grad[k] != NULL;
    }
    if (status == 1 && (grads = PyDict_New()) != NULL) {
        for (Py_ssize_t i = 0; i < n_reached; i++) {      /* in the order first reached, as the Python dict */
            if (PyDict_SetItem(grads, g.entries[first[i]].node, grad[first[i]]) < 0) {
                Py_CLEAR(grads);
                break;
            }
        }
    }
    for (Py_ssize_t k = 0; grad != NULL && k < g.n; k++) {
        Py_XDECREF(grad[k]);
    }
    PyMem_Free(grad);
    PyMem_Free(first);
    Py_XDECREF(seed);
    graph_free(&g);
    if (status == 0) {
        PyErr_Clear();
        return PyObject_CallOneArg(py_graph_sweep, root);
    }
    return grads;
}

/* ------------------------------------------------------------------------- */
/* The C twin of forward mode's float tangent sweep                          */
/* ------------------------------------------------------------------------- */

/* forward.Linearization.tangents with float seeds, in creation order: tangent[k] = d entries[k].node /
 * d(direction) for the positions reached (seeded, or fed by a reached operand).  Every computed node's
 * partials are called, reached or not, as the Python Linearization evaluates them all.
 * 1 = done, 0 = not the common path (the caller hands the sweep to Python), -1 = a real error. */
static int
graph_tangents(Graph *g, double *tangent, char *reached)
{
    int status = 1;
    for (Py_ssize_t s = 0; s < g->computed && status == 1; s++) {      /* operands before results */
        Py_ssize_t k = g->order[s];
        PyObject *node = g->entries[k].node, *operands = SLOT(node, OPERANDS);
        PyObject *seq = local_derivatives(node, 0);
        status = seq != NULL;
        double t = tangent[k], local;              /* the seed, when the node is itself seeded */
        char has = reached[k];
        const Py_ssize_t *kid = g->kids + g->entries[k].kids;     /* the Value operands' positions */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands) && status == 1; i++) {
            if (!IS_NODE(PyTuple_GET_ITEM(operands, i))) {
                continue;                              /* a constant: no tangent */
            }
            Py_ssize_t j = *kid++;
            if (!number_of(PySequence_Fast_GET_ITEM(seq, i), &local)) {
                status = 0;
                break;
            }
            if (!reached[j]) {
                continue;                              /* an operand the seeds do not reach */
            }
            t = has ? t + local * tangent[j] : local * tangent[j];
            has = 1;
            if (!isfinite(t)) {
                status = 0;
                break;
            }
        }
        tangent[k] = t;
        reached[k] = has;
        Py_XDECREF(seq);
    }
    return status;
}

/* Collect the graph below `outputs`, seed it and sweep: 1 with the arrays filled, 0 to hand over to Python
 * (a seed that is not a float, anything graph_tangents hands over), -1 on a real error. */
static int
run_tangents(PyObject *outputs, PyObject *seeds, Graph *g, double **tangent, char **reached)
{
    if (graph_collect(g, PySequence_Fast_ITEMS(outputs), PyList_GET_SIZE(outputs), 1) < 0) {
        return -1;
    }
    *tangent = PyMem_Malloc((g->n ? g->n : 1) * sizeof(double));
    *reached = PyMem_Calloc(g->n ? g->n : 1, 1);
    if (*tangent == NULL || *reached == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(seeds, &pos, &key, &value)) {
        if (!PyFloat_CheckExact(value) || !isfinite(PyFloat_AS_DOUBLE(value))) {
            return 0;
        }
        Py_ssize_t j = graph_find(g, key);
        if (j >= 0) {
            (*tangent)[j] = PyFloat_AS_DOUBLE(value);
            (*reached)[j] = 1;
        }
    }
    int status = graph_tangents(g, *tangent, *reached);
    if (status == 0) {
        PyErr_Clear();
    }
    return status;
}

PyDoc_STRVAR(float_push_doc,
"float_push(outputs, seeds, fallback)\n--\n\n"
"forward.Linearization(outputs).push's float sweep in C: a list with the\n"
"tangent of each output (0.0 where the seeds do not reach), for a list of\n"
"nodes and a dict {node: float}.  Whenever a step leaves the common path (an\n"
"error in a partials, a local derivative that is not a plain number, a\n"
"tangent that is not finite), it returns fallback(seeds) instead, the\n"
"Python original, which raises or returns exactly what the reference does.");

static PyObject *
float_push(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        return PyErr_Format(PyExc_TypeError, "float_push() takes 3 arguments (outputs, seeds, fallback), "
                            "got %zd", nargs);
    }
    PyObject *outputs = args[0], *seeds = args[1], *fallback = args[2];
    int common = node_type != NULL && PyList_CheckExact(outputs) && PyList_GET_SIZE(outputs) > 0
                 && PyDict_CheckExact(seeds);
    for (Py_ssize_t r = 0; common && r < PyList_GET_SIZE(outputs); r++) {
        common = IS_NODE(PyList_GET_ITEM(outputs, r));
    }
    if (!common) {
        return PyObject_CallOneArg(fallback, seeds);
    }
    Graph g = {0};
    double *tangent = NULL;
    char *reached = NULL;
    PyObject *result = NULL;
    int status = run_tangents(outputs, seeds, &g, &tangent, &reached);
    if (status == 1 && (result = PyList_New(PyList_GET_SIZE(outputs))) != NULL) {
        for (Py_ssize_t r = 0; r < PyList_GET_SIZE(outputs); r++) {
            Py_ssize_t j = graph_find(&g, PyList_GET_ITEM(outputs, r));
            PyObject *t = reached[j] ? PyFloat_FromDouble(tangent[j]) : Py_NewRef(zero);
            if (t == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, r, t);
        }
    }
    PyMem_Free(tangent);
    PyMem_Free(reached);
    graph_free(&g);
    return status == 0 ? PyObject_CallOneArg(fallback, seeds) : result;
}

/* ------------------------------------------------------------------------- */
/* The C twin of hvp's float numbers: forward over reverse, no gradient graph */
/* ------------------------------------------------------------------------- */

/* forward.hvp's reference builds the gradient as a graph (grad(..., create_graph=True)) and pushes the
 * direction's tangents through it.  Each node of that graph holds a float made by one multiply or add,
 * and its tangent is made by the same few multiplies and adds, so the numbers can be had without making
 * the nodes: the forward graph's tangents first, then one reverse sweep that carries, for each node, its
 * adjoint and the adjoint's tangent, doing exactly the float operations the reference's nodes do:
 *
 *     share = local · g        (g itself when local is the number 1)
 *     share˙ = g · local˙ + local · g˙        (a term only where local˙, g˙ exist: the reached operands)
 *     ā_k += share,  ā_k˙ += share˙
 *
 * local˙ is the tangent of what partials returned on the Values: none for a number, the forward node's
 * for an operand, and for a node partials made (1 − out·out for tanh) its own tangent sweep. */
typedef struct {
    Graph g;
    PyObject *seeds;
    double *tangent, *adjoint, *adjoint_tangent;
    char *reached, *adjoint_reached, *adjoint_tangent_reached;
    Py_ssize_t budget;       /* how many nodes made by partials may still be swept before handing over */
} SecondOrder;

/* The tangent the reference's sweep gives `v`, which partials returned: 1 = found (*has = 0: none),
 * 0 = hand over to Python. */
static int
node_tangent(SecondOrder *so, PyObject *v, double *t, char *has)
{
    Py_ssize_t j = graph_find(&so->g, v);
    if (j >= 0) {
        *t = so->tangent[j];
        *has = so->reached[j];
        return 1;
    }
    if (!Py_IS_TYPE(v, node_type) || --so->budget < 0) {
        return 0;
    }
    if (SLOT(v, OP) == Py_None) {                      /* a leaf partials made, or an input f did not use */
        PyObject *seed = PyDict_GetItemWithError(so->seeds, v);
        *has = seed != NULL;
        *t = seed != NULL ? PyFloat_AS_DOUBLE(seed) : 0.0;
        return !PyErr_Occurred();
    }
    PyObject *operands = SLOT(v, OPERANDS), *seq = local_derivatives(v, 0);
    int ok = seq != NULL;
    double sum = 0.0, local, ta;
    char any = 0, ha;
    for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(operands); i++) {
        PyObject *a = PyTuple_GET_ITEM(operands, i);
        if (!IS_NODE(a)) {
            continue;
        }
        ok = number_of(PySequence_Fast_GET_ITEM(seq, i), &local) && node_tangent(so, a, &ta, &ha);
        if (ok && ha) {
            sum = any ? sum + local * ta : local * ta;
            any = 1;
            ok = isfinite(sum);
        }
    }
    Py_XDECREF(seq);
    *t = sum;
    *has = any;
    return ok;
}

/* The reverse sweep carrying each adjoint and its tangent.  1 = done, 0 = hand over to Python. */
static int
second_order_sweep(SecondOrder *so, PyObject *root)
{
    Graph *g = &so->g;
    Py_ssize_t top = graph_find(g, root);
    so->adjoint[top] = 1.0;                            /* the reference's Value(1.0), a leaf: no tangent */
    so->adjoint_reached[top] = 1;
    for (Py_ssize_t s = g->computed - 1; s >= 0; s--) {      /* parents before children */
        Py_ssize_t k = g->order[s];
        PyObject *node = g->entries[k].node, *operands = SLOT(node, OPERANDS);
        PyObject *seq = local_derivatives(node, 1);
        int ok = seq != NULL && so->adjoint_reached[k];
        double up = so->adjoint[k], up_t = so->adjoint_tangent[k];
        char up_has = so->adjoint_tangent_reached[k];
        const Py_ssize_t *kid = g->kids + g->entries[k].kids;
        for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(operands); i++) {
            if (!IS_NODE(PyTuple_GET_ITEM(operands, i))) {
                continue;
            }
            Py_ssize_t j = *kid++;
            PyObject *local = PySequence_Fast_GET_ITEM(seq, i);
            double share, share_t = 0.0, d, dt;
            char share_has = 0, d_has = 0;
            if (is_one(local)) {                       /* g passed on as it is */
                share = up;
                share_t = up_t;
                share_has = up_has;
            } else if (PyFloat_CheckExact(local)) {    /* a number times g: only g has a tangent */
                d = PyFloat_AS_DOUBLE(local);
                share = d * up;
                if (up_has) {
                    share_t = d * up_t;
                    share_has = 1;
                }
            } else if (Py_IS_TYPE(local, node_type) && PyFloat_CheckExact(SLOT(local, DATA))
                       && node_tangent(so, local, &dt, &d_has)) {       /* a Value times g: mul's partials (g, local) */
                d = PyFloat_AS_DOUBLE(SLOT(local, DATA));
                share = d * up;
                if (d_has) {
                    share_t = up * dt;
                    share_has = 1;
                }
                if (up_has) {
                    share_t = share_has ? share_t + d * up_t : d * up_t;
                    share_has = 1;
                }
            } else {
                ok = 0;
                break;
            }
            int before = so->adjoint_reached[j];
            double total = before ? so->adjoint[j] + share : share;
            if (before && so->adjoint_tangent_reached[j]) {     /* add's partials (1, 1): ā˙ + share˙ */
                so->adjoint_tangent[j] = share_has ? so->adjoint_tangent[j] + share_t : so->adjoint_tangent[j];
            } else {
                so->adjoint_tangent[j] = share_t;
                so->adjoint_tangent_reached[j] = share_has;
            }
            so->adjoint[j] = total;
            so->adjoint_reached[j] = 1;
            ok = isfinite(total) && isfinite(so->adjoint_tangent[j]);
        }
        Py_XDECREF(seq);
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

PyDoc_STRVAR(float_hvp_doc,
"float_hvp(output, inputs, seeds, fallback)\n--\n\n"
"The floats forward.hvp's reference gives, Linearization(grad(output, inputs,\n"
"create_graph=True)).push_in_python(seeds), computed without making the\n"
"gradient graph: H·u as a list with one float per input, for a dict seeds\n"
"{input: float}.  Anything unusual (an error, a subclass node, a number that\n"
"is not a float, a non-finite result) returns fallback(output, inputs, seeds).");

static PyObject *
float_hvp(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        return PyErr_Format(PyExc_TypeError, "float_hvp() takes 4 arguments (output, inputs, seeds, fallback), "
                            "got %zd", nargs);
    }
    PyObject *root = args[0], *inputs = args[1];
    SecondOrder so = {.seeds = args[2]};
    int status = node_type != NULL && Py_IS_TYPE(root, node_type) && PyList_CheckExact(inputs)
                 && PyDict_CheckExact(so.seeds);
    if (status && graph_collect(&so.g, &root, 1, 1) < 0) {
        graph_free(&so.g);
        return NULL;
    }
    for (Py_ssize_t k = 0; status && k < so.g.n; k++) {
        status = Py_IS_TYPE(so.g.entries[k].node, node_type);      /* a subclass may define its own * and + */
    }
    Py_ssize_t n = so.g.n ? so.g.n : 1;
    so.budget = 64 + 16 * n;
    if (status) {
        so.tangent = PyMem_Calloc(n, sizeof(double));
        so.adjoint = PyMem_Calloc(n, sizeof(double));
        so.adjoint_tangent = PyMem_Calloc(n, sizeof(double));
        so.reached = PyMem_Calloc(n, 1);
        so.adjoint_reached = PyMem_Calloc(n, 1);
        so.adjoint_tangent_reached = PyMem_Calloc(n, 1);
        if (!so.tangent || !so.adjoint || !so.adjoint_tangent || !so.reached || !so.adjoint_reached
            || !so.adjoint_tangent_reached) {
            PyErr_NoMemory();
            status = -1;
        }
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value, *result = NULL;
    while (status == 1 && PyDict_Next(so.seeds, &pos, &key, &value)) {
        status = PyFloat_CheckExact(value) && isfinite(PyFloat_AS_DOUBLE(value));
        Py_ssize_t j = graph_find(&so.g, key);
        if (status && j >= 0) {
            so.tangent[j] = PyFloat_AS_DOUBLE(value);
            so.reached[j] = 1;
        }
    }
    if (status == 1) {
        status = graph_tangents(&so.g, so.tangent, so.reached) == 1 && second_order_sweep(&so, root);
    }
    if (status == 1 && (result = PyList_New(PyList_GET_SIZE(inputs))) != NULL) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(inputs); i++) {
            Py_ssize_t j = graph_find(&so.g, PyList_GET_ITEM(inputs, i));
            int has = j >= 0 && so.adjoint_reached[j] && so.adjoint_tangent_reached[j];
            PyObject *t = has ? PyFloat_FromDouble(so.adjoint_tangent[j]) : Py_NewRef(zero);
            if (t == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, i, t);
        }
    }
    PyMem_Free(so.tangent);
    PyMem_Free(so.adjoint);
    PyMem_Free(so.adjoint_tangent);
    PyMem_Free(so.reached);
    PyMem_Free(so.adjoint_reached);
    PyMem_Free(so.adjoint_tangent_reached);
    graph_free(&so.g);
    if (status == 0) {
        PyErr_Clear();
        return PyObject_Vectorcall(args[3], args, 3, NULL);
    }
    return result;
}

/* ------------------------------------------------------------------------- */
/* The C twin of the trace's walk: autobp.batching._walk_in_python            */
/* ------------------------------------------------------------------------- */

/* A growing array of int64s, kept in a bytes object so that the walk hands it over without a copy. */
typedef struct {
    PyObject *bytes;
    int64_t *items;
    Py_ssize_t n, capacity;
} Ints;

static int
ints_add(Ints *v, int64_t x)
{
    if (v->n == v->capacity) {
        Py_ssize_t capacity = v->capacity ? 2 * v->capacity : 1024;
        if (v->bytes == NULL ? (v->bytes = PyBytes_FromStringAndSize(NULL, capacity * sizeof(int64_t))) == NULL
                             : _PyBytes_Resize(&v->bytes, capacity * sizeof(int64_t)) < 0) {
            return -1;
        }
        v->items = (int64_t *)PyBytes_AS_STRING(v->bytes);
        v->capacity = capacity;
    }
    v->items[v->n++] = x;
    return 0;
}

/* The items as a bytes object, which the caller now owns (v is left empty); NULL on error. */
static PyObject *
ints_bytes(Ints *v)
{
    PyObject *bytes = v->bytes ? v->bytes : PyBytes_FromStringAndSize(NULL, 0);
    Py_ssize_t size = v->n * (Py_ssize_t)sizeof(int64_t);
    *v = (Ints){0};
    return bytes == NULL || _PyBytes_Resize(&bytes, size) < 0 ? NULL : bytes;
}

typedef struct {
    PyObject *node, *operands;
    Py_ssize_t next;         /* the next operand to look at */
} Frame;

/* What the walk builds, in _walk_in_python's names. */
typedef struct {
    Graph seen;              /* node -> its index (only the table is used) */
    Py_ssize_t count;
    PyObject *labels, *params, *ops, *constants, *constant_index;   /* {index: label}, lists, {bits of a constant: k} */
    Ints codes, start, args, info;
} Walk;

static int
walk_index(Walk *w, PyObject *node, int64_t code, int64_t info)
{
    Graph *g = &w->seen;
    if ((g->keys == NULL || 2 * (w->count + 1) > g->mask + 1) && graph_grow(g) < 0) {
        return -1;
    }
    graph_set(g, node, w->count++);
    PyObject *label = SLOT(node, LABEL);
    if (code >= 0 && PyUnicode_Check(label) && PyUnicode_GET_LENGTH(label) > 0) {   /* a computed node's label */
        PyObject *at = PyLong_FromSsize_t(w->count - 1);
        int failed = at == NULL || PyDict_SetItem(w->labels, at, label) < 0;
        Py_XDECREF(at);
        if (failed) {
            return -1;
        }
    }
    if ((info == 1 && PyList_Append(w->params, node) < 0) || ints_add(&w->codes, code) < 0
        || ints_add(&w->info, info) < 0 || ints_add(&w->start, w->args.n) < 0) {
        return -1;
    }
    return 0;
}

/* A leaf's info: 2 (batched) for an input, else 1 (a parameter). */
static int64_t
leaf_info(PyObject *inputs, PyObject *node, int *error)
{
    int is_input = PyDict_Contains(inputs, node);
    *error |= is_input < 0;
    return is_input > 0 ? 2 : 1;
}

/* Record `node`, whose Value operands are all recorded: 1 = done, 0 = hand over, -1 = error. */
static int
walk_record(Walk *w, PyObject *node, PyObject *inputs)
{
    PyObject *operands = SLOT(node, OPERANDS);
    int64_t top = -4, flags = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(operands); i++) {
        PyObject *a = PyTuple_GET_ITEM(operands, i);
        if (!IS_NODE(a)) {
            if (!PyFloat_CheckExact(a)) {
                return 0;
            }
            double c = PyFloat_AS_DOUBLE(a);
            uint64_t bits;
            memcpy(&bits, &c, sizeof bits);                /* 0.0 and -0.0 are different constants */
            PyObject *key = PyLong_FromUnsignedLongLong(bits), *k;
            if (key == NULL) {
                return -1;
            }
            k = PyDict_GetItemWithError(w->constant_index, key);
            Py_ssize_t position = k ? PyLong_AsSsize_t(k) : PyList_GET_SIZE(w->constants);
            int failed = PyErr_Occurred() != NULL;
            if (!failed && k == NULL) {
                PyObject *value = PyLong_FromSsize_t(position);
                failed = value == NULL || PyDict_SetItem(w->constant_index, key, value) < 0
                         || PyList_Append(w->constants, a) < 0;
                Py_XDECREF(value);
            }
            Py_DECREF(key);
            if (failed || ints_add(&w->args, -1 - position) < 0) {
                return -1;
            }
            continue;
        }
        Py_ssize_t j = graph_find(&w->seen, a);
        if (ints_add(&w->args, j) < 0) {
            return -1;
        }
        int64_t x = w->info.items[j];
        top = x > top ? x : top;
        flags |= x;
    }
    if (PyTuple_GET_SIZE(operands) == 0) {                 /* an output that is itself a leaf */
        int error = 0;
        int64_t info = leaf_info(inputs, node, &error);
        return error ? -1 : walk_index(w, node, -1, info) < 0 ? -1 : 1;
    }
    PyObject *op = SLOT(node, OP);
    Py_ssize_t code = 0;
    while (code < PyList_GET_SIZE(w->ops) && PyList_GET_ITEM(w->ops, code) != op) {
        code++;                                            /* the distinct ops, in the order first met */
    }
    if (code == PyList_GET_SIZE(w->ops) && PyList_Append(w->ops, op) < 0) {
        return -1;
    }
    int64_t level = top >= 0 ? (top >> 2) + 1 : 0;
    return walk_index(w, node, code, (level << 2) | (flags & 3)) < 0 ? -1 : 1;
}

/* The depth-first walk from every output: 1 = done, 0 = hand over, -1 = error. */
static int
walk_graph(Walk *w, PyObject *outputs, PyObject *inputs)
{
    Frame *stack = NULL;
    Py_ssize_t depth = 0, capacity = 0;
    int status = 1;
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(outputs) && status == 1; r++) {
        PyObject *root = PyList_GET_ITEM(outputs, r);
        if (!IS_NODE(root)) {
            status = 0;
            break;
        }
        if (graph_find(&w->seen, root) >= 0) {
            continue;
        }
        PyObject *push = root;
        while (status == 1 && (push != NULL || depth > 0)) {
            if (push != NULL) {                            /* descend into a computed node */
                if (depth == capacity) {
                    capacity = capacity ? 2 * capacity : 256;
                    Frame *more = PyMem_Realloc(stack, capacity * sizeof(Frame));
                    if (more == NULL) {
                        PyErr_NoMemory();
                        status = -1;
                        break;
                    }
                    stack = more;
                }
                stack[depth++] = (Frame){push, SLOT(push, OPERANDS), 0};
                if (!PyTuple_Check(stack[depth - 1].operands)) {
                    status = 0;
                    break;
                }
                push = NULL;
            }
            Frame *f = &stack[depth - 1];
            while (f->next < PyTuple_GET_SIZE(f->operands)) {
                PyObject *a = PyTuple_GET_ITEM(f->operands, f->next++);
                if (!IS_NODE(a) || graph_find(&w->seen, a) >= 0) {
                    continue;
                }
                if (!PyTuple_Check(SLOT(a, OPERANDS))) {
                    status = 0;
                    break;
                }
                if (PyTuple_GET_SIZE(SLOT(a, OPERANDS)) > 0) {
                    push = a;
                    break;
                }
                int error = 0;                             /* a leaf: an input (batched) or a parameter */
                int64_t info = leaf_info(inputs, a, &error);
                if (error || walk_index(w, a, -1, info) < 0) {
                    status = -1;
                    break;
                }
            }
            if (push == NULL && status == 1) {             /* every operand recorded: record the node */
                depth--;
                status = walk_record(w, f->node, inputs);
            }
        }
    }
    PyMem_Free(stack);
    return status;
}

PyDoc_STRVAR(walk_doc,
"walk(outputs, inputs, fallback)\n--\n\n"
"autobp.batching._walk_in_python in C: (labels, params, codes, ops, start, args, info,\n"
"constants, input_at, output_at), with the int64 arrays as bytes.  Anything\n"
"unusual (a constant that is not a float, operands that are not a tuple)\n"
"returns fallback(outputs, inputs), the Python original.");

/* The walk's node -> index table is kept from one walk to the next, emptied, unless it is far bigger than the
 * last graph needed: a fresh table's pages each cost a page fault, about as much as the walk's work on the
 * nodes they hold.  (Taken while in use, so a walk that runs during another gets a table of its own.) */
static Graph spare_seen;

static PyObject *
walk(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        return PyErr_Format(PyExc_TypeError, "walk() takes 3 arguments (outputs, inputs, fallback), got %zd", nargs);
    }
    PyObject *outputs = args[0], *inputs = args[1], *result = NULL;
    if (node_type == NULL || !PyList_CheckExact(outputs) || !PyDict_CheckExact(inputs)) {
        return PyObject_Vectorcall(args[2], args, 2, NULL);
    }
    Walk w = {.seen = spare_seen, .labels = PyDict_New(), .params = PyList_New(0), .ops = PyList_New(0),
              .constants = PyList_New(0), .constant_index = PyDict_New()};
    Ints input_at = {0}, output_at = {0};
    spare_seen = (Graph){0};
    int status = w.labels && w.params && w.ops && w.constants && w.constant_index && ints_add(&w.start, 0) == 0
                 ? walk_graph(&w, outputs, inputs) : -1;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (status == 1 && PyDict_Next(inputs, &pos, &key, &value)) {
        status = ints_add(&input_at, graph_find(&w.seen, key)) == 0 ? 1 : -1;
    }
    for (Py_ssize_t r = 0; status == 1 && r < PyList_GET_SIZE(outputs); r++) {
        status = ints_add(&output_at, graph_find(&w.seen, PyList_GET_ITEM(outputs, r))) == 0 ? 1 : -1;
    }
    if (status == 1) {
        result = Py_BuildValue("(OONONNNONN)", w.labels, w.params, ints_bytes(&w.codes), w.ops,
                               ints_bytes(&w.start), ints_bytes(&w.args), ints_bytes(&w.info), w.constants,
                               ints_bytes(&input_at), ints_bytes(&output_at));
    }
    Py_XDECREF(w.labels);
    Py_XDECREF(w.params);
    Py_XDECREF(w.ops);
    Py_XDECREF(w.constants);
    Py_XDECREF(w.constant_index);
    Py_XDECREF(w.codes.bytes);
    Py_XDECREF(w.start.bytes);
    Py_XDECREF(w.args.bytes);
    Py_XDECREF(w.info.bytes);
    Py_XDECREF(input_at.bytes);
    Py_XDECREF(output_at.bytes);
    if (spare_seen.keys == NULL && w.seen.keys != NULL && w.seen.mask < 16 * w.count) {
        memset(w.seen.keys, 0, (w.seen.mask + 1) * sizeof(PyObject *));
        spare_seen = (Graph){.keys = w.seen.keys, .where = w.seen.where, .mask = w.seen.mask};
    }
    else {
        graph_free(&w.seen);
    }
    if (status == 0) {
        PyErr_Clear();
        return PyObject_Vectorcall(args[2], args, 2, NULL);
    }
    return result;
}

/* ------------------------------------------------------------------------- */
/* The C twin of the plan's fusion analysis: autobp.batching._fusion_in_python */
/* ------------------------------------------------------------------------- */

/* The number of items of `array` held in `view`: a read-only, C-contiguous buffer of `itemsize`-byte items,
 * `expected` of them unless expected < 0.  -1 with an error set for anything else. */
static Py_ssize_t
int_buffer(PyObject *array, Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t expected, const char *name)
{
    if (PyObject_GetBuffer(array, view, PyBUF_C_CONTIGUOUS) < 0) {
        return -1;
    }
    if (view->itemsize != itemsize || (expected >= 0 && view->len / itemsize != expected)) {
        PyErr_Format(PyExc_ValueError, "fusion(): %s must hold %zd-byte items%s", name, itemsize,
                     expected >= 0 ? " for every node" : "");
        PyBuffer_Release(view);
        return -1;
    }
    return view->len / itemsize;
}

PyDoc_STRVAR(fusion_doc,
"fusion(codes, start, args, batched, output_at, mul, sum)\n--\n\n"
"autobp.batching._fusion_in_python in C: (absorbed, fused, role) as bytes,\n"
"from the graph's int64 arrays and its bool array `batched`.");

static PyObject *
fusion(PyObject *module, PyObject *const *argv, Py_ssize_t nargs)
{
    if (nargs != 7) {
        return PyErr_Format(PyExc_TypeError, "fusion() takes 7 arguments (codes, start, args, batched, "
                            "output_at, mul, sum), got %zd", nargs);
    }
    long long mul = PyLong_AsLongLong(argv[5]), sum = PyLong_AsLongLong(argv[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer views[5];
    Py_ssize_t n, na = -1, nout = -1;
    int got = 0;                                           /* the views taken, to release */
    if ((n = int_buffer(argv[0], &views[got], 8, -1, "codes")) >= 0 && ++got
        && int_buffer(argv[1], &views[got], 8, n + 1, "start") >= 0 && ++got
        && (na = int_buffer(argv[2], &views[got], 8, -1, "args")) >= 0 && ++got
        && int_buffer(argv[3], &views[got], 1, n, "batched") >= 0 && ++got
        && (nout = int_buffer(argv[4], &views[got], 8, -1, "output_at")) >= 0) {
        got++;
    }
    PyObject *result = NULL;
    if (got == 5) {
        const int64_t *codes = views[0].buf, *start = views[1].buf, *args = views[2].buf, *outs = views[4].buf;
        const char *batched = views[3].buf;
        Py_ssize_t *uses = PyMem_Calloc(n + 1, sizeof(Py_ssize_t)), *reader = PyMem_Malloc((n + 1) * sizeof(Py_ssize_t));
        PyObject *absorbed = PyBytes_FromStringAndSize(NULL, n), *fused = PyBytes_FromStringAndSize(NULL, n);
        PyObject *role = PyBytes_FromStringAndSize(NULL, na);
        if (uses == NULL || reader == NULL) {
            PyErr_NoMemory();
        } else if (absorbed != NULL && fused != NULL && role != NULL) {
            char *ab = PyBytes_AS_STRING(absorbed), *fu = PyBytes_AS_STRING(fused), *ro = PyBytes_AS_STRING(role);
            memset(ab, 0, n);
            memset(fu, 0, n);
            int bad = start[n] != na;
            for (Py_ssize_t i = 0; i < n && !bad; i++) {
                for (int64_t a = start[i]; a < start[i + 1]; a++) {
                    int64_t j = args[a];
                    if (j >= n) {
                        bad = 1;
                        break;
                    }
                    if (j >= 0) {
                        uses[j]++;
                        reader[j] = i;
                    }
                }
            }
            for (Py_ssize_t k = 0; k < nout && !bad; k++) {
                bad = outs[k] < 0 || outs[k] >= n;
                if (!bad) {
                    uses[outs[k]] = -1;                    /* an output is never absorbed */
                }
            }
            for (Py_ssize_t i = 0; i < n && !bad; i++) {
                if (codes[i] != mul || start[i + 1] - start[i] != 2 || !batched[i] || uses[i] != 1) {
                    continue;
                }
                int64_t x = args[start[i]], y = args[start[i] + 1];
                if ((x >= 0 && batched[x]) != (y >= 0 && batched[y]) && codes[reader[i]] == sum) {
                    ab[i] = fu[reader[i]] = 1;
                }
            }
            for (Py_ssize_t a = 0; a < na && !bad; a++) {
                int64_t j = args[a];
                ro[a] = j < 0 ? 0 : ab[j] ? 3 : batched[j] ? 2 : 1;
            }
            if (bad) {
                PyErr_SetString(PyExc_ValueError, "fusion(): start, args and output_at must index the nodes");
            } else {
                result = PyTuple_Pack(3, absorbed, fused, role);
            }
        }
        PyMem_Free(uses);
        PyMem_Free(reader);
        Py_XDECREF(absorbed);
        Py_XDECREF(fused);
        Py_XDECREF(role);
    }
    for (int k = 0; k < got; k++) {
        PyBuffer_Release(&views[k]);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL, bind_doc},
    {"make_node", (PyCFunction)(void (*)(void))make_node, METH_FASTCALL, make_node_doc},
    {"fast_operators", (PyCFunction)(void (*)(void))fast_operators, METH_FASTCALL, fast_operators_doc},
    {"apply", (PyCFunction)(void (*)(void))apply, METH_FASTCALL, apply_doc},
    {"float_sweep", float_sweep, METH_O, float_sweep_doc},
    {"graph_sweep", create_graph_sweep, METH_O, graph_sweep_doc},
    {"backward", backward, METH_O, backward_doc},
    {"topo_order", (PyCFunction)(void (*)(void))topo_order, METH_FASTCALL, topo_order_doc},
    {"float_push", (PyCFunction)(void (*)(void))float_push, METH_FASTCALL, float_push_doc},
    {"float_hvp", (PyCFunction)(void (*)(void))float_hvp, METH_FASTCALL, float_hvp_doc},
    {"walk", (PyCFunction)(void (*)(void))walk, METH_FASTCALL, walk_doc},
    {"fusion", (PyCFunction)(void (*)(void))fusion, METH_FASTCALL, fusion_doc},
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
    s_grad = PyUnicode_InternFromString("grad");
    if (!zero || !one || !empty || !empty_tuple || !s_forward || !s_partials
        || !s_domain || !s_formulas || !s_variadic || !s_grad) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
