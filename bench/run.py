#!/usr/bin/python3
"""Runs actlab's benchmark families and their PyTorch peers side by side and prints one table.

Every workload runs in its own process, so each process's peak resident memory is the
workload's. A round runs, for each workload, actlab, then PyTorch at its best, then PyTorch out
of the box; round 0 is a warm-up and is discarded, the table shows medians of the timed rounds.
The ratio is PyTorch's time over actlab's (above 1: actlab is faster), taken per round, and its
median is shown with its range over the rounds, which says how noisy the machine was.

Both sides run at one instruction-set level, the best this CPU has unless --isa asks for a
lower one: actlab through ACTLAB_ISA, PyTorch at its best through ATEN_CPU_CAPABILITY (avx512 only
with AVX-512 F/BW/VL/DQ, else avx2 with AVX2 and FMA, else default); below the best, OpenBLAS
(both sides) and oneDNN (PyTorch's convolutions) are held at that level too (see ISA_LEVELS).
PyTorch out of the box chooses its own.

The machine limits (limit/... in core_bench) run in every round, and right after each workload
that names one; the workload's throughput is shown as a fraction of that limit (median over
rounds of the back-to-back ratio).

A family is a Google Benchmark executable (bench/<family>_bench.cpp) and a peer script
(bench/peer/<family>_peer.py) that share workload names; add it to FAMILIES below.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"  # Debian's python3-torch lives there

# family -> (benchmark executable in the build dir, peer script in bench/peer/ or None, the
# workloads it runs when --filter is not given)
FAMILIES = {
    "core": ("core_bench", "core_peer.py", ""),
    "nn": ("nn_bench", "nn_peer.py", ""),
    # The seven activations of the deep-MLP workload; --filter . runs all of them.
    "activations": ("activations_bench", "activations_peer.py", "/(sigmoid|tanh|relu|leaky_relu|elu|gelu|silu)$"),
    "mnist": ("mnist_bench", "mnist_peer.py", ""),
    "recurrent": ("recurrent_bench", "recurrent_peer.py", ""),
    "data": ("data_bench", None, ""),
}
LIMITS_FAMILY = "core"

PYTORCH_BEST_ENV = {
    "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295",
}
# Instruction-set levels, best first: the CPU flags each needs, and the environment that runs
# each side at that level. Below the CPU's best, the libraries both sides call are held there
# too: OpenBLAS (actlab's and PyTorch's GEMM) through OPENBLAS_CORETYPE, and oneDNN (PyTorch's
# convolutions, which ignore ATEN_CPU_CAPABILITY) through ONEDNN_MAX_CPU_ISA.
ISA_LEVELS = [
    ("avx512", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}, {"ACTLAB_ISA": "avx512"},
     {"ATEN_CPU_CAPABILITY": "avx512"}),
    ("avx2", {"avx2", "fma"}, {"ACTLAB_ISA": "avx2", "OPENBLAS_CORETYPE": "Haswell"},
     {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}),
    ("default", set(), {"ACTLAB_ISA": "baseline", "OPENBLAS_CORETYPE": "Prescott"},
     {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "OPENBLAS_CORETYPE": "Prescott"}),
]
# Removed from the environment of every run, so only the configuration chosen here applies.
TUNING_VARIABLES = set(PYTORCH_BEST_ENV) | {"ATEN_CPU_CAPABILITY", "ACTLAB_ISA", "OPENBLAS_CORETYPE",
                                            "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS"}

# Counters a benchmark reports its throughput with: (JSON key, unit, scale). The table shows the
# first one a benchmark reports; its limit fraction uses the one in the limit's unit (a training
# step reports samples/s and may also report FLOP/s to be judged against sgemm).
RATES = [("items_per_second", "samples/s", 1.0), ("flops", "GFLOP/s", 1e-9), ("bytes_per_second", "GB/s", 1e-9)]
SECONDS_PER_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def cpu_levels():
    """The levels of ISA_LEVELS this CPU supports, best first (from /proc/cpuinfo's flags)."""
    flags = set()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                break
    return [name for name, needs, _, _ in ISA_LEVELS if needs <= flags]


def isa_env(level, build_dir):
    """The environment that runs both sides at `level`: (actlab's, PyTorch's). Where the level
    leaves OpenBLAS's kernels to itself, PyTorch gets the kernels actlab runs: OpenBLAS falls back
    to its SSE3 kernels on CPUs newer than itself, and actlab corrects that for itself only."""
    _, _, actlab, pytorch = next(entry for entry in ISA_LEVELS if entry[0] == level)
    if "OPENBLAS_CORETYPE" not in pytorch and (build_dir / "actlab").exists():
        info = subprocess.run([build_dir / "actlab", "info"], env=clean_env(actlab), capture_output=True, text=True)
        found = re.search(r"^blas: .* (\w+) MAX_THREADS=", info.stdout, re.MULTILINE)
        if found:
            pytorch = {**pytorch, "OPENBLAS_CORETYPE": found.group(1)}
    return actlab, pytorch


def env_str(env):
    return " ".join(f"{name}={value}" for name, value in env.items())


def run_process(command, env):
    """Runs a command; returns (stdout, peak resident memory in MiB). Raises on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{shlex.join(command)} failed ({process.returncode}):\n{err.read().decode()}")
        return out.read().decode(), usage.ru_maxrss / 1024


def posix_escape(text):
    """Escapes the characters special to Google Benchmark's (POSIX extended) filter regex."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in TUNING_VARIABLES}
    env.update(extra or {})
    return env


class Family:
    def __init__(self, name, build_dir, environments):
        self.actlab_env, self.pytorch_env = environments
        executable, peer, self.default_filter = FAMILIES[name]
        self.executable = build_dir / executable
        self.peer = ROOT / "bench" / "peer" / peer if peer else None
        if not self.executable.exists():
            sys.exit(f"{self.executable} is missing: build first (scripts/bench.sh does)")

    def workloads(self):
        listing = subprocess.run([self.executable, "--benchmark_list_tests"], capture_output=True, text=True,
                                 check=True).stdout
        return [line.removesuffix("/real_time") for line in listing.split()]

    def peer_workloads(self):
        if self.peer is None:
            return set()
        listing = subprocess.run([PYTHON, self.peer, "--list"], capture_output=True, text=True, check=True)
        return set(listing.stdout.split())

    def run_actlab(self, workload, threads, min_time):
        command = [str(self.executable), f"--benchmark_filter=^{posix_escape(workload)}(/real_time)?$",
                   "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
        # actlab uses every core by default: set the thread count only when asked for another.
        env = {} if threads == len(os.sched_getaffinity(0)) else {"OMP_NUM_THREADS": str(threads)}
        stdout, rss = run_process(command, clean_env({**env, **self.actlab_env}))
        (result,) = json.loads(stdout)["benchmarks"]
        if result.get("error_occurred"):
            return {"skipped": result.get("error_message", "skipped")}
        seconds = result["real_time"] * SECONDS_PER_UNIT[result["time_unit"]]
        rates = {unit: result[key] * scale for key, unit, scale in RATES if key in result}
        rate = next(((value, unit) for unit, value in rates.items()), None)
        limit = result.get("label", "").removeprefix("limit=") or None
        return {"seconds": seconds, "rate": rate, "rates": rates, "limit": limit, "rss": rss}

    def run_peer(self, workload, threads, min_time, best):
        command = [PYTHON, str(self.peer), "--workload", workload, "--min-time", str(min_time),
                   "--threads", str(threads if best else 0)]
        stdout, rss = run_process(command, clean_env({**PYTORCH_BEST_ENV, **self.pytorch_env} if best else None))
        return {"seconds": json.loads(stdout)["seconds"], "rss": rss}


def measure(families, pattern, threads, rounds, min_time, warm_up=True):
    """Returns {workload: {"actlab", "best", "default", "limit": [runs]}}.

    A workload that names a limit is followed by a run of that limit, so the two are measured
    back to back, like actlab and its peer; every limit also runs once per round on its own.
    """
    limits_family = families[0]
    plan = []
    for family in families:
        peers = family.peer_workloads()
        for workload in family.workloads():
            is_limit = workload.startswith("limit/")
            if is_limit and family is not limits_family:
                continue
            if is_limit or re.search(family.default_filter if pattern is None else pattern, workload):
                plan.append((family, workload, workload in peers))
    results = {w: {"actlab": [], "best": [], "default": [], "limit": []} for _, w, _ in plan}
    for round_index in range(0 if warm_up else 1, rounds + 1):
        label = "warm-up" if round_index == 0 else f"round {round_index}/{rounds}"
        print(f"[{threads} thread(s)] {label}", file=sys.stderr, flush=True)
        # The warm-up round only has to load files and caches: it runs shorter batches.
        batch_time = min_time if round_index > 0 else min_time / 10
        for family, workload, has_peer in list(plan):
            runs = {"actlab": family.run_actlab(workload, threads, batch_time)}
            if "skipped" in runs["actlab"]:
                print(f"skipping {workload}: {runs['actlab']['skipped']}", file=sys.stderr, flush=True)
                plan.remove((family, workload, has_peer))
                del results[workload]
                continue
            limit = runs["actlab"]["limit"]
            if limit in results:
                runs["limit"] = limits_family.run_actlab(limit, threads, batch_time)
            if has_peer:
                runs["best"] = family.run_peer(workload, threads, batch_time, best=True)
                runs["default"] = family.run_peer(workload, threads, batch_time, best=False)
            if round_index > 0:
                for key, run in runs.items():
                    results[workload][key].append(run)
                if "limit" in runs:
                    results[limit]["actlab"].append(runs["limit"])
    return results


def format_throughput(run_seconds, rate):
    """Median throughput in the workload's unit, or time per iteration when it has no rate."""
    if rate is None:
        seconds = statistics.median(run_seconds)
        if seconds >= 1:
            return f"{seconds:.2f} s"
        return f"{seconds * 1e6:.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
    value, unit = rate
    return f"{value:.3g} {unit}" if value < 1e3 else f"{value:,.0f} {unit}"


def median_rate(runs):
    """Median rate of actlab runs as (value, unit), or None."""
    if runs[0]["rate"] is None:
        return None
    return statistics.median(r["rate"][0] for r in runs), runs[0]["rate"][1]


def peer_rate(actlab_runs, peer_runs):
    """The peer's rate: same work per iteration as actlab, over the peer's time."""
    rate = median_rate(actlab_runs)
    if rate is None:
        return None
    work = statistics.median(r["rate"][0] * r["seconds"] for r in actlab_runs)
    return work / statistics.median(r["seconds"] for r in peer_runs), rate[1]


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def median_rss(runs):
    return f"{statistics.median(r['rss'] for r in runs):.0f} MiB"


def limits_table(results):
    rows = []
    for workload, runs in results.items():
        if workload.startswith("limit/"):
            actlab = runs["actlab"]
            rate = median_rate(actlab)
            values = [r["rate"][0] if rate else r["seconds"] for r in actlab]
            middle = statistics.median(values)
            rows.append([workload, format_throughput([r["seconds"] for r in actlab], rate),
                         f"{min(values) / middle:.2f}-{max(values) / middle:.2f}", median_rss(actlab)])
    return markdown(["machine limit", "median", "runs / median", "peak RSS"], rows)


def workloads_table(results):
    header = ["workload", "actlab", "PyTorch best", "ratio (median, range)", "PyTorch default",
              "peak RSS actlab", "peak RSS PyTorch", "fraction of limit"]
    rows = []
    for workload, runs in results.items():
        if workload.startswith("limit/"):
            continue
        actlab, best, default = runs["actlab"], runs["best"], runs["default"]
        rate = median_rate(actlab)
        row = [workload, format_throughput([r["seconds"] for r in actlab], rate)]
        if best:
            ratios = [b["seconds"] / a["seconds"] for a, b in zip(actlab, best)]
            row += [format_throughput([r["seconds"] for r in best], peer_rate(actlab, best)),
                    f"**{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f})",
                    format_throughput([r["seconds"] for r in default], peer_rate(actlab, default)),
                    median_rss(actlab), median_rss(best)]
        else:
            row += ["-", "-", "-", median_rss(actlab), "-"]
        if rate and runs["limit"]:
            unit = runs["limit"][0]["rate"][1]
            fraction = statistics.median(a["rates"][unit] / b["rate"][0] for a, b in zip(actlab, runs["limit"]))
            row.append(f"{fraction:.2f} of {actlab[0]['limit']}")
        else:
            row.append("-")
        rows.append(row)
    return markdown(header, rows)


def scaling_table(results_by_threads):
    """Speed-up of each workload from the fewest threads to each other count, both sides."""
    counts = sorted(results_by_threads)
    base = results_by_threads[counts[0]]
    header = ["workload"] + [f"{side} {n}/{counts[0]} threads" for n in counts[1:] for side in ("actlab", "PyTorch best")]
    rows = []
    for workload, runs in base.items():
        if workload.startswith("limit/"):
            continue
        row = [workload]
        for n in counts[1:]:
            other = results_by_threads[n].get(workload)
            for side in ("actlab", "best"):
                if other and runs[side] and other[side]:
                    speedup = (statistics.median(r["seconds"] for r in runs[side])
                               / statistics.median(r["seconds"] for r in other[side]))
                    row.append(f"{speedup:.2f}x")
                else:
                    row.append("-")
        rows.append(row)
    return markdown(header, rows)


def cpu_model():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    model = fields.get("Model name", "unknown CPU").strip()
    return f"{model}, {fields.get('CPU(s)', '?').strip()} CPUs, L3 {fields.get('L3 cache', '?').strip()}"


def save(report, path):
    """Replaces the block between the results markers of `path` with `report`."""
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = path.read_text()
    if begin not in text or end not in text:
        sys.exit(f"{path} has no {begin} ... {end} block to replace")
    head, rest = text.split(begin, 1)
    path.write_text(f"{head}{begin}\n{report}\n{end}{rest.split(end, 1)[1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="*", default=list(FAMILIES),
                        help=f"families to run (default: all of {', '.join(FAMILIES)})")
    parser.add_argument("--filter", help="regex selecting workloads by name (default: each family's own choice)")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after the warm-up round")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds each timed batch lasts at least")
    parser.add_argument("--quick", action="store_true", help="1 round of 0.05 s batches, no warm-up: checks that all runs")
    parser.add_argument("--build-dir", type=Path, default=ROOT / os.environ.get("ACTLAB_BUILD_DIR", "build"))
    parser.add_argument("--save", type=Path, help="write the report into this file's results block")
    levels = cpu_levels()
    parser.add_argument("--isa", choices=[name for name, _, _, _ in ISA_LEVELS], default=levels[0],
                        help=f"instruction-set level of both sides (default: the best here, {levels[0]})")
    args = parser.parse_args()
    if args.isa not in levels:
        sys.exit(f"--isa {args.isa}: this CPU lacks it; choose one of {', '.join(levels)}")
    unknown = set(args.families) - set(FAMILIES)
    if unknown:
        sys.exit(f"unknown families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    if args.quick:
        args.rounds, args.min_time = 1, 0.05
    # The real datasets (mnist, data families), where scripts/test.sh finds them too.
    datasets = ROOT.parent / "shared" / "datasets"
    if "ACTLAB_DATA" not in os.environ and datasets.is_dir():
        os.environ["ACTLAB_DATA"] = str(datasets)
    names = dict.fromkeys([LIMITS_FAMILY, *args.families])
    environments = isa_env(args.isa, args.build_dir)
    families = [Family(name, args.build_dir, environments) for name in names]

    # OpenMP's wait policy reaches both sides (see PERFORMANCE.md): say when it was set.
    policy = [f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"] if "OMP_WAIT_POLICY" in os.environ else []
    command = shlex.join([*policy, "scripts/bench.sh", *sys.argv[1:]])
    parts = [f"Measured {datetime.date.today().isoformat()} on {cpu_model()}, with `{command}`; "
             f"{args.rounds} timed rounds{'' if args.quick else ' after a warm-up'}, batches of at least "
             f"{args.min_time} s. Instruction sets: actlab {env_str(environments[0])}; "
             f"PyTorch best {env_str(environments[1])}."]
    results_by_threads = {}
    for threads in (int(t) for t in args.threads.split(",")):
        load_before = os.getloadavg()[0]
        results = results_by_threads[threads] = measure(families, args.filter, threads, args.rounds, args.min_time,
                                                        warm_up=not args.quick)
        # Other processes on the machine slow threaded runs most: say how busy it was.
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        parts.append(f"### {threads} thread{'s' if threads > 1 else ''} ({load})\n\n"
                     f"{workloads_table(results)}\n\n{limits_table(results)}")
    if len(results_by_threads) > 1:
        parts.append(f"### Scaling with threads (median time on the fewest threads over median time on more)\n\n"
                     f"{scaling_table(results_by_threads)}")
    report = "\n\n".join(parts)
    print(report)
    if args.save:
        save(report, args.save)


if __name__ == "__main__":
    main()
