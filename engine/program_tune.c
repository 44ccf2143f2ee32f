/* Thread count by model size. On a very small model a second thread costs more than it
 * brings: every step is a fork and join of a few microseconds around a few microseconds
 * of work. Measured side by side (2-core x86-64, AVX-512), ms per run, 1 vs 2 threads:
 *   kws_dscnn         5.4 MFLOP  0.042 vs 0.049   -> one thread
 *   ad_autoencoder    0.5 MFLOP  0.0114 vs 0.0116
 *   lstm_kws          8.4 MFLOP  0.156 vs 0.146   (its recurrence splits well)
 *   vww_mobilenet025 15.2 MFLOP  0.156 vs 0.147
 *   cifar_resnet8    25.1 MFLOP  0.17 vs 0.126
 * Later, with their one-thread kernels faster (the fused LSTM's gates, depthwise and
 * narrow 1x1 convs: ops/host/dwconv.c, conv1x1.c), 3 alternations of --threads 2 built
 * for 2 threads vs for 1: lstm_kws 0.116 / 0.110 / 0.111 vs 0.104 / 0.105 / 0.104,
 * vww_mobilenet025 0.152 / 0.147 / 0.142 vs 0.152 / 0.127 / 0.129; cifar_resnet8 still
 * gains from the second thread (1 thread 0.102, 2 threads 0.083). So the line moved from
 * 6 to 20 MFLOP: a model under SMALL_MODEL_FLOPS asked for several threads is built for one. A rule
 * and not a measurement at compile time: timings taken while another process loads a
 * core pick wrong, and different picks on different starts would give results differing
 * in the last bits (other kernels) for the same model and options.
 * EMBER_SMALL_MODEL_THREADS=0 keeps the asked count. */
#include <stdlib.h>
#include <string.h>

#include "program.h"

#define SMALL_MODEL_FLOPS 20e6

int ember_program_small(const ember_graph *g, int threads, const ember_program_options *opt)
{
    const char *env = getenv("EMBER_SMALL_MODEL_THREADS");
    if ((env && strcmp(env, "0") == 0) || threads <= 1 || (opt && opt->reference_only)) return 0;
    double f = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        double nf = ember_node_flops(g, &g->nodes[i]);
        if (nf > 0) f += nf;
    }
    return f < SMALL_MODEL_FLOPS;
}
