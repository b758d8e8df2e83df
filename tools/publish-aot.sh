#!/usr/bin/env bash
# Publishes the MNIST trainer (samples/MnistMlp) as a NativeAOT linux-x64 binary, reports its size and any trim/AOT
# warnings, then trains one epoch with it. Not part of CI: NativeAOT links with clang, which this script installs
# with apt-get when it is missing.
#
# Usage: tools/publish-aot.sh [--no-run]
#   AOT_OUT=artifacts/aot   where the binary goes
#   AOT_ISA=x86-64-v4       instruction set (default: the sample's x86-64-v3, i.e. AVX2 + FMA; see MnistMlp.csproj)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

out=${AOT_OUT:-artifacts/aot}
run=1
[ "${1:-}" = --no-run ] && run=0

say() { echo "publish-aot: $*"; }

if ! command -v clang >/dev/null 2>&1; then
  say "installing clang (NativeAOT's linker driver)"
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang
fi

args=(samples/MnistMlp -c Release -r linux-x64 -p:PublishAot=true -o "$out")
[ -z "${AOT_ISA:-}" ] || args+=("-p:IlcInstructionSet=$AOT_ISA")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
say "dotnet publish ${args[*]}"
SECONDS=0
if ! dotnet publish "${args[@]}" 2>&1 | tee "$log"; then
  say "FAILED: dotnet publish"
  exit 1
fi
say "published in ${SECONDS} s"

# ILC reports trim/AOT problems as warnings (ILxxxx) without failing, and the SDK its own without a code ("warning :",
# such as a runtimeconfig.template.json that NativeAOT ignores); list them all.
warnings=$(grep -E 'warning (IL|NETSDK)[0-9]+|: warning :' "$log" | sed -E 's/^ *//' | sort -u || true)
if [ -n "$warnings" ]; then
  say "trim/AOT warnings:"
  echo "$warnings"
else
  say "no trim/AOT warnings"
fi

size() { stat -c %s "$1" | awk '{ printf "%d bytes (%.1f MiB)", $1, $1 / 1048576 }'; }
say "binary $out/MnistMlp: $(size "$out/MnistMlp")"
for lib in "$out"/*.so; do
  [ -e "$lib" ] && say "  plus $(basename "$lib"): $(size "$lib") (SkiaSharp's native plotting libraries, loaded at run time)"
done
[ -e "$out/MnistMlp.dbg" ] && say "  plus MnistMlp.dbg: $(size "$out/MnistMlp.dbg") (native symbols; not needed to run)"

if [ "$run" = 1 ]; then
  runs=$(mktemp -d)
  say "training one epoch: $out/MnistMlp --epochs 1 --data data/mnist --out $runs"
  "$out/MnistMlp" --epochs 1 --data data/mnist --out "$runs"
  rm -rf "$runs"
fi
