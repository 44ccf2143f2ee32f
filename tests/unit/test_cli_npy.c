/* The CLI's .npy reader/writer (tools/npy.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/npy.h"

/* Builds a v1 or v2 .npy image by hand, the way numpy lays it out. */
static size_t make_npy(unsigned char *out, int version, const char *dict, const void *data, size_t nbytes)
{
    size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version;
    out[7] = 0;
    out[8] = (unsigned char)(hlen & 0xff);
    out[9] = (unsigned char)(hlen >> 8);
    if (version != 1) out[10] = out[11] = 0;
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hlen - dl - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, nbytes);
    return total + nbytes;
}

Test(cli_npy, decode_v1_float32)
{
    unsigned char buf[512];
    float v[6] = {1, 2, 3, 4, 5, 6.5f};
    size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v);
    ember_tensor t;
    char err[256];
    cr_assert_eq(npy_decode(buf, n, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.dtype, EMBER_DT_FLOAT);
    cr_assert_eq(t.rank, 2);
    cr_assert_eq(t.dims[0], 2);
    cr_assert_eq(t.dims[1], 3);
    cr_assert_eq(t.nbytes, sizeof v);
    cr_assert_eq(memcmp(t.data, v, sizeof v), 0);
    free(t.data);
}

Test(cli_npy, decode_v2_int64_and_scalar)
{
    unsigned char buf[512];
    int64_t v = -42;
    size_t n = make_npy(buf, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", &v, sizeof v);
    ember_tensor t;
    char err[256];
    cr_assert_eq(npy_decode(buf, n, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.dtype, EMBER_DT_INT64);
    cr_assert_eq(t.rank, 0);
    cr_assert_eq(*(int64_t *)t.data, -42);
    free(t.data);
}

Test(cli_npy, all_dtypes_round_trip)
{
    const ember_dtype dts[] = {EMBER_DT_FLOAT, EMBER_DT_DOUBLE, EMBER_DT_INT64, EMBER_DT_INT32,
                               EMBER_DT_UINT8, EMBER_DT_INT8, EMBER_DT_BOOL, EMBER_DT_FLOAT16,
                               EMBER_DT_UINT16, EMBER_DT_INT16, EMBER_DT_UINT32, EMBER_DT_UINT64};
    const size_t sizes[] = {4, 8, 8, 4, 1, 1, 1, 2, 2, 2, 4, 8};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        unsigned char data[3 * 5 * 8];
        for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + k);
        if (dts[k] == EMBER_DT_BOOL)
            for (size_t i = 0; i < sizeof data; i++) data[i] &= 1;
        ember_tensor t = {.dtype = dts[k], .rank = 2, .dims = {3, 5}, .data = data, .nbytes = 15 * sizes[k]};
        void *buf;
        size_t size;
        char err[256];
        cr_assert_eq(npy_encode(&t, &buf, &size, err, sizeof err), 0, "%s", err);
        cr_assert_eq(size % 64, (15 * sizes[k]) % 64, "data must start 64-byte aligned");
        ember_tensor back;
        cr_assert_eq(npy_decode(buf, size, &back, err, sizeof err), 0, "%s", err);
        cr_assert_eq(back.dtype, dts[k]);
        cr_assert_eq(back.rank, 2);
        cr_assert_eq(back.dims[0], 3);
        cr_assert_eq(back.dims[1], 5);
        cr_assert_eq(back.nbytes, t.nbytes);
        cr_assert_eq(memcmp(back.data, data, t.nbytes), 0);
        free(back.data);
        free(buf);
    }
}

Test(cli_npy, rank1_header_is_python_tuple)
{
    float v[3] = {0};
    ember_tensor t = {.dtype = EMBER_DT_FLOAT, .rank = 1, .dims = {3}, .data = v, .nbytes = sizeof v};
    void *buf;
    size_t size;
    char err[256];
    cr_assert_eq(npy_encode(&t, &buf, &size, err, sizeof err), 0);
    cr_assert(memmem(buf, size, "'shape': (3,)", 13) != NULL);
    free(buf);
}

Test(cli_npy, file_round_trip)
{
    char path[] = "/tmp/ember_npy_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    double v[4] = {1.5, -2, 3e300, 0};
    ember_tensor t = {.dtype = EMBER_DT_DOUBLE, .rank = 3, .dims = {1, 2, 2}, .data = v, .nbytes = sizeof v};
    char err[256];
    cr_assert_eq(npy_write_file(path, &t, err, sizeof err), 0, "%s", err);
    ember_tensor back;
    cr_assert_eq(npy_read_file(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.rank, 3);
    cr_assert_eq(memcmp(back.data, v, sizeof v), 0);
    free(back.data);
    remove(path);
}

static void expect_error(const char *dict, size_t nbytes, const char *needle)
{
    unsigned char buf[1024], data[256] = {0};
    size_t n = make_npy(buf, 1, dict, data, nbytes);
    ember_tensor t;
    char err[256] = "";
    cr_assert_eq(npy_decode(buf, n, &t, err, sizeof err), -1, "accepted: %s", dict);
    cr_assert(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
}

Test(cli_npy, clear_errors)
{
    expect_error("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran");
    expect_error("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16, "big-endian");
    expect_error("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12, "data size");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "rank");
    expect_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "descr");
    expect_error("{'descr': '<f4', 'shape': (2,), }", 8, "fortran_order");

    ember_tensor t;
    char err[256];
    cr_assert_eq(npy_decode("\x93NUMPX\x01\x00", 8, &t, err, sizeof err), -1);
    cr_assert_eq(npy_decode("\x93NUMPY\x01\x00\xff\xff", 10, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated") != NULL, "%s", err);
    cr_assert_eq(npy_decode("\x93NUMPY\x09\x00\x00\x00", 10, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "version") != NULL, "%s", err);
}

Test(cli_npy, single_byte_types_accept_any_order_char)
{
    unsigned char buf[512], v[2] = {1, 0};
    ember_tensor t;
    char err[256];
    size_t n = make_npy(buf, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", v, 2);
    cr_assert_eq(npy_decode(buf, n, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.dtype, EMBER_DT_UINT8);
    free(t.data);
    n = make_npy(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", v, 2);
    cr_assert_eq(npy_decode(buf, n, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.dtype, EMBER_DT_BOOL);
    free(t.data);
}
