#!/bin/sh
# Adds the ONNX backend tests that pass now to tests/conformance/<suite>.expect.
# Names are only ever added: a test that stops passing is a regression for ctest to
# report, not something to drop from the list silently.
#
# usage: tests/conformance/update_expected.sh [EMBER_BINARY] [TESTDATA_DIR] [SUITE...]
#   EMBER_BINARY  default: build/ember
#   TESTDATA_DIR  default: /usr/share/libonnx-testdata/data
#   SUITE         default: node pytorch-converted pytorch-operator simple
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ember=${1:-build/ember}
data=${2:-/usr/share/libonnx-testdata/data}
[ $# -ge 2 ] && shift 2 || shift $#
suites=${*:-node pytorch-converted pytorch-operator simple}
jobs=${JOBS:-2}

[ -x "$ember" ] || { echo "update_expected.sh: no ember binary at '$ember'" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for suite in $suites; do
    [ -d "$data/$suite" ] || { echo "skipping $suite: no $data/$suite" >&2; continue; }
    expect="$here/$suite.expect"
    [ -f "$expect" ] || printf '# ONNX backend tests (%s) that must pass on the interp backend.\n' "$suite" > "$expect"
    # the run fails whenever any test fails; that is expected here
    "$ember" conformance "$data/$suite" --backend interp --jobs "$jobs" > "$tmp/out" 2>/dev/null || true
    sed -n 's/^PASS //p' "$tmp/out" > "$tmp/pass"
    grep -v '^[[:space:]]*#' "$expect" | sed 's/[[:space:]]*#.*//; s/[[:space:]]*$//' | grep -v '^$' > "$tmp/old" || true
    LC_ALL=C sort -u "$tmp/old" -o "$tmp/old"
    LC_ALL=C sort -u "$tmp/old" "$tmp/pass" > "$tmp/new"
    added=$(comm -13 "$tmp/old" "$tmp/new" | wc -l)
    grep '^[[:space:]]*#' "$expect" > "$tmp/header" || true
    cat "$tmp/header" "$tmp/new" > "$expect"
    echo "$suite: $(wc -l < "$tmp/pass") pass now, $added added, $(wc -l < "$tmp/new") expected ($(tail -n 1 "$tmp/out"))"
done
