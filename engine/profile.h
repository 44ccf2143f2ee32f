/* Profiles: per-kernel start/end records, written as a Chrome trace or a per-op table. */
#ifndef EMBER_PROFILE_H
#define EMBER_PROFILE_H
#include "program.h"

typedef struct ember_profile ember_profile;

ember_profile *ember_profile_new(void);
void ember_profile_free(ember_profile *p);
/* The sink a program run reports to (thread-safe). */
ember_profile_sink ember_profile_sink_of(ember_profile *p);
ember_status ember_profile_write_trace(ember_profile *p, const char *path);
ember_status ember_profile_write_table(ember_profile *p, const char *path);
#endif
