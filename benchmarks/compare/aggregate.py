#!/usr/bin/python3
"""Builds benchmarks/compare's compare.json and table from the runs' JSON lines (see run.sh).

One row per (threads, hidden, batch). A run's seconds per epoch is the median of its timed epochs (all but the
first); the table gives the min and the median of that over the repeats, and flags ("!") a configuration whose
repeats differ by more than 25% (max/min), which is noise to be read as such. Test accuracy is the median over
repeats. FLOPs per epoch count the GEMMs only: per step of b samples, 2·2·b·784·H for the first layer's forward and
weight gradient (its input gradient is not needed) and 3·2·b·H·10 for the second layer's forward, weight and input
gradients; a deeper model (hidden "512-256") adds 3·2·b·H1·H2 for each layer between hidden layers. "% of peak" divides by the FMA probe of the same run times the threads. These are the dense products'
FLOPs: NeuralCore's first layer skips the steps at which its input is zero (most of an MNIST image), so its rate can
read above 100% of the peak; the step alone (--steps, uniform random batches with no zero) measures the kernels, and
the step on the first MNIST images (--steps too) what skipping zeros gives one fixed batch, each thread count's
speed-up over one thread beside the epochs' (an epoch adds its batch gather and a batch new to every core).

  aggregate.py --runs runs.jsonl --out DIR [--environment env.json] [--pytorch-info info.json] [--steps steps.jsonl]
  aggregate.py --probes DIR                     (adds DIR/probe-*.json and DIR/pingpong-start.json to DIR/environment.json)
  aggregate.py --pingpong-end DIR               (adds DIR/pingpong-end.json to DIR/environment.json)
  aggregate.py --line JSON --other-load X       (one run's summary line, for run.sh's progress)
"""

import argparse
import json
import os
import statistics
import sys

FRAMEWORKS = ("neuralcore", "pytorch")


def widths(hidden):
    """A run's hidden widths as a tuple: 512 (one layer, as every run wrote it before deeper models) or "512-256"."""
    return tuple(int(w) for w in str(hidden).split("-"))


def hidden_key(hidden):
    """The (sortable) grouping key of a run's hidden widths."""
    return widths(hidden)


def hidden_value(key):
    """The widths as summary.json writes them: a number for one layer (as before deeper models), else "512-256"."""
    return key[0] if len(key) == 1 else "-".join(str(w) for w in key)


def sample_flops(key, inputs=784, classes=10):
    """GEMM FLOPs of one sample's step: each layer's forward and weight gradient, and the input gradient of all but
    the first (NeuralCoreCompare's StepFlops counts the same)."""
    flops = 0
    for i, outputs in enumerate(list(key) + [classes]):
        flops += (2 if i == 0 else 3) * 2 * inputs * outputs
        inputs = outputs
    return flops


def epoch_flops(hidden, batch, samples):
    """GEMM FLOPs of one epoch over `samples` samples in batches of `batch` (the last one partial)."""
    per_sample = sample_flops(hidden)
    full, last = divmod(samples, batch)
    return sum(b * per_sample for b in [batch] * full + ([last] if last else []))


DISAGREE = 1.25


def run_seconds(run):
    timed = run["epoch_seconds"][1:] or run["epoch_seconds"]
    return statistics.median(timed)


def copies_from(runs):
    """NeuralCore's one-thread trainings run N at once (--copies N, run.sh beside each one-thread configuration):
    per (hidden, batch), N and the median over repeats of a run's seconds per epoch (each epoch as long as its
    slowest copy)."""
    groups = {}
    for run in runs:
        if run.get("copies", 1) > 1:
            groups.setdefault((hidden_key(run["hidden"]), run["batch"], run["copies"]), []).append(run)
    return {(hidden, batch): {"copies": copies, "epoch_s": statistics.median(run_seconds(r) for r in group),
                              "epoch_s_runs": sorted(round(run_seconds(r), 4) for r in group)}
            for (hidden, batch, copies), group in sorted(groups.items())}


def rows_from(runs, peak):
    groups = {}
    for run in runs:
        if run.get("copies", 1) > 1:
            continue
        key = (run["threads"], hidden_key(run["hidden"]), run["batch"])
        groups.setdefault(key, {}).setdefault(run["framework"], []).append(run)

    rows = []
    for (threads, hidden, batch), by_framework in sorted(groups.items()):
        missing = [f for f in FRAMEWORKS if f not in by_framework]
        if missing:
            print(f"warning: hidden {hidden}, batch {batch}, {threads} thread(s) has no {', '.join(missing)} run; skipped",
                  file=sys.stderr)
            continue
        row = {"hidden": hidden_value(hidden), "batch": batch, "threads": threads}
        for framework in FRAMEWORKS:
            per_run = sorted(run_seconds(r) for r in by_framework[framework])
            row[f"{framework}_epoch_s_runs"] = [round(x, 4) for x in per_run]
            row[f"{framework}_epoch_s_min"] = round(per_run[0], 4)
            row[f"{framework}_epoch_s"] = round(statistics.median(per_run), 4)
            row[f"{framework}_disagree"] = per_run[-1] / per_run[0] > DISAGREE
            row[f"{framework}_test_accuracy"] = statistics.median(r["test_accuracy"] for r in by_framework[framework])
        samples = by_framework["neuralcore"][0]["train_samples"]
        flops = epoch_flops(hidden, batch, samples)
        row["neuralcore_gflops"] = round(flops / row["neuralcore_epoch_s_min"] / 1e9, 2)
        row["pytorch_gflops"] = round(flops / row["pytorch_epoch_s_min"] / 1e9, 2)
        if peak:
            row["percent_of_peak"] = round(100 * row["neuralcore_gflops"] / (peak * threads), 1)
        row["speedup_median"] = round(row["pytorch_epoch_s"] / row["neuralcore_epoch_s"], 3)
        row["speedup_min"] = round(row["pytorch_epoch_s_min"] / row["neuralcore_epoch_s_min"], 3)
        row["epochs"] = by_framework["neuralcore"][0]["epochs"]
        row["repeats"] = min(len(by_framework[f]) for f in FRAMEWORKS)
        row["max_other_load"] = max(r.get("other_load", 0) for f in FRAMEWORKS for r in by_framework[f])
        row["max_steal"] = max(r.get("steal", 0) for f in FRAMEWORKS for r in by_framework[f])
        row["round_trip_ns"] = round_trips(by_framework["neuralcore"])
        row["openblas_coretype"] = by_framework["pytorch"][0].get("openblas_coretype") or None
        row["pytorch_flush_denormal"] = any(r.get("flush_denormal", False) for r in by_framework["pytorch"])
        rows.append(row)
    return rows


def round_trips(runs):
    """The cross-core round trip (ns) measured before each repeat, in repeat order ([] for runs from before it was)."""
    return [round(r["round_trip_ns"]) for r in sorted(runs, key=lambda r: r.get("repeat", 0)) if r.get("round_trip_ns") is not None]


def round_trip_cell(values):
    return " / ".join(str(v) for v in values) if values else "-"


def flag(row, framework):
    return " !" if row[f"{framework}_disagree"] else ""


def table(rows, peak):
    head = ["hidden", "batch", "threads", "NeuralCore s/epoch min / median", "PyTorch s/epoch min / median",
            "PyTorch/NeuralCore (median)", "NeuralCore dense-equivalent GFLOP/s (min)", "PyTorch GFLOP/s (min)"]
    if peak:
        head.append("NeuralCore % of peak (dense-equivalent)")
    head += ["NeuralCore test acc", "PyTorch test acc", "other load", "steal", "round trip ns (each repeat)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in rows:
        cells = [str(r["hidden"]), str(r["batch"]), str(r["threads"]),
                 f"{r['neuralcore_epoch_s_min']:.3f} / {r['neuralcore_epoch_s']:.3f}{flag(r, 'neuralcore')}",
                 f"{r['pytorch_epoch_s_min']:.3f} / {r['pytorch_epoch_s']:.3f}{flag(r, 'pytorch')}",
                 f"{r['speedup_median']:.2f}x", f"{r['neuralcore_gflops']:.1f}", f"{r['pytorch_gflops']:.1f}"]
        if peak:
            cells.append(f"{r['percent_of_peak']:.1f}%")
        cells += [f"{100 * r['neuralcore_test_accuracy']:.2f}%", f"{100 * r['pytorch_test_accuracy']:.2f}%",
                  f"{100 * r['max_other_load']:.0f}%", f"{100 * r['max_steal']:.0f}%", round_trip_cell(r["round_trip_ns"])]
        lines.append("| " + " | ".join(cells) + " |")
    if any(r["neuralcore_disagree"] or r["pytorch_disagree"] for r in rows):
        lines.append("")
        lines.append(f"! the repeats of this configuration differ by more than {round(100 * (DISAGREE - 1))}% "
                     "(slowest / fastest): read it as noise.")
    lines.append("")
    lines.append("Dense-equivalent: the dense products' FLOPs per second; NeuralCore's first layer skips the zeros of its "
                 "input, so its rate can exceed the peak.")
    if any(r["round_trip_ns"] for r in rows):
        lines.append("")
        lines.append("Round trip: a cache line's trip to the other vCPU and back, measured just before each repeat of the "
                     "configuration (both frameworks' runs follow it): where the host puts the two vCPUs. On the AMD EPYC VM "
                     "it reads about 80 ns (close) or 350 ns (far apart), and two-thread runs are slower in the second.")
    return "\n".join(lines) + "\n"


def scaling(rows, ceilings=None):
    """Each framework's speed-up from its fewest-threads run (medians), per (hidden, batch); with `ceilings`
    (copies_from) and one thread the fewest, NeuralCore's ceiling for T threads: T one-thread trainings at once
    against one alone, T·t1/t_copies (what the host gives T cores when our threads share nothing)."""
    ceilings = ceilings or {}
    by_shape = {}
    for r in rows:
        by_shape.setdefault((hidden_key(r["hidden"]), r["batch"]), {})[r["threads"]] = r
    counts = sorted({r["threads"] for r in rows})
    if len(counts) < 2:
        return [], ""
    base = counts[0]
    result, lines = [], []
    ceiling_counts = [t for t in counts[1:] if base == 1 and any(c["copies"] == t for c in ceilings.values())]
    head = (["hidden", "batch"] + [f"NeuralCore {t}T/{base}T" for t in counts[1:]]
            + [f"ceiling: {t} one-thread trainings at once" for t in ceiling_counts] + [f"PyTorch {t}T/{base}T" for t in counts[1:]])
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---:" for _ in head) + "|")
    for (hidden, batch), by_threads in sorted(by_shape.items()):
        if base not in by_threads:
            continue
        entry = {"hidden": hidden_value(hidden), "batch": batch}
        cells = [str(hidden_value(hidden)), str(batch)]
        for framework in FRAMEWORKS:
            for t in counts[1:]:
                if t in by_threads:
                    ratio = by_threads[base][f"{framework}_epoch_s"] / by_threads[t][f"{framework}_epoch_s"]
                    entry[f"{framework}_{t}t_over_{base}t"] = round(ratio, 3)
                    cells.append(f"{ratio:.2f}x")
                else:
                    cells.append("-")
            if framework == "neuralcore":
                for t in ceiling_counts:
                    c = ceilings.get((hidden, batch))
                    if c and c["copies"] == t:
                        ceiling = t * by_threads[base]["neuralcore_epoch_s"] / c["epoch_s"]
                        entry[f"neuralcore_ceiling_{t}t_over_{base}t"] = round(ceiling, 3)
                        entry[f"neuralcore_{t}_copies_epoch_s_runs"] = c["epoch_s_runs"]
                        cells.append(f"{ceiling:.2f}x")
                    else:
                        cells.append("-")
        result.append(entry)
        lines.append("| " + " | ".join(cells) + " |")
    return result, "\n".join(lines) + "\n"


def step_data(s):
    """What a step line's batch held: "random" (uniform values, no zero; lines from before --step-data say nothing) or "mnist"."""
    return s.get("data", "random")


def step_rows(steps, peak):
    """One row per (inputs, threads, hidden, batch) of the step alone, then one per (copies, hidden, batch) of
    independent one-thread steps run at once (--copies: each line lists every copy's µs and sums their GFLOP/s). A
    T-thread row on random inputs gets "percent_of_copies_best": its best GFLOP/s against the best of T copies at
    once, the host's ceiling for it."""
    groups, copy_groups = {}, {}
    for s in steps:
        if s.get("copies", 1) > 1:
            copy_groups.setdefault((s["copies"], hidden_key(s["hidden"]), s["batch"]), []).append(s)
        else:
            groups.setdefault((step_data(s) != "random", s["threads"], hidden_key(s["hidden"]), s["batch"]), []).append(s)
    ceilings = {}
    copy_rows = []
    for (copies, hidden, batch), runs in sorted(copy_groups.items()):
        best = max(r["gflops_best"] for r in runs)
        ceilings[(copies, hidden, batch)] = best
        row = {"hidden": hidden_value(hidden), "batch": batch, "threads": 1, "copies": copies,
               "slowest_copy_us_min": round(min(max(r["step_us_min"]) for r in runs), 1),
               "slowest_copy_us_median": round(statistics.median(max(r["step_us_median"]) for r in runs), 1),
               "gflops_best": round(best, 1), "gflops_median": round(statistics.median(r["gflops_median"] for r in runs), 1),
               "round_trip_ns": round_trips(runs)}
        if peak:
            row["percent_of_peak_best"] = round(100 * best / (peak * copies), 1)
        copy_rows.append(row)
    rows = []
    for (mnist, threads, hidden, batch), runs in sorted(groups.items()):
        best = min(r["step_us_min"] for r in runs)
        median = statistics.median(r["step_us_median"] for r in runs)
        flops = batch * sample_flops(hidden)
        row = {"data": "mnist" if mnist else "random", "hidden": hidden_value(hidden), "batch": batch, "threads": threads, "step_us_min": round(best, 1),
               "step_us_median": round(median, 1), "gflops_best": round(flops / best / 1e3, 1),
               "round_trip_ns": round_trips(runs)}
        if peak:
            row["percent_of_peak_best"] = round(100 * row["gflops_best"] / (peak * threads), 1)
        ceiling = None if mnist else ceilings.get((threads, hidden, batch))
        if ceiling:
            row["percent_of_copies_best"] = round(100 * (flops / best / 1e3) / ceiling, 1)
        rows.append(row)
    return rows + copy_rows


STEP_INPUTS = {"random": "random", "mnist": "MNIST"}


def step_scaling(rows):
    """Each thread count's speed-up of the step alone over one thread (best µs over best µs), per (hidden, batch),
    on random inputs and on MNIST images: beside the epochs' speed-up, what an epoch adds to the step."""
    plain = {(step_data(r), hidden_key(r["hidden"]), r["batch"], r["threads"]): r
             for r in rows if r.get("copies", 1) == 1}
    counts = sorted({t for (_, _, _, t) in plain if t > 1})
    if 1 not in {t for (_, _, _, t) in plain} or not counts:
        return [], ""
    datas = [d for d in STEP_INPUTS if any(k[0] == d for k in plain)]
    head = ["hidden", "batch"] + [f"{STEP_INPUTS[d]} {t}T/1T" for d in datas for t in counts]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    result = []
    for hidden, batch in sorted({(h, b) for (_, h, b, _) in plain}):
        entry = {"hidden": hidden_value(hidden), "batch": batch}
        cells = [str(hidden_value(hidden)), str(batch)]
        for d in datas:
            one = plain.get((d, hidden, batch, 1))
            for t in counts:
                many = plain.get((d, hidden, batch, t))
                if one and many:
                    ratio = one["step_us_min"] / many["step_us_min"]
                    entry[f"{d}_{t}t_over_1t"] = round(ratio, 3)
                    cells.append(f"{ratio:.2f}x")
                else:
                    cells.append("-")
        result.append(entry)
        lines.append("| " + " | ".join(cells) + " |")
    return result, "\n".join(lines) + "\n"


def step_table(rows, peak):
    plain = [r for r in rows if r.get("copies", 1) == 1]
    copies = [r for r in rows if r.get("copies", 1) > 1]
    with_copies = any("percent_of_copies_best" in r for r in plain)
    head = ["inputs", "hidden", "batch", "threads", "step µs (best / median)", "GFLOP/s (best, dense-equivalent)"]
    if peak:
        head.append("% of probe × threads")
    if with_copies:
        head.append("% of copies at once")
    head.append("round trip ns (each repeat)")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in plain:
        cells = [STEP_INPUTS[step_data(r)], str(r["hidden"]), str(r["batch"]), str(r["threads"]),
                 f"{r['step_us_min']:.0f} / {r['step_us_median']:.0f}", f"{r['gflops_best']:.1f}"]
        if peak:
            cells.append(f"{r['percent_of_peak_best']:.1f}%")
        if with_copies:
            cells.append(f"{r['percent_of_copies_best']:.1f}%" if "percent_of_copies_best" in r else "-")
        cells.append(round_trip_cell(r["round_trip_ns"]))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if copies:
        head = ["hidden", "batch", "copies", "slowest copy µs (best / median)", "GFLOP/s together (best / median)"]
        if peak:
            head.append("% of probe × copies")
        head.append("round trip ns (each repeat)")
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        for r in copies:
            cells = [str(r["hidden"]), str(r["batch"]), str(r["copies"]),
                     f"{r['slowest_copy_us_min']:.0f} / {r['slowest_copy_us_median']:.0f}",
                     f"{r['gflops_best']:.1f} / {r['gflops_median']:.1f}"]
            if peak:
                cells.append(f"{r['percent_of_peak_best']:.1f}%")
            cells.append(round_trip_cell(r["round_trip_ns"]))
            lines.append("| " + " | ".join(cells) + " |")
        text += ("\nIndependent one-thread steps at once (each its own model on its own thread, nothing of ours shared: "
                 "the host's ceiling for that many threads; \"% of copies at once\" above divides by it):\n\n"
                 + "\n".join(lines) + "\n")
    return text


def probes(out):
    env_path = os.path.join(out, "environment.json")
    with open(env_path, encoding="utf-8") as f:
        env = json.load(f)
    with open(os.path.join(out, "probe-1.json"), encoding="utf-8") as f:
        one = json.load(f)
    two = []
    for name in ("probe-2a.json", "probe-2b.json"):
        with open(os.path.join(out, name), encoding="utf-8") as f:
            two.append(json.load(f))
    env["fma_probe"] = {"bits": one["bits"], "one_core_gflops": one["gflops"],
                        "two_at_once_gflops": [t["gflops"] for t in two]}
    # Two real cores each keep (nearly) their own rate; SMT siblings sharing one core's FMA units get about half.
    env["fma_units"] = "one per CPU" if min(t["gflops"] for t in two) > 0.8 * one["gflops"] else "shared by the CPUs"
    with open(env_path, "w", encoding="utf-8") as f:
        json.dump(env, f, indent=2)
        f.write("\n")
    print(f"  one probe: {one['gflops']:.1f} GFLOP/s ({one['bits']}-bit); two at once: "
          f"{two[0]['gflops']:.1f} + {two[1]['gflops']:.1f} -> FMA units {env['fma_units']}")
    return pingpong(out, "start")


def pingpong(out, when):
    """Adds DIR/pingpong-WHEN.json (a cache line's round trip between two threads) to DIR/environment.json."""
    path = os.path.join(out, f"pingpong-{when}.json")
    if not os.path.exists(path):
        return 0
    env_path = os.path.join(out, "environment.json")
    with open(env_path, encoding="utf-8") as f:
        env = json.load(f)
    with open(path, encoding="utf-8") as f:
        trip = json.load(f)
    env.setdefault("cross_core_round_trip_ns", {})[when] = {"min": trip["round_trip_ns_min"], "median": trip["round_trip_ns_median"]}
    print(f"  cross-core round trip ({when}): {trip['round_trip_ns_median']:.0f} ns median, {trip['round_trip_ns_min']:.0f} ns min")
    contention_path = os.path.join(out, f"contention-{when}.json")
    if os.path.exists(contention_path):
        with open(contention_path, encoding="utf-8") as f:
            c = json.load(f)
        env.setdefault("time_lost_to_host", {})[when] = {"alone": c["alone_lost"], "together": c["together_lost"], "max_pause_ms": c["max_pause_ms"]}
        print(f"  time lost to the host ({when}): one thread {100 * c['alone_lost']:.1f}%, {c['threads']} at once "
              + " + ".join(f"{100 * v:.1f}%" for v in c["together_lost"]) + f", longest pause {c['max_pause_ms']:.1f} ms")
    with open(env_path, "w", encoding="utf-8") as f:
        json.dump(env, f, indent=2)
        f.write("\n")
    return 0


def preamble(environment, info, rows):
    lines = []
    if environment:
        cpu = environment.get("lscpu", {})
        lines.append(f"CPU: {cpu.get('Model name', '?')} (family {cpu.get('CPU family', '?')}, model {cpu.get('Model', '?')}), "
                     f"{cpu.get('CPU(s)', '?')} CPU(s), {cpu.get('Thread(s) per core', '?')} thread(s) per core, "
                     f"hypervisor {cpu.get('Hypervisor vendor', 'none reported')}; .NET SDK {environment.get('dotnet', '?')}")
        probe = environment.get("fma_probe")
        if probe:
            lines.append(f"FMA probe ({probe['bits']}-bit): {probe['one_core_gflops']:.1f} GFLOP/s on one core; two at once "
                         f"{probe['two_at_once_gflops'][0]:.1f} + {probe['two_at_once_gflops'][1]:.1f}: "
                         f"FMA units {environment.get('fma_units', '?')}")
        trips = environment.get("cross_core_round_trip_ns")
        if trips:
            parts = [f"{when} {t['median']:.0f} ns (min {t['min']:.0f})" for when, t in trips.items()]
            lines.append("Cross-core round trip of one cache line between two threads, median of 20,000-trip slices: "
                         + "; ".join(parts) + " (where the host puts the two vCPUs; every parallel region's start and join pays it)")
        lost = environment.get("time_lost_to_host")
        if lost:
            parts = [f"{when}: one thread {100 * c['alone']:.1f}%, together " + " + ".join(f"{100 * v:.1f}%" for v in c["together"])
                     + f" (longest pause {c['max_pause_ms']:.1f} ms)" for when, c in lost.items()]
            lines.append("Wall-clock time busy threads lost to the host (pauses above 5 µs while spinning): " + "; ".join(parts)
                         + ". Near half each together means the host gave the VM about one processor: two threads then lose"
                         + " against one whatever the code")
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
        lines.append(f"{rows[0]['epochs']} epochs per run (1 warm-up), a run's seconds per epoch = median of its timed epochs; "
                     f"repeats per configuration: {min(r['repeats'] for r in rows)}, interleaved")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs")
    parser.add_argument("--out")
    parser.add_argument("--steps")
    parser.add_argument("--probes")
    parser.add_argument("--pingpong-end")
    parser.add_argument("--environment")
    parser.add_argument("--pytorch-info")
    parser.add_argument("--line")
    parser.add_argument("--other-load", type=float, default=0.0)
    args = parser.parse_args()

    if args.line is not None:
        r = json.loads(args.line)
        epochs = " ".join(f"{s:.3f}" for s in r["epoch_seconds"])
        print(f"  {r['framework']:<10} epochs {epochs} s -> median {run_seconds(r):.3f} s, "
              f"test accuracy {100 * r['test_accuracy']:.2f}%, other load {100 * args.other_load:.0f}%")
        return 0

    if args.probes is not None:
        return probes(args.probes)

    if args.pingpong_end is not None:
        return pingpong(args.pingpong_end, "end")

    if not args.runs or not args.out:
        parser.error("--runs and --out are required (or --line, or --probes)")
    with open(args.runs, encoding="utf-8") as f:
        runs = [json.loads(line) for line in f if line.strip()]
    environment = info = None
    if args.environment and os.path.exists(args.environment):
        with open(args.environment, encoding="utf-8") as f:
            environment = json.load(f)
    if args.pytorch_info and os.path.exists(args.pytorch_info):
        with open(args.pytorch_info, encoding="utf-8") as f:
            info = json.load(f)

    peak = (environment or {}).get("fma_probe", {}).get("one_core_gflops")
    rows = rows_from(runs, peak)
    scale_rows, scale_text = scaling(rows, copies_from(runs))
    steps = []
    if args.steps and os.path.exists(args.steps):
        with open(args.steps, encoding="utf-8") as f:
            steps = step_rows([json.loads(line) for line in f if line.strip()], peak)
    step_scale_rows, step_scale_text = step_scaling(steps)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as f:
        summary = {"environment": environment, "rows": rows, "scaling": scale_rows, "steps": steps}
        if step_scale_rows:
            summary["step_scaling"] = step_scale_rows
        json.dump(summary, f, indent=2)
        f.write("\n")
    text = preamble(environment, info, rows) + "\n\n" + table(rows, peak)
    if scale_text:
        text += "\nScaling (seconds per epoch, medians):\n\n" + scale_text
        if any(k.startswith("neuralcore_ceiling_") for r in scale_rows for k in r):
            text += ("\nCeiling: that many one-thread NeuralCore trainings run at once (each its own model on its own "
                     "thread), against one alone: how much faster those cores train when our threads share nothing but "
                     "the host's L3, memory and tenants. A NeuralCore ratio below it is ours to win; above it, not.\n")
    if steps:
        text += ("\nThe training step alone (fixed batch; best of the repeats; inputs: uniform random values with no zero, "
                 "the dense kernels, or the first MNIST training images, whose zero pixels the first layer skips as in an "
                 "epoch):\n\n" + step_table(steps, peak))
    if step_scale_text:
        text += ("\nThe step's speed-up over one thread (best µs over best µs; beside the epochs' scaling above, what an "
                 "epoch adds to a step: its batch gather, and a batch that is new to every core):\n\n" + step_scale_text)
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print()
    print(text, end="")
    print(f"\nWrote {os.path.join(args.out, 'compare.json')} and {os.path.join(args.out, 'table.md')}.")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
