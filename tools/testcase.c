#include "testcase.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ember.h"
#include "tensor_io.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of dir/test_data_set_* folders. */
static int list_sets(const char *dir, char ***out, int *n_out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    *n_out = 0;
    if (!d) return -1;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_data_set_", 14) != 0) continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *n_out = n;
    return 0;
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t') *s = ' ';
}

static int run_set(ember_model *m, ember_session *s, const char *setdir, double rtol, double atol,
                   char *reason, size_t n)
{
    char err[CLI_ERRLEN];
    cli_tensors ins = {0}, refs = {0};
    int n_in = ember_model_num_inputs(m), n_out = ember_model_num_outputs(m), rc = 1;
    ember_tensor *bound = calloc((size_t)n_in + 1, sizeof *bound);
    bool *have = calloc((size_t)n_in + 1, sizeof *have);
    ember_tensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    cli_out_result *res = NULL;
    bool ran = false, ok;
    if (!bound || !have || !outs) {
        snprintf(reason, n, "out of memory");
        goto done;
    }
    if (cli_load_dataset(setdir, "input", &ins, err, sizeof err) ||
        cli_load_dataset(setdir, "output", &refs, err, sizeof err)) {
        snprintf(reason, n, "%s", err);
        goto done;
    }
    if (cli_bind_inputs(m, &ins, bound, have, err, sizeof err)) {
        snprintf(reason, n, "inputs: %s", err);
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        if (!have[i]) {
            ember_io_info io;
            ember_model_input_info(m, i, &io);
            snprintf(reason, n, "input '%s' has no data in the test set", io.name);
            goto done;
        }
    if (ember_session_run(s, bound, n_in, outs, n_out) != EMBER_OK) {
        snprintf(reason, n, "run: %s", ember_last_error());
        goto done;
    }
    ran = true;
    if (!(res = calloc((size_t)refs.n + 1, sizeof *res))) {
        snprintf(reason, n, "out of memory");
        goto done;
    }
    if (cli_compare_outputs(m, outs, n_out, &refs, rtol, atol, res, &ok, err, sizeof err)) {
        snprintf(reason, n, "%s", err);
        goto done;
    }
    rc = 0;
    for (int r = 0; r < refs.n && rc == 0; r++)
        if (!res[r].cmp.ok) {
            snprintf(reason, n, "output '%s': %s", res[r].name, res[r].cmp.msg);
            rc = 1;
        }
done:
    for (int i = 0; ran && i < n_out; i++) ember_tensor_release(&outs[i]);
    free(res);
    free(outs);
    free(have);
    free(bound);
    cli_tensors_free(&ins);
    cli_tensors_free(&refs);
    return rc;
}

int cli_run_testcase(const char *dir, const char *backend, double rtol, double atol,
                     char *reason, size_t n)
{
    char path[4096];
    reason[0] = '\0';
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ember_model *m = NULL;
    if (ember_model_load(path, &m) != EMBER_OK) {
        const char *msg = ember_last_error();
        size_t len = strlen(path);
        /* the test's name is already on the line; the model path adds nothing */
        if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ') msg += len + 2;
        snprintf(reason, n, "load: %s", msg);
        one_line(reason);
        return 1;
    }
    ember_session *s = NULL;
    if (ember_session_create(m, backend, &s) != EMBER_OK) {
        snprintf(reason, n, "session: %s", ember_last_error());
        one_line(reason);
        ember_model_free(m);
        return 1;
    }
    char **sets;
    int n_sets, rc = 0;
    list_sets(dir, &sets, &n_sets);
    if (n_sets == 0) {
        snprintf(reason, n, "no test_data_set_* folder");
        rc = 1;
    }
    for (int i = 0; i < n_sets && rc == 0; i++) {
        char sub[4096], r[1536];
        snprintf(sub, sizeof sub, "%s/%s", dir, sets[i]);
        if (run_set(m, s, sub, rtol, atol, r, sizeof r)) {
            rc = 1;
            if (n_sets > 1) snprintf(reason, n, "%s: %s", sets[i], r);
            else snprintf(reason, n, "%s", r);
        }
    }
    for (int i = 0; i < n_sets; i++) free(sets[i]);
    free(sets);
    ember_session_free(s);
    ember_model_free(m);
    one_line(reason);
    return rc;
}
