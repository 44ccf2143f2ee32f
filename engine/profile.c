/* Profile records and their two outputs: Chrome trace-event JSON and a per-op table. */
#include "profile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct record {
    const ember_program *prog;
    int step, tid;
    uint64_t start_ns, end_ns;
} record;

struct ember_profile {
    pthread_mutex_t lock;
    record *recs;
    size_t n, cap;
    uint64_t origin_ns; /* earliest start, for trace timestamps */
    int next_tid;
};

static _Thread_local int thread_tid = -1;

ember_profile *ember_profile_new(void)
{
    ember_profile *p = calloc(1, sizeof *p);
    if (p) pthread_mutex_init(&p->lock, NULL);
    return p;
}

void ember_profile_free(ember_profile *p)
{
    if (!p) return;
    pthread_mutex_destroy(&p->lock);
    free(p->recs);
    free(p);
}

static void record_events(void *ctx, const ember_program *prog, const ember_profile_event *ev, int n)
{
    ember_profile *p = ctx;
    pthread_mutex_lock(&p->lock);
    if (thread_tid < 0) thread_tid = ++p->next_tid;
    if (p->n + (size_t)n > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        while (cap < p->n + (size_t)n) cap *= 2;
        record *r = realloc(p->recs, cap * sizeof *r);
        if (!r) { /* a profile that loses records is better than a failed run */
            pthread_mutex_unlock(&p->lock);
            return;
        }
        p->recs = r;
        p->cap = cap;
    }
    for (int i = 0; i < n; i++) {
        if (!p->n && !i) p->origin_ns = ev[i].start_ns;
        if (ev[i].start_ns < p->origin_ns) p->origin_ns = ev[i].start_ns;
        p->recs[p->n++] = (record){prog, ev[i].step, thread_tid, ev[i].start_ns, ev[i].end_ns};
    }
    pthread_mutex_unlock(&p->lock);
}

ember_profile_sink ember_profile_sink_of(ember_profile *p)
{
    return (ember_profile_sink){record_events, p};
}

static const char *kernel_name(const ember_program *prog, int step)
{
    const ember_step *s = &prog->steps[step];
    if (s->host) return s->host->name;
    const ember_node *n = &prog->g->nodes[s->node];
    /* The same test as the executor's: a view runs nothing. */
    if (n->n_outputs == 1 && n->outputs[0] >= 0 && prog->plan.view && prog->plan.view[n->outputs[0]])
        return "view (no copy)";
    return "reference";
}

/* JSON string body with the characters JSON requires escaped. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static FILE *open_out(const char *path)
{
    if (strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) ember_error(EMBER_E_IO, "cannot write '%s'", path);
    return f;
}

static ember_status close_out(FILE *f, const char *path)
{
    if (f == stdout) return fflush(f) == 0 ? EMBER_OK : ember_error(EMBER_E_IO, "cannot write standard output");
    return fclose(f) == 0 ? EMBER_OK : ember_error(EMBER_E_IO, "cannot write '%s'", path);
}

ember_status ember_profile_write_trace(ember_profile *p, const char *path)
{
    FILE *f = open_out(path);
    if (!f) return EMBER_E_IO;
    pthread_mutex_lock(&p->lock);
    fprintf(f, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
    for (size_t i = 0; i < p->n; i++) {
        const record *r = &p->recs[i];
        const ember_node *n = &r->prog->g->nodes[r->prog->steps[r->step].node];
        fprintf(f, "%s{\"name\":", i ? ",\n" : "");
        put_json_string(f, n->name);
        fprintf(f, ",\"cat\":");
        put_json_string(f, n->op_type);
        fprintf(f, ",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"op\":", r->tid,
                (double)(r->start_ns - p->origin_ns) / 1e3, (double)(r->end_ns - r->start_ns) / 1e3);
        put_json_string(f, n->op_type);
        fprintf(f, ",\"kernel\":");
        put_json_string(f, kernel_name(r->prog, r->step));
        fprintf(f, ",\"flops\":%.0f}}", r->prog->steps[r->step].flops);
    }
    fprintf(f, "\n]}\n");
    pthread_mutex_unlock(&p->lock);
    return close_out(f, path);
}

typedef struct row {
    const ember_program *prog;
    int step;
    int calls;
    double total_ns;
} row;

static int cmp_row_key(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->prog != y->prog) return x->prog < y->prog ? -1 : 1;
    return (x->step > y->step) - (x->step < y->step);
}

static int cmp_row_time(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return (x->total_ns < y->total_ns) - (x->total_ns > y->total_ns);
}

ember_status ember_profile_write_table(ember_profile *p, const char *path)
{
    pthread_mutex_lock(&p->lock);
    row *rows = malloc(sizeof *rows * (p->n ? p->n : 1));
    if (!rows) {
        pthread_mutex_unlock(&p->lock);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory writing the profile");
    }
    for (size_t i = 0; i < p->n; i++)
        rows[i] = (row){p->recs[i].prog, p->recs[i].step, 1, (double)(p->recs[i].end_ns - p->recs[i].start_ns)};
    size_t n = p->n;
    pthread_mutex_unlock(&p->lock);
    /* one row per (program, step) */
    qsort(rows, n, sizeof *rows, cmp_row_key);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && rows[m - 1].prog == rows[i].prog && rows[m - 1].step == rows[i].step) {
            rows[m - 1].calls++;
            rows[m - 1].total_ns += rows[i].total_ns;
        } else {
            rows[m++] = rows[i];
        }
    }
    qsort(rows, m, sizeof *rows, cmp_row_time);
    double all = 0;
    for (size_t i = 0; i < m; i++) all += rows[i].total_ns;
    FILE *f = open_out(path);
    if (!f) {
        free(rows);
        return EMBER_E_IO;
    }
    fprintf(f, "%-40s %-22s %-16s %6s %10s %10s %7s %9s\n", "node", "op", "kernel", "calls", "total_ms",
            "mean_us", "share", "GFLOP/s");
    for (size_t i = 0; i < m; i++) {
        const ember_step *s = &rows[i].prog->steps[rows[i].step];
        const ember_node *nd = &rows[i].prog->g->nodes[s->node];
        double mean_ns = rows[i].total_ns / rows[i].calls;
        fprintf(f, "%-40.40s %-22.22s %-16.16s %6d %10.3f %10.1f %6.1f%% %9.2f\n", nd->name, nd->op_type,
                kernel_name(rows[i].prog, rows[i].step), rows[i].calls, rows[i].total_ns / 1e6, mean_ns / 1e3,
                all > 0 ? 100.0 * rows[i].total_ns / all : 0.0, mean_ns > 0 ? s->flops / mean_ns : 0.0);
    }
    fprintf(f, "total %.3f ms over %zu kernels\n", all / 1e6, m);
    free(rows);
    return close_out(f, path);
}
