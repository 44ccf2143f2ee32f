/* Arm semihosting calls for M-profile cores: BKPT 0xAB with the operation in r0 and its
 * argument (a value or a pointer to a parameter block) in r1; the result comes back in r0. */
#include "semihost.h"

#include <stdint.h>
#include <string.h>

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_EXIT = 0x18,
    ADP_STOPPED_RUNTIME_ERROR = 0x20023,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
    OPEN_MODE_WB = 5, /* fopen mode "wb" in the semihosting mode table */
};

static intptr_t semihost_call(int op, const void *arg)
{
    register intptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    /* "memory": the host reads and writes our parameter blocks and buffers. */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_puts(const char *s)
{
    semihost_call(SYS_WRITE0, s);
}

int semihost_write_file(const char *path, const void *data, size_t size)
{
    uintptr_t open_args[3] = {(uintptr_t)path, OPEN_MODE_WB, strlen(path)};
    intptr_t fd = semihost_call(SYS_OPEN, open_args);
    if (fd == -1) return -1;
    uintptr_t write_args[3] = {(uintptr_t)fd, (uintptr_t)data, size};
    intptr_t not_written = semihost_call(SYS_WRITE, write_args);
    uintptr_t close_args[1] = {(uintptr_t)fd};
    intptr_t closed = semihost_call(SYS_CLOSE, close_args);
    return not_written == 0 && closed == 0 ? 0 : -1;
}

void semihost_exit(int status)
{
    /* On 32-bit Arm, SYS_EXIT takes the reason code itself in r1, not a block. */
    uintptr_t reason = status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR;
    semihost_call(SYS_EXIT, (const void *)reason);
    for (;;) {
    }
}

/* Every exception the example does not expect ends the run with a message instead of
 * hanging the simulator. */
void fault_handler(void)
{
    semihost_puts("fault: unexpected exception (HardFault, bus or usage fault)\n");
    semihost_exit(1);
}
