/* Einsum: the equation is parsed into label codes per operand dimension (letters as
 * themselves, the dims an ellipsis stands for as 128 + position, right-aligned across
 * operands), then lowered to one k_einsum label walk. */
#include <string.h>

#include "elementwise.h"
#include "kernels/einsum.h"
#include "op_decls.h"

#define ELL 128 /* first ellipsis label code */

typedef struct einsum_eq {
    int n_in;
    int codes[K_EINSUM_MAX_IN][EMBER_MAX_RANK]; /* label code per operand dim */
    int out_rank;
    int out_codes[EMBER_MAX_RANK];
} einsum_eq;

static bool is_letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* Parses one term into letters (ellipsis marked by -1); returns the count or -1. */
static int parse_term(const char *s, size_t len, int *out, int max, bool *has_ell)
{
    int n = 0;
    *has_ell = false;
    for (size_t i = 0; i < len; i++) {
        if (n >= max) return -1;
        if (is_letter(s[i])) {
            out[n++] = (unsigned char)s[i];
        } else if (s[i] == '.' && len - i >= 3 && s[i + 1] == '.' && s[i + 2] == '.' && !*has_ell) {
            out[n++] = -1;
            *has_ell = true;
            i += 2;
        } else {
            return -1;
        }
    }
    return n;
}

/* Needs every operand's rank. */
static ember_status einsum_parse(const ember_op_ctx *c, einsum_eq *eq)
{
    const char *raw = ember_attr_string(c->node, "equation", NULL);
    if (!raw) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute equation is missing");
    char s[256];
    size_t len = 0;
    for (const char *p = raw; *p; p++)
        if (*p != ' ') {
            if (len + 1 >= sizeof s)
                return ember_op_fail(c, EMBER_E_UNSUPPORTED, "equation is too long");
            s[len++] = *p;
        }
    s[len] = '\0';
    const char *arrow = strstr(s, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - s) : len;
    eq->n_in = c->n_in;
    int ell_rank = 0, ell_n[K_EINSUM_MAX_IN];
    int letters[K_EINSUM_MAX_IN][EMBER_MAX_RANK + 1], n_letters[K_EINSUM_MAX_IN];
    size_t start = 0, end = 0;
    for (int k = 0; k < c->n_in; k++) {
        end = start;
        while (end < lhs_len && s[end] != ',') end++;
        if (end == lhs_len && k != c->n_in - 1)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\" has fewer terms than the %d inputs",
                                 raw, c->n_in);
        bool has_ell;
        int n = parse_term(s + start, end - start, letters[k], EMBER_MAX_RANK + 1, &has_ell);
        if (n < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\": bad term %d", raw, k);
        int rank = c->in[k]->rank;
        int e = rank - (n - (has_ell ? 1 : 0));
        if (e < 0 || (!has_ell && e != 0))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                 "equation \"%s\": term %d does not match input %d of rank %d", raw, k, k, rank);
        n_letters[k] = n;
        ell_n[k] = e;
        if (e > ell_rank) ell_rank = e;
        start = end + 1;
    }
    if (end != lhs_len)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\" has more terms than the %d inputs",
                             raw, c->n_in);
    /* expand the ellipses, right-aligned */
    for (int k = 0; k < c->n_in; k++) {
        int d = 0;
        for (int i = 0; i < n_letters[k]; i++) {
            if (letters[k][i] >= 0) {
                eq->codes[k][d++] = letters[k][i];
                continue;
            }
            for (int j = 0; j < ell_n[k]; j++) eq->codes[k][d++] = ELL + ell_rank - ell_n[k] + j;
        }
    }
    eq->out_rank = 0;
    if (arrow) {
        bool has_ell;
        int out[EMBER_MAX_RANK + 1];
        int n = parse_term(arrow + 2, strlen(arrow + 2), out, EMBER_MAX_RANK + 1, &has_ell);
        if (n < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\": bad output term", raw);
        for (int i = 0; i < n; i++) {
            int cnt = out[i] >= 0 ? 1 : ell_rank;
            if (eq->out_rank + cnt > EMBER_MAX_RANK)
                return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output rank is above %d", EMBER_MAX_RANK);
            for (int j = 0; j < cnt; j++)
                eq->out_codes[eq->out_rank++] = out[i] >= 0 ? out[i] : ELL + j;
        }
    } else {
        /* implicit output: ellipsis dims, then letters used once, alphabetically */
        for (int j = 0; j < ell_rank; j++) eq->out_codes[eq->out_rank++] = ELL + j;
        for (int ch = 'A'; ch <= 'z'; ch++) {
            int seen = 0;
            for (int k = 0; k < c->n_in; k++)
                for (int d = 0; d < c->in[k]->rank; d++) seen += eq->codes[k][d] == ch;
            if (seen == 1) {
                if (eq->out_rank >= EMBER_MAX_RANK)
                    return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output rank is above %d", EMBER_MAX_RANK);
                eq->out_codes[eq->out_rank++] = ch;
            }
        }
    }
    for (int i = 0; i < eq->out_rank; i++) {
        bool found = false;
        for (int k = 0; k < c->n_in && !found; k++)
            for (int d = 0; d < c->in[k]->rank; d++) found |= eq->codes[k][d] == eq->out_codes[i];
        for (int j = 0; j < i; j++)
            if (eq->out_codes[j] == eq->out_codes[i])
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\": output repeats a label", raw);
        if (!found)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "equation \"%s\": output label not in any input", raw);
    }
    return EMBER_OK;
}

/* Builds the label walk; dims must be known. Fails on inconsistent label sizes. */
static ember_status einsum_plan(const ember_op_ctx *c, const einsum_eq *eq, k_einsum *e,
                                int64_t *out_dims)
{
    int code_of[K_EINSUM_MAX_LABELS];
    memset(e, 0, sizeof *e);
    e->n_in = eq->n_in;
    for (int i = 0; i < eq->out_rank; i++) code_of[e->n_labels++] = eq->out_codes[i];
    e->n_out = e->n_labels;
    for (int k = 0; k < eq->n_in; k++)
        for (int d = 0; d < c->in[k]->rank; d++) {
            int l = 0;
            while (l < e->n_labels && code_of[l] != eq->codes[k][d]) l++;
            if (l == e->n_labels) {
                if (l >= K_EINSUM_MAX_LABELS)
                    return ember_op_fail(c, EMBER_E_UNSUPPORTED, "too many labels");
                code_of[e->n_labels++] = eq->codes[k][d];
                e->dims[l] = -1;
            }
        }
    for (int l = 0; l < e->n_labels; l++) e->dims[l] = -1;
    for (int k = 0; k < eq->n_in; k++)
        for (int d = 0; d < c->in[k]->rank; d++) {
            int l = 0;
            while (code_of[l] != eq->codes[k][d]) l++;
            int64_t dim = c->in[k]->dims[d];
            bool ell = eq->codes[k][d] >= ELL;
            if (e->dims[l] < 0 || (ell && e->dims[l] == 1)) e->dims[l] = dim;
            else if (dim != e->dims[l] && !(ell && dim == 1))
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "label '%c' is %lld in one place and %lld in another",
                                     ell ? '.' : eq->codes[k][d], (long long)e->dims[l], (long long)dim);
        }
    for (int k = 0; k < eq->n_in; k++) {
        int64_t s = 1;
        for (int d = c->in[k]->rank - 1; d >= 0; d--) {
            int l = 0;
            while (code_of[l] != eq->codes[k][d]) l++;
            int64_t dim = c->in[k]->dims[d];
            if (!(dim == 1 && e->dims[l] != 1)) e->st[k][l] += s;
            s *= dim;
        }
    }
    for (int i = 0; i < eq->out_rank; i++) out_dims[i] = e->dims[i];
    return EMBER_OK;
}

ember_status ember_infer_einsum(ember_op_ctx *c)
{
    if (c->n_in < 1 || c->n_in > K_EINSUM_MAX_IN)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "takes 1 to %d inputs, got %d", K_EINSUM_MAX_IN, c->n_in);
    bool known = true;
    for (int k = 0; k < c->n_in; k++) {
        if (!c->in[k]) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d is missing", k);
        ember_dtype dt = c->in[k]->dtype;
        if (dt != EMBER_DT_UNDEFINED && dt != EMBER_DT_FLOAT && dt != EMBER_DT_DOUBLE &&
            dt != EMBER_DT_INT32 && dt != EMBER_DT_INT64)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input %d has type %s; Einsum supports float32, "
                                 "float64, int32 and int64", k, ember_dtype_name(dt));
        TRY(ew_same_dtype(c, "input 0", c->in[0]->dtype, "another input", dt));
        if (c->in[k]->rank < 0) known = false;
    }
    if (!known) {
        ember_op_set_out(c, 0, c->in[0]->dtype, -1, NULL);
        return EMBER_OK;
    }
    einsum_eq eq;
    TRY(einsum_parse(c, &eq));
    int64_t dims[EMBER_MAX_RANK];
    bool dims_known = true;
    for (int k = 0; k < c->n_in; k++)
        for (int d = 0; d < c->in[k]->rank; d++) dims_known &= c->in[k]->dims[d] >= 0;
    if (dims_known) {
        k_einsum e;
        TRY(einsum_plan(c, &eq, &e, dims));
    } else {
        for (int i = 0; i < eq.out_rank; i++) dims[i] = -1;
    }
    ember_op_set_out(c, 0, c->in[0]->dtype, eq.out_rank, dims);
    return EMBER_OK;
}

ember_status ember_run_einsum(ember_op_ctx *c)
{
    einsum_eq eq;
    TRY(einsum_parse(c, &eq));
    k_einsum e;
    int64_t dims[EMBER_MAX_RANK];
    TRY(einsum_plan(c, &eq, &e, dims));
    const void *in[K_EINSUM_MAX_IN];
    for (int k = 0; k < c->n_in; k++) in[k] = c->in[k]->data;
    void *y = c->out[0]->data;
    switch (c->out[0]->dtype) {
    case EMBER_DT_FLOAT: k_einsum_f32(&e, (const float *const *)in, y); break;
    case EMBER_DT_DOUBLE: k_einsum_f64(&e, (const double *const *)in, y); break;
    case EMBER_DT_INT32: k_einsum_i32(&e, (const int32_t *const *)in, y); break;
    default: k_einsum_i64(&e, (const int64_t *const *)in, y); break;
    }
    return EMBER_OK;
}
