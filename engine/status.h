/* Internal error handling: a status plus a thread-local message. */
#ifndef EMBER_STATUS_H
#define EMBER_STATUS_H
#include "ember.h"

#if defined(__GNUC__)
#define EMBER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EMBER_PRINTF(a, b)
#endif

/* Sets the thread's last error to the formatted message and returns `s`. */
ember_status ember_error(ember_status s, const char *fmt, ...) EMBER_PRINTF(2, 3);
/* Prefixes the current message with "context: " (keeps the status). */
ember_status ember_error_prefix(ember_status s, const char *fmt, ...) EMBER_PRINTF(2, 3);
void ember_error_clear(void);

#define TRY(expr)                              \
    do {                                       \
        ember_status try_s_ = (expr);          \
        if (try_s_ != EMBER_OK) return try_s_; \
    } while (0)

#endif
