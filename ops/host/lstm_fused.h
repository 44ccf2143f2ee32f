/* Batch-1 LSTM steps with the gates fused into the recurrent product (lstm_fused.c),
 * used by openblas_rnn.c when the hidden size is a multiple of EMBER_LSTM_UNITS. */
#ifndef EMBER_HOST_LSTM_FUSED_H
#define EMBER_HOST_LSTM_FUSED_H
#include <stddef.h>
#include <stdint.h>

/* Hidden units per panel: its 4 gates' columns of R^T are 64 floats, four AVX-512
 * registers of sums. */
#define EMBER_LSTM_UNITS 16

/* Floats of the packed R^T of `dirs` directions with hidden size H. */
size_t ember_lstm_fused_floats(int64_t dirs, int64_t H);

/* Packs R ([dirs, 4H, H], gates i, o, f, c) into panels: panel p of direction d holds,
 * for each k in [0, H), the 64 values R[d][q H + 16 p + j][k] for gate q and unit j. */
void ember_lstm_fused_pack(const float *r, int64_t dirs, int64_t H, float *out);

/* One step of one direction for units [u0, u1) (multiples of EMBER_LSTM_UNITS): the
 * gates' pre-activations are g[q H + j] (the input projection and biases) plus
 * h_prev R^T, read from `panels` (this direction's, as packed above); writes those units
 * of h_next and c (in place). h_next must not alias h_prev. `step` counts the steps
 * done (0, 1, ...): it only picks the order the panels are read in, for the cache. */
void ember_lstm_fused_step(const float *panels, int64_t H, int64_t u0, int64_t u1, const float *g,
                           const float *h_prev, float *h_next, float *c, int64_t step);
#endif
