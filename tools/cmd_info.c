/* `ember info`: what a model is, from the imported graph (after load-time shape
 * inference, so FLOPs use inferred shapes where the file gave none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine/model.h"
#include "engine/passes.h"
#include "engine/graph_edit.h"
#include "engine/plan.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember info MODEL [--json | --optimized | --plan] [--shape NAME=D0,D1,...]\n"
            "\n"
            "Describes MODEL: inputs and outputs (name, type, shape with symbolic\n"
            "dimension names), operator histogram, parameter count (elements of all\n"
            "initializers), a FLOPs estimate, metadata, opsets and IR version.\n"
            "\n"
            "FLOPs: Conv 2*N*Cout*Hout*Wout*Cin/group*kh*kw, Gemm/MatMul 2*M*N*K, pooling\n"
            "one per window element, recurrent cells their gate GEMMs, elementwise and\n"
            "normalization ops one per output element; data movement counts zero. Nodes\n"
            "whose shapes are not known are skipped and counted.\n"
            "\n"
            "--optimized and --plan work on a private copy of the graph, imported again\n"
            "from the model's bytes, shape-inferred and optimized by the same passes the\n"
            "cpu backend runs (the loaded model stays as imported).\n"
            "\n"
            "options:\n"
            "  --json       machine-readable output\n"
            "  --optimized  print the optimization report and the graph after the passes,\n"
            "               one node a line: NAME (OP): inputs -> outputs\n"
            "  --plan       plan the activations memory of the optimized graph (no\n"
            "               in-place sharing) and print the arena size against the lower\n"
            "               bound and the largest buffers; needs static shapes\n"
            "  --shape NAME=D0,D1,...\n"
            "               bind input NAME to a concrete shape first (for symbolic\n"
            "               dimensions; with --optimized or --plan)\n"
            "  -h, --help   show this help\n");
}

typedef struct op_count {
    const char *op;
    const char *domain;
    int count;
} op_count;

typedef struct info_stats {
    op_count *hist;
    int n_hist;
    int64_t params, param_bytes;
    double flops;
    int skipped; /* nodes whose FLOPs could not be estimated for lack of shapes */
    int sub_graphs, sub_nodes;
} info_stats;

static int cmp_hist(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->op, y->op);
}

static int gather(const ember_graph *g, info_stats *st)
{
    st->hist = calloc((size_t)g->n_nodes + 1, sizeof *st->hist);
    if (!st->hist) return cli_error("out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        const char *dom = n->domain ? n->domain : "";
        int k;
        for (k = 0; k < st->n_hist; k++)
            if (strcmp(st->hist[k].op, n->op_type) == 0 && strcmp(st->hist[k].domain, dom) == 0) break;
        if (k == st->n_hist) st->hist[st->n_hist++] = (op_count){n->op_type, dom, 0};
        st->hist[k].count++;
        double f = ember_node_flops(g, n);
        if (f < 0) st->skipped++;
        else st->flops += f;
    }
    qsort(st->hist, (size_t)st->n_hist, sizeof *st->hist, cmp_hist);
    for (int i = 0; i < g->n_values; i++) {
        const ember_value *v = &g->values[i];
        if (!(v->flags & EMBER_VALUE_CONST) || v->producer >= 0) continue;
        int64_t n = ember_shape_numel(&v->shape);
        size_t es = ember_dtype_size(v->dtype);
        if (n < 0) n = es ? (int64_t)(v->nbytes / es) : 0;
        st->params += n;
        st->param_bytes += (int64_t)v->nbytes;
    }
    /* subgraphs (If/Loop/Scan bodies), walked with an explicit stack */
    const ember_graph *stack[256];
    int sp = 0;
    for (int i = 0; i < g->n_subgraphs && sp < 256; i++) stack[sp++] = g->subgraphs[i];
    while (sp > 0) {
        const ember_graph *s = stack[--sp];
        st->sub_graphs++;
        st->sub_nodes += s->n_nodes;
        for (int i = 0; i < s->n_subgraphs && sp < 256; i++) stack[sp++] = s->subgraphs[i];
    }
    return 0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p == '\n') printf("\\n");
        else if (*p == '\t') printf("\\t");
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void print_io_json(const ember_io_info *io)
{
    printf("{\"name\": ");
    json_str(io->name);
    printf(", \"dtype\": ");
    json_str(ember_dtype_name(io->dtype));
    printf(", \"shape\": ");
    if (io->rank < 0) {
        printf("null}");
        return;
    }
    putchar('[');
    for (int d = 0; d < io->rank; d++) {
        if (d) printf(", ");
        if (io->dims[d] >= 0) printf("%lld", (long long)io->dims[d]);
        else if (io->dim_names[d]) json_str(io->dim_names[d]);
        else printf("null");
    }
    printf("]}");
}

static void print_json(const char *path, const ember_model *m, const info_stats *st)
{
    const ember_graph *g = m->graph;
    printf("{\n  \"model\": ");
    json_str(path);
    printf(",\n  \"ir_version\": %lld,\n  \"opset\": %d,\n", (long long)m->meta.ir_version, g->opset);
    for (int io = 0; io < 2; io++) {
        int n = io ? ember_model_num_outputs(m) : ember_model_num_inputs(m);
        printf("  \"%s\": [", io ? "outputs" : "inputs");
        for (int i = 0; i < n; i++) {
            ember_io_info info;
            if ((io ? ember_model_output_info(m, i, &info) : ember_model_input_info(m, i, &info)) != EMBER_OK)
                continue;
            printf("%s\n    ", i ? "," : "");
            print_io_json(&info);
        }
        printf("\n  ],\n");
    }
    printf("  \"metadata\": {");
    const char *k, *v;
    for (int i = 0; ember_model_metadata(m, i, &k, &v) == EMBER_OK; i++) {
        printf("%s\n    ", i ? "," : "");
        json_str(k);
        printf(": ");
        json_str(v);
    }
    printf("\n  },\n  \"nodes\": %d,\n  \"ops\": {", g->n_nodes);
    for (int i = 0; i < st->n_hist; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", st->hist[i].domain, *st->hist[i].domain ? "." : "", st->hist[i].op);
        printf("%s\n    ", i ? "," : "");
        json_str(name);
        printf(": %d", st->hist[i].count);
    }
    printf("\n  },\n  \"subgraphs\": %d,\n  \"subgraph_nodes\": %d,\n", st->sub_graphs, st->sub_nodes);
    printf("  \"parameters\": %lld,\n  \"parameter_bytes\": %lld,\n", (long long)st->params,
           (long long)st->param_bytes);
    printf("  \"flops\": %.0f,\n  \"flops_skipped_nodes\": %d\n}\n", st->flops, st->skipped);
}

static void human(double v, char *buf, size_t n)
{
    const char *u[] = {"", "K", "M", "G", "T", "P"};
    int i = 0;
    while (v >= 1000 && i < 5) {
        v /= 1000;
        i++;
    }
    snprintf(buf, n, i ? "%.2f%s" : "%.0f%s", v, u[i]);
}

static void print_text(const char *path, const ember_model *m, const info_stats *st)
{
    const ember_graph *g = m->graph;
    char buf[1024], h[32];
    printf("model:       %s\nir_version:  %lld\nopset:       %d\n", path, (long long)m->meta.ir_version, g->opset);
    for (int io = 0; io < 2; io++) {
        int n = io ? ember_model_num_outputs(m) : ember_model_num_inputs(m);
        printf("%s (%d):\n", io ? "outputs" : "inputs", n);
        for (int i = 0; i < n; i++) {
            ember_io_info info;
            if ((io ? ember_model_output_info(m, i, &info) : ember_model_input_info(m, i, &info)) != EMBER_OK)
                continue;
            cli_format_io_shape(&info, buf, sizeof buf);
            printf("  %-24s %-8s %s\n", info.name, ember_dtype_name(info.dtype), buf);
        }
    }
    const char *k, *v;
    for (int i = 0; ember_model_metadata(m, i, &k, &v) == EMBER_OK; i++) {
        if (i == 0) printf("metadata:\n");
        printf("  %s: %s\n", k, v);
    }
    printf("ops (%d nodes):\n", g->n_nodes);
    for (int i = 0; i < st->n_hist; i++)
        printf("  %s%s%s: %d\n", st->hist[i].domain, *st->hist[i].domain ? "." : "", st->hist[i].op, st->hist[i].count);
    if (st->sub_graphs) printf("subgraphs:   %d (%d nodes, not in the histogram or FLOPs)\n", st->sub_graphs, st->sub_nodes);
    human((double)st->params, h, sizeof h);
    printf("parameters:  %lld (%s, %lld bytes)\n", (long long)st->params, h, (long long)st->param_bytes);
    human(st->flops, h, sizeof h);
    printf("FLOPs:       %.0f (%s)", st->flops, h);
    if (st->skipped) printf("; %d node%s skipped: shapes unknown", st->skipped, st->skipped == 1 ? "" : "s");
    printf("\n");
}

#define MAX_SHAPES 64

/* Binds "NAME=D0,D1,..." onto graph input NAME. */
static int bind_shape(ember_graph *g, const char *spec)
{
    const char *eq = strchr(spec, '=');
    int slot = -1;
    for (int i = 0; eq && i < g->n_inputs; i++) {
        const char *name = g->values[g->inputs[i]].name;
        if (strlen(name) == (size_t)(eq - spec) && strncmp(name, spec, (size_t)(eq - spec)) == 0) slot = i;
    }
    if (slot < 0) return cli_error("--shape %s: the model has no input '%.*s'", spec, eq ? (int)(eq - spec) : (int)strlen(spec), spec);
    ember_shape *sh = &g->values[g->inputs[slot]].shape;
    int64_t dims[EMBER_MAX_RANK];
    int rank = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", eq + 1);
    for (char *tok = buf, *next; tok && *tok; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = '\0';
        if (rank == EMBER_MAX_RANK || !cli_parse_i64(tok, &dims[rank]) || dims[rank] < 0)
            return cli_error("--shape %s: dimensions must be non-negative integers, at most %d", spec, EMBER_MAX_RANK);
        rank++;
    }
    if (sh->rank >= 0 && sh->rank != rank)
        return cli_error("--shape %s: input '%s' has rank %d", spec, g->values[g->inputs[slot]].name, sh->rank);
    for (int d = 0; sh->rank >= 0 && d < rank; d++)
        if (sh->dims[d] >= 0 && sh->dims[d] != dims[d])
            return cli_error("--shape %s: dimension %d of '%s' is fixed at %lld", spec, d,
                             g->values[g->inputs[slot]].name, (long long)sh->dims[d]);
    sh->rank = rank;
    for (int d = 0; d < EMBER_MAX_RANK; d++) {
        sh->dims[d] = d < rank ? dims[d] : 0;
        sh->syms[d] = -1;
    }
    return 0;
}

/* --optimized / --plan on a private copy of the graph. */
static int print_optimized(const ember_model *m, bool graph, bool plan, const char *const *shapes, int n_shapes)
{
    ember_graph *g = NULL;
    ember_model_meta meta;
    ember_optimize_report rep;
    int rc = 0;
    if (ember_onnx_import(m->bytes, m->n_bytes, m->base_dir, &g, &meta) != EMBER_OK)
        return cli_error("cannot import the model again: %s", ember_last_error());
    for (int i = 0; i < n_shapes && rc == 0; i++) rc = bind_shape(g, shapes[i]);
    if (rc == 0 && ember_graph_infer(g) != EMBER_OK) rc = cli_error("shape inference failed: %s", ember_last_error());
    if (rc == 0 && ember_graph_optimize(g, &rep) != EMBER_OK)
        rc = cli_error("optimization failed: %s", ember_last_error());
    if (rc == 0 && graph) {
        ember_optimize_report_print(&rep, stdout);
        printf("graph after the passes (%d nodes):\n", g->n_nodes);
        ember_graph_print(g, stdout);
    }
    if (rc == 0 && plan) {
        for (int i = 0; i < g->n_inputs && rc == 0; i++) {
            const ember_value *v = &g->values[g->inputs[i]];
            if (ember_shape_numel(&v->shape) < 0)
                rc = cli_error("--plan needs static shapes: input '%s' has symbolic or unknown dimensions "
                               "(bind them with --shape %s=D0,D1,...)", v->name, v->name);
        }
        ember_plan p;
        if (rc == 0 && ember_plan_memory(g, NULL, NULL, &p) != EMBER_OK)
            rc = cli_error("cannot plan the memory: %s", ember_last_error());
        if (rc == 0) {
            if (graph) printf("\n");
            ember_plan_print(g, &p, stdout);
            ember_plan_free(&p);
        }
    }
    ember_graph_free(g);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    const char *shapes[MAX_SHAPES];
    int n_shapes = 0;
    bool json = false, optimized = false, plan = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--optimized") == 0) {
            optimized = true;
        } else if (strcmp(argv[i], "--plan") == 0) {
            plan = true;
        } else if (cli_opt_is(argv[i], "--shape")) {
            const char *v = cli_opt_value(argc, argv, &i, "--shape");
            if (!v) return cli_usage_error("info", "option --shape needs a value");
            if (!strchr(v, '=')) return cli_usage_error("info", "--shape needs NAME=D0,D1,..., not '%s'", v);
            if (n_shapes == MAX_SHAPES) return cli_usage_error("info", "too many --shape options");
            shapes[n_shapes++] = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("info", "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_usage_error("info", "unexpected argument '%s' (one MODEL only)", argv[i]);
        }
    }
    if (!path) return cli_usage_error("info", "missing MODEL");
    if (json && (optimized || plan)) return cli_usage_error("info", "--json does not combine with --optimized or --plan");
    if (n_shapes && !(optimized || plan)) return cli_usage_error("info", "--shape goes with --optimized or --plan");
    ember_model *m = cli_load_model(path);
    if (!m) return CLI_ERR;
    if (optimized || plan) {
        int rc = print_optimized(m, optimized, plan, shapes, n_shapes);
        ember_model_free(m);
        return rc;
    }
    info_stats st = {0};
    int rc = gather(m->graph, &st);
    if (rc == 0) {
        if (json) print_json(path, m, &st);
        else print_text(path, m, &st);
    }
    free(st.hist);
    ember_model_free(m);
    return rc;
}
