/* Tensor comparison shared by `run --check` and `conformance`: numpy.allclose
 * semantics (|x - ref| <= atol + rtol*|ref|), NaN matches NaN, infinities must match
 * exactly; integers and bools compare exactly. Depends only on the public API so the
 * unit tests can link it alone. */
#ifndef EMBER_CLI_COMPARE_H
#define EMBER_CLI_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember.h"

typedef struct cli_cmp {
    bool ok;
    double max_abs;   /* largest |got - ref| over comparable elements */
    double max_rel;   /* largest |got - ref| / |ref| over elements with ref != 0 */
    size_t n_bad;     /* elements out of tolerance */
    size_t numel;
    char msg[320];    /* why it failed; "" when ok */
} cli_cmp;

void cli_compare(const ember_tensor *got, const ember_tensor *ref, double rtol, double atol,
                 cli_cmp *r);

bool cli_dtype_is_float(ember_dtype dt);
bool cli_dtype_is_int(ember_dtype dt); /* integers and bool */
/* Elements implied by the shape, or SIZE_MAX on overflow/negative dims. */
size_t cli_numel(const ember_tensor *t);
/* Element i as a double (any numeric dtype, including float16/bfloat16). */
double cli_elem_f64(const ember_tensor *t, size_t i);
float cli_half_to_float(uint16_t h);
uint16_t cli_float_to_half(float f);
float cli_bf16_to_float(uint16_t h);
#endif
