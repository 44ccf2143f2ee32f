#!/bin/sh
# Attention with a mask before the Softmax, end to end (engine/passes/attention.c):
#   - tests/data/bert_mask: a 2-layer BERT-style encoder exported by torch with input_ids
#     AND attention_mask inputs (HuggingFace's (1 - mask) * finfo.min chain), batch 1
#     padded; tests/data/attention_mask_block: the attention alone on float q, k, v and a
#     [B, 1, Sq, Sk] padding + causal mask; tests/data/attention_where_block: nanoGPT's
#     masked_fill(causal == 0, -inf) (a Where) (tests/data/make_bert_mask.py makes them).
#   - `ember info --optimized` shows EmberAttention with the mask as 4th input (one per
#     layer, no Softmax left);
#   - the cpu backend, the interpreter and (the block, which lowers whole) the JIT match
#     torch's outputs, and the cpu backend matches the interpreter, all within rtol 1e-4 /
#     atol 1e-5 (what the attention unit tests use);
#   - masking means something: changing the padded tokens' ids leaves the real tokens'
#     outputs of the padded sequence unchanged (their attention weight is exactly 0).
#
# usage: tests/cli/test_attention_mask.sh EMBER_BINARY SOURCE_DIR [jit]
# ("jit" where Ember is built with LLVM: then the JIT is checked too)
set -u
ember=${1:?usage: test_attention_mask.sh EMBER_BINARY SOURCE_DIR [jit]}
src=${2:?usage: test_attention_mask.sh EMBER_BINARY SOURCE_DIR [jit]}
jit=${3:-}
. "$(dirname "$0")/lib.sh"
tol="--rtol 1e-4 --atol 1e-5"

for name in bert_mask attention_mask_block attention_where_block; do
    dir=$src/tests/data/$name
    model=$dir/model.onnx
    [ -f "$model" ] || { echo "FAIL: no $model"; exit 1; }
    expect 0 "$name: info --optimized" -- "$ember" info --optimized "$model"
    layers=$(grep -c '(EmberAttention):' "$tmp/stdout")
    masked=$(grep '(EmberAttention):' "$tmp/stdout" | awk -F'->' '{print $1}' | awk -F', ' 'NF == 4' | wc -l)
    want=$([ "$name" = bert_mask ] && echo 2 || echo 1)
    echo "$name: $layers EmberAttention nodes, $masked with 4 inputs"
    check "$name: $want EmberAttention nodes" -- [ "$layers" -eq "$want" ]
    check "$name: every EmberAttention has the mask as 4th input" -- [ "$masked" -eq "$want" ]
    check "$name: no Softmax left" -- sh -c "! grep -q '(Softmax)' '$tmp/stdout'"
    # shellcheck disable=SC2086
    {
        expect 0 "$name: cpu vs torch" -- "$ember" run "$model" --backend cpu --no-cache --check "$dir/test_data_set_0" $tol
        grep -E 'max_abs_err' "$tmp/stdout" | sed "s/^/$name cpu vs torch: /"
        expect 0 "$name: interp vs torch" -- "$ember" run "$model" --backend interp --check "$dir/test_data_set_0" $tol
        grep -E 'max_abs_err' "$tmp/stdout" | sed "s/^/$name interp vs torch: /"
        # the interpreter's outputs as the reference for the cpu backend
        mkdir -p "$tmp/$name"
        cp "$dir"/test_data_set_0/input_*.pb "$tmp/$name/"
        set --
        for f in "$dir"/test_data_set_0/input_*.pb; do set -- "$@" -i "$f"; done
        expect 0 "$name: interp outputs" -- "$ember" run "$model" --backend interp "$@" -o "$tmp/$name"
        expect 0 "$name: cpu vs interp" -- "$ember" run "$model" --backend cpu --no-cache --check "$tmp/$name" $tol
        grep -E 'max_abs_err' "$tmp/stdout" | sed "s/^/$name cpu vs interp: /"
    }
done

# The blocks lower whole: the JIT compiles them (EMBER_JIT_DEBUG says so) and matches torch.
if [ "$jit" = jit ]; then
    for name in attention_mask_block attention_where_block; do
        dir=$src/tests/data/$name
        # shellcheck disable=SC2086
        expect 0 "$name: JIT vs torch" -- env EMBER_JIT=1 EMBER_JIT_DEBUG=1 "$ember" run "$dir/model.onnx" \
            --no-cache --check "$dir/test_data_set_0" $tol
        grep -E 'max_abs_err' "$tmp/stdout" | sed "s/^/$name jit vs torch: /"
        check "$name: JIT-compiled" -- grep -q "ember: jit: lower + build module" "$tmp/stderr"
        check "$name: nothing left uncompiled" -- sh -c "! grep -q 'not compiled' '$tmp/stderr'"
    done
else
    echo "built without LLVM: no JIT check"
fi

# Padded tokens' ids do not reach the real tokens of the padded sequence.
dir=$src/tests/data/bert_mask
$py - "$dir/test_data_set_0" "$tmp" <<'PY'
import sys
import numpy as np
from onnx import numpy_helper, TensorProto
d, tmp = sys.argv[1:]
def load(p):
    t = TensorProto()
    t.ParseFromString(open(p, "rb").read())
    return numpy_helper.to_array(t)
ids, mask = load(f"{d}/input_0.pb"), load(f"{d}/input_1.pb")
np.save(f"{tmp}/ids.npy", ids)
np.save(f"{tmp}/mask.npy", mask)
other = ids.copy()
other[mask == 0] = (other[mask == 0] + 17) % 50
assert (other != ids).sum() == (mask == 0).sum() > 0
np.save(f"{tmp}/ids2.npy", other)
PY
for v in ids ids2; do
    mkdir -p "$tmp/out_$v"
    expect 0 "bert_mask: run on $v" -- "$ember" run "$dir/model.onnx" --no-cache -i "input_ids=$tmp/$v.npy" \
        -i "attention_mask=$tmp/mask.npy" -o "$tmp/out_$v" --format npy
done
check "bert_mask: real tokens' outputs do not depend on the padded ids" -- $py - "$tmp" "$tmp/mask.npy" <<'PY'
import sys
import numpy as np
tmp, maskf = sys.argv[1:]
a = np.load(f"{tmp}/out_ids/output_0.npy")
b = np.load(f"{tmp}/out_ids2/output_0.npy")
real = np.load(maskf).astype(bool)
diff = np.abs(a - b)[real].max()
print(f"bert_mask: real tokens max |difference| after changing the padded ids: {diff:.3g}")
sys.exit(0 if diff <= 1e-5 + 1e-4 * np.abs(a[real]).max() else 1)
PY
report "attention mask"
