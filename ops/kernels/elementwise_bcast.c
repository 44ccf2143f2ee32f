#include "elementwise_bcast.h"

void k_bcast_collapse(k_bcast *b)
{
    int r = 0;
    for (int d = 0; d < b->rank; d++) {
        if (b->dims[d] == 1) continue;
        if (r > 0) {
            /* Merge d into the previous kept dimension when every operand steps
             * through both as one run. */
            int ok = 1;
            for (int k = 0; k < b->n_in; k++)
                if (b->st[k][r - 1] != b->st[k][d] * b->dims[d]) ok = 0;
            if (ok) {
                b->dims[r - 1] *= b->dims[d];
                for (int k = 0; k < b->n_in; k++) b->st[k][r - 1] = b->st[k][d];
                continue;
            }
        }
        b->dims[r] = b->dims[d];
        for (int k = 0; k < b->n_in; k++) b->st[k][r] = b->st[k][d];
        r++;
    }
    if (r == 0) {
        /* Everything is size 1 (or a scalar); a zero-size dim was kept above. */
        b->dims[0] = 1;
        for (int k = 0; k < b->n_in; k++) b->st[k][0] = 0;
        r = 1;
    }
    b->rank = r;
}

void k_bcast_init(k_bcast *b, int out_rank, const int64_t *out_dims, int n_in,
                  const int *in_rank, const int64_t *const *in_dims)
{
    b->rank = out_rank;
    b->n_in = n_in;
    for (int d = 0; d < out_rank; d++) b->dims[d] = out_dims[d];
    for (int k = 0; k < n_in; k++) {
        int64_t s = 1;
        for (int d = out_rank - 1; d >= 0; d--) {
            int id = d - (out_rank - in_rank[k]);
            int64_t dim = id >= 0 ? in_dims[k][id] : 1;
            b->st[k][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    k_bcast_collapse(b);
}
