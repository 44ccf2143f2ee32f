/* Helpers shared by the tensor and control op groups (ops/tensor_*.c, ops/control_*.c). */
#ifndef EMBER_TENSOR_UTIL_H
#define EMBER_TENSOR_UTIL_H
#include "op.h"

/* Reads input i (an integer tensor of rank 0 or 1 with at most `max` elements) into vals.
 * Returns EMBER_OK with *n = element count, or *n = -1 when the data is not known yet
 * (load time). `what` names the input in errors. */
ember_status tu_read_ints(const ember_op_ctx *c, int i, const char *what, int64_t *vals, int max,
                          int *n);
/* Element count of input i's 1-D shape when its length is known, else -1. */
int tu_len(const ember_op_ctx *c, int i);
/* Fails unless input i is present. */
ember_status tu_need(const ember_op_ctx *c, int i, const char *what);
/* Fails unless input i has an integer dtype among int32/int64. */
ember_status tu_need_index_type(const ember_op_ctx *c, int i, const char *what);
/* Fails unless every index in t is in [-limit, limit). Run time only. */
ember_status tu_check_indices(const ember_op_ctx *c, const ember_op_tensor *t, int64_t limit,
                              const char *what);
/* Fails with UNSUPPORTED unless dt has a fixed element size (not string/undefined). Unknown
 * dtypes at load time pass. */
ember_status tu_need_sized(const ember_op_ctx *c, ember_dtype dt, const char *what);
/* Reads a list of axes from attribute `attr` (opset < input_from) or input i, normalizes them
 * for `rank` and rejects duplicates. *n = -1 when unknown at load time, 0 when absent. */
ember_status tu_axes(const ember_op_ctx *c, const char *attr, int input_from, int i, int rank,
                     int *axes, int *n);
/* Copies input 0 to output 0 byte for byte (Reshape, Flatten, Squeeze, ...). */
ember_status tu_run_copy(ember_op_ctx *c);
/* Sets out[o] to the input's dtype/shape with the input's symbolic dims for dims taken from
 * the input: map[k] = input dim index for output dim k, or -1 for a dim given in dims. */
void tu_set_out_map(ember_op_ctx *c, int o, const ember_op_tensor *x, int rank,
                    const int64_t *dims, const int *map);
/* Known at load time or run time: all dims of t are >= 0. */
bool tu_dims_known(const ember_op_tensor *t);
/* GatherElements/ScatterElements: data and indices of equal rank, indices no larger than
 * data off the axis; *axis = -1 while ranks are unknown. (tensor_gather.c) */
ember_status tu_elements_check(const ember_op_ctx *c, const ember_op_tensor *x,
                               const ember_op_tensor *ind, int *axis);
/* GatherND/ScatterND: checks index tuple component j (tuples of length k) against dims[j]. */
ember_status tu_nd_check_indices(const ember_op_ctx *c, const ember_op_tensor *ind,
                                 const int64_t *dims, int k);
/* Writes v converted to dtype dt (one element) to out; fails for types without numbers. */
ember_status tu_from_double(const ember_op_ctx *c, ember_dtype dt, double v, void *out);
/* The kernels' element kind (enum k_elem in kernels/copy.h) of dtype dt. */
int tu_elem_kind(ember_dtype dt);
#endif
