#!/bin/sh
# End-to-end checks of the `ember` command line: exit codes (0 ok, 1 error with an
# "ember: error:" message, 2 usage), --help everywhere, bad inputs, the .npy round trip
# and the conformance runner on a small folder.
#
# usage: tests/cli/test_cli.sh EMBER_BINARY [MODELS_DIR] [ONNX_NODE_TESTS_DIR]
set -u
ember=${1:?usage: test_cli.sh EMBER_BINARY [MODELS_DIR] [NODE_TESTS_DIR]}
models=${2:-$(dirname "$0")/../../../shared/models}
node=${3:-/usr/share/libonnx-testdata/data/node}
. "$(dirname "$0")/lib.sh"

# ---- usage and help ----
expect 2 "no arguments" -- "$ember"
expect 0 "top-level help" -- "$ember" --help
check "top-level help lists the commands" -- grep -q conformance "$tmp/stdout"
expect 2 "unknown command" -- "$ember" frobnicate
expect 0 "version" -- "$ember" --version
for cmd in info run conformance convert; do
    expect 0 "$cmd --help" -- "$ember" "$cmd" --help
    check "$cmd --help prints usage" -- grep -q "usage: ember $cmd" "$tmp/stdout"
    expect 2 "$cmd without arguments" -- "$ember" "$cmd"
    expect 2 "$cmd with an unknown option" -- "$ember" "$cmd" x --no-such-option
done
expect 2 "run: --rtol junk" -- "$ember" run m.onnx --rtol abc
expect 2 "run: --int-range without comma" -- "$ember" run m.onnx --int-range 5
expect 2 "run: --int-range empty" -- "$ember" run m.onnx --int-range 9,3
expect 2 "run: -i without value" -- "$ember" run m.onnx -i
expect 2 "run: two models" -- "$ember" run a.onnx b.onnx
expect 2 "conformance: --jobs 0" -- "$ember" conformance "$tmp" --jobs 0
expect 2 "conformance: --timeout junk" -- "$ember" conformance "$tmp" --timeout x
expect 2 "info: --json=1" -- "$ember" info m.onnx --json=1

# ---- user errors ----
expect 1 "info: missing model file" -- "$ember" info "$tmp/nope.onnx"
expect 1 "run: missing model file" -- "$ember" run "$tmp/nope.onnx"
expect 1 "info: a directory as model" -- "$ember" info "$tmp"
expect 1 "conformance: missing folder" -- "$ember" conformance "$tmp/nope"
expect 1 "conformance: folder without tests" -- "$ember" conformance "$tmp"
expect 1 "convert: missing input" -- "$ember" convert "$tmp/nope.npy" "$tmp/x.pb"
# random bytes must be refused with a message, not a crash
if [ -x "$py" ]; then
    "$py" -c "import random,sys; random.seed(7); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))" > "$tmp/random.onnx"
else
    head -c 4096 /dev/urandom > "$tmp/random.onnx"
fi
expect 1 "info: random bytes model" -- "$ember" info "$tmp/random.onnx"
expect 1 "run: random bytes model" -- "$ember" run "$tmp/random.onnx"
: > "$tmp/empty.onnx"
expect 1 "run: empty model" -- "$ember" run "$tmp/empty.onnx"

kws="$models/kws_dscnn"
if [ -f "$kws/model.onnx" ]; then
    m="$kws/model.onnx"
    expect 0 "info kws_dscnn" -- "$ember" info "$m"
    check "info shows the op histogram" -- grep -q "Conv: " "$tmp/stdout"
    check "info shows parameters" -- grep -q "parameters:" "$tmp/stdout"
    expect 0 "info --json" -- "$ember" info "$m" --json
    if [ -x "$py" ]; then
        check "info --json is JSON with inputs, ops, flops" -- "$py" -c "
import json,sys; d=json.load(open('$tmp/stdout'))
assert d['inputs'][0]['shape']==[1,1,49,10], d['inputs']
assert d['ops']['Conv']>0 and d['flops']>0 and d['parameters']>0" 
    fi
    expect 0 "run with random inputs" -- "$ember" run "$m" --seed 3
    cp "$tmp/stdout" "$tmp/seed3a"
    expect 0 "run again, same seed" -- "$ember" run "$m" --seed 3
    check "random inputs are deterministic" -- cmp -s "$tmp/stdout" "$tmp/seed3a"
    expect 0 "run --check against the reference" -- "$ember" run "$m" --check "$kws/test_data_set_0"
    check "run --check prints PASS" -- grep -q PASS "$tmp/stdout"
    expect 1 "run --check with a zero tolerance fails" -- "$ember" run "$m" --check "$kws/test_data_set_0" --rtol 0 --atol 0
    expect 1 "run: -i for an input that does not exist" -- "$ember" run "$m" -i nosuch="$kws/test_data_set_0/input_0.pb"
    expect 1 "run: -i file missing" -- "$ember" run "$m" -i input="$tmp/nope.npy"
    expect 1 "run: -i not a tensor" -- "$ember" run "$m" -i input="$tmp/random.onnx"
    expect 0 "run -o writes output_0.pb" -- "$ember" run "$m" -i "$kws/test_data_set_0/input_0.pb" -o "$tmp/out"
    check "output_0.pb exists" -- test -s "$tmp/out/output_0.pb"
    mkdir -p "$tmp/set"
    cp "$kws/test_data_set_0/input_0.pb" "$tmp/set/input_0.pb"
    cp "$tmp/out/output_0.pb" "$tmp/set/output_0.pb"
    expect 0 "run --check against our own -o output" -- "$ember" run "$m" --check "$tmp/set" --rtol 0 --atol 0

    if [ -x "$py" ] && "$py" -c "import numpy" 2>/dev/null; then
        # .npy in: the reference input as numpy would write it
        expect 0 "convert .pb -> .npy" -- "$ember" convert "$kws/test_data_set_0/input_0.pb" "$tmp/in.npy"
        check "numpy reads our .npy" -- "$py" -c "
import numpy as np; a=np.load('$tmp/in.npy'); assert a.dtype==np.float32 and a.shape==(1,1,49,10), (a.dtype,a.shape)
np.save('$tmp/in_np.npy', a)"
        expect 0 "run -i NAME=numpy.npy -o --format npy" -- "$ember" run "$m" -i input="$tmp/in_np.npy" -o "$tmp/npyout" --format npy
        expect 0 "convert reference output to .npy" -- "$ember" convert "$kws/test_data_set_0/output_0.pb" "$tmp/ref.npy"
        check "numpy output matches the reference" -- "$py" -c "
import numpy as np; a=np.load('$tmp/npyout/output_0.npy'); b=np.load('$tmp/ref.npy')
assert a.shape==b.shape and np.allclose(a,b,rtol=1e-3,atol=1e-4)"
        "$py" -c "import numpy as np; np.save('$tmp/wrong.npy', np.zeros((1,1,10,49), np.float32))"
        expect 1 "run: wrong input shape via -i" -- "$ember" run "$m" -i input="$tmp/wrong.npy"
        check "wrong shape message names the shapes" -- grep -q "shape" "$tmp/stderr"
        "$py" -c "import numpy as np; np.save('$tmp/wrongt.npy', np.zeros((1,1,49,10), np.float64))"
        expect 1 "run: wrong input dtype via -i" -- "$ember" run "$m" -i input="$tmp/wrongt.npy"
        "$py" -c "import numpy as np; np.save('$tmp/fortran.npy', np.asfortranarray(np.zeros((1,1,49,10), np.float32)[0,0].T))"
        expect 1 "run: Fortran-order .npy refused" -- "$ember" run "$m" -i input="$tmp/fortran.npy"
        check "Fortran message" -- grep -q "Fortran" "$tmp/stderr"
    fi
fi

# ---- symbolic dimensions: a hand-encoded one-node model, Relu over [batch,4] ----
if [ -x "$py" ] && "$py" -c "import numpy" 2>/dev/null; then
    "$py" - "$tmp/sym.onnx" <<'PY'
import sys
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
def fld(num, wt, payload):
    key = varint(num << 3 | wt)
    if wt == 0:
        return key + varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return key + varint(len(payload)) + payload
def dim(v):
    return fld(1, 2, fld(2, 2, v) if isinstance(v, str) else fld(1, 0, v))
def vi(name, dims):  # ValueInfoProto with a float tensor type
    shape = b''.join(dim(d) for d in dims)
    return fld(1, 2, name) + fld(2, 2, fld(1, 2, fld(1, 0, 1) + fld(2, 2, shape)))
node = fld(1, 2, 'x') + fld(2, 2, 'y') + fld(3, 2, 'relu') + fld(4, 2, 'Relu')
graph = fld(1, 2, node) + fld(2, 2, 'g') + fld(11, 2, vi('x', ['batch', 4])) + fld(12, 2, vi('y', ['batch', 4]))
model = (fld(1, 0, 8) + fld(2, 2, 'cli-test') + fld(7, 2, graph) + fld(8, 2, fld(1, 2, '') + fld(2, 0, 13))
         + fld(14, 2, fld(1, 2, 'purpose') + fld(2, 2, 'symbolic dims')))
open(sys.argv[1], 'wb').write(model)
PY
    expect 0 "info: symbolic model" -- "$ember" info "$tmp/sym.onnx"
    check "info shows the symbolic dimension" -- grep -q '\[batch,4\]' "$tmp/stdout"
    check "info shows metadata_props" -- grep -q 'purpose: symbolic dims' "$tmp/stdout"
    check "info says FLOPs were skipped for unknown shapes" -- grep -q 'skipped' "$tmp/stdout"
    expect 1 "run: symbolic input without -i" -- "$ember" run "$tmp/sym.onnx"
    check "the message asks for -i" -- grep -q -- "-i x=FILE" "$tmp/stderr"
    "$py" -c "import numpy as np; np.save('$tmp/x.npy', np.arange(-4, 8, dtype=np.float32).reshape(3, 4))"
    expect 0 "run: symbolic input given as .npy" -- "$ember" run "$tmp/sym.onnx" -i x="$tmp/x.npy" -o "$tmp/symout" --format npy
    check "relu of the given input" -- "$py" -c "
import numpy as np; y=np.load('$tmp/symout/output_0.npy')
assert y.shape==(3,4) and (y==np.maximum(np.arange(-4,8,dtype=np.float32).reshape(3,4),0)).all()"
    expect 1 "run: rank mismatch on a symbolic input" -- "$ember" run "$tmp/sym.onnx" -i x="$tmp/in.npy"
fi

# ---- .npy <-> .pb round trip for every supported dtype ----
if [ -x "$py" ] && "$py" -c "import numpy" 2>/dev/null; then
    "$py" - "$tmp" <<'PY'
import numpy as np, sys
d = sys.argv[1]
rng = np.random.default_rng(0)
for t in ['<f4', '<f8', '<i8', '<i4', '|u1', '|i1', '|b1', '<f2', '<u2', '<i2', '<u4', '<u8']:
    dt = np.dtype(t)
    if dt.kind == 'f':
        a = rng.standard_normal((2, 3, 4)).astype(dt)
    elif dt.kind == 'b':
        a = rng.integers(0, 2, (2, 3, 4)).astype(dt)
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, (2, 3, 4), dtype=dt, endpoint=True)
    np.save('%s/rt_%s.npy' % (d, dt.name), a)
np.save('%s/rt_scalar.npy' % d, np.array(3.5, np.float32))
np.save('%s/rt_empty.npy' % d, np.zeros((0, 5), np.int64))
np.save('%s/rt_v2.npy' % d, np.arange(6, dtype=np.float32).reshape(2, 3))
PY
    for f in "$tmp"/rt_*.npy; do
        b=${f%.npy}
        expect 0 "convert $(basename "$f") -> .pb" -- "$ember" convert "$f" "$b.pb" --name t
        expect 0 "convert $(basename "$b").pb -> .npy" -- "$ember" convert "$b.pb" "$b.back.npy"
    done
    check ".npy round trip through .pb keeps dtype, shape and values" -- "$py" - "$tmp" <<'PY'
import numpy as np, sys, glob
ok = True
for f in glob.glob(sys.argv[1] + '/rt_*.npy'):
    if f.endswith('.back.npy'):
        continue
    a, b = np.load(f), np.load(f[:-4] + '.back.npy')
    if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
        print('mismatch', f, a.dtype, b.dtype, a.shape, b.shape)
        ok = False
sys.exit(0 if ok else 1)
PY
fi

# ---- conformance runner: a passing test, a broken model, and --expect ----
if [ -d "$node/test_abs" ] && [ -d "$node/test_relu" ]; then
    mkdir -p "$tmp/conf"
    cp -r "$node/test_abs" "$node/test_relu" "$tmp/conf/"
    mkdir -p "$tmp/conf/test_broken/test_data_set_0"
    cp "$tmp/random.onnx" "$tmp/conf/test_broken/model.onnx"
    expect 1 "conformance with a broken test fails" -- "$ember" conformance "$tmp/conf" --jobs 3
    check "one line per test, in order, then the summary" -- sh -c "
        sed -n 1p '$tmp/stdout' | grep -q '^PASS test_abs\$' &&
        sed -n 2p '$tmp/stdout' | grep -q '^FAIL test_broken: ' &&
        sed -n 3p '$tmp/stdout' | grep -q '^PASS test_relu\$' &&
        sed -n 4p '$tmp/stdout' | grep -q '^2 passed, 1 failed\$' && test \$(wc -l < '$tmp/stdout') -eq 4"
    printf '# comment\ntest_abs\n  test_relu  # trailing comment\n' > "$tmp/expect"
    expect 0 "conformance --expect: the listed tests pass" -- "$ember" conformance "$tmp/conf" --expect "$tmp/expect"
    echo test_broken >> "$tmp/expect"
    expect 1 "conformance --expect: a listed test fails" -- "$ember" conformance "$tmp/conf" --expect "$tmp/expect"
    check "the failing expected test is named" -- grep -q test_broken "$tmp/stderr"
    expect 0 "conformance --filter" -- "$ember" conformance "$tmp/conf" --filter 'test_a*'
    check "--filter runs only matching tests" -- grep -q '^1 passed, 0 failed$' "$tmp/stdout"
    # a test whose input is a FIFO nobody writes hangs in open(): the parent must kill it
    if mkfifo "$tmp/fifo" 2>/dev/null; then
        mkdir -p "$tmp/hang/test_hang/test_data_set_0"
        cp "$node/test_abs/model.onnx" "$tmp/hang/test_hang/"
        mv "$tmp/fifo" "$tmp/hang/test_hang/test_data_set_0/input_0.pb"
        cp -r "$node/test_abs" "$tmp/hang/"
        expect 1 "conformance: a hanging test times out" -- "$ember" conformance "$tmp/hang" --timeout 1
        check "the hang is reported as a timeout and the other test still runs" -- sh -c "
            grep -q '^PASS test_abs\$' '$tmp/stdout' && grep -q '^CRASH test_hang: timeout\$' '$tmp/stdout' &&
            grep -q '^1 passed, 1 failed\$' '$tmp/stdout'"
    fi
    expect 1 "conformance --expect with a missing file" -- "$ember" conformance "$tmp/conf" --expect "$tmp/nope"
fi

report "CLI"
