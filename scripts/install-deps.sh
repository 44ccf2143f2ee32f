#!/usr/bin/env bash
# Installs the Debian 12 packages Ember needs. Idempotent: apt-get skips what is present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
pkgs=(
  build-essential cmake pkg-config git
  libprotobuf-c-dev protobuf-c-compiler
  libcriterion-dev
  libonnx-testdata
  clang-19 llvm-19-dev lld-19 libclang-rt-19-dev
  libopenblas-dev libdnnl-dev
  python3 python3-numpy
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-none-eabi libnewlib-arm-none-eabi
  gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
  qemu-user-static qemu-system-arm
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
