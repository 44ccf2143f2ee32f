#!/usr/bin/env bash
# Cross-target bundle tests: every edge model of ../shared/models compiled with
# `ember compile` for every target, built into the examples/ programs, run (natively, under
# qemu-user, or on QEMU's MPS2 boards) and compared with the PyTorch reference outputs.
#
#   run_bundle_tests.sh EMBER SOURCE_DIR MODELS_DIR [--only REGEX] [--keep]
#   run_bundle_tests.sh --fake SOURCE_DIR      # the harness itself on a hand-written bundle
#
# Per model x target:
#   compile   ember compile --target T [--mcpu C] --weights-c --report
#   symbols   nm -u NAME.o: only mem*, compiler-runtime helpers, single-precision libm
#   arena     activations <= 1.1 x the arena lower bound (--report), edge models
#   header    header_check.c (includes only NAME.h) + NAME.weights.c + NAME.o compile and
#             link with -std=c11 -Wall -Wextra -Werror (gcc; clang-19 too on x86-64)
#   run       examples/linux (x86-64 native, AArch64 / RISC-V 64 qemu-user) or
#             examples/cortex-m (qemu-system-arm -M mps2-an500 / mps2-an386)
#   compare   each output vs test_data_set_0/output_N.pb, rtol 1e-3 / atol 1e-4 (compare.py)
# riscv32-unknown-elf (rv32imf, ilp32f) is link and size checks only (picolibc).
# A missing tool is a failure with a message, never a skip.
set -u

fake=0
if [ "${1:-}" = "--fake" ]; then
    fake=1 src=$2 ember="" models=""
    shift 2
else
    [ $# -ge 3 ] || { echo "usage: $0 EMBER SOURCE_DIR MODELS_DIR [--only REGEX] [--keep]" >&2; exit 2; }
    ember=$1 src=$2 models=$3
    shift 3
fi
only="" keep=0
while [ $# -gt 0 ]; do
    case $1 in
        --only) only=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

here=$src/tests/bundle
py=/usr/bin/python3
rtol=1e-3 atol=1e-4
arena_max_ratio=1.1
tmp=$(mktemp -d)
if [ "$keep" -eq 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT INT TERM; fi

n=0 fails=0 case_id=setup
failed=()
pass() { n=$((n + 1)); echo "  ok    $*"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); failed+=("$case_id: $1"); echo "  FAIL  $*"; }

edge_models="kws_dscnn cifar_resnet8 vww_mobilenet025 ad_autoencoder lstm_kws"
targets="x86_64 aarch64 riscv64 cortex-m7 cortex-m4 riscv32"
# (model target) pairs beyond edge x targets.
extra_cases="mobilenet_v2:x86_64 mobilenet_v2:aarch64"

# ---- tools: all needed, a missing one fails the run up front ----
need_tools="gcc clang-19 aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc arm-none-eabi-gcc
            riscv64-unknown-elf-gcc nm aarch64-linux-gnu-nm riscv64-linux-gnu-nm arm-none-eabi-nm
            riscv64-unknown-elf-nm riscv64-unknown-elf-size arm-none-eabi-size
            qemu-aarch64-static qemu-riscv64-static qemu-system-arm make timeout"
missing=""
for t in $need_tools; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
[ -x "$py" ] && "$py" -c 'import numpy' 2>/dev/null || missing="$missing $py+numpy"
[ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || missing="$missing picolibc-riscv64-unknown-elf"
if [ -n "$missing" ]; then
    echo "FAIL: missing tools:$missing (scripts/install-deps.sh installs them)"
    exit 1
fi
if [ "$fake" -eq 0 ] && [ ! -x "$ember" ]; then echo "FAIL: no ember at '$ember'"; exit 1; fi

# ---- per-target settings ----
# triple, mcpu: for ember compile; cc + arch: the C compiler for programs; nm; kind:
# linux (run with $runner, empty = natively), cortex-m (QEMU board), link (no run).
target_config() {
    mcpu="" arch="" runner="" board=""
    case $1 in
        x86_64) triple=x86_64-linux-gnu cc=gcc nm=nm kind=linux ;;
        aarch64) triple=aarch64-linux-gnu cc=aarch64-linux-gnu-gcc nm=aarch64-linux-gnu-nm kind=linux
            runner=qemu-aarch64-static ;;
        riscv64) triple=riscv64-linux-gnu cc=riscv64-linux-gnu-gcc nm=riscv64-linux-gnu-nm kind=linux
            runner=qemu-riscv64-static ;;
        cortex-m7) triple=thumbv7em-none-eabihf mcpu=cortex-m7 cc=arm-none-eabi-gcc nm=arm-none-eabi-nm
            kind=cortex-m arch="-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard" ;;
        cortex-m4) triple=thumbv7em-none-eabihf mcpu=cortex-m4 cc=arm-none-eabi-gcc nm=arm-none-eabi-nm
            kind=cortex-m arch="-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard" ;;
        riscv32) triple=riscv32-unknown-elf cc=riscv64-unknown-elf-gcc nm=riscv64-unknown-elf-nm kind=link
            arch="-march=rv32imf -mabi=ilp32f" ;;
        *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

# ---- checks ----

# Undefined symbols a bundle may have: mem* functions, compiler-runtime helpers (libgcc's
# soft-float / integer / conversion routines, Arm's __aeabi_*), single-precision libm.
libm_f="(exp|exp2|expm1|log|log2|log10|log1p|pow|sqrt|cbrt|hypot|sin|cos|tan|asin|acos|atan|atan2"
libm_f="$libm_f|sinh|cosh|tanh|asinh|acosh|atanh|erf|erfc|tgamma|lgamma|fabs|floor|ceil|trunc|round"
libm_f="$libm_f|lround|llround|rint|lrint|llrint|nearbyint|fmod|remainder|fmin|fmax|fma|copysign"
libm_f="$libm_f|ldexp|frexp|modf|scalbn|ilogb|logb|nextafter|fdim)f"
rt_helpers="__aeabi_[a-z0-9_]+|__(add|sub|mul|div|neg|pow[i]?|cmp|unord|eq|ne|lt|le|gt|ge)[sdtxh]f[0-9]"
rt_helpers="$rt_helpers|__(extend|trunc)[sdtxh]f[sdtxh]f2|__fix(uns)?[sdtxh]f[sdt]i|__float(un)?[sdt]i[sdtxh]f"
rt_helpers="$rt_helpers|__u?(div|mod|divmod)[sdt]i[34]|__(ashl|ashr|lshr|mul)[sdt]i3|__mulo[sdt]i4"
rt_helpers="$rt_helpers|__(clz|ctz|popcount|parity|ffs|bswap)[sdt]i2|__gnu_[hf]2[hf]_ieee"
rt_helpers="$rt_helpers|__riscv_(save|restore)_[0-9]+"
allowed_re="^(mem(cpy|set|move|cmp)|$rt_helpers|$libm_f)\$"

check_symbols() { # dir name
    local undef bad
    undef=$("$nm" -u "$1/$2.o" | awk '{print $NF}' | sort -u)
    bad=$(printf '%s\n' "$undef" | grep -v '^$' | grep -Ev "$allowed_re")
    if [ -n "$bad" ]; then
        fail "nm -u: not allowed: $(echo $bad)"
    else
        pass "nm -u: $(echo $undef)"
    fi
}

# Reads a column of `ember compile --report` by its header name.
report_col() { # report-file column
    awk -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i }
                   NR == 2 && k { print $k }' "$1"
}

check_arena() { # report-file
    local act lb
    act=$(report_col "$1" activations) lb=$(report_col "$1" lower_bound)
    if [ -z "$act" ] || [ -z "$lb" ]; then
        fail "arena: no activations / lower_bound columns in --report: $(tr '\n' '|' < "$1")"
    elif awk -v a="$act" -v b="$lb" -v m="$arena_max_ratio" 'BEGIN { exit !(a <= m * b) }'; then
        pass "arena: activations $act B, lower bound $lb B (<= ${arena_max_ratio}x)"
    else
        fail "arena: activations $act B > ${arena_max_ratio} x lower bound $lb B"
    fi
}

# header_check.c + NAME.weights.c + NAME.o, -Werror, linked for the target.
check_header() { # dir name
    local d=$1 name=$2 flags="-std=c11 -Wall -Wextra -Werror -O1" ok=1 out=$1/header_check.elf
    local srcs="$here/header_check.c $d/$name.weights.c $d/$name.o"
    local defs="-DBUNDLE_NAME=$name -DBUNDLE_HEADER=\"$name.h\" -I$d"
    local log=$d/header_check.log
    case $kind in
        linux) "$cc" $flags $defs $srcs -static -lm -o "$out" > "$log" 2>&1 || ok=0
            if [ "$target" = x86_64 ] && [ $ok -eq 1 ]; then
                clang-19 $flags $defs $srcs -lm -o "$d/header_check_clang" >> "$log" 2>&1 || ok=0
            fi ;;
        cortex-m) "$cc" $arch $flags $defs $srcs --specs=nano.specs --specs=nosys.specs -lm \
                -o "$out" > "$log" 2>&1 || ok=0 ;;
        link) # riscv32: a nominal MCU with 4 MiB of flash and 4 MiB of RAM.
            "$cc" $arch $flags $defs $srcs --specs=picolibc.specs -lm \
                -Wl,--defsym=__flash=0x20000000 -Wl,--defsym=__flash_size=0x400000 \
                -Wl,--defsym=__ram=0x80000000 -Wl,--defsym=__ram_size=0x400000 \
                -o "$out" > "$log" 2>&1 || ok=0 ;;
    esac
    # clang too, for the target (compile only: no target C library needed when freestanding).
    if [ $ok -eq 1 ] && [ "$target" != x86_64 ]; then
        clang-19 --target="$triple" ${mcpu:+-mcpu=$mcpu} -ffreestanding -fsyntax-only $flags $defs \
            "$here/header_check.c" >> "$log" 2>&1 || ok=0
    fi
    if [ $ok -eq 1 ]; then
        pass "header: includes only $name.h, -Wall -Wextra -Werror (gcc links it, clang-19 compiles it)"
    else
        fail "header: -Werror program against $name.h: $(head -c 600 "$log")"
    fi
    return $((1 - ok))
}

# riscv32: the linked image holds the code and the constants; the two regions are bss.
check_size() { # dir name
    local d=$1 name=$2 text data bss consts mut act
    read -r text data bss < <(riscv64-unknown-elf-size "$d/header_check.elf" | awk 'NR == 2 { print $1, $2, $3 }')
    consts=$(sed -n "s/^#define ${name}_CONSTANT_MEM_SIZE \([0-9]*\).*/\1/p" "$d/$name.h")
    mut=$(sed -n "s/^#define ${name}_MUTABLE_MEM_SIZE \([0-9]*\).*/\1/p" "$d/$name.h")
    act=$(sed -n "s/^#define ${name}_ACTIVATIONS_MEM_SIZE \([0-9]*\).*/\1/p" "$d/$name.h")
    if [ -z "$text" ] || [ -z "$consts" ] || [ -z "$mut" ] || [ -z "$act" ]; then
        fail "size: cannot read sizes (size: '$text $data $bss', header: '$consts $mut $act')"
    elif [ $((text + data)) -ge "$consts" ] && [ "$bss" -ge $((mut + act)) ]; then
        pass "size (rv32imf image): text $text + data $data B (constants $consts B), bss $bss B (mutable $mut + activations $act B)"
    else
        fail "size: image text+data $((text + data)) B < constants $consts B, or bss $bss B < $((mut + act)) B"
    fi
}

# Reference data as the programs need it: inputs raw, expected outputs raw and .npy.
prepare_data() { # dataset-dir out-dir
    local f base
    mkdir -p "$2"
    for f in "$1"/input_*.pb "$1"/output_*.pb "$1"/input_*.npy "$1"/output_*.npy; do
        [ -f "$f" ] || continue
        base=$(basename "${f%.*}")
        if [ "$fake" -eq 1 ]; then
            "$py" -c 'import sys, numpy as np; a = np.load(sys.argv[1]); a.astype(a.dtype.newbyteorder("<")).tofile(sys.argv[2]); np.save(sys.argv[3], a)' \
                "$f" "$2/$base.raw" "$2/$base.npy" || return 1
        else
            "$ember" convert "$f" "$2/$base.raw" || return 1
            "$ember" convert "$f" "$2/$base.npy" || return 1
        fi
    done
    ls "$2"/input_0.raw "$2"/output_0.raw > /dev/null || return 1
}

compare_outputs() { # data-dir out-dir
    local ref k res ok=1
    for ref in "$1"/output_*.npy; do
        k=$(basename "$ref" .npy)
        if [ ! -f "$2/$k.raw" ]; then
            fail "compare $k: the program wrote no $k.raw"
            ok=0
        elif res=$("$py" "$here/compare.py" "$ref" "$2/$k.raw" --rtol $rtol --atol $atol 2>&1); then
            pass "compare $k: $res"
        else
            fail "compare $k: $res"
            ok=0
        fi
    done
    [ $ok -eq 1 ]
}

run_linux() { # dir name data-dir
    local d=$1 name=$2 data=$3 ins=() f
    if ! make -s -C "$src/examples/linux" BUNDLE_DIR="$d" NAME="$name" CC="$cc" OUT="$d/run_$name" \
            > "$d/build.log" 2>&1; then
        fail "build examples/linux: $(head -c 600 "$d/build.log")"
        return
    fi
    for f in "$data"/input_*.raw; do ins+=("$f"); done
    mkdir -p "$d/out"
    if timeout 300 $runner "$d/run_$name" "$d/$name.weights.bin" "${ins[@]}" -o "$d/out" > "$d/run.log" 2>&1; then
        pass "run ${runner:-natively}: $(grep -m1 '^ran in' "$d/run.log")"
        compare_outputs "$data" "$d/out"
    else
        fail "run ${runner:-natively} (exit $?): $(tail -c 600 "$d/run.log")"
    fi
}

run_cortex_m() { # dir name data-dir
    local d=$1 name=$2 data=$3 ins="" exp="" f
    for f in "$data"/input_*.raw; do ins="$ins $f"; done
    for f in "$data"/output_*.raw; do exp="$exp $f"; done
    mkdir -p "$d/dump"
    local mk=(make -s -f "$src/examples/cortex-m/Makefile" BUNDLE_DIR="$d" NAME="$name" CPU="$target"
              INPUTS="${ins# }" EXPECTED="${exp# }" BUILD="$d/build" DUMP_DIR=dump)
    if ! (cd "$d" && "${mk[@]}" all) > "$d/build.log" 2>&1; then
        fail "build examples/cortex-m: $(head -c 600 "$d/build.log")"
        return
    fi
    local board=mps2-an500
    [ "$target" = cortex-m4 ] && board=mps2-an386
    # The program checks its outputs itself (exit status via semihosting) and writes them
    # to dump/ for the same host-side comparison as the other targets.
    if (cd "$d" && timeout 300 qemu-system-arm -M $board -nographic -monitor none \
            -semihosting-config enable=on,target=native -kernel build/example.elf) > "$d/run.log" 2>&1; then
        pass "run qemu-system-arm -M $board: $(grep -v '^PASS' "$d/run.log" | tr '\n' ' ' | head -c 300)"
    else
        fail "run qemu-system-arm -M $board (exit $?): $(tail -c 600 "$d/run.log")"
    fi
    compare_outputs "$data" "$d/dump"
}

compile_bundle() { # model dir name
    local args=(--target "$triple" --name "$3" -o "$2" --weights-c --report)
    [ -n "$mcpu" ] && args+=(--mcpu "$mcpu")
    if [ "$fake" -eq 1 ]; then
        "$here/fake/make_fake.sh" "$cc" "$arch" "$2" > "$2/compile.log" 2>&1 || return 1
        printf '%s\n' "bundle target text constant mutable activations lower_bound ratio" \
            "fake $triple 0 24 88 24 24 1.000" > "$2/report.txt"
        return 0
    fi
    "$ember" compile "$1/model.onnx" "${args[@]}" > "$2/report.txt" 2> "$2/compile.log"
}

# ---- the cases ----
cases=""
if [ "$fake" -eq 1 ]; then
    for t in $targets; do cases="$cases fake:$t"; done
else
    for m in $edge_models; do for t in $targets; do cases="$cases $m:$t"; done; done
    cases="$cases $extra_cases"
fi

m7_rows="" # Cortex-M7 --report rows, for the size table
for c in $cases; do
    model=${c%%:*} target=${c#*:} case_id="$model/$target"
    [ -n "$only" ] && ! [[ $case_id =~ $only ]] && continue
    target_config "$target"
    echo "== $case_id ($triple${mcpu:+ --mcpu $mcpu})"
    d=$tmp/$model-$target
    mkdir -p "$d"
    name=$model
    if ! compile_bundle "$models/$model" "$d" "$name"; then
        fail "ember compile: $(tail -c 800 "$d/compile.log")"
        continue
    fi
    if [ "$fake" -eq 1 ]; then data_src=$d; else data_src=$models/$model/test_data_set_0; fi
    pass "compile: $(tail -n 1 "$d/report.txt" | tr -s ' ')"
    if [ "$target" = cortex-m7 ]; then
        row=$model
        for col in text constant mutable activations ratio; do row="$row $(report_col "$d/report.txt" $col)"; done
        m7_rows="$m7_rows$row"$'\n'
    fi
    check_symbols "$d" "$name"
    [[ " $edge_models fake " == *" $model "* ]] && check_arena "$d/report.txt"
    header_ok=0
    check_header "$d" "$name" && header_ok=1
    [ "$kind" = link ] && { [ $header_ok -eq 1 ] && check_size "$d" "$name"; continue; }
    if ! prepare_data "$data_src" "$d/data" > "$d/data.log" 2>&1; then
        fail "reference data from $data_src: $(tail -c 400 "$d/data.log")"
        continue
    fi
    case $kind in
        linux) run_linux "$d" "$name" "$d/data" ;;
        cortex-m) run_cortex_m "$d" "$name" "$d/data" ;;
    esac
done

if [ -n "$m7_rows" ]; then
    echo
    echo "Cortex-M7 sizes (ember compile --report; flash = text + constant, RAM = mutable + activations):"
    echo "| model | text | constant | flash | mutable | activations | RAM | arena / lower bound |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    # rows: model text constant mutable activations ratio
    printf '%s' "$m7_rows" | awk '{ printf "| %s | %d | %d | %d | %d | %d | %d | %s |\n",
                                   $1, $2, $3, $2 + $3, $4, $5, $4 + $5, $6 }'
fi

echo
echo "$((n - fails)) of $n bundle checks passed"
for f in "${failed[@]}"; do echo "  failed: $f"; done
[ "$fails" -eq 0 ]
