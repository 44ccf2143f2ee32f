#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[2048];

const char *ember_last_error(void) { return last_error; }

void ember_error_clear(void) { last_error[0] = '\0'; }

ember_status ember_error(ember_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

ember_status ember_error_prefix(ember_status s, const char *fmt, ...)
{
    char prefix[512], old[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* Truncation is fine: the message is for people. */
    size_t n = strlen(prefix);
    if (n > sizeof last_error - 3) n = sizeof last_error - 3;
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, ": ", 2);
    size_t room = sizeof last_error - n - 3;
    size_t m = strnlen(old, room);
    memcpy(last_error + n + 2, old, m);
    last_error[n + 2 + m] = '\0';
    return s;
}

const char *ember_status_name(ember_status s)
{
    switch (s) {
    case EMBER_OK: return "ok";
    case EMBER_E_INVALID_MODEL: return "invalid model";
    case EMBER_E_UNSUPPORTED: return "unsupported";
    case EMBER_E_INVALID_ARG: return "invalid argument";
    case EMBER_E_NO_MEMORY: return "out of memory";
    case EMBER_E_IO: return "i/o error";
    case EMBER_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}
