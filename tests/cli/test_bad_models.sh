#!/usr/bin/env bash
# Every hostile model in tests/bad_models must make `ember info` and `ember run` exit 1
# with a message on stderr: never a crash (exit > 128), a hang or a silent success.
set -u
ember=$1
dir=$2
fail=0 n=0
for f in "$dir"/*.onnx; do
    for cmd in info run; do
        n=$((n + 1))
        err=$(timeout 60 "$ember" "$cmd" "$f" 2>&1 >/dev/null)
        rc=$?
        if [ "$rc" -ne 1 ] || ! printf '%s' "$err" | grep -q 'ember: error: ' ||
           printf '%s' "$err" | grep -q 'Sanitizer'; then
            echo "FAIL $cmd $(basename "$f"): exit $rc: $err"
            fail=$((fail + 1))
        fi
    done
done
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
