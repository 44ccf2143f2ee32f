/* Gemm and MatMul (float32, float64) on the blocked kernels of kernels/gemm.c, with the
 * activation the fusion pass may have attached (float32). */
#include <math.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "nn_common.h"
#include "op_decls.h"

static ember_status need_real(const ember_op_ctx *c, const ember_op_tensor *t, ember_dtype dt,
                              const char *what)
{
    if (t->dtype != EMBER_DT_FLOAT && t->dtype != EMBER_DT_DOUBLE)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s of type %s is not supported (float32, float64)",
                             what, ember_dtype_name(t->dtype));
    if (t->dtype != dt)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s is %s but A is %s", what,
                             ember_dtype_name(t->dtype), ember_dtype_name(dt));
    return EMBER_OK;
}

ember_status nn_fused_act(const ember_op_ctx *c, int *kind, float *a, float *b)
{
    const char *name = ember_attr_string(c->node, "ember_activation", NULL);
    *kind = K_ACT_NONE;
    *a = *b = 0.0f;
    if (!name) return EMBER_OK;
    int k = k_act_kind(name);
    if (k < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "cannot fuse activation '%s'", name);
    if (c->out[0] && c->out[0]->dtype != EMBER_DT_FLOAT)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "fused activation '%s' on %s output (float32 only)",
                             name, ember_dtype_name(c->out[0]->dtype));
    *kind = k;
    if (k == K_ACT_CLIP) {
        *a = ember_attr_float(c->node, "ember_act_min", -INFINITY);
        *b = ember_attr_float(c->node, "ember_act_max", INFINITY);
    } else if (k == K_ACT_LEAKYRELU) {
        *a = ember_attr_float(c->node, "ember_act_alpha", 0.01f);
    } else if (k == K_ACT_HARDSIGMOID) {
        *a = ember_attr_float(c->node, "ember_act_alpha", 0.2f);
        *b = ember_attr_float(c->node, "ember_act_beta", 0.5f);
    }
    return EMBER_OK;
}

ember_status ember_infer_gemm(ember_op_ctx *c)
{
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1), *cc = ember_op_in(c, 2);
    if (!a || !b) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs A and B");
    if (c->opset < 7 && cc && ember_attr_int(c->node, "broadcast", 0) == 0 && cc->rank >= 0 &&
        cc->rank != 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "C must be [M, N] unless broadcast = 1");
    if (!cc && c->opset < 11) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input C is required before opset 11");
    TRY(need_real(c, a, a->dtype, "A"));
    TRY(need_real(c, b, a->dtype, "B"));
    if (cc) TRY(need_real(c, cc, a->dtype, "C"));
    TRY(nn_need_rank(c, 0, 2, "A"));
    TRY(nn_need_rank(c, 1, 2, "B"));
    int ta = ember_attr_int(c->node, "transA", 0) != 0, tb = ember_attr_int(c->node, "transB", 0) != 0;
    int64_t M = a->rank == 2 ? a->dims[ta ? 1 : 0] : -1, Ka = a->rank == 2 ? a->dims[ta ? 0 : 1] : -1;
    int64_t N = b->rank == 2 ? b->dims[tb ? 0 : 1] : -1, Kb = b->rank == 2 ? b->dims[tb ? 1 : 0] : -1;
    if (Ka >= 0 && Kb >= 0 && Ka != Kb)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "inner dimensions differ: A gives %lld, B gives %lld",
                             (long long)Ka, (long long)Kb);
    if (cc && cc->rank >= 0) {
        if (cc->rank > 2) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "C has rank %d", cc->rank);
        int64_t want[2] = {M, N};
        for (int i = 0; i < cc->rank; i++) {
            int64_t d = cc->dims[i], w = want[2 - cc->rank + i];
            if (d >= 0 && w >= 0 && d != 1 && d != w)
                return ember_op_fail(c, EMBER_E_INVALID_ARG,
                                     "C dim %d is %lld, cannot broadcast to %lld", i, (long long)d,
                                     (long long)w);
        }
    }
    int64_t dims[2] = {M, N};
    ember_op_set_out(c, 0, a->dtype, 2, dims);
    return EMBER_OK;
}

ember_status ember_run_gemm(ember_op_ctx *c)
{
    const ember_op_tensor *a = c->in[0], *b = c->in[1], *cc = ember_op_in(c, 2);
    int ta = ember_attr_int(c->node, "transA", 0) != 0, tb = ember_attr_int(c->node, "transB", 0) != 0;
    double alpha = ember_attr_float(c->node, "alpha", 1.0f), beta = ember_attr_float(c->node, "beta", 1.0f);
    int64_t M = c->out[0]->dims[0], N = c->out[0]->dims[1], K = a->dims[ta ? 0 : 1];
    int dbl = a->dtype == EMBER_DT_DOUBLE;
    void *y = c->out[0]->data;
    double kbeta = 0.0;
    if (cc && beta != 0.0) {
        /* Y starts as beta * C broadcast to [M, N]. */
        int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int64_t k = (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j);
                if (dbl) ((double *)y)[i * N + j] = beta * ((const double *)cc->data)[k];
                else ((float *)y)[i * N + j] = (float)beta * ((const float *)cc->data)[k];
            }
        kbeta = 1.0;
    }
    int64_t lda = a->dims[1], ldb = b->dims[1];
    int act;
    float aa, ab;
    TRY(nn_fused_act(c, &act, &aa, &ab));
    if (dbl)
        k_dgemm(ta, tb, M, N, K, alpha, a->data, lda, b->data, ldb, kbeta, y, N, 0, 1);
    else
        k_sgemm(ta, tb, M, N, K, (float)alpha, a->data, lda, b->data, ldb, (float)kbeta, y, N, 0, 1);
    if (act != K_ACT_NONE) k_activation_f32(y, M * N, act, aa, ab, 0, 1);
    return EMBER_OK;
}

ember_status nn_matmul_plan(const ember_op_ctx *c, const ember_op_tensor *a,
                            const ember_op_tensor *b, nn_mm *mm, int *rank, int64_t *dims)
{
    memset(mm, 0, sizeof *mm);
    *rank = -1;
    if (a->rank == 0 || b->rank == 0)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "MatMul operands must have rank >= 1");
    if (a->rank < 0 || b->rank < 0) return EMBER_OK;
    int ar = a->rank < 2 ? 0 : a->rank - 2, br = b->rank < 2 ? 0 : b->rank - 2;
    mm->M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    mm->K = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    mm->N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (mm->K >= 0 && kb >= 0 && mm->K != kb)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "inner dimensions differ: %lld vs %lld",
                             (long long)mm->K, (long long)kb);
    if (mm->K < 0) mm->K = kb;
    /* Broadcast the batch dims. */
    int r = ar > br ? ar : br;
    mm->brank = r;
    int64_t as = 1, bs = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ia = i - (r - ar), ib = i - (r - br);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1, d;
        if (da == db || db == 1) d = da;
        else if (da == 1) d = db;
        else if (da < 0 || db < 0) d = -1;
        else
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "batch dims %lld and %lld do not broadcast",
                                 (long long)da, (long long)db);
        mm->bdims[i] = d;
        mm->astr[i] = da == 1 ? 0 : as;
        mm->bstr[i] = db == 1 ? 0 : bs;
        as *= da;
        bs *= db;
        dims[i] = d;
    }
    int n = r;
    if (a->rank > 1) dims[n++] = mm->M;
    if (b->rank > 1) dims[n++] = mm->N;
    *rank = n;
    mm->batch = nn_prod(mm->bdims, 0, r);
    mm->fold = br == 0;
    for (int i = 0; i < r; i++)
        if (mm->bdims[i] < 0) mm->batch = -1;
    return EMBER_OK;
}

void nn_mm_batch(const nn_mm *mm, int64_t i, int64_t *ai, int64_t *bi)
{
    int64_t ao = 0, bo = 0;
    for (int d = mm->brank - 1; d >= 0; d--) {
        int64_t q = i % mm->bdims[d];
        i /= mm->bdims[d];
        ao += q * mm->astr[d];
        bo += q * mm->bstr[d];
    }
    *ai = ao;
    *bi = bo;
}

ember_status ember_infer_matmul(ember_op_ctx *c)
{
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1);
    if (!a || !b) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs A and B");
    TRY(need_real(c, a, a->dtype, "A"));
    TRY(need_real(c, b, a->dtype, "B"));
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(nn_matmul_plan(c, a, b, &mm, &rank, dims));
    ember_op_set_out(c, 0, a->dtype, rank, dims);
    return EMBER_OK;
}

ember_status ember_run_matmul(ember_op_ctx *c)
{
    const ember_op_tensor *a = c->in[0], *b = c->in[1];
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(nn_matmul_plan(c, a, b, &mm, &rank, dims));
    int64_t M, N = mm.N, K = mm.K, batch;
    nn_mm_calls(&mm, &M, &batch);
    int act;
    float aa, ab;
    TRY(nn_fused_act(c, &act, &aa, &ab));
    for (int64_t i = 0; i < batch; i++) {
        int64_t ai, bi;
        nn_mm_batch(&mm, i, &ai, &bi);
        if (a->dtype == EMBER_DT_DOUBLE)
            k_dgemm(0, 0, M, N, K, 1.0, (const double *)a->data + ai * M * K, K,
                    (const double *)b->data + bi * K * N, N, 0.0,
                    (double *)c->out[0]->data + i * M * N, N, 0, 1);
        else
            k_sgemm(0, 0, M, N, K, 1.0f, (const float *)a->data + ai * M * K, K,
                    (const float *)b->data + bi * K * N, N, 0.0f,
                    (float *)c->out[0]->data + i * M * N, N, 0, 1);
    }
    if (act != K_ACT_NONE) k_activation_f32(c->out[0]->data, batch * M * N, act, aa, ab, 0, 1);
    return EMBER_OK;
}
