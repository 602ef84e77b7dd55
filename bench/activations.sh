#!/usr/bin/env bash
# Activation kernels beside PyTorch and a memory copy, all on [256, 256, 256] float32 with 2 threads.
# Alternates actlab and PyTorch runs (ROUNDS, default 3) on this shared machine and prints one
# table of medians: ms, GB/s of required traffic, fraction of the copy bandwidth, speed-up over
# PyTorch (>1: actlab faster). Usage: bench/activations.sh [build-dir [activation...]]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift $(($# > 0 ? 1 : 0))
filter="copy"
for name in "$@"; do filter+="|/$name/"; done
[[ $# -gt 0 ]] || filter="."
rounds="${ROUNDS:-3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=2
for round in $(seq "$rounds"); do
  "$build/activations_bench" --benchmark_min_time=0.3 --benchmark_format=json \
    --benchmark_filter="$filter" >"$out/actlab_$round.json" 2>/dev/null
  ATEN_CPU_CAPABILITY=avx512 \
  GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295 \
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/peer/activations_peer.py "$@" >"$out/torch_$round.jsonl"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ours, theirs = {}, {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{out}/actlab_{r}.json"))["benchmarks"]:
        ours.setdefault(b["name"].removesuffix("/real_time"), []).append(b["real_time"])
    for line in open(f"{out}/torch_{r}.jsonl"):
        d = json.loads(line)
        theirs.setdefault(d["name"], []).append(d["ms"])
med = {k: statistics.median(v) for k, v in ours.items()}
tmed = {k: statistics.median(v) for k, v in theirs.items()}
mb = 256 ** 3 * 4 / 1e9  # GB per tensor
copy_gbs = 2 * mb / (med["copy"] / 1e3)
print(f"copy: actlab {med['copy']:.2f} ms ({copy_gbs:.1f} GB/s), PyTorch {tmed['copy']:.2f} ms; medians of {rounds} alternated rounds")
print(f"| activation | pass | actlab ms | GB/s | of copy | PyTorch ms | vs PyTorch |")
print(f"|---|---|---:|---:|---:|---:|---:|")
for name in [k for k in med if k != "copy"]:
    kind, act = name.split("/", 1)
    tensors = 2 if kind == "forward" else 5
    ms = med[name]
    gbs = tensors * mb / (ms / 1e3) if ms > 1e-3 else float("inf")
    t = tmed.get(name)
    ratio = f"{t / ms:.2f}x" if t and ms > 1e-3 else "-"
    print(f"| {act} | {kind.replace('_', '+')} | {ms:.2f} | {gbs:.1f} | {gbs / copy_gbs:.0%} | {t:.2f} | {ratio} |")
PY
