#!/usr/bin/env bash
# CI: prove the package path. Packs NeuralCore, NeuralCore.Datasets and NeuralCore.Onnx into a throwaway local feed
# under a unique prerelease version, creates a console project outside the solution that references them by
# PackageReference (restoring into its own packages
# folder, so no stale cached copy can stand in for it), compiles the example in docs/getting-started.md verbatim as its
# Program.cs and every other C# block of the documentation beside it (README.md, docs/*.md, the package readmes:
# .ci/doc-snippets.py says how; an example that does not compile fails naming its document and line), runs the
# getting-started example on the repository's MNIST copy and requires the test accuracy it prints to reach MIN_ACCURACY.
#
# Usage: .ci/consumer.sh   (optional: MIN_ACCURACY=0.95, CONSUMER_TIMEOUT=300 seconds, KEEP_CONSUMER=1 keeps the temp folder,
#                          CONSUMER_NO_BUILD=1 packs the Release build already in bin/ instead of building it again)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

repo=$(pwd)
data=$repo/data/mnist
min_accuracy=${MIN_ACCURACY:-0.95}
# The example trains 1 epoch of 784-128-10: about 1.5 s of training, 4 s in all, on the 2-core CI machine.
run_timeout=${CONSUMER_TIMEOUT:-300}
# CI has just built the solution in Release with warnings as errors: packing that build spares compiling the three
# libraries again (135 of CI's 1,056 s on the AVX2-only Zen 1 kind). The packages then carry the version suffix and the
# assemblies their build's own informational version.
pack_build=()
[ "${CONSUMER_NO_BUILD:-0}" = 1 ] && pack_build=(--no-build)

work=$(mktemp -d "${TMPDIR:-/tmp}/neuralcore-consumer.XXXXXX")
if [ "${KEEP_CONSUMER:-0}" = 1 ]; then
  echo "consumer: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
feed=$work/feed
packages=$work/packages
app=$work/app
snippets=$app/DocSnippets
mkdir -p "$feed" "$packages" "$app" "$snippets"

say() { echo "consumer: $*"; }
fail() { echo "consumer: FAILED: $*" >&2; exit 1; }
elapsed() { echo "$((SECONDS - $1)) s"; }

# 1. The examples, exactly as the documentation shows them: the csharp block after docs/getting-started.md's
# <!-- consumer-example --> line becomes the app's Program.cs, every other one a file in its DocSnippets folder (compiled;
# nothing calls them, though a [ModuleInitializer] among them, model-api.md's, runs at start-up and registers its
# layer), each line mapped back to its document by #line.
python3 .ci/doc-snippets.py "$snippets" "$app/Program.cs" || fail "could not extract the documentation's C# blocks"

# 2. Pack under a version no cache can hold: 0.1.0-ci.<UTC time>.<pid>.
suffix="ci.$(date -u +%Y%m%d%H%M%S).$$"
t=$SECONDS
for project in NeuralCore NeuralCore.Datasets NeuralCore.Onnx; do
  say "packing src/$project (Release, --version-suffix $suffix) into $feed"
  dotnet pack "src/$project" -c Release "${pack_build[@]}" -o "$feed" --version-suffix "$suffix" -nologo -v quiet ||
    fail "dotnet pack of $project failed"
done
nupkg=$(find "$feed" -maxdepth 1 -name 'NeuralCore.0*.nupkg' ! -name '*.snupkg' | head -n 1)
[ -n "$nupkg" ] || fail "no NeuralCore .nupkg in $feed"
version=$(basename "$nupkg" .nupkg)
version=${version#NeuralCore.}
for project in NeuralCore NeuralCore.Datasets NeuralCore.Onnx; do
  [ -f "$feed/$project.$version.nupkg" ] || fail "no package $project.$version.nupkg"
  [ -f "$feed/$project.$version.snupkg" ] || fail "no symbol package $project.$version.snupkg"
  say "packed $project $version: $(stat -c %s "$feed/$project.$version.nupkg") bytes"
done
say "packed in $(elapsed $t)"

# 3. A consumer project outside the repository. The empty Directory.Build.* files stop MSBuild from walking up into
# a parent folder's settings (should TMPDIR lie inside a repository); the nuget.config adds the local feed to the
# sources already configured for this user (System.Numerics.Tensors restores from those) and isolates the
# global packages folder.
echo '<Project />' >"$work/Directory.Build.props"
echo '<Project />' >"$work/Directory.Build.targets"
echo '<Project />' >"$work/Directory.Packages.props"
cat >"$work/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$packages" />
  </config>
  <packageSources>
    <add key="neuralcore-local" value="$feed" />
  </packageSources>
</configuration>
EOF
cat >"$app/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <InvariantGlobalization>true</InvariantGlobalization>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="NeuralCore" Version="$version" />
    <PackageReference Include="NeuralCore.Datasets" Version="$version" />
    <!-- For the documentation's ONNX examples only; the getting-started example uses the first two, as it says. -->
    <PackageReference Include="NeuralCore.Onnx" Version="$version" />
  </ItemGroup>
</Project>
EOF

# 4. Restore (from the local feed and the configured sources), build with warnings as errors, and check what came.
# The examples share the app's project: a second project cost 5 to 13 s more in restore and build on the 2-core machine,
# one project none measurable. Being an application also spares model-api.md's custom layer CA2255, which a library's
# [ModuleInitializer] draws.
t=$SECONDS
say "restoring and building the consumer in $app, with the documentation's other examples in $snippets"
build_log=$work/build.log
if ! dotnet build "$app/Consumer.csproj" -c Release -nologo -v quiet >"$build_log" 2>&1; then
  cat "$build_log"
  # The #line directives make the compiler name the document and line; list each once, relative to the repository.
  doc_errors=$(grep -oE '[^[:space:]]+\.md\([0-9]+,[0-9]+\): (error|warning) [A-Z]+[0-9]+: [^[]*' "$build_log" |
    sed -E "s|^$repo/||; s|\(([0-9]+),([0-9]+)\): |:\1:\2: |; s/ +$//" | sort -t: -k1,1 -k2,2n -k3,3n | uniq || true)
  if [ -n "$doc_errors" ]; then
    echo "consumer: these documentation examples do not compile against the packages:" >&2
    sed 's/^/  /' <<<"$doc_errors" >&2
    fail "$(wc -l <<<"$doc_errors") compiler error(s) in the documentation's C# blocks: fix the document (or the API it shows); an excerpt names the variables it assumes in a '<!-- snippet: given Type name, ... -->' line before its fence (.ci/doc-snippets.py)"
  fi
  fail "the consumer did not build against the package"
fi
restored=$packages/neuralcore/$version
[ -f "$restored/neuralcore.$version.nupkg" ] || fail "NeuralCore $version was not restored into $packages"
cmp -s "$restored/neuralcore.$version.nupkg" "$nupkg" || fail "the restored NeuralCore differs from the one just packed"
# Every package: an MIT licence, a README, the repository, release notes, an icon, and only the dependencies it should have.
check_package() {
  local id=$1 expected=$2 nuspec deps
  nuspec=$(unzip -p "$feed/$id.$version.nupkg" "$id.nuspec")
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id nuspec: no MIT licence expression"
  grep -q '<readme>README.md</readme>' <<<"$nuspec" || fail "$id nuspec: no readme"
  grep -q '<repository type="git"' <<<"$nuspec" || fail "$id nuspec: no git repository"
  grep -q '<icon>icon.png</icon>' <<<"$nuspec" || fail "$id nuspec: no icon"
  grep -q '<releaseNotes>' <<<"$nuspec" || fail "$id nuspec: no release notes"
  # Listings are captured before grep -q reads them: with pipefail, grep -q quitting at its first match can make the
  # writer die of SIGPIPE and fail the pipeline (it failed CI once the NeuralCore package grew).
  local readme
  readme=$(unzip -p "$feed/$id.$version.nupkg" README.md)
  grep -qE '\]\((\.\./|docs/|[a-z-]+\.md)' <<<"$readme" &&
    fail "$id: the package README has relative links, which nuget.org cannot follow"
  deps=$(grep -o '<dependency id="[^"]*"' <<<"$nuspec" | sed 's/.*id="//; s/"$//' | sort -u | paste -sd ' ')
  [ "$deps" = "$expected" ] || fail "$id nuspec: expected the dependencies '$expected', found '$deps'"
  say "$id: dependencies $deps"
}
check_package NeuralCore "System.Numerics.Tensors"
check_package NeuralCore.Datasets "NeuralCore Sep"
check_package NeuralCore.Onnx "Google.Protobuf NeuralCore"
listing=$(unzip -l "$feed/NeuralCore.$version.nupkg")
grep -q 'lib/net10.0/NeuralCore.dll' <<<"$listing" || fail "NeuralCore: no lib/net10.0/NeuralCore.dll"
say "built in $(elapsed $t); restored the packed packages $version; compiled the getting-started example and $(find "$snippets" -maxdepth 1 -name '*_L*.cs' | wc -l) other documentation blocks"

# 5. Run it on the repository's MNIST copy.
t=$SECONDS
say "running the example: dotnet run -- $data"
log=$work/run.log
set +e
(cd "$app" && timeout "$run_timeout" dotnet run -c Release --no-build -- "$data") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || fail "the example exited with $rc"
accuracy=$(sed -nE 's/^Test accuracy: ([0-9]+[.,][0-9]+).*/\1/p' "$log" | tail -n 1 | tr , .)
[ -n "$accuracy" ] || fail "the example printed no 'Test accuracy: ' line"
[ -s "$app/mnist.ncm" ] || fail "the example saved no model file (mnist.ncm)"
awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }' ||
  fail "test accuracy $accuracy is below $min_accuracy"
say "ran in $(elapsed $t); test accuracy $accuracy >= $min_accuracy; saved mnist.ncm ($(stat -c %s "$app/mnist.ncm") bytes)"
say "passed"
