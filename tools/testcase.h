/* One ONNX backend test folder (model.onnx + test_data_set_*), run in-process. */
#ifndef EMBER_CLI_TESTCASE_H
#define EMBER_CLI_TESTCASE_H
#include <stddef.h>

/* Loads dir/model.onnx, runs every dir/test_data_set_* on `backend` and compares the
 * outputs with rtol/atol. Returns 0 when everything passes, else 1 with a one-line
 * reason. Meant to run in a forked child: a crash takes only that process down. */
int cli_run_testcase(const char *dir, const char *backend, double rtol, double atol,
                     char *reason, size_t n);
#endif
