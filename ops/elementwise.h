/* Glue helpers shared by the elementwise, reduction, softmax and loss ops: dtype classes
 * and checks, and the per-dtype dispatch into the binary/unary kernels. */
#ifndef EMBER_OPS_ELEMENTWISE_H
#define EMBER_OPS_ELEMENTWISE_H
#include "kernels/elementwise_bcast.h"
#include "op.h"

/* dtype classes, combinable as masks */
enum { EW_FLOAT = 1, EW_SINT = 2, EW_UINT = 4, EW_BOOL = 8 };
#define EW_INT (EW_SINT | EW_UINT)
#define EW_NUM (EW_FLOAT | EW_INT)

unsigned ew_dtype_class(ember_dtype dt); /* 0 for string/undefined */
/* Fails (UNSUPPORTED) when dt is known and not in `allowed`; unknown dtypes pass. */
ember_status ew_check_dtype(const ember_op_ctx *c, const char *what, ember_dtype dt,
                            unsigned allowed);
/* Fails (INVALID_MODEL) when both dtypes are known and differ. */
ember_status ew_same_dtype(const ember_op_ctx *c, const char *wa, ember_dtype a,
                           const char *wb, ember_dtype b);
/* Copies symbolic dim names from inputs onto an output whose dims match theirs
 * (right-aligned), so broadcasting keeps e.g. a batch symbol. */
void ew_broadcast_syms(ember_op_tensor *out, const ember_op_tensor *const *ins, int n);
/* Broadcast walk for an output t and operands ins[0..n) (all with known shapes). */
void ew_bcast_for(k_bcast *b, const ember_op_tensor *out, const ember_op_tensor *const *ins,
                  int n);

/* y = a op b (k_binop op) with broadcasting described by bc; dt is the operand dtype. */
void ew_binary(ember_dtype dt, int op, const void *a, const void *b, void *y, const k_bcast *bc);
/* y = op(x) over n elements (k_unop op) for any dtype the kernel supports. */
void ew_unary(ember_dtype dt, int op, const void *x, void *y, int64_t n, double alpha,
              double beta);
/* Runs k_softmax mode (enum k_softmax_mode) over an [outer, n, inner] view. */
ember_status ew_softmax(const ember_op_ctx *c, int mode, ember_dtype dt, const void *x, void *y,
                        int64_t outer, int64_t n, int64_t inner);
#endif
