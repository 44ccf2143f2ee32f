#!/usr/bin/env bash
# Sets up and runs every test: unit tests, ONNX conformance, the model zoo, CLI and
# bad-input checks (ctest), then the unit tests again under ASan/UBSan and a short
# libFuzzer smoke run of the importer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2)

# Sanitizers: the whole unit suite and the bad-input CLI tests, ASan + UBSan.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEMBER_SANITIZE=ON -DCMAKE_C_COMPILER=clang-19 >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/../tests/lsan.supp \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2 -L sanitize)

# Fuzz smoke: the importer under libFuzzer for a short, fixed number of runs.
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DEMBER_FUZZ=ON -DEMBER_TESTS=OFF -DCMAKE_C_COMPILER=clang-19 >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_onnx
mkdir -p build-fuzz/corpus
build-fuzz/fuzz_onnx -max_total_time=60 -max_len=65536 -seed=1 build-fuzz/corpus tests/fuzz/corpus
echo "fuzz smoke: ok"
