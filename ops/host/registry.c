/* The list of host fast paths, built from ops/host/host.def. */
#include "../host.h"

#define EMBER_HOST_KERNEL(sym) extern const ember_host_kernel sym;
#include "host.def"
#undef EMBER_HOST_KERNEL

static const ember_host_kernel *const all_kernels[] = {
#define EMBER_HOST_KERNEL(sym) &sym,
#include "host.def"
#undef EMBER_HOST_KERNEL
    NULL,
};

const ember_host_kernel *const *ember_host_kernels_for(int op, int *n)
{
    /* The list is short; find the first run of kernels for op (host.def keeps them
     * grouped by op). */
    int i = 0, count = 0;
    while (all_kernels[i] && all_kernels[i]->op != op) i++;
    while (all_kernels[i + count] && all_kernels[i + count]->op == op) count++;
    *n = count;
    return &all_kernels[i];
}
