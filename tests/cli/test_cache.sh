#!/bin/sh
# The compile cache through the CLI: bench --json reports "cache": "miss" then "hit" (and
# "off" with --no-cache), run --check passes from a cached program, a damaged entry is
# rebuilt (miss, same outputs, then a hit), the folder follows EMBER_CACHE_DIR /
# XDG_CACHE_HOME / HOME and is created 0700, and --no-cache writes nothing.
#
# usage: tests/cli/test_cache.sh EMBER_BINARY MODELS_DIR
set -u
ember=${1:?usage: test_cache.sh EMBER_BINARY MODELS_DIR}
models=${2:?usage: test_cache.sh EMBER_BINARY MODELS_DIR}
. "$(dirname "$0")/lib.sh"

kws=$models/kws_dscnn/model.onnx
ref=$models/kws_dscnn/test_data_set_0
[ -f "$kws" ] || { echo "FAIL: no model zoo at $models"; exit 1; }
unset XDG_CACHE_HOME
export EMBER_CACHE_DIR="$tmp/cache"

cache_of() { # the "cache" value of bench --json in $tmp/stdout
    $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["cache"])' "$tmp/stdout"
}
bench() { expect 0 "bench $*" -- "$ember" bench "$kws" --iters 1 --warmup 0 --json "$@"; }

bench --no-cache
check "--no-cache reports off" -- [ "$(cache_of)" = off ]
check "--no-cache creates no folder" -- [ ! -e "$EMBER_CACHE_DIR" ]
bench
check "first start is a miss" -- [ "$(cache_of)" = miss ]
check "the folder is 0700" -- [ "$(stat -c %a "$EMBER_CACHE_DIR")" = 700 ]
check "one entry" -- [ "$(ls "$EMBER_CACHE_DIR" | wc -l)" -eq 1 ]
bench
check "second start is a hit" -- [ "$(cache_of)" = hit ]
expect 0 "run --check from the cache" -- "$ember" run "$kws" --check "$ref"
expect 0 "run --no-cache --check" -- "$ember" run "$kws" --no-cache --check "$ref"
expect 0 "profile --no-cache" -- "$ember" profile "$kws" --no-cache --iters 1 --warmup 0

# A damaged entry: detected, rebuilt, never used.
entry=$(ls "$EMBER_CACHE_DIR"/*.emc)
$py -c '
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x55; open(p, "wb").write(b)' "$entry"
bench
check "a damaged entry is a miss" -- [ "$(cache_of)" = miss ]
bench
check "and is rebuilt" -- [ "$(cache_of)" = hit ]
head -c 100 "$entry" > "$tmp/short" && cp "$tmp/short" "$entry"
expect 0 "run --check with a truncated entry" -- "$ember" run "$kws" --check "$ref"
bench
check "the truncated entry was rebuilt" -- [ "$(cache_of)" = hit ]

# The folder: XDG_CACHE_HOME, then HOME.
unset EMBER_CACHE_DIR
XDG_CACHE_HOME="$tmp/xdg" "$ember" bench "$kws" --iters 1 --warmup 0 --json > "$tmp/stdout" 2>&1
check "XDG_CACHE_HOME/ember" -- [ "$(ls "$tmp/xdg/ember" | wc -l)" -eq 1 ]
HOME="$tmp/home" "$ember" bench "$kws" --iters 1 --warmup 0 --json > "$tmp/stdout" 2>&1
check "HOME/.cache/ember" -- [ "$(ls "$tmp/home/.cache/ember" | wc -l)" -eq 1 ]
check "HOME/.cache is 0700" -- [ "$(stat -c %a "$tmp/home/.cache")" = 700 ]

report "compile cache"
