/* autobp._node: the speed layer.  C twins of five things in autobp/engine.py.
 *
 *   make_node(cls, data, op, operands)  = engine._make_node_in_python, and the
 *       node is left out of the cyclic garbage collector (see below);
 *   apply(op, *args)                     = engine.apply, on its common path;
 *   float_sweep(root)                    = engine.Sweep(root).run(), floats;
 *   backward(root)                       = engine._backward, Value.backward's body;
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
static long long next_id = 0;              /* creation numbers, shared with engine._new_id's range */
static PyObject *zero, *one, *empty, *empty_tuple;
static PyObject *s_forward, *s_partials, *s_domain, *s_formulas, *s_variadic, *s_grad;

#define SLOT(node, i) (*(PyObject **)((char *)(node) + offset[i]))
#define OP_SLOT(op, i) (*(PyObject **)((char *)(op) + op_offset[i]))
#define IS_NODE(x) PyObject_TypeCheck((x), node_type)

PyDoc_STRVAR(bind_doc,
"bind(cls, op_cls, grad_enabled, apply, sweep, topo_order, backward)\n--\n\n"
"Make make_node() build instances of `cls`, whose __slots__ must include\n"
"data, grad, label, op_record, operands and _id; read an op record's fields\n"
"from the slots of `op_cls` (ops.Op); keep the grad-mode object and the\n"
"Python apply, float sweep, topo_order and backward to fall back on.");

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
    if (nargs != 7) {
        return PyErr_Format(PyExc_TypeError, "bind() takes 7 arguments "
                            "(cls, op_cls, grad_enabled, apply, sweep, topo_order, backward), got %zd", nargs);
    }
    Py_ssize_t found[NSLOTS], found_op[NOPSLOTS];
    if (slot_offsets(args[0], SLOT_NAMES, NSLOTS, found) < 0 || slot_offsets(args[1], OP_SLOT_NAMES, NOPSLOTS, found_op) < 0) {
        return NULL;
    }
    if (!PyContextVar_CheckExact(args[2])) {
        return PyErr_Format(PyExc_TypeError, "bind(): grad_enabled must be a ContextVar, got %R", args[2]);
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

static size_t
slot_of(const Graph *g, PyObject *key)
{
    return (size_t)(((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ULL) & (size_t)g->mask;
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
    PyObject *stack_call[ON_STACK + 1], **call = stack_call;
    Py_ssize_t call_size = ON_STACK + 1;
    int status = 1;
    for (Py_ssize_t s = g->computed - 1; s >= 0 && status == 1; s--) {     /* parents before children */
        Py_ssize_t k = g->order[s];
        PyObject *node = g->entries[k].node, *op = SLOT(node, OP);
        if (op == Py_None) {
            continue;                                  /* a leaf: nothing below it */
        }
        PyObject *operands = SLOT(node, OPERANDS);
        Py_ssize_t n = PyTuple_GET_SIZE(operands);
        if (n + 1 > call_size) {
            PyObject **more = PyMem_Realloc(call == stack_call ? NULL : call, (n + 1) * sizeof(PyObject *));
            if (more == NULL) {
                PyErr_NoMemory();
                status = -1;
                break;
            }
            call = more;
            call_size = n + 1;
        }
        call[0] = SLOT(node, DATA);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *a = PyTuple_GET_ITEM(operands, i);
            call[i + 1] = IS_NODE(a) ? SLOT(a, DATA) : a;
        }
        PyObject *partials = op_field(op, PARTIALS, s_partials);
        PyObject *locals = partials ? PyObject_Vectorcall(partials, call, n + 1, NULL) : NULL;
        Py_XDECREF(partials);
        PyObject *seq = locals ? PySequence_Fast(locals, "partials must return a sequence") : NULL;
        if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != n) {
            status = 0;
        }
        double upstream = grad[k];
        const Py_ssize_t *kid = g->kids + g->entries[k].kids;     /* the Value operands' positions */
        for (Py_ssize_t i = 0; i < n && status == 1; i++) {
            PyObject *child = PyTuple_GET_ITEM(operands, i);
            if (!IS_NODE(child)) {
                continue;                              /* constants get no gradient */
            }
            PyObject *local = PySequence_Fast_GET_ITEM(seq, i);
            if (!PyFloat_Check(local) && !PyLong_Check(local)) {
                status = 0;
                break;
            }
            double share = PyFloat_AsDouble(local) * upstream;
            if (share == -1.0 && PyErr_Occurred()) {
                status = 0;
                break;
            }
            Py_ssize_t j = *kid++;
            double total = reached[j] ? grad[j] + share : share;
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
        Py_XDECREF(locals);
    }
    if (call != stack_call) {
        PyMem_Free(call);
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

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL, bind_doc},
    {"make_node", (PyCFunction)(void (*)(void))make_node, METH_FASTCALL, make_node_doc},
    {"apply", (PyCFunction)(void (*)(void))apply, METH_FASTCALL, apply_doc},
    {"float_sweep", float_sweep, METH_O, float_sweep_doc},
    {"backward", backward, METH_O, backward_doc},
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
    s_grad = PyUnicode_InternFromString("grad");
    if (!zero || !one || !empty || !empty_tuple || !s_forward || !s_partials
        || !s_domain || !s_formulas || !s_variadic || !s_grad) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
