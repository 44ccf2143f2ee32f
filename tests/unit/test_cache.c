/* The compile cache: hit/miss/off, outputs from a cached program against a fresh one and
 * the interpreter, every kind of bad entry detected, removed and rebuilt, the folder
 * rules, concurrent writers. Every test points EMBER_CACHE_DIR at its own temp folder. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ember.h"
#include "engine/cache.h"
#include "test_util.h"

#define ZOO EMBER_SHARED_DIR "/models/"

static char dir[256];

/* The whole runner, not just these tests: sessions compile with the cache on by default,
 * and a test run must not fill the real ~/.cache (ctest sets this too). Runs in the
 * runner before the test processes are started, so they inherit it. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    if (!getenv("EMBER_CACHE_DIR")) setenv("EMBER_CACHE_DIR", EMBER_BINARY_DIR "/test-compile-cache", 1);
}

/* The entry layout (engine/cache.c): a 128-byte header, format version 2 at byte 8, the
 * key at 16, the structure's size at 32, the checksum at 64. */
#define HEADER 128
#define FORMAT 2

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/ember_cache_test_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    setenv("EMBER_CACHE_DIR", dir, 1);
}

/* Removes the folder (flat: entries only). */
static void rm_dir(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", d, e->d_name);
            unlink(p);
        }
    closedir(dp);
    rmdir(d);
}

/* The entry files in dir (up to 8 names into names), and how many files of any kind. */
static int entries(char names[][600], int *all)
{
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp);
    int n = 0, k = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        k++;
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".emc") == 0) {
            if (names && n < 8) snprintf(names[n], 600, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(dp);
    if (all) *all = k;
    return n;
}

typedef struct result {
    char cache[8];
    int no;
    ember_tensor out[4];
} result;

/* One session on `name` (zoo) with its reference inputs. */
static void run_model(const char *name, const char *backend, int use_cache, int optimize, result *r)
{
    char path[512];
    snprintf(path, sizeof path, ZOO "%s/model.onnx", name);
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    int ni = ember_model_num_inputs(m);
    r->no = ember_model_num_outputs(m);
    cr_assert(ni <= 4 && r->no <= 4);
    ember_tensor in[4];
    for (int i = 0; i < ni; i++) {
        ut_load_zoo_pb(name, "input", i, &in[i]);
    }
    ember_session_options o;
    ember_session_options_init(&o);
    o.backend = backend;
    o.use_cache = use_cache;
    o.optimize = optimize;
    ember_session *s;
    cr_assert_eq(ember_session_create_ex(m, &o, &s), EMBER_OK, "%s", ember_last_error());
    snprintf(r->cache, sizeof r->cache, "%s", ember_session_compile_cache(s));
    cr_assert_eq(ember_session_run(s, in, ni, r->out, r->no), EMBER_OK, "%s", ember_last_error());
    for (int i = 0; i < ni; i++) ember_tensor_release(&in[i]);
    ember_session_free(s);
    ember_model_free(m);
}

static void release(result *r)
{
    for (int o = 0; o < r->no; o++) ember_tensor_release(&r->out[o]);
}

/* Same program, same kernels: a cached program computes bit for bit what a fresh one does. */
static void expect_same(const result *a, const result *b)
{
    cr_assert_eq(a->no, b->no);
    for (int o = 0; o < a->no; o++) {
        cr_assert_eq(a->out[o].nbytes, b->out[o].nbytes);
        cr_assert(memcmp(a->out[o].data, b->out[o].data, a->out[o].nbytes) == 0, "output %d differs", o);
    }
}

/* Against the interpreter, within the passes' tolerance (BN folding reassociates). */
static void expect_close(const result *ref, const result *got)
{
    cr_assert_eq(ref->no, got->no);
    for (int o = 0; o < ref->no; o++) {
        const float *x = ref->out[o].data, *y = got->out[o].data;
        cr_assert_eq(ref->out[o].nbytes, got->out[o].nbytes);
        for (size_t k = 0; k < ref->out[o].nbytes / 4; k++)
            cr_assert(fabsf(x[k] - y[k]) <= 1e-5f + 1e-4f * fabsf(x[k]), "output %d[%zu]: interp %g, cpu %g", o, k,
                      x[k], y[k]);
    }
}

Test(cache, miss_then_hit_same_outputs, .timeout = 120)
{
    fresh_dir();
    result ref, off, miss, hit;
    run_model("cifar_resnet8", "interp", 1, 1, &ref);
    cr_assert_str_eq(ref.cache, "off");
    run_model("cifar_resnet8", "cpu", 0, 1, &off);
    cr_assert_str_eq(off.cache, "off");
    cr_assert_eq(entries(NULL, NULL), 0, "use_cache 0 wrote an entry");
    run_model("cifar_resnet8", "cpu", 1, 1, &miss);
    cr_assert_str_eq(miss.cache, "miss");
    run_model("cifar_resnet8", "cpu", 1, 1, &hit);
    cr_assert_str_eq(hit.cache, "hit");
    expect_same(&off, &miss);
    expect_same(&miss, &hit);
    expect_close(&ref, &hit);
    int all = 0;
    cr_assert_eq(entries(NULL, &all), 1);
    cr_assert_eq(all, 1, "temporary files left behind");
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    /* Options that change the program get their own entry. */
    result noopt;
    run_model("cifar_resnet8", "cpu", 1, 0, &noopt);
    cr_assert_str_eq(noopt.cache, "miss");
    expect_close(&ref, &noopt);
    cr_assert_eq(entries(NULL, NULL), 2);
    release(&ref), release(&off), release(&miss), release(&hit), release(&noopt);
    rm_dir(dir);
}

Test(cache, every_zoo_model_hits_and_matches, .timeout = 300)
{
    fresh_dir();
    const char *models[] = {"resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "bert_tiny_like",
                            "kws_dscnn", "vww_mobilenet025", "ad_autoencoder", "lstm_kws"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        result miss, hit;
        run_model(models[i], "cpu", 1, 1, &miss);
        run_model(models[i], "cpu", 1, 1, &hit);
        cr_assert_str_eq(miss.cache, "miss", "%s", models[i]);
        cr_assert_str_eq(hit.cache, "hit", "%s", models[i]);
        expect_same(&miss, &hit);
        release(&miss), release(&hit);
    }
    rm_dir(dir);
}

/* Damages the one entry with `how`, then expects a miss with correct outputs and a
 * rewritten entry that hits again. */
typedef void (*damage_fn)(const char *path);

static void damaged_entry_is_rebuilt(damage_fn how)
{
    fresh_dir();
    result ref, first;
    run_model("kws_dscnn", "interp", 1, 1, &ref);
    run_model("kws_dscnn", "cpu", 1, 1, &first);
    char names[8][600];
    cr_assert_eq(entries(names, NULL), 1);
    how(names[0]);
    result again, hit;
    run_model("kws_dscnn", "cpu", 1, 1, &again);
    cr_assert_str_eq(again.cache, "miss", "a damaged entry was used");
    expect_same(&first, &again);
    expect_close(&ref, &again);
    int all = 0;
    cr_assert_eq(entries(NULL, &all), 1);
    cr_assert_eq(all, 1);
    run_model("kws_dscnn", "cpu", 1, 1, &hit);
    cr_assert_str_eq(hit.cache, "hit", "the entry was not rebuilt");
    release(&ref), release(&first), release(&again), release(&hit);
    rm_dir(dir);
}

static unsigned char *slurp(const char *path, size_t *n) { return ut_read_file(path, n); }
static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void flip_payload_byte(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[n / 2] ^= 0x40; /* inside the constants */
    spit(path, b, n);
    free(b);
}
static void flip_structure_byte(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[HEADER + 5] ^= 0x01;
    spit(path, b, n);
    free(b);
}
static void truncate_half(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    spit(path, b, n / 2);
    free(b);
}
static void truncate_header(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    spit(path, b, 20);
    free(b);
}
static void empty_file(const char *path) { spit(path, "", 0); }
static void bad_magic(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[0] = 'X';
    spit(path, b, n);
    free(b);
}
static void other_version(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[8] += 1; /* format version */
    spit(path, b, n);
    free(b);
}
static void other_key(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[16] ^= 1; /* the key stored in the header */
    spit(path, b, n);
    free(b);
}
static void appended(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    unsigned char *c = calloc(1, n + 64);
    memcpy(c, b, n);
    spit(path, c, n + 64);
    free(b);
    free(c);
}
/* A structure that does not parse under a checksum that matches it: the decoder's own
 * checks must catch it (a node input index out of range, say). */
static void garbage_with_good_checksum(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    uint64_t meta_bytes;
    memcpy(&meta_bytes, b + 32, 8);
    for (size_t i = HEADER + 40; i < HEADER + meta_bytes; i += 7) b[i] = 0xff;
    ember_hasher h;
    ember_hasher_init(&h, FORMAT); /* the format version seeds the checksum */
    ember_hasher_add(&h, b + HEADER, n - HEADER);
    uint64_t sum[2];
    ember_hasher_final(&h, sum);
    memcpy(b + 64, &sum[0], 8);
    spit(path, b, n);
    free(b);
}

Test(cache, flipped_constant_byte, .timeout = 60) { damaged_entry_is_rebuilt(flip_payload_byte); }
Test(cache, flipped_structure_byte, .timeout = 60) { damaged_entry_is_rebuilt(flip_structure_byte); }
Test(cache, truncated, .timeout = 60) { damaged_entry_is_rebuilt(truncate_half); }
Test(cache, truncated_header, .timeout = 60) { damaged_entry_is_rebuilt(truncate_header); }
Test(cache, empty, .timeout = 60) { damaged_entry_is_rebuilt(empty_file); }
Test(cache, bad_magic, .timeout = 60) { damaged_entry_is_rebuilt(bad_magic); }
Test(cache, other_format_version, .timeout = 60) { damaged_entry_is_rebuilt(other_version); }
Test(cache, key_mismatch, .timeout = 60) { damaged_entry_is_rebuilt(other_key); }
Test(cache, extended, .timeout = 60) { damaged_entry_is_rebuilt(appended); }
Test(cache, garbage_structure_good_checksum, .timeout = 60) { damaged_entry_is_rebuilt(garbage_with_good_checksum); }

/* Another model's entry under this model's name: a stale entry. */
Test(cache, other_models_entry, .timeout = 120)
{
    fresh_dir();
    result a, b;
    run_model("kws_dscnn", "cpu", 1, 1, &a);
    char names[8][600];
    cr_assert_eq(entries(names, NULL), 1);
    char kws[600];
    snprintf(kws, sizeof kws, "%s", names[0]);
    run_model("ad_autoencoder", "cpu", 1, 1, &b);
    cr_assert_eq(entries(names, NULL), 2);
    const char *ae = strcmp(names[0], kws) == 0 ? names[1] : names[0];
    cr_assert_eq(rename(kws, ae), 0);
    result ref, again;
    run_model("ad_autoencoder", "interp", 1, 1, &ref);
    run_model("ad_autoencoder", "cpu", 1, 1, &again);
    cr_assert_str_eq(again.cache, "miss");
    expect_same(&b, &again);
    expect_close(&ref, &again);
    release(&a), release(&b), release(&ref), release(&again);
    rm_dir(dir);
}

Test(cache, folder_rules)
{
    char base[256], buf[1024], want[600];
    snprintf(base, sizeof base, "/tmp/ember_cache_dirs_XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    snprintf(want, sizeof want, "%s/a/b", base);
    setenv("EMBER_CACHE_DIR", want, 1);
    cr_assert_eq(ember_cache_dir(buf, sizeof buf), EMBER_OK, "%s", ember_last_error());
    cr_assert_str_eq(buf, want);
    struct stat st;
    cr_assert_eq(stat(want, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "mode %o", st.st_mode & 0777);
    unsetenv("EMBER_CACHE_DIR");
    setenv("XDG_CACHE_HOME", base, 1);
    cr_assert_eq(ember_cache_dir(buf, sizeof buf), EMBER_OK);
    snprintf(want, sizeof want, "%s/ember", base);
    cr_assert_str_eq(buf, want);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", base, 1);
    cr_assert_eq(ember_cache_dir(buf, sizeof buf), EMBER_OK);
    snprintf(want, sizeof want, "%s/.cache/ember", base);
    cr_assert_str_eq(buf, want);
    cr_assert_eq(stat(want, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    unsetenv("HOME");
    cr_assert_neq(ember_cache_dir(buf, sizeof buf), EMBER_OK, "no folder without any variable");
    /* Sessions still work without a folder: nothing cached, nothing fails. */
    result r;
    run_model("kws_dscnn", "cpu", 1, 1, &r);
    release(&r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    cr_assert_eq(system(cmd), 0);
}

static void *one_session(void *arg)
{
    result *r = arg;
    run_model("squeezenet1_1", "cpu", 1, 1, r);
    return NULL;
}

/* Many sessions of one model at once on an empty cache: all correct, one whole entry. */
Test(cache, concurrent_writers, .timeout = 180)
{
    fresh_dir();
    enum { N = 4 };
    pthread_t t[N];
    result r[N], ref;
    for (int i = 0; i < N; i++) cr_assert_eq(pthread_create(&t[i], NULL, one_session, &r[i]), 0);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    run_model("squeezenet1_1", "interp", 1, 1, &ref);
    for (int i = 0; i < N; i++) {
        expect_close(&ref, &r[i]);
        release(&r[i]);
    }
    int all = 0;
    cr_assert_eq(entries(NULL, &all), 1);
    cr_assert_eq(all, 1, "temporary files left behind");
    result hit;
    run_model("squeezenet1_1", "cpu", 1, 1, &hit);
    cr_assert_str_eq(hit.cache, "hit");
    expect_close(&ref, &hit);
    release(&hit), release(&ref);
    rm_dir(dir);
}

/* ---- a model whose weights live in an external data file ---- */

#include "ember_onnx.pb-c.h"

/* y = x + w, x float[4] input, w float[4] from ext_dir/w.bin; written to ext_dir/m.onnx. */
static void write_external_model(const char *d)
{
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[1] = {4};
    w.name = "w";
    w.n_dims = 1, w.dims = dims;
    w.has_data_type = 1, w.data_type = EMBER_DT_FLOAT;
    w.has_data_location = 1, w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT, *locs[1] = {&loc};
    loc.key = "location", loc.value = "w.bin";
    w.n_external_data = 1, w.external_data = locs;
    Onnx__TensorProto *inits[1] = {&w};

    Onnx__TensorShapeProto__Dimension dim = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, *dimp[1] = {&dim};
    dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, dim.dim_value = 4;
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1, shape.dim = dimp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1, tt.elem_type = EMBER_DT_FLOAT, tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, type.tensor_type = &tt;
    Onnx__ValueInfoProto x = ONNX__VALUE_INFO_PROTO__INIT, y = ONNX__VALUE_INFO_PROTO__INIT;
    x.name = "x", x.type = &type;
    y.name = "y", y.type = &type;
    Onnx__ValueInfoProto *ins[1] = {&x}, *outs[1] = {&y};

    Onnx__NodeProto add = ONNX__NODE_PROTO__INIT, *nodes[1] = {&add};
    char *add_in[2] = {"x", "w"}, *add_out[1] = {"y"};
    add.op_type = "Add", add.name = "add";
    add.n_input = 2, add.input = add_in, add.n_output = 1, add.output = add_out;

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "ext";
    g.n_node = 1, g.node = nodes;
    g.n_initializer = 1, g.initializer = inits;
    g.n_input = 1, g.input = ins;
    g.n_output = 1, g.output = outs;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, *ops[1] = {&op};
    op.domain = "", op.has_version = 1, op.version = 13;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1, m.ir_version = 8;
    m.graph = &g;
    m.n_opset_import = 1, m.opset_import = ops;
    size_t n = onnx__model_proto__get_packed_size(&m);
    unsigned char *buf = malloc(n);
    onnx__model_proto__pack(&m, buf);
    char path[600];
    snprintf(path, sizeof path, "%s/m.onnx", d);
    spit(path, buf, n);
    free(buf);
}

static void write_weights(const char *d, float base)
{
    float w[4] = {base, base + 1, base + 2, base + 3};
    char path[600], tmp[620];
    snprintf(path, sizeof path, "%s/w.bin", d);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    spit(tmp, w, sizeof w); /* a new file (inode), as tools replace files: its identity changes for sure */
    cr_assert_eq(rename(tmp, path), 0);
}

/* Runs ext_dir/m.onnx on x = {10, 20, 30, 40}; *cache gets the session's cache state. */
static void run_external(const char *d, float out[4], char cache[8])
{
    char path[600];
    snprintf(path, sizeof path, "%s/m.onnx", d);
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    ember_session *s;
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    snprintf(cache, 8, "%s", ember_session_compile_cache(s));
    float x[4] = {10, 20, 30, 40};
    ember_tensor in = {EMBER_DT_FLOAT, 1, {4}, x, sizeof x}, y;
    cr_assert_eq(ember_session_run(s, &in, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    memcpy(out, y.data, sizeof(float) * 4);
    ember_tensor_release(&y);
    ember_session_free(s);
    ember_model_free(m);
}

/* Same .onnx bytes, new external data: a new key, never the old program's weights. */
Test(cache, external_data_change_is_a_miss)
{
    fresh_dir();
    char d[256];
    snprintf(d, sizeof d, "/tmp/ember_cache_ext_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    write_external_model(d);
    write_weights(d, 1);
    float y[4];
    char cache[8];
    run_external(d, y, cache);
    cr_assert_str_eq(cache, "miss");
    cr_assert_float_eq(y[0], 11.0f, 0);
    run_external(d, y, cache);
    cr_assert_str_eq(cache, "hit");
    cr_assert_float_eq(y[3], 44.0f, 0);
    write_weights(d, 100);
    run_external(d, y, cache);
    cr_assert_str_eq(cache, "miss", "changed external data hit the old entry");
    cr_assert_float_eq(y[0], 110.0f, 0);
    cr_assert_float_eq(y[3], 143.0f, 0);
    rm_dir(d);
    rm_dir(dir);
}

/* A kernel-choice switch (EMBER_WINOGRAD here) is part of the key: switching it is a
 * miss, switching it back hits the first entry again. */
Test(cache, kernel_switches_are_in_the_key)
{
    fresh_dir();
    char d[256];
    snprintf(d, sizeof d, "/tmp/ember_cache_knob_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    write_external_model(d);
    write_weights(d, 1);
    float y[4];
    char cache[8];
    cr_assert_eq(unsetenv("EMBER_WINOGRAD"), 0);
    run_external(d, y, cache);
    cr_assert_str_eq(cache, "miss");
    cr_assert_eq(setenv("EMBER_WINOGRAD", "0", 1), 0);
    run_external(d, y, cache);
    cr_expect_str_eq(cache, "miss", "EMBER_WINOGRAD=0 hit the entry built without it");
    cr_assert_eq(unsetenv("EMBER_WINOGRAD"), 0);
    run_external(d, y, cache);
    cr_expect_str_eq(cache, "hit");
    cr_assert_float_eq(y[0], 11.0f, 0);
    rm_dir(d);
    rm_dir(dir);
}

/* A program built for one thread count is not reused for another: kernels are chosen per
 * count (ops/host/dwconv.c takes one-thread programs only) and an entry keeps the
 * choices. */
static const char *cache_state_for_threads(const char *path, int threads)
{
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    ember_session_options o;
    ember_session_options_init(&o);
    o.threads = threads;
    ember_session *s;
    cr_assert_eq(ember_session_create_ex(m, &o, &s), EMBER_OK, "%s", ember_last_error());
    static char state[8];
    snprintf(state, sizeof state, "%s", ember_session_compile_cache(s));
    ember_session_free(s);
    ember_model_free(m);
    return state;
}

Test(cache, thread_count_is_in_the_key)
{
    fresh_dir();
    char d[256];
    snprintf(d, sizeof d, "/tmp/ember_cache_thr_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    write_external_model(d);
    write_weights(d, 1);
    char path[600];
    snprintf(path, sizeof path, "%s/m.onnx", d);
    cr_expect_str_eq(cache_state_for_threads(path, 1), "miss");
    cr_expect_str_eq(cache_state_for_threads(path, 2), "miss", "2 threads hit the 1-thread entry");
    cr_expect_str_eq(cache_state_for_threads(path, 1), "hit");
    cr_expect_str_eq(cache_state_for_threads(path, 2), "hit");
    rm_dir(d);
    rm_dir(dir);
}

#ifdef EMBER_JIT
/* EMBER_JIT=1: the object code goes to the cache next to the program (.emo); a hit runs
 * it with the same results, and a damaged object is rebuilt. */
static int count_ext(const char *ext, char *first)
{
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ext) == 0) {
            if (first && !n) snprintf(first, 600, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(dp);
    return n;
}

Test(cache, jit_object_code, .timeout = 180)
{
    fresh_dir();
    setenv("EMBER_JIT", "1", 1);
    result ref, miss, hit, again;
    run_model("cifar_resnet8", "interp", 1, 1, &ref);
    run_model("cifar_resnet8", "cpu", 1, 1, &miss);
    char obj[600];
    cr_assert_eq(count_ext(".emo", obj), 1, "no object code stored");
    run_model("cifar_resnet8", "cpu", 1, 1, &hit);
    cr_assert_str_eq(hit.cache, "hit");
    expect_same(&miss, &hit);
    expect_close(&ref, &hit);
    flip_payload_byte(obj);
    run_model("cifar_resnet8", "cpu", 1, 1, &again);
    expect_same(&miss, &again);
    cr_assert_eq(count_ext(".emo", NULL), 1, "the damaged object was not replaced");
    size_t n;
    unsigned char *b = slurp(obj, &n), *c = NULL;
    /* Rebuilt: the stored object verifies again (the loader would have removed it). */
    result last;
    run_model("cifar_resnet8", "cpu", 1, 1, &last);
    cr_assert_eq(count_ext(".emo", NULL), 1);
    c = slurp(obj, &n);
    cr_assert(memcmp(b, c, n) == 0, "a good object was replaced");
    free(b), free(c);
    expect_same(&miss, &last);
    release(&ref), release(&miss), release(&hit), release(&again), release(&last);
    unsetenv("EMBER_JIT");
    rm_dir(dir);
}
#endif

/* The one entry (.emc) in dir: its path into out and its size. */
static long only_entry(char *out)
{
    char names[8][600];
    cr_assert_eq(entries(names, NULL), 1);
    snprintf(out, 600, "%s", names[0]);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    return (long)st.st_size;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* EMBER_CACHE_MAX_MB: a store that overflows the budget removes the least recently used
 * entry (a hit counts as a use), keeps the one just written, and what was evicted is
 * simply a miss next time. */
Test(cache, size_budget_evicts_least_recently_used, .timeout = 180)
{
    char pa[600], pb[600], pc[600], base[256];
    result r;
    long sc;
    fresh_dir(); /* the size of vww's entry, learned in a folder of its own */
    run_model("vww_mobilenet025", "cpu", 1, 1, &r);
    release(&r);
    sc = only_entry(pc);
    snprintf(base, sizeof base, "%s", strrchr(pc, '/') + 1);
    rm_dir(dir);
    fresh_dir();
    snprintf(pc, sizeof pc, "%s/%s", dir, base);
    run_model("cifar_resnet8", "cpu", 1, 1, &r);
    release(&r);
    long sa = only_entry(pa);
    run_model("kws_dscnn", "cpu", 1, 1, &r);
    release(&r);
    char names[8][600];
    cr_assert_eq(entries(names, NULL), 2);
    snprintf(pb, sizeof pb, "%s", strcmp(names[0], pa) == 0 ? names[1] : names[0]);
    /* File times move by the kernel's tick (a few ms): leave one between the uses. */
    usleep(50000);
    run_model("cifar_resnet8", "cpu", 1, 1, &r); /* a use: now kws's entry is the oldest */
    cr_assert_str_eq(r.cache, "hit");
    release(&r);
    usleep(50000);
    char mb[64];
    snprintf(mb, sizeof mb, "%.9f", (double)(sa + sc + 4096) / 1048576.0);
    setenv("EMBER_CACHE_MAX_MB", mb, 1);
    run_model("vww_mobilenet025", "cpu", 1, 1, &r);
    cr_assert_str_eq(r.cache, "miss");
    release(&r);
    cr_expect(exists(pa), "the recently used entry was evicted");
    cr_expect(!exists(pb), "the least recently used entry stayed over budget");
    cr_expect(exists(pc), "the entry just written was evicted");
    cr_expect_eq(entries(NULL, NULL), 2);
    run_model("kws_dscnn", "cpu", 1, 1, &r); /* evicted: a miss, and it evicts in turn */
    cr_expect_str_eq(r.cache, "miss");
    release(&r);
    cr_expect(exists(pb));
    /* 0 = no limit: nothing more goes. */
    setenv("EMBER_CACHE_MAX_MB", "0", 1);
    run_model("cifar_resnet8", "cpu", 1, 1, &r);
    release(&r);
    run_model("vww_mobilenet025", "cpu", 1, 1, &r);
    release(&r);
    cr_expect_eq(entries(NULL, NULL), 3);
    unsetenv("EMBER_CACHE_MAX_MB");
    rm_dir(dir);
}
