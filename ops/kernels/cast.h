/* Elementwise type conversion between the numeric ONNX types and bool.
 * Types are given by their ONNX TensorProto numbers (K_DT_*). Float to integer
 * conversion truncates toward zero and saturates at the target's range (NaN -> 0) so
 * out-of-range values are defined; to bool is x != 0. Elements are split by (ith, nth). */
#ifndef EMBER_K_CAST_H
#define EMBER_K_CAST_H
#include <stdint.h>

enum {
    K_DT_FLOAT = 1, K_DT_UINT8 = 2, K_DT_INT8 = 3, K_DT_UINT16 = 4, K_DT_INT16 = 5,
    K_DT_INT32 = 6, K_DT_INT64 = 7, K_DT_BOOL = 9, K_DT_FLOAT16 = 10, K_DT_DOUBLE = 11,
    K_DT_UINT32 = 12, K_DT_UINT64 = 13, K_DT_BFLOAT16 = 16
};

/* Whether k_cast handles dtype dt (as source and as destination). */
int k_cast_supported(int dt);
void k_cast(int src_dt, const void *x, int dst_dt, void *y, int64_t n, int ith, int nth);
#endif
