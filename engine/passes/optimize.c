/* The pass driver: rounds of every pass until nothing changes. */
#include <string.h>

#include "../model.h"
#include "../passes.h"
#include "../status.h"

static const struct {
    const char *name;
    ember_status (*fn)(ember_graph *, ember_pass_stats *);
} passes[EMBER_PASS_COUNT] = {
#define X(e, name, fn) {name, fn},
    EMBER_PASSES(X)
#undef X
};

const char *ember_pass_name(int pass)
{
    return pass >= 0 && pass < EMBER_PASS_COUNT ? passes[pass].name : "?";
}

ember_status ember_graph_optimize(ember_graph *g, ember_optimize_report *report)
{
    ember_optimize_report local;
    ember_optimize_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    if (!g) return ember_error(EMBER_E_INVALID_ARG, "ember_graph_optimize: graph is NULL");
    r->nodes_before = r->nodes_after = g->n_nodes;
    /* Passes walk nodes in order and read producers: make sure both hold. */
    TRY(ember_graph_toposort(g));
    for (int round = 0; round < EMBER_OPTIMIZE_MAX_ROUNDS; round++) {
        int changes = 0;
        for (int p = 0; p < EMBER_PASS_COUNT; p++) {
            ember_pass_stats st = {0, 0};
            ember_status s = passes[p].fn(g, &st);
            r->nodes_after = g->n_nodes;
            if (s != EMBER_OK) return ember_error_prefix(s, "optimizer pass %s", passes[p].name);
            r->pass[p].removed += st.removed;
            r->pass[p].changed += st.changed;
            changes += st.removed + st.changed;
        }
        r->rounds = round + 1;
        /* Rewritten nodes and new constants can sharpen shapes further down. */
        TRY(ember_graph_infer(g));
        if (!changes) break;
    }
    return EMBER_OK;
}

void ember_optimize_report_print(const ember_optimize_report *r, FILE *f)
{
    fprintf(f, "optimized in %d round%s: %d nodes -> %d\n", r->rounds, r->rounds == 1 ? "" : "s",
            r->nodes_before, r->nodes_after);
    for (int p = 0; p < EMBER_PASS_COUNT; p++)
        fprintf(f, "  %-18s %6d nodes removed, %6d changed\n", passes[p].name, r->pass[p].removed,
                r->pass[p].changed);
}
