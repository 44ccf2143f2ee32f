/* The list of host fast paths, built from ops/host/host.def. */
#include <cblas.h>
#include <pthread.h>

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

/* OpenBLAS (Debian's pthreads build) starts a worker per core when it is loaded, and
 * each spins on sched_yield for ~0.1 s before it sleeps (its thread timeout). Ember calls
 * it on one thread only (the run's own threads split the work), so those workers are
 * never used; but while they spin they share the cores with the run's threads and
 * oneDNN's OpenMP team: a 2-thread cifar_resnet8 started within that 0.1 s stalled
 * ~19 ms in 2 of 6 starts (create and first run), waiting on a thread queued behind a
 * spinner. So, once, before the first program is built: one thread, workers shut down
 * (blas_thread_shutdown_ is OpenBLAS's own exported call; weak, for other BLAS builds).
 * Only when the count was still OpenBLAS's default, so a program that set its own is
 * left alone. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

static void quiet_openblas(void)
{
    if (openblas_get_num_threads() == 1) return;
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

const ember_host_kernel *const *ember_host_kernels_for(int op, int *n)
{
    pthread_once(&quiet_once, quiet_openblas);
    /* The list is short; find the first run of kernels for op (host.def keeps them
     * grouped by op). */
    int i = 0, count = 0;
    while (all_kernels[i] && all_kernels[i]->op != op) i++;
    while (all_kernels[i + count] && all_kernels[i + count]->op == op) count++;
    *n = count;
    return &all_kernels[i];
}
