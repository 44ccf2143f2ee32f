/* `ember run`: one inference on given, test-data or seeded random inputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tensor_io.h"

#define MAX_IN CLI_MAX_INPUTS

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember run MODEL [options]\n"
            "\n"
            "Runs MODEL once. Inputs not given with -i get deterministic random values of\n"
            "their declared shape (floats: standard normal; integers: uniform in the\n"
            "--int-range; bools: 0/1).\n"
            "\n"
            "options:\n"
            "  --backend B        backend to run on: cpu (default) or interp\n"
            "  --precision P      fp32 (default) or bf16: weights and activations of the\n"
            "                     oneDNN steps in bfloat16, fp32 accumulation, fp32 model\n"
            "                     inputs/outputs (cpu backend; needs AVX512-BF16 or AMX);\n"
            "                     results then differ from fp32 references by ~1e-2 relative,\n"
            "                     so --check needs looser --rtol/--atol\n"
            "  --threads N        intra-op threads (default 0: one per core; as in 'ember\n"
            "                     bench', which kernels a program uses depends on it)\n"
            "  --no-cache         compile without the compile cache ($EMBER_CACHE_DIR, else\n"
            "                     $XDG_CACHE_HOME/ember, else ~/.cache/ember)\n"
            "  -i, --input NAME=FILE\n"
            "                     feed input NAME from FILE (.npy or TensorProto .pb); a\n"
            "                     bare FILE is matched by its .pb name, else by position\n"
            "  --check DIR        feed DIR/input_N.pb, compare with DIR/output_N.pb; exit 1\n"
            "                     if any output is out of tolerance\n"
            "  --rtol R, --atol A tolerance |x-ref| <= atol + rtol*|ref| (1e-3, 1e-4)\n"
            "  -o, --output DIR   write output_N.pb (TensorProto named as the output)\n"
            "  --format pb|npy    file format for -o (default pb)\n"
            "  --seed S           seed for random inputs (default 0)\n"
            "  --int-range LO,HI  range [LO,HI) for random integer inputs (default 0,100)\n"
            "  --print            print each output's shape and first values (the default\n"
            "                     when neither --check nor -o is given)\n"
            "  -h, --help         show this help\n");
}

typedef struct run_opts {
    const char *model, *backend, *check, *outdir, *format, *precision;
    const char *inputs[MAX_IN];
    int n_inputs;
    double rtol, atol;
    uint64_t seed;
    int64_t lo, hi;
    int threads;
    bool print, no_cache;
} run_opts;

static int parse(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = "cpu";
    o->format = "pb";
    o->rtol = 1e-3;
    o->atol = 1e-4;
    o->hi = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            help(stdout);
            return -1;
        }
#define VALUE(opt)                                                              \
    do {                                                                        \
        if (!(v = cli_opt_value(argc, argv, &i, opt)))                          \
            return cli_usage_error("run", "option %s needs a value", opt);      \
    } while (0)
        if (cli_opt_is(a, "--backend")) {
            VALUE("--backend");
            o->backend = v;
        } else if (strcmp(a, "--no-cache") == 0) {
            o->no_cache = true;
        } else if (cli_opt_is(a, "--threads")) {
            VALUE("--threads");
            int64_t n;
            if (!cli_parse_i64(v, &n) || n < 0 || n > 1024)
                return cli_usage_error("run", "--threads needs an integer from 0 to 1024, not '%s'", v);
            o->threads = (int)n;
        } else if (cli_opt_is(a, "--precision")) {
            VALUE("--precision");
            if (strcmp(v, "fp32") && strcmp(v, "bf16"))
                return cli_usage_error("run", "--precision must be fp32 or bf16, not '%s'", v);
            o->precision = v;
        } else if (cli_opt_is(a, "-i") || cli_opt_is(a, "--input")) {
            VALUE(a[1] == '-' ? "--input" : "-i");
            if (o->n_inputs == MAX_IN) return cli_usage_error("run", "too many -i options");
            o->inputs[o->n_inputs++] = v;
        } else if (cli_opt_is(a, "--check")) {
            VALUE("--check");
            o->check = v;
        } else if (cli_opt_is(a, "-o") || cli_opt_is(a, "--output")) {
            VALUE(a[1] == '-' ? "--output" : "-o");
            o->outdir = v;
        } else if (cli_opt_is(a, "--format")) {
            VALUE("--format");
            if (strcmp(v, "pb") && strcmp(v, "npy"))
                return cli_usage_error("run", "--format must be pb or npy, not '%s'", v);
            o->format = v;
        } else if (cli_opt_is(a, "--rtol") || cli_opt_is(a, "--atol")) {
            bool r = a[2] == 'r';
            VALUE(r ? "--rtol" : "--atol");
            double d;
            if (!cli_parse_double(v, &d) || d < 0)
                return cli_usage_error("run", "%s needs a non-negative number, not '%s'", r ? "--rtol" : "--atol", v);
            *(r ? &o->rtol : &o->atol) = d;
        } else if (cli_opt_is(a, "--seed")) {
            VALUE("--seed");
            int64_t s;
            if (!cli_parse_i64(v, &s)) return cli_usage_error("run", "--seed needs an integer, not '%s'", v);
            o->seed = (uint64_t)s;
        } else if (cli_opt_is(a, "--int-range")) {
            VALUE("--int-range");
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            char *comma = strchr(buf, ',');
            if (comma) *comma = '\0';
            if (!comma || !cli_parse_i64(buf, &o->lo) || !cli_parse_i64(comma + 1, &o->hi) || o->lo >= o->hi ||
                (o->lo < 0 && o->hi > INT64_MAX + o->lo))
                return cli_usage_error("run", "--int-range needs LO,HI with LO < HI, not '%s'", v);
        } else if (strcmp(a, "--print") == 0) {
            o->print = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("run", "unknown option '%s'", a);
        } else if (!o->model) {
            o->model = a;
        } else {
            return cli_usage_error("run", "unexpected argument '%s' (one MODEL only)", a);
        }
#undef VALUE
    }
    if (!o->model) return cli_usage_error("run", "missing MODEL");
    return 0;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_error("cannot create '%s': %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return cli_error("'%s' is not a directory", dir);
    return 0;
}

static int run_model(const run_opts *o, ember_model *m, cli_tensors *data, cli_tensors *refs,
                     cli_tensors *given, cli_tensors *gen, ember_tensor *outs, int *n_outs_ran)
{
    char err[CLI_ERRLEN];
    int n_in = ember_model_num_inputs(m), n_out = ember_model_num_outputs(m);
    if (n_in > MAX_IN || n_out > 256) return cli_error("the model has too many inputs/outputs for this tool");
    ember_tensor bound[MAX_IN];
    bool have[MAX_IN], from_cli[MAX_IN] = {false};
    memset(bound, 0, sizeof bound);
    for (int i = 0; i < MAX_IN; i++) have[i] = false;

    if (o->check) {
        struct stat st;
        if (stat(o->check, &st) != 0 || !S_ISDIR(st.st_mode)) return cli_error("'%s' is not a directory", o->check);
        if (cli_load_dataset(o->check, "input", data, err, sizeof err) ||
            cli_load_dataset(o->check, "output", refs, err, sizeof err))
            return cli_error("%s", err);
        if (refs->n == 0) return cli_error("no reference outputs (output_0.pb) in '%s'", o->check);
        if (cli_bind_inputs(m, data, bound, have, err, sizeof err)) return cli_error("%s: %s", o->check, err);
    }
    int rc = cli_bind_given(m, o->inputs, o->n_inputs, given, bound, have, from_cli);
    if (rc) return rc;
    if ((rc = cli_fill_inputs(m, o->seed, o->lo, o->hi, gen, bound, have))) return rc;

    ember_session *s = NULL;
    ember_session_options so;
    ember_session_options_init(&so);
    so.backend = o->backend;
    so.precision = o->precision;
    so.use_cache = !o->no_cache;
    so.threads = o->threads;
    if (ember_session_create_ex(m, &so, &s) != EMBER_OK)
        return cli_error("cannot prepare the model for backend '%s': %s", o->backend, ember_last_error());
    ember_status st = ember_session_run(s, bound, n_in, outs, n_out);
    if (st != EMBER_OK) {
        rc = cli_error("inference failed: %s", ember_last_error());
        ember_session_free(s);
        return rc;
    }
    ember_session_free(s);
    *n_outs_ran = n_out;
    return 0;
}

static int report(const run_opts *o, ember_model *m, const cli_tensors *refs, ember_tensor *outs, int n_out)
{
    char err[CLI_ERRLEN];
    int rc = CLI_OK;
    if (o->outdir) {
        if ((rc = make_dir(o->outdir))) return rc;
        for (int i = 0; i < n_out; i++) {
            ember_io_info io;
            ember_model_output_info(m, i, &io);
            char path[4096];
            snprintf(path, sizeof path, "%s/output_%d.%s", o->outdir, i, o->format);
            if (cli_save_tensor(path, &outs[i], io.name, err, sizeof err)) return cli_error("%s", err);
        }
    }
    if (o->print || (!o->check && !o->outdir)) {
        for (int i = 0; i < n_out; i++) {
            ember_io_info io;
            ember_model_output_info(m, i, &io);
            cli_print_tensor_summary(io.name, &outs[i], o->print ? 16 : 8);
        }
    }
    if (o->check) {
        cli_out_result *res = calloc((size_t)refs->n, sizeof *res);
        bool ok;
        if (!res) return cli_error("out of memory");
        if (cli_compare_outputs(m, outs, n_out, refs, o->rtol, o->atol, res, &ok, err, sizeof err)) {
            free(res);
            return cli_error("%s", err);
        }
        for (int r = 0; r < refs->n; r++) {
            printf("%-32s max_abs_err=%-11.4g max_rel_err=%-11.4g %s\n", res[r].name, res[r].cmp.max_abs,
                   res[r].cmp.max_rel, res[r].cmp.ok ? "PASS" : "FAIL");
            if (!res[r].cmp.ok) printf("  %s\n", res[r].cmp.msg);
        }
        int bad = 0;
        for (int r = 0; r < refs->n; r++) bad += !res[r].cmp.ok;
        printf("%s (rtol %g, atol %g)\n", ok ? "all outputs match" : "MISMATCH", o->rtol, o->atol);
        free(res);
        if (!ok) rc = cli_error("%d of %d outputs differ from the reference in '%s'", bad, refs->n, o->check);
    }
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_OK : rc;
    ember_model *m = cli_load_model(o.model);
    if (!m) return CLI_ERR;
    cli_tensors data = {0}, refs = {0}, given = {0}, gen = {0};
    int n_out = ember_model_num_outputs(m), n_ran = 0;
    ember_tensor *outs = calloc(n_out > 0 ? (size_t)n_out : 1, sizeof *outs);
    if (!outs) rc = cli_error("out of memory");
    else rc = run_model(&o, m, &data, &refs, &given, &gen, outs, &n_ran);
    if (rc == 0) rc = report(&o, m, &refs, outs, n_ran);
    for (int i = 0; i < n_ran; i++) ember_tensor_release(&outs[i]);
    free(outs);
    cli_tensors_free(&data);
    cli_tensors_free(&refs);
    cli_tensors_free(&given);
    cli_tensors_free(&gen);
    ember_model_free(m);
    return rc;
}
