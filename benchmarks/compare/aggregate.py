#!/usr/bin/python3
"""Builds benchmarks/compare's compare.json and table from the runs' JSON lines (see run.sh).

One row per (threads, hidden, batch): seconds per epoch is the median of every timed epoch (all but the first of
each run, pooled over repeats); test accuracy the median over repeats. FLOPs per epoch count the GEMMs only: per
step of b samples, 2·2·b·784·H for the first layer's forward and weight gradient (its input gradient is not
needed) and 3·2·b·H·10 for the second layer's forward, weight and input gradients.

  aggregate.py --runs runs.jsonl --out DIR [--peak-gflops X] [--environment env.json] [--pytorch-info info.json]
  aggregate.py --line JSON --other-load X      (one run's summary line, for run.sh's progress)
"""

import argparse
import json
import os
import statistics
import sys

FRAMEWORKS = ("neuralcore", "pytorch")


def epoch_flops(hidden, batch, samples, inputs=784, classes=10):
    """GEMM FLOPs of one epoch over `samples` samples in batches of `batch` (the last one partial)."""
    per_sample = 2 * 2 * inputs * hidden + 3 * 2 * hidden * classes
    full, last = divmod(samples, batch)
    return sum(b * per_sample for b in [batch] * full + ([last] if last else []))


def rows_from(runs, peak):
    groups = {}
    for run in runs:
        key = (run["threads"], run["hidden"], run["batch"])
        groups.setdefault(key, {}).setdefault(run["framework"], []).append(run)

    rows = []
    for (threads, hidden, batch), by_framework in sorted(groups.items()):
        missing = [f for f in FRAMEWORKS if f not in by_framework]
        if missing:
            print(f"warning: hidden {hidden}, batch {batch}, {threads} thread(s) has no {', '.join(missing)} run; skipped",
                  file=sys.stderr)
            continue
        row = {"hidden": hidden, "batch": batch, "threads": threads}
        seconds = {}
        for framework in FRAMEWORKS:
            runs_here = by_framework[framework]
            timed = [s for r in runs_here for s in r["epoch_seconds"][1:]]
            seconds[framework] = statistics.median(timed)
            row[f"{framework}_epoch_s"] = round(seconds[framework], 4)
        for framework in FRAMEWORKS:
            row[f"{framework}_test_accuracy"] = statistics.median(r["test_accuracy"] for r in by_framework[framework])
        samples = by_framework["neuralcore"][0]["train_samples"]
        flops = epoch_flops(hidden, batch, samples)
        row["neuralcore_gflops"] = round(flops / seconds["neuralcore"] / 1e9, 2)
        if peak:
            row["percent_of_peak"] = round(100 * row["neuralcore_gflops"] / peak, 1)
        # Extras, beyond the fields the issue asked for.
        row["pytorch_gflops"] = round(flops / seconds["pytorch"] / 1e9, 2)
        row["pytorch_over_neuralcore"] = round(seconds["pytorch"] / seconds["neuralcore"], 3)
        row["epochs"] = by_framework["neuralcore"][0]["epochs"]
        row["repeats"] = min(len(by_framework[f]) for f in FRAMEWORKS)
        row["max_other_load"] = max(r.get("other_load", 0) for f in FRAMEWORKS for r in by_framework[f])
        row["openblas_coretype"] = by_framework["pytorch"][0].get("openblas_coretype") or None
        row["pytorch_flush_denormal"] = any(r.get("flush_denormal", False) for r in by_framework["pytorch"])
        rows.append(row)
    return rows


def table(rows, peak):
    head = ["hidden", "batch", "threads", "NeuralCore s/epoch", "PyTorch s/epoch", "PyTorch/NeuralCore",
            "NeuralCore GFLOP/s", "PyTorch GFLOP/s"]
    if peak:
        head.append("NeuralCore % of peak")
    head += ["NeuralCore test acc", "PyTorch test acc", "other load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in rows:
        cells = [str(r["hidden"]), str(r["batch"]), str(r["threads"]), f"{r['neuralcore_epoch_s']:.3f}",
                 f"{r['pytorch_epoch_s']:.3f}", f"{r['pytorch_over_neuralcore']:.2f}x", f"{r['neuralcore_gflops']:.1f}",
                 f"{r['pytorch_gflops']:.1f}"]
        if peak:
            cells.append(f"{r['percent_of_peak']:.1f}%")
        cells += [f"{100 * r['neuralcore_test_accuracy']:.2f}%", f"{100 * r['pytorch_test_accuracy']:.2f}%",
                  f"{100 * r['max_other_load']:.0f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def preamble(environment, info, rows):
    lines = []
    if environment:
        cpu = environment.get("lscpu", {})
        lines.append(f"CPU: {cpu.get('Model name', '?')}, {cpu.get('CPU(s)', '?')} CPU(s), "
                     f"{cpu.get('Thread(s) per core', '?')} thread(s) per core; .NET SDK {environment.get('dotnet', '?')}")
    if info:
        blas = next((p for p in info.get("mapped_libraries", []) if "blas" in os.path.basename(p)), "?")
        core = info.get("openblas_core")
        lines.append(f"PyTorch {info.get('torch')} (ATen CPU capability {info.get('cpu_capability')}), BLAS {blas}"
                     + (f" ({info.get('openblas_config')}; kernels: {core})" if core else ""))
    if environment and environment.get("openblas_coretype_forced"):
        lines.append(f"OpenBLAS detected core {environment.get('openblas_detected_core')}; "
                     f"runs forced OPENBLAS_CORETYPE={environment['openblas_coretype_forced']}")
    if any(r.get("pytorch_flush_denormal") for r in rows):
        lines.append("PyTorch ran with torch.set_flush_denormal(True)")
    if rows:
        lines.append(f"{rows[0]['epochs']} epochs per run (1 warm-up), seconds per epoch = median of the timed epochs; "
                     f"repeats per configuration: {min(r['repeats'] for r in rows)}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs")
    parser.add_argument("--out")
    parser.add_argument("--peak-gflops", type=float)
    parser.add_argument("--environment")
    parser.add_argument("--pytorch-info")
    parser.add_argument("--line")
    parser.add_argument("--other-load", type=float, default=0.0)
    args = parser.parse_args()

    if args.line is not None:
        r = json.loads(args.line)
        timed = r["epoch_seconds"][1:] or r["epoch_seconds"]
        epochs = " ".join(f"{s:.3f}" for s in r["epoch_seconds"])
        print(f"  {r['framework']:<10} epochs {epochs} s -> median {statistics.median(timed):.3f} s, "
              f"test accuracy {100 * r['test_accuracy']:.2f}%, other load {100 * args.other_load:.0f}%")
        return 0

    if not args.runs or not args.out:
        parser.error("--runs and --out are required (or --line)")
    if args.peak_gflops is not None and not args.peak_gflops > 0:
        parser.error(f"--peak-gflops must be positive; got {args.peak_gflops}")
    with open(args.runs, encoding="utf-8") as f:
        runs = [json.loads(line) for line in f if line.strip()]
    environment = info = None
    if args.environment and os.path.exists(args.environment):
        with open(args.environment, encoding="utf-8") as f:
            environment = json.load(f)
    if args.pytorch_info and os.path.exists(args.pytorch_info):
        with open(args.pytorch_info, encoding="utf-8") as f:
            info = json.load(f)

    rows = rows_from(runs, args.peak_gflops)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")
    text = preamble(environment, info, rows) + "\n\n" + table(rows, args.peak_gflops)
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print()
    print(text, end="")
    print(f"\nWrote {os.path.join(args.out, 'compare.json')} and {os.path.join(args.out, 'table.md')}.")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
