#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (AddressSanitizer + UBSan) into build-fuzz/
# and runs each for a bounded time (FUZZ_SECONDS, default 60). Exits non-zero on the first crash,
# leak or sanitizer report; libFuzzer then leaves the input as crash-* in build-fuzz/.
# Needs clang 16 or later (clang 14 rejects lambdas capturing structured bindings, which the core
# uses): apt-get install clang-16 libclang-rt-16-dev libomp-16-dev
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
build="${ACTLAB_FUZZ_BUILD_DIR:-build-fuzz}"

CC=clang-16 CXX=clang++-16 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DACTLAB_BUILD_FUZZERS=ON -DACTLAB_SANITIZE=ON -DACTLAB_NATIVE=OFF \
  -DACTLAB_BUILD_TESTS=OFF -DACTLAB_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target idx_fuzz cifar_fuzz safetensors_fuzz

# Seeds: a valid gzip IDX file, a raw one, one CIFAR-10 record and a small safetensors file.
mkdir -p "$build/corpus/idx" "$build/corpus/cifar" "$build/corpus/safetensors"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
  >"$build/corpus/idx/images.idx"
gzip -c "$build/corpus/idx/images.idx" >"$build/corpus/idx/images.idx.gz"
# A crash found before (an extent that wrapped past 2^64); tests/robustness keeps it too.
printf '\x00\x00\x08\x04\x00\x00\x00\x00\x00\x40\x00\x00\x00\x02\x00\x00\x02\x00\x00\x00' \
  >"$build/corpus/idx/extent-overflow.idx"
{ printf '\x00\x07'; head -c 3072 /dev/zero; } >"$build/corpus/cifar/record.bin"

header='{"__metadata__":{"step":"1"},"b":{"dtype":"U8","shape":[2],"data_offsets":[16,18]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}     '
{ printf "\\x$(printf %02x "${#header}")\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$header"; head -c 18 /dev/zero; } \
  >"$build/corpus/safetensors/model.safetensors"

for target in idx_fuzz cifar_fuzz safetensors_fuzz; do
  echo "fuzz: running $target for ${seconds}s"
  (cd "$build" && "./$target" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "corpus/${target%_fuzz}") >"$build/$target.log" 2>&1 ||
    { tail -n 40 "$build/$target.log"; echo "fuzz: $target failed (input saved as $build/crash-*)" >&2; exit 1; }
  tail -n 4 "$build/$target.log"
done
echo "fuzz: no crash"
