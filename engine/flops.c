/* FLOP estimates per node, for profiles' GFLOP/s, `ember info` and the program's
 * thread choice (engine/program_tune.c): multiply-adds count two, elementwise ops and
 * reductions one per element, data movement nothing. */
#include <stdbool.h>
#include <string.h>

#include "graph.h"

static const char *const elementwise_ops[] = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log",
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid",
    "HardSwish", "Tanh", "Softplus", "Softsign", "Mish", "Clip", "Erf", "Sin", "Cos", "Tan",
    "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round",
    "Sign", "Max", "Min", "Mean", "Sum", "Where", "Equal", "Less", "LessOrEqual", "Greater",
    "GreaterOrEqual", "Not", "And", "Or", "Xor", "BitShift", "IsNaN", "IsInf",
    "BatchNormalization", "InstanceNormalization", "LayerNormalization",
    "LpNormalization", "Softmax", "LogSoftmax", "Hardmax", "ThresholdedRelu", "Dropout",
    "QuantizeLinear", "DequantizeLinear", NULL,
};
static const char *const reduce_ops[] = {
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceSum",
    "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

static const ember_value *val(const ember_graph *g, const ember_node *n, bool out, int i)
{
    int k = out ? (i < n->n_outputs ? n->outputs[i] : -1) : (i < n->n_inputs ? n->inputs[i] : -1);
    return k >= 0 && k < g->n_values ? &g->values[k] : NULL;
}

static bool known(const ember_value *v)
{
    return v && v->shape.rank >= 0 && ember_shape_numel(&v->shape) >= 0;
}

double ember_node_flops(const ember_graph *g, const ember_node *n)
{
    const ember_value *x = val(g, n, false, 0), *w = val(g, n, false, 1), *y = val(g, n, true, 0);
    const char *op = n->op_type;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0) return 0;
    if (strcmp(op, "Conv") == 0 || strcmp(op, "ConvTranspose") == 0 || strcmp(op, "ConvInteger") == 0) {
        bool tr = op[4] == 'T';
        const ember_value *base = tr ? x : y;
        if (!known(base) || !known(w) || w->shape.rank < 2) return -1;
        double k = (double)w->shape.dims[1];
        for (int d = 2; d < w->shape.rank; d++) k *= (double)w->shape.dims[d];
        return 2.0 * (double)ember_shape_numel(&base->shape) * k;
    }
    if (strcmp(op, "Gemm") == 0) {
        if (!known(x) || !known(y) || x->shape.rank != 2) return -1;
        double k = (double)x->shape.dims[ember_attr_int(n, "transA", 0) ? 0 : 1];
        return 2.0 * (double)ember_shape_numel(&y->shape) * k;
    }
    if (strcmp(op, "MatMul") == 0 || strcmp(op, "MatMulInteger") == 0) {
        if (!known(x) || !known(y) || x->shape.rank < 1) return -1;
        return 2.0 * (double)ember_shape_numel(&y->shape) * (double)x->shape.dims[x->shape.rank - 1];
    }
    if (strcmp(op, "MaxPool") == 0 || strcmp(op, "AveragePool") == 0 || strcmp(op, "LpPool") == 0) {
        const int64_t *k;
        int nk = ember_attr_ints(n, "kernel_shape", &k);
        if (!known(y)) return -1;
        double win = 1;
        for (int i = 0; i < nk; i++) win *= (double)k[i];
        return (double)ember_shape_numel(&y->shape) * win;
    }
    if (strcmp(op, "LSTM") == 0 || strcmp(op, "GRU") == 0 || strcmp(op, "RNN") == 0) {
        int64_t h = ember_attr_int(n, "hidden_size", -1);
        if (!known(x) || x->shape.rank != 3 || h <= 0) return -1;
        double gates = op[0] == 'L' ? 4 : op[0] == 'G' ? 3 : 1;
        const char *dir = ember_attr_string(n, "direction", "forward");
        double dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
        /* X is [T, B, I] in either layout up to a transpose; T*B is what counts */
        double tb = (double)x->shape.dims[0] * (double)x->shape.dims[1];
        return 2.0 * tb * dirs * gates * (double)h * ((double)x->shape.dims[2] + (double)h);
    }
    if (in_list(reduce_ops, op)) return known(x) ? (double)ember_shape_numel(&x->shape) : -1;
    if (in_list(elementwise_ops, op)) return known(y) ? (double)ember_shape_numel(&y->shape) : -1;
    return 0; /* data movement (Reshape, Transpose, Gather, ...) or not modelled */
}

