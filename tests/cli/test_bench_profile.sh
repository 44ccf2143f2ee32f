#!/bin/sh
# `ember bench`, `ember profile` and `ember info --optimized/--plan`: output formats, not
# speed (no timing assertions). bench --json must be one parseable object with its keys;
# a profile's Chrome trace must hold one "X" event per kernel per profiled run, named as
# the nodes of the optimized graph that `ember info --optimized` prints; info --optimized
# and --plan must work on every model of the zoo.
#
# usage: tests/cli/test_bench_profile.sh EMBER_BINARY MODELS_DIR
set -u
ember=${1:?usage: test_bench_profile.sh EMBER_BINARY MODELS_DIR}
models=${2:?usage: test_bench_profile.sh EMBER_BINARY MODELS_DIR}
. "$(dirname "$0")/lib.sh"

kws=$models/kws_dscnn/model.onnx
[ -f "$kws" ] || { echo "FAIL: no model zoo at $models"; exit 1; }

# ---- usage ----
for cmd in bench profile; do
    expect 0 "$cmd --help" -- "$ember" "$cmd" --help
    check "$cmd --help prints usage" -- grep -q "usage: ember $cmd" "$tmp/stdout"
    expect 2 "$cmd without arguments" -- "$ember" "$cmd"
    expect 2 "$cmd with an unknown option" -- "$ember" "$cmd" "$kws" --no-such-option
    expect 2 "$cmd --iters 0" -- "$ember" "$cmd" "$kws" --iters 0
    expect 2 "$cmd --threads junk" -- "$ember" "$cmd" "$kws" --threads x
    expect 2 "$cmd with two models" -- "$ember" "$cmd" "$kws" "$kws"
    expect 1 "$cmd on a missing file" -- "$ember" "$cmd" "$tmp/nope.onnx"
    expect 1 "$cmd on an unknown backend" -- "$ember" "$cmd" "$kws" --backend nosuch
    expect 1 "$cmd with -i naming no input" -- "$ember" "$cmd" "$kws" -i nosuch=x.npy
done
expect 0 "top-level help lists bench and profile" -- "$ember" --help
check "bench in the command list" -- grep -q '^  bench ' "$tmp/stdout"
check "profile in the command list" -- grep -q '^  profile ' "$tmp/stdout"
expect 2 "profile --json is not an option" -- "$ember" profile "$kws" --json
expect 2 "bench --trace is not an option" -- "$ember" bench "$kws" --trace x.json
expect 2 "info --json with --optimized" -- "$ember" info "$kws" --json --optimized
expect 2 "info --shape without --plan" -- "$ember" info "$kws" --shape input=1,1,49,10
expect 1 "info --shape on a missing input" -- "$ember" info "$kws" --plan --shape nosuch=1
expect 1 "info --shape against a fixed dimension" -- "$ember" info "$kws" --plan --shape input=2,1,49,10
expect 0 "info --plan --shape matching the model" -- "$ember" info "$kws" --plan --shape input=1,1,49,10

# ---- bench ----
json_keys='import json, sys
d = json.load(open(sys.argv[1]))
for k in ("median_ms", "p90_ms", "min_ms", "compile_ms", "peak_rss_mb", "iters", "threads"):
    assert isinstance(d[k], (int, float)) and not isinstance(d[k], bool), k
assert isinstance(d["backend"], str) and d["backend"], "backend"
assert d["iters"] == int(sys.argv[2]) and d["threads"] == int(sys.argv[3]), (d["iters"], d["threads"])
assert 0 <= d["min_ms"] <= d["median_ms"] <= d["p90_ms"], "min <= median <= p90"
assert d["peak_rss_mb"] > 0 and d["compile_ms"] >= 0'
for backend in cpu interp; do
    if expect 0 "bench --json ($backend)" -- "$ember" bench "$kws" --json --backend $backend --threads 1 --iters 7 --warmup 1; then
        check "bench --json ($backend) prints one object on one line" -- test "$(wc -l < "$tmp/stdout")" -eq 1
        check "bench --json ($backend) is JSON with the keys" -- "$py" -c "$json_keys" "$tmp/stdout" 7 1
        check "bench --json ($backend) names the backend" -- grep -q "\"backend\": \"$backend\"" "$tmp/stdout"
    fi
done
if expect 0 "bench text output" -- "$ember" bench "$kws" --iters 3 --warmup 0 --threads 2; then
    for what in "latency ms:" "throughput:" "compile:" "peak RSS:" "backend:     cpu"; do
        check "bench prints '$what'" -- grep -q "^$what" "$tmp/stdout"
    done
fi
if expect 0 "bench with -i" -- "$ember" bench "$kws" --iters 2 --json -i "input=$models/kws_dscnn/test_data_set_0/input_0.pb"; then
    check "bench -i gives JSON" -- "$py" -c "$json_keys" "$tmp/stdout" 2 "$(getconf _NPROCESSORS_ONLN)"
fi

# ---- profile: trace events against the optimized graph ----
trace_check='import json, re, sys
trace, info, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = []
body = False
for line in open(info):
    if line.startswith("graph after the passes"):
        body = True
    elif body:
        m = re.match(r"^(.*?) \(([A-Za-z0-9_.]+)\):", line)
        assert m, "unparsed graph line: " + line
        names.append(m.group(1))
assert names, "no nodes in info --optimized"
assert len(set(names)) == len(names), "duplicate node names"
d = json.load(open(trace))
ev = [e for e in d["traceEvents"] if e.get("ph") == "X"]
count = {}
for e in ev:
    assert e["dur"] >= 0 and "ts" in e, e
    count[e["name"]] = count.get(e["name"], 0) + 1
missing = sorted(set(names) - set(count))
extra = sorted(set(count) - set(names))
assert not missing and not extra, "missing %s, extra %s" % (missing[:5], extra[:5])
bad = {k: v for k, v in count.items() if v != iters}
assert not bad, "events per kernel != %d: %s" % (iters, list(bad.items())[:5])
assert len(ev) == iters * len(names)'
for model in kws_dscnn cifar_resnet8 bert_tiny_like lstm_kws; do
    f=$models/$model/model.onnx
    expect 0 "info --optimized $model" -- "$ember" info "$f" --optimized || continue
    cp "$tmp/stdout" "$tmp/info.txt"
    if expect 0 "profile --trace $model" -- "$ember" profile "$f" --iters 3 --warmup 1 --threads 1 --trace "$tmp/trace.json"; then
        check "profile $model: trace events match the optimized graph" -- "$py" -c "$trace_check" "$tmp/trace.json" "$tmp/info.txt" 3
        check "profile $model: table header" -- grep -q '^node  *op  *kernel  *calls  *total_ms' "$tmp/stdout"
        check "profile $model: table total" -- grep -q '^total .* ms over' "$tmp/stdout"
        first=$(sed -n 's/^\(.*\) (\([A-Za-z0-9_.]*\)):.*/\1/p' "$tmp/info.txt" | head -1 | cut -c1-40)
        check "profile $model: table rows name the nodes" -- grep -qF "$first" "$tmp/stdout"
    fi
done
expect 0 "profile without --trace" -- "$ember" profile "$kws" --iters 1
check "profile without --trace prints the table" -- grep -q '^total ' "$tmp/stdout"
expect 1 "profile on the interpreter" -- "$ember" profile "$kws" --backend interp
expect 1 "profile --trace into a missing folder" -- "$ember" profile "$kws" --iters 1 --trace "$tmp/no/such/dir/t.json"

# ---- info --optimized and --plan on the whole zoo ----
nmodels=0
for f in "$models"/*/model.onnx; do
    [ -f "$f" ] || continue
    nmodels=$((nmodels + 1))
    m=$(basename "$(dirname "$f")")
    if expect 0 "info --optimized $m" -- "$ember" info "$f" --optimized; then
        check "info --optimized $m: report" -- grep -q '^optimized in ' "$tmp/stdout"
        check "info --optimized $m: graph" -- grep -q '^graph after the passes ([0-9]* nodes):' "$tmp/stdout"
    fi
    if expect 0 "info --plan $m" -- "$ember" info "$f" --plan; then
        check "info --plan $m: arena and lower bound" -- grep -q '^memory plan: arena .* lower bound ' "$tmp/stdout"
    fi
    expect 0 "info --optimized --plan $m" -- "$ember" info "$f" --optimized --plan
    expect 0 "info $m still works (model graph untouched)" -- "$ember" info "$f"
done
check "the zoo has models" -- test "$nmodels" -ge 10

report "bench/profile/info"
