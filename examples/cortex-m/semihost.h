/* Arm semihosting: the debugger (here QEMU, -semihosting-config enable=on,target=native)
 * performs I/O for the program. Only what the example needs. */
#ifndef EXAMPLE_SEMIHOST_H
#define EXAMPLE_SEMIHOST_H
#include <stddef.h>

/* Prints a NUL-terminated string on the host's stdout (SYS_WRITE0). */
void semihost_puts(const char *s);
/* Writes `size` bytes to a new host file `path` (SYS_OPEN "wb", SYS_WRITE, SYS_CLOSE);
 * 0 on success. Paths are relative to the host process's working directory. */
int semihost_write_file(const char *path, const void *data, size_t size);
/* Ends the program (SYS_EXIT): status 0 reports ADP_Stopped_ApplicationExit (QEMU exits
 * 0), anything else a run-time error (QEMU exits 1). */
void semihost_exit(int status) __attribute__((noreturn));

#endif
