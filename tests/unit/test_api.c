/* The public C API end to end on the shipped model: load, describe, run, refuse bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "importers/onnx.h"
#include "test_util.h"

#define KWS EMBER_SOURCE_DIR "/models/kws_dscnn"

Test(api, describes_inputs_and_outputs)
{
    ember_model *m;
    cr_assert_eq(ember_model_load(KWS "/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_model_num_inputs(m), 1);
    cr_assert_eq(ember_model_num_outputs(m), 1);
    ember_io_info info;
    cr_assert_eq(ember_model_input_info(m, 0, &info), EMBER_OK);
    cr_assert_eq(info.dtype, EMBER_DT_FLOAT);
    cr_assert_eq(info.rank, 4);
    cr_assert_eq(info.dims[2], 49);
    cr_assert_eq(ember_model_input_info(m, 1, &info), EMBER_E_INVALID_ARG);
    ember_model_free(m);
}

Test(api, runs_and_matches_reference)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(KWS "/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "interp", &s), EMBER_OK);
    ember_tensor in, ref, out;
    ut_load_pb(KWS "/test_data_set_0/input_0.pb", &in);
    ut_load_pb(KWS "/test_data_set_0/output_0.pb", &ref);
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, ref.rank);
    const float *o = out.data, *r = ref.data;
    for (size_t i = 0; i < ref.nbytes / 4; i++)
        cr_assert(fabsf(o[i] - r[i]) <= 1e-4f + 1e-3f * fabsf(r[i]), "output %zu: %g vs %g", i, o[i], r[i]);
    ember_tensor_release(&out);
    ember_tensor_release(&in);
    ember_tensor_release(&ref);
    ember_session_free(s);
    ember_model_free(m);
}

Test(api, refuses_wrong_shape_and_dtype)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(KWS "/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, NULL, &s), EMBER_OK);
    float buf[2 * 49 * 10] = {0};
    ember_tensor in = {EMBER_DT_FLOAT, 4, {1, 1, 49, 11}, buf, sizeof buf}, out;
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "dimension 3 must be 10"), "%s", ember_last_error());
    cr_assert_str_eq(ember_session_last_error(s), ember_last_error());
    in.dims[3] = 10;
    in.dtype = EMBER_DT_DOUBLE;
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "expected dtype float32"), "%s", ember_last_error());
    in.dtype = EMBER_DT_FLOAT;
    in.nbytes = 10;
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_E_INVALID_ARG);
    cr_assert_eq(ember_session_run(s, &in, 2, &out, 1), EMBER_E_INVALID_ARG);
    ember_session_free(s);
    cr_assert_eq(ember_session_create(m, "nope", &s), EMBER_E_INVALID_ARG);
    cr_assert_null(s);
    ember_model_free(m);
}

Test(api, missing_file_and_null_arguments)
{
    ember_model *m = (ember_model *)1;
    cr_assert_eq(ember_model_load("/nonexistent/model.onnx", &m), EMBER_E_IO);
    cr_assert_null(m);
    cr_assert(strstr(ember_last_error(), "/nonexistent/model.onnx"));
    cr_assert_eq(ember_model_load(NULL, &m), EMBER_E_INVALID_ARG);
    cr_assert_eq(ember_model_load("/tmp", &m), EMBER_E_IO);
    cr_assert(strstr(ember_last_error(), "not a regular file"), "%s", ember_last_error());
    cr_assert_eq(ember_model_load_memory("garbage!", 8, NULL, &m), EMBER_E_INVALID_MODEL);
    cr_assert_null(m);
    ember_model_free(NULL);
    ember_session_free(NULL);
    ember_tensor_release(NULL);
}

struct run_job {
    ember_session *s;
    const ember_tensor *in;
    const ember_tensor *ref;
    int ok;
};

static void *run_many(void *arg)
{
    struct run_job *j = arg;
    j->ok = 1;
    for (int it = 0; it < 5; it++) {
        ember_tensor out;
        if (ember_session_run(j->s, j->in, 1, &out, 1) != EMBER_OK) j->ok = 0;
        else if (memcmp(out.data, j->ref->data, out.nbytes) != 0) j->ok = 0;
        ember_tensor_release(&out);
    }
    return NULL;
}

Test(api, concurrent_runs_agree)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(KWS "/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "interp", &s), EMBER_OK);
    ember_tensor in, first;
    ut_load_pb(KWS "/test_data_set_0/input_0.pb", &in);
    cr_assert_eq(ember_session_run(s, &in, 1, &first, 1), EMBER_OK, "%s", ember_last_error());
    pthread_t th[4];
    struct run_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct run_job){s, &in, &first, 0};
        pthread_create(&th[i], NULL, run_many, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert(jobs[i].ok, "thread %d saw a failure or different output", i);
    }
    ember_tensor_release(&first);
    ember_tensor_release(&in);
    ember_session_free(s);
    ember_model_free(m);
}
