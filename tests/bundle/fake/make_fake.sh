#!/bin/sh
# make_fake.sh CC "CFLAGS" OUTDIR: writes a fake bundle (fake.o, fake.h, fake.weights.bin,
# fake.weights.c) plus test data (input_0.pb, output_0.pb computed by numpy) the way
# `ember compile` and ../shared/models lay them out, to test run_bundle_tests.sh itself.
set -eu
cc=$1 cflags=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cp "$here/fake.h" "$out/fake.h"
# shellcheck disable=SC2086
$cc $cflags -O2 -ffreestanding -fno-builtin -c "$here/fake.c" -I"$here" -o "$out/fake.o"
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
out = sys.argv[1]
w = np.array([2, -1, 0.5, 3, 1e-3, -4], dtype='<f4')
w.tofile(out + '/fake.weights.bin')
body = ', '.join('0x%02x' % b for b in w.tobytes())
open(out + '/fake.weights.c', 'w').write(
    '#include <stdint.h>\n#include "fake.h"\n'
    'const uint8_t fake_constant_weights[fake_CONSTANT_MEM_SIZE] '
    '__attribute__((aligned(fake_MEM_ALIGN))) = {%s};\n' % body)
x = np.linspace(-2, 3, 6, dtype='<f4').reshape(2, 3)
np.save(out + '/input_0.npy', x)
np.save(out + '/output_0.npy', (w.reshape(2, 3) * x).astype('<f4'))
PY
