#!/bin/sh
# `ember compile`: usage and errors, then for every edge model and mobilenet_v2 an
# x86-64 bundle linked into tests/cli/compile_main.c (which includes only the bundle's
# header, compiled with -Wall -Wextra -Werror), fed test_data_set_0's inputs, its outputs
# compared with the reference outputs (rtol 1e-3, atol 1e-4) and with `ember run --backend
# cpu` (rtol 1e-4, atol 1e-5); --report's activations within 1.1x of the lower bound.
# Bundles for the other targets are run by tests/bundle/ (cross toolchains and emulators).
#
# usage: tests/cli/test_compile.sh EMBER_BINARY MODELS_DIR
set -u
ember=${1:?usage: test_compile.sh EMBER_BINARY MODELS_DIR}
models=${2:?usage: test_compile.sh EMBER_BINARY MODELS_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cc=${CC:-cc}

# ---- usage and errors ----
expect 0 "compile --help" -- "$ember" compile --help
check "compile --help prints usage" -- grep -q "usage: ember compile" "$tmp/stdout"
expect 2 "compile without arguments" -- "$ember" compile
expect 2 "compile without --target" -- "$ember" compile "$models/kws_dscnn/model.onnx"
expect 2 "compile with an unknown option" -- "$ember" compile m.onnx --target x86_64-linux-gnu --bogus
expect 2 "compile --name without value" -- "$ember" compile m.onnx --target x86_64-linux-gnu --name
expect 1 "compile: unknown target" -- "$ember" compile "$models/kws_dscnn/model.onnx" --target sparc-sun-solaris -o "$tmp/x"
check "unknown target is named" -- grep -q "sparc-sun-solaris" "$tmp/stderr"
expect 1 "compile: name not an identifier" -- "$ember" compile "$models/kws_dscnn/model.onnx" --target x86_64-linux-gnu --name 9lives -o "$tmp/x"
expect 1 "compile: missing model" -- "$ember" compile "$tmp/none.onnx" --target x86_64-linux-gnu -o "$tmp/x"
: > "$tmp/file"
expect 1 "compile: output under a file" -- "$ember" compile "$models/kws_dscnn/model.onnx" --target x86_64-linux-gnu -o "$tmp/file/sub"

# close REF GOT RTOL ATOL LABEL: float tensors (.npy or raw float32) within atol + rtol*|ref|.
close() {
    $py - "$@" <<'PY'
import sys, numpy as np
def load(p):
    return np.load(p).astype(np.float32).ravel() if p.endswith(".npy") else np.fromfile(p, dtype=np.float32)
ref, got = load(sys.argv[1]), load(sys.argv[2])
rtol, atol = float(sys.argv[3]), float(sys.argv[4])
if ref.shape != got.shape:
    print(f"{sys.argv[5]}: {got.size} values, reference has {ref.size}"); sys.exit(1)
err = np.abs(got - ref); bad = err > atol + rtol * np.abs(ref)
print(f"{sys.argv[5]}: max abs err {err.max():.3g} ({int(bad.sum())} of {ref.size} outside rtol {rtol} atol {atol})")
sys.exit(1 if bad.any() else 0)
PY
}

for m in kws_dscnn cifar_resnet8 vww_mobilenet025 ad_autoencoder lstm_kws mobilenet_v2; do
    data="$models/$m/test_data_set_0"
    out="$tmp/$m"
    expect 0 "$m: compile for x86-64" -- "$ember" compile "$models/$m/model.onnx" --target x86_64-linux-gnu --name "$m" -o "$out" --report || continue
    cp "$tmp/stdout" "$tmp/$m.report"
    if [ "$m" != mobilenet_v2 ]; then
        check "$m: activations within 1.1x of the lower bound" -- awk 'NR == 2 { exit !($8 <= 1.1) }' "$tmp/$m.report"
    fi
    check "$m: x86-64 object needs no double libm, malloc, stdio or pthread" -- \
        sh -c "! nm -u '$out/$m.o' | grep -qwE 'exp|log|tanh|sqrt|pow|erf|malloc|free|printf|fopen|pthread_create'"
    expect 0 "$m: a program with only $m.h links $m.o" -- $cc -std=c11 -O1 -Wall -Wextra -Werror -DBUNDLE="$m" \
        -DBUNDLE_H="\"$out/$m.h\"" "$here/compile_main.c" "$out/$m.o" -lm -o "$out/run" || continue
    ins="" outs="" k=0
    while [ -f "$data/input_$k.pb" ]; do
        "$ember" convert "$data/input_$k.pb" "$out/in_$k.raw" > /dev/null
        ins="$ins $out/in_$k.raw"
        k=$((k + 1))
    done
    k=0
    while [ -f "$data/output_$k.pb" ]; do
        outs="$outs $out/out_$k.raw"
        k=$((k + 1))
    done
    # shellcheck disable=SC2086
    expect 0 "$m: run the bundle" -- "$out/run" "$out/$m.weights.bin" $ins $outs || continue
    # The cpu backend on the same inputs.
    inargs="" k=0
    while [ -f "$data/input_$k.pb" ]; do inargs="$inargs -i $data/input_$k.pb"; k=$((k + 1)); done
    # shellcheck disable=SC2086
    expect 0 "$m: ember run --backend cpu" -- "$ember" run "$models/$m/model.onnx" --backend cpu $inargs -o "$out/cpu"
    k=0
    while [ -f "$data/output_$k.pb" ]; do
        "$ember" convert "$data/output_$k.pb" "$out/ref_$k.npy" > /dev/null
        expect 0 "$m output $k vs the reference (rtol 1e-3, atol 1e-4)" -- close "$out/ref_$k.npy" "$out/out_$k.raw" 1e-3 1e-4 "$m/$k vs reference"
        sed 's/^/    /' "$tmp/stdout"
        cpu=$(ls "$out/cpu/"*output_$k* 2> /dev/null | head -1)
        if [ -n "$cpu" ]; then
            "$ember" convert "$cpu" "$out/cpu_$k.npy" > /dev/null
            expect 0 "$m output $k vs ember run --backend cpu (rtol 1e-4, atol 1e-5)" -- close "$out/cpu_$k.npy" "$out/out_$k.raw" 1e-4 1e-5 "$m/$k vs cpu"
            sed 's/^/    /' "$tmp/stdout"
        else
            check "$m: cpu backend wrote output $k" -- false
        fi
        k=$((k + 1))
    done
done

# Every kernel a lowering hook calls (ops/lower/*.c names them) reaches only
# single-precision math in each bundle target's bitcode: no exp/log/sqrt/pow... on doubles.
float_math_check='
import re, sys, glob
src = open(sys.argv[1]).read()
roots = set()
for f in glob.glob(sys.argv[2] + "/ops/lower/*.c"):
    roots |= set(re.findall(r"\"(k_[a-z0-9_]+)\"", open(f).read()))
double = re.compile(r"@(llvm\.(exp|exp2|log|log2|log10|pow|sqrt|sin|cos|tan|tanh|fma|powi)\.f64|exp|expm1|exp2|log|log1p|log2|log10|pow|sqrt|cbrt|tanh|sinh|cosh|asinh|acosh|atanh|erf|erfc|sin|cos|tan|asin|acos|atan|atan2|fmod|hypot)\(")
calls, uses = {}, {}
for b in src.split("\ndefine ")[1:]:
    name = re.match(r"[^@]*@([\w.]+)\(", b).group(1)
    body = b.split("\n}\n")[0]
    uses[name] = set(m[0] for m in double.findall(body))
    calls[name] = set(re.findall(r"call [^@]*@([\w.]+)\(", body))
bad = []
for r in sorted(roots):
    if r not in calls:
        bad.append(r + ": not in the bitcode"); continue
    seen, todo, found = set(), [r], set()
    while todo:
        f = todo.pop()
        if f in seen or f not in calls: continue
        seen.add(f); found |= uses[f]; todo += list(calls[f])
    if found: bad.append(r + ": " + " ".join(sorted(found)))
print("%d lowered kernels checked" % len(roots))
for x in bad: print("double-precision math in " + x)
sys.exit(1 if bad else 0)'
for bc in "$(dirname "$ember")"/bitcode/bundle_*.bc; do
    [ -f "$bc" ] || { check "bundle bitcode exists next to $ember" -- false; break; }
    llvm-dis-19 "$bc" -o "$tmp/k.ll"
    expect 0 "$(basename "$bc" .bc): lowered kernels use float libm only" -- $py -c "$float_math_check" "$tmp/k.ll" "$here/../.."
done

# Compiling twice gives identical files (--weights-c included).
for d in a b; do
    expect 0 "kws_dscnn for cortex-m7 ($d)" -- "$ember" compile "$models/kws_dscnn/model.onnx" --target thumbv7em-none-eabihf \
        --mcpu cortex-m7 --name kws --weights-c -o "$tmp/det_$d"
done
for f in kws.o kws.h kws.weights.bin kws.weights.c; do
    check "cortex-m7 $f identical on a second compile" -- cmp -s "$tmp/det_a/$f" "$tmp/det_b/$f"
done
report "compile"
