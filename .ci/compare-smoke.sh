#!/usr/bin/env bash
# The side-by-side harness without PyTorch (CI has none): every mode of NeuralCoreCompare for a fraction of a second,
# each answer checked as the JSON that benchmarks/compare/run.sh reads, and aggregate.py run over the newest published
# results, which must come out byte for byte as committed (a published table is reproducible from its raw data).
set -euo pipefail
cd "$(dirname "$0")/.."
dll=benchmarks/compare/NeuralCoreCompare/bin/Release/net10.0/NeuralCoreCompare.dll
[ -f "$dll" ] || { echo "compare smoke: $dll is not built"; exit 1; }

# Runs one mode and checks that its last line is a JSON object holding the given keys.
check() {
  local keys=$1 out
  shift
  out=$(dotnet "$dll" "$@" | tail -n 1) || { echo "compare smoke: '$*' failed"; return 1; }
  python3 -c '
import json, sys
line, keys = sys.argv[1], sys.argv[2].split(",")
try:
    value = json.loads(line)
except ValueError:
    sys.exit("not JSON: " + line[:200])
missing = [k for k in keys if k not in value]
if missing:
    sys.exit("missing " + ", ".join(missing) + " in " + line[:200])
' "$out" "$keys" || { echo "compare smoke: '$*' gave no usable answer"; return 1; }
  echo "ok: $*"
}

check gflops,bits --probe --seconds 0.2
check round_trip_ns_min,round_trip_ns_median --pingpong --seconds 0.2
check alone_lost,together_lost --contention --threads 2 --seconds 0.2
check step_us_min,step_us_median,gflops_best --step --hidden 16 --batch 32 --threads 2 --seconds 0.2
check step_us_min,step_us_median,gflops_best,data --step --step-data mnist --data data/mnist --hidden 16 --batch 32 --threads 2 --seconds 0.2
check step_us_min,gflops_best --step --hidden 16 --batch 32 --threads 1 --copies 2 --seconds 0.2
check epoch_seconds,final_train_loss,test_accuracy --hidden 16 --batch 128 --epochs 1 --threads 2

published=$(ls -d docs/results/compare-*/ | sort | tail -n 1)
published=${published%/}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$published"/*.json "$published"/*.jsonl "$scratch"/
report=(python3 benchmarks/compare/aggregate.py --runs "$scratch/runs.jsonl" --environment "$scratch/environment.json"
  --pytorch-info "$scratch/pytorch_info.json" --out "$scratch")
[ ! -f "$scratch/steps.jsonl" ] || report+=(--steps "$scratch/steps.jsonl")
"${report[@]}" >/dev/null
for file in table.md compare.json; do
  cmp -s "$scratch/$file" "$published/$file" ||
    { echo "compare smoke: aggregate.py no longer reproduces $published/$file from its raw data"; diff "$scratch/$file" "$published/$file" | head -n 20; exit 1; }
done
echo "ok: aggregate.py reproduces $published"
