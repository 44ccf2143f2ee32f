/* engine/program_tune.c: a very small model asked for several threads runs on one, and
 * computes the reference outputs; larger models, one thread asked and
 * EMBER_SMALL_MODEL_THREADS=0 are left as asked. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "ember.h"
#include "engine/program.h"
#include "test_util.h"

static ember_program *build(const char *name, int threads, ember_model **m)
{
    *m = ut_load_zoo(name);
    ember_program_options o = {.threads = threads, .optimize = 1};
    ember_program *p;
    cr_assert_eq(ember_program_build(*m, NULL, 0, &o, &p), EMBER_OK, "%s", ember_last_error());
    return p;
}

/* p's outputs on the zoo inputs against test_data_set_0 (rtol 1e-3, atol 1e-4). */
static void check_outputs(const ember_program *p, const char *name)
{
    ember_tensor in, ref, out;
    ut_load_zoo_pb(name, "input", 0, &in);
    ut_load_zoo_pb(name, "output", 0, &ref);
    void *arena = aligned_alloc(64, (p->arena_bytes + 63) & ~(size_t)63);
    cr_assert_eq(ember_program_run(p, arena, &in, 1, &out, 1, NULL), EMBER_OK, "%s", ember_last_error());
    const float *a = ref.data, *b = out.data;
    cr_assert_eq(ref.nbytes, out.nbytes);
    for (size_t i = 0; i < ref.nbytes / 4; i++)
        cr_assert(fabsf(a[i] - b[i]) <= 1e-4f + 1e-3f * fabsf(a[i]), "%s[%zu]: %g vs reference %g", name, i, b[i], a[i]);
    free(arena);
    ember_tensor_release(&in);
    ember_tensor_release(&ref);
    ember_tensor_release(&out);
}

Test(program_tune, rule, .timeout = 120)
{
    unsetenv("EMBER_SMALL_MODEL_THREADS");
    ember_model *m;
    ember_program *p = build("kws_dscnn", 2, &m); /* 5.4 MFLOP */
    cr_expect_eq(p->threads, 1);
    cr_expect_eq(p->threads_asked, 2);
    check_outputs(p, "kws_dscnn");
    ember_program_free(p);
    ember_model_free(m);
    p = build("vww_mobilenet025", 2, &m); /* 15.2 MFLOP */
    cr_expect_eq(p->threads, 1);
    check_outputs(p, "vww_mobilenet025");
    ember_program_free(p);
    ember_model_free(m);
    p = build("cifar_resnet8", 2, &m); /* 25 MFLOP */
    cr_expect_eq(p->threads, 2);
    ember_program_free(p);
    ember_model_free(m);
    p = build("kws_dscnn", 1, &m);
    cr_expect_eq(p->threads, 1);
    cr_expect_eq(p->threads_asked, 1);
    ember_program_free(p);
    ember_model_free(m);
    /* The session says how many it uses. */
    m = ut_load_zoo("kws_dscnn");
    ember_session_options so;
    ember_session_options_init(&so);
    so.threads = 2;
    ember_session *s;
    cr_assert_eq(ember_session_create_ex(m, &so, &s), EMBER_OK, "%s", ember_last_error());
    cr_expect_eq(ember_session_threads(s), 1);
    ember_session_free(s);
    cr_assert_eq(ember_session_create(m, "interp", &s), EMBER_OK);
    cr_expect_eq(ember_session_threads(s), 0);
    ember_session_free(s);
    ember_model_free(m);
    setenv("EMBER_SMALL_MODEL_THREADS", "0", 1);
    p = build("kws_dscnn", 2, &m);
    cr_expect_eq(p->threads, 2);
    check_outputs(p, "kws_dscnn");
    ember_program_free(p);
    ember_model_free(m);
    unsetenv("EMBER_SMALL_MODEL_THREADS");
}
