#!/usr/bin/env bash
# Trains the same MLP with NeuralCore and with PyTorch on this machine's CPU and compares seconds per epoch and
# test accuracy. See docs/compare.md. Not run by CI.
#
#   benchmarks/compare/run.sh --out DIR [--threads 2[,1,...]] [--epochs 4] [--hidden 16,128,512,1024]
#                             [--batch 32,128] [--repeats 3] [--steps] [--openblas-coretype auto]
#                             [--quiet-wait 60] [--max-other-load 0.1] [--retries 2] [--pytorch-args "..."]
#                             [--no-install]
#
# Model 784-H-10 (a --hidden item such as 512-256 is 784-512-256-10), ReLU, softmax cross-entropy, Adam (lr 1e-3, eps 1e-7), MNIST preloaded in [0, 1], reshuffled every
# epoch, no validation. The first epoch is a warm-up; a run's seconds per epoch is the median of the others.
# Repeats are interleaved (every configuration once, then again), so that a slow spell of the machine hits all
# configurations alike rather than all repeats of one; the table gives the min and the median over repeats and flags
# a configuration whose repeats differ by more than 25%. With two or more --threads values it adds a scaling table
# (NeuralCore and PyTorch, each against its own fewest-threads run).
# First it measures the machine: lscpu, one core's FMA peak, and two FMA probes at once (do the two CPUs have their
# own FMA units, or share one core's?), and a cache line's round trip between two threads (again at the end: on a VM it
# follows where the host puts the vCPUs). --steps also times NeuralCore's training step alone (fixed batch, no data
# loading) for every configuration and reports it as a percentage of the probe times the threads: on uniform random
# values (no zero: the dense kernels), and on the first MNIST training images (their zero pixels skipped, as in an
# epoch), with each thread count's speed-up over one thread beside the epochs' (what an epoch adds to a step). For the most
# --threads T > 1, when 1 is among them, it also runs T independent one-thread trainings at once (and, with --steps,
# T one-thread steps: --copies, each its own model on its own thread): what T cores give when nothing of ours is
# shared between them, the ceiling a T-thread figure is judged against on this host (its L3, memory and other tenants
# stay shared).
# Each run records the share of CPU time the hypervisor stole (steal in /proc/stat) and other processes used.
# Each repeat of a configuration records that round trip measured just before it (the runs' round_trip_ns), so that a
# two-thread figure can be read with the placement it ran in.
# --pytorch-args passes extra options to pytorch_mlp.py (e.g. --flush-denormal). Writes DIR/compare.json,
# DIR/table.md, DIR/environment.json, DIR/pytorch_info.json, every run's JSON line in DIR/runs.jsonl and, with
# --steps, DIR/steps.jsonl.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "run.sh: $*" >&2; exit 2; }

out=""
threads_list=$(nproc)
epochs=4
hidden_list="16,128,512,1024"
batch_list="32,128"
repeats=3
steps=0
coretype=auto
quiet_wait=60
max_load=0.10
retries=2
pytorch_args=""
install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --threads) threads_list=${2:?--threads needs a value}; shift 2 ;;
    --epochs) epochs=${2:?--epochs needs a value}; shift 2 ;;
    --hidden) hidden_list=${2:?--hidden needs a value}; shift 2 ;;
    --batch) batch_list=${2:?--batch needs a value}; shift 2 ;;
    --repeats) repeats=${2:?--repeats needs a value}; shift 2 ;;
    --steps) steps=1; shift ;;
    --openblas-coretype) coretype=${2:?--openblas-coretype needs a value}; shift 2 ;;
    --quiet-wait) quiet_wait=${2:?--quiet-wait needs a value}; shift 2 ;;
    --max-other-load) max_load=${2:?--max-other-load needs a value}; shift 2 ;;
    --retries) retries=${2:?--retries needs a value}; shift 2 ;;
    --pytorch-args) pytorch_args=${2?--pytorch-args needs a value}; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done

[ -n "$out" ] || { usage >&2; die "--out DIR is required"; }
is_list() { [[ $1 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]]; }
is_list "$threads_list" || die "--threads takes positive integers separated by commas; got '$threads_list'"
[[ $hidden_list =~ ^[1-9][0-9]*(-[1-9][0-9]*)*(,[1-9][0-9]*(-[1-9][0-9]*)*)*$ ]] \
  || die "--hidden takes models separated by commas, each one width or several joined by '-' (512-256 is 784-512-256-10); got '$hidden_list'"
is_list "$batch_list" || die "--batch takes positive integers separated by commas; got '$batch_list'"
[[ $epochs =~ ^[0-9]+$ ]] && [ "$epochs" -ge 4 ] || die "--epochs must be at least 4 (1 warm-up + 3 timed); got '$epochs'"
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "--repeats must be a positive integer; got '$repeats'"
[[ $quiet_wait =~ ^[0-9]+$ ]] || die "--quiet-wait must be a whole number of seconds; got '$quiet_wait'"
[[ $max_load =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--max-other-load must be a fraction such as 0.1; got '$max_load'"
[[ $retries =~ ^[0-9]+$ ]] || die "--retries must be a whole number; got '$retries'"
IFS=, read -r -a threads_values <<<"$threads_list"
max_threads=$(printf '%s\n' "${threads_values[@]}" | sort -n | tail -1)
IFS=, read -r -a hidden_values <<<"$hidden_list"
IFS=, read -r -a batch_values <<<"$batch_list"
read -r -a pytorch_extra <<<"$pytorch_args"

# --- what the PyTorch side needs --------------------------------------------------------------------------------
# The OpenMP build of OpenBLAS: without an optimized BLAS Debian's torch uses the reference BLAS, and the pthread
# build oversubscribes alongside torch's OpenMP threads.
if [ "$install" -eq 1 ]; then
  if ! "$python" -c 'import torch, numpy' 2>/dev/null || ! dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
    echo "Installing python3-torch, python3-numpy and libopenblas0-openmp..."
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y python3-torch python3-numpy libopenblas0-openmp
  fi
fi
"$python" -c 'import torch, numpy' || die "$python cannot import torch and numpy (run without --no-install)"

# OpenBLAS picks its kernels from the CPU model; one it does not know (0.3.21 and Emerald Rapids, say) gets the
# SSE3 "Prescott" kernels, several times slower than the AVX-512 ones. auto: then force the kernels the CPU can run.
unset OPENBLAS_CORETYPE
detected=$("$python" "$here/pytorch_mlp.py" --info --threads 1 | "$python" -c 'import json,sys; print(json.load(sys.stdin).get("openblas_core", ""))')
case "$coretype" in
  auto)
    coretype=""
    if [ "$detected" = Prescott ]; then
      if grep -qw avx512f /proc/cpuinfo; then coretype=SkylakeX
      elif grep -qw avx2 /proc/cpuinfo; then coretype=Haswell
      fi
      [ -z "$coretype" ] || echo "OpenBLAS fell back to its Prescott (SSE3) kernels on this CPU; forcing OPENBLAS_CORETYPE=$coretype (--openblas-coretype default keeps Prescott)."
    fi ;;
  default) coretype="" ;;
esac
[ -z "$coretype" ] || export OPENBLAS_CORETYPE=$coretype

mkdir -p "$out"
out=$(cd "$out" && pwd)
runs="$out/runs.jsonl"
: >"$runs"

# --- the NeuralCore side -----------------------------------------------------------------------------------------
echo "Building NeuralCoreCompare (Release)..."
dotnet build "$here/NeuralCoreCompare/NeuralCoreCompare.csproj" -c Release -nologo -v quiet -warnaserror >"$out/build.log" 2>&1 \
  || { cat "$out/build.log" >&2; die "the Release build failed"; }
nc_dll="$here/NeuralCoreCompare/bin/Release/net10.0/NeuralCoreCompare.dll"
data="$repo/data/mnist"

# --- the machine ------------------------------------------------------------------------------------------------
"$python" - "$out/environment.json" "${OPENBLAS_CORETYPE:-}" "$detected" <<'EOF'
import json, subprocess, sys
path, forced, detected = sys.argv[1:]
lscpu = dict(l.split(":", 1) for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if ":" in l)
keep = ("Model name", "Vendor ID", "CPU family", "Model", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L1d cache", "L2 cache", "L3 cache", "Hypervisor vendor", "Flags")
env = {"lscpu": {k: lscpu[k].strip() for k in keep if k in lscpu},
       "avx512f": " avx512f " in open("/proc/cpuinfo").read(),
       "dotnet": subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip(),
       "openblas_detected_core": detected, "openblas_coretype_forced": forced or None}
with open(path, "w") as f:
    json.dump(env, f, indent=2)
EOF
# One core's FMA peak, then two probes at once: on two real cores each keeps its rate; where the two CPUs share one
# core's FMA units (SMT siblings) each gets about half.
echo "Measuring the FMA peak (one probe, then two at once)..."
dotnet "$nc_dll" --probe --seconds 3 >"$out/probe-1.json"
dotnet "$nc_dll" --probe --seconds 3 >"$out/probe-2a.json" &
probe_pid=$!
dotnet "$nc_dll" --probe --seconds 3 >"$out/probe-2b.json"
wait "$probe_pid"
# How long one cache line takes to go to the other core and back: on a VM it follows where the host puts the two vCPUs,
# and moves the two-thread figures with it (docs/benchmarks.md).
dotnet "$nc_dll" --pingpong --seconds 2 >"$out/pingpong-start.json"
# How much of the time two busy threads lose to the host: near 0 on a quiet machine, about half each where the host
# gives the VM little more than one processor (steal in /proc/stat has read 0 even then; docs/benchmarks.md).
dotnet "$nc_dll" --contention --seconds 1 >"$out/contention-start.json"
"$python" "$here/aggregate.py" --probes "$out"
"$python" "$here/pytorch_mlp.py" --info --threads "${threads_values[0]}" >"$out/pytorch_info.json"
echo "PyTorch build and BLAS:"
cat "$out/pytorch_info.json"

# --- measuring --------------------------------------------------------------------------------------------------
# Busy, total and stolen jiffies of the whole machine, from /proc/stat (steal: time the hypervisor gave this VM's
# CPUs to something else while they wanted to run).
jiffies() { local _ u n s i w q sq st; read -r _ u n s i w q sq st _ </proc/stat; echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st)) $st"; }

# Waits (up to --quiet-wait seconds) until the other processes use under a quarter of the CPUs: other sessions'
# builds on a 2-vCPU machine would otherwise be measured as our slowness.
wait_quiet() {
  local waited=0 b0 t0 b1 t1
  while [ "$waited" -lt "$quiet_wait" ]; do
    read -r b0 t0 _ < <(jiffies); sleep 1; read -r b1 t1 _ < <(jiffies)
    [ $(((b1 - b0) * 4)) -lt $((t1 - t0)) ] && return 0
    waited=$((waited + 1))
  done
  [ "$quiet_wait" -eq 0 ] || echo "  (the machine stayed busy for ${quiet_wait} s; measuring anyway)"
}

# Runs one training and appends its JSON line, with its wall seconds and other_load: the share of the machine's
# CPU time used by other processes while it ran (0 = quiet). A run with more than --max-other-load is run again,
# up to --retries times; the last try is kept either way, its load on record.
run_one() {
  local name=$1 repeat=$2
  shift 2
  local log="$out/logs/$name.log" b0 t0 s0 b1 t1 s1 real user sys line load steal try=0
  while :; do
    try=$((try + 1))
    wait_quiet
    read -r b0 t0 s0 < <(jiffies)
    TIMEFORMAT='%3R %3U %3S'
    if ! { time "$@" >"$log.out" 2>"$log"; } 2>"$log.time"; then
      cat "$log" >&2
      die "$name failed; see $log"
    fi
    read -r b1 t1 s1 < <(jiffies)
    read -r real user sys <"$log.time"
    steal=$(awk -v s=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", (t > 0 ? s / t : 0) }')
    line=$(grep -E '^\{.*\}$' "$log.out" | tail -n 1) || die "$name printed no JSON line; see $log.out"
    load=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v u="$user" -v s="$sys" \
      'BEGIN { hz = 100; other = (b / hz - u - s) / (t / hz); if (other < 0) other = 0; printf "%.3f", other }')
    "$python" "$here/aggregate.py" --line "$line" --other-load "$load"
    if [ "$try" -gt "$retries" ] || awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l <= m) }'; then
      break
    fi
    echo "  (other processes took ${load} of the CPUs: running it again)"
  done
  echo "${line%\}},\"repeat\":$repeat,\"round_trip_ns\":${round_trip:-null},\"tries\":$try,\"wall_seconds\":$real,\"cpu_seconds\":$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.3f", u + s}'),\"other_load\":$load,\"steal\":$steal,\"openblas_coretype\":\"${OPENBLAS_CORETYPE:-}\"}" >>"$runs"
}

# Where the host has put the two vCPUs just before a configuration's runs: a cache line's round trip between two
# threads (0.3 s of trips, median), recorded with both frameworks' runs of that repeat. On the AMD EPYC VM it reads
# 70-90 ns or 330-380 ns and switches between the two within minutes, and two-thread epochs run 10-40% slower in the
# second (docs/benchmarks.md), so each repeat says which it was.
measure_round_trip() {
  round_trip=$(dotnet "$nc_dll" --pingpong --seconds 0.3 | "$python" -c 'import json, sys; print(json.load(sys.stdin)["round_trip_ns_median"])') \
    || die "the cross-core round trip could not be measured"
}

mkdir -p "$out/logs"
started=$(date +%s)
for repeat in $(seq 1 "$repeats"); do
  for threads in "${threads_values[@]}"; do
    for hidden in "${hidden_values[@]}"; do
      for batch in "${batch_values[@]}"; do
        echo "hidden $hidden, batch $batch, $threads thread(s), repeat $repeat/$repeats:"
        measure_round_trip
        args=(--hidden "$hidden" --batch "$batch" --epochs "$epochs" --threads "$threads" --data "$data")
        name="h$hidden-b$batch-t$threads-r$repeat"
        nc=(run_one "neuralcore-$name" "$repeat" dotnet "$nc_dll" "${args[@]}")
        # OMP_NUM_THREADS as well as torch.set_num_threads, so that OpenBLAS's OpenMP pool is sized alike.
        pt=(run_one "pytorch-$name" "$repeat" env OMP_NUM_THREADS="$threads" "$python" "$here/pytorch_mlp.py" "${args[@]}" ${pytorch_extra[@]+"${pytorch_extra[@]}"})
        # Alternate which side goes first, so that a drift in the machine's speed does not favour one.
        if [ $((repeat % 2)) -eq 1 ]; then "${nc[@]}"; "${pt[@]}"; else "${pt[@]}"; "${nc[@]}"; fi
        # Beside the one-thread runs, as many one-thread trainings at once as the most threads measured: how fast those
        # cores train when our threads share nothing, the ceiling of the scaling table's NeuralCore ratio.
        if [ "$threads" -eq 1 ] && [ "$max_threads" -gt 1 ]; then
          copies=(--hidden "$hidden" --batch "$batch" --epochs "$epochs" --threads 1 --copies "$max_threads" --data "$data")
          run_one "neuralcore-copies-h$hidden-b$batch-r$repeat" "$repeat" dotnet "$nc_dll" "${copies[@]}"
        fi
      done
    done
  done
done

# The training step alone, on a fixed batch: what the kernels reach without data loading and batch gathering.
if [ "$steps" -eq 1 ]; then
  : >"$out/steps.jsonl"
  for repeat in $(seq 1 "$repeats"); do
    for threads in "${threads_values[@]}"; do
      for hidden in "${hidden_values[@]}"; do
        for batch in "${batch_values[@]}"; do
          wait_quiet
          measure_round_trip
          line=$(dotnet "$nc_dll" --step --hidden "$hidden" --batch "$batch" --threads "$threads" --seconds 2) \
            || die "the step timing of hidden $hidden, batch $batch, $threads thread(s) failed"
          echo "  step: $line"
          echo "${line%\}},\"repeat\":$repeat,\"round_trip_ns\":${round_trip:-null}}" >>"$out/steps.jsonl"
          wait_quiet
          measure_round_trip
          line=$(dotnet "$nc_dll" --step --step-data mnist --data "$data" --hidden "$hidden" --batch "$batch" --threads "$threads" --seconds 2) \
            || die "the step timing of hidden $hidden, batch $batch, $threads thread(s) on MNIST images failed"
          echo "  step on MNIST images: $line"
          echo "${line%\}},\"repeat\":$repeat,\"round_trip_ns\":${round_trip:-null}}" >>"$out/steps.jsonl"
        done
      done
    done
    if [ "$max_threads" -gt 1 ]; then
      for hidden in "${hidden_values[@]}"; do
        for batch in "${batch_values[@]}"; do
          wait_quiet
          measure_round_trip
          line=$(dotnet "$nc_dll" --step --hidden "$hidden" --batch "$batch" --threads 1 --copies "$max_threads" --seconds 2) \
            || die "the $max_threads step copies of hidden $hidden, batch $batch failed"
          echo "  copies: $line"
          echo "${line%\}},\"repeat\":$repeat,\"round_trip_ns\":${round_trip:-null}}" >>"$out/steps.jsonl"
        done
      done
    fi
  done
fi
echo "Measured in $(($(date +%s) - started)) s."
dotnet "$nc_dll" --pingpong --seconds 2 >"$out/pingpong-end.json"
dotnet "$nc_dll" --contention --seconds 1 >"$out/contention-end.json"
"$python" "$here/aggregate.py" --pingpong-end "$out"

report=("$python" "$here/aggregate.py" --runs "$runs" --environment "$out/environment.json" --pytorch-info "$out/pytorch_info.json" --out "$out")
[ "$steps" -eq 0 ] || report+=(--steps "$out/steps.jsonl")
"${report[@]}"
