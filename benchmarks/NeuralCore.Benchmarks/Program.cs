using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Runs the benchmarks chosen on the command line (BenchmarkDotNet's options: <c>--filter '*Gemm*' --job short</c>)
/// and, unlike BenchmarkDotNet, exits with 1 when a benchmark failed or nothing ran.
/// </summary>
internal static class Program
{
    // Options that print something instead of running benchmarks, so an empty run is what was asked for.
    private static readonly string[] s_informationalOptions = ["--list", "--info", "--help", "-h", "-?", "--version"];

    public static int Main(string[] args)
    {
        if (args is ["--smoke"])
        {
            return Smoke.Run(Console.Out);
        }

        // One joined summary, so that every GEMM row can find the FMA probe's row to compute its "% of peak".
        IConfig config = ManualConfig.Create(DefaultConfig.Instance)
            .AddColumn(new GflopsColumn(), new PercentOfPeakColumn())
            .WithOptions(ConfigOptions.JoinSummary);

        Summary[] summaries = [.. BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config)];

        string? failure = FindFailure(summaries, args);
        if (failure is null)
        {
            return 0;
        }

        Console.Error.WriteLine($"Benchmark run failed: {failure}");
        return 1;
    }

    /// <summary>Why the run failed, in one line, or null when every selected benchmark produced results.</summary>
    internal static string? FindFailure(IReadOnlyList<Summary> summaries, IReadOnlyList<string> args)
    {
        foreach (Summary summary in summaries)
        {
            if (summary.HasCriticalValidationErrors)
            {
                string message = summary.ValidationErrors.First(error => error.IsCritical).Message;
                return $"critical validation error: {OneLine(message)}";
            }
        }

        var cases = summaries.SelectMany(summary => summary.BenchmarksCases.Select(c => (summary, c))).ToList();
        if (cases.Count == 0)
        {
            return args.Any(arg => s_informationalOptions.Contains(arg, StringComparer.OrdinalIgnoreCase))
                ? null
                : "no benchmark ran (does the filter match any? try --list flat)";
        }

        var failed = cases
            .Where(x => !x.summary.HasReport(x.c)
                || x.summary[x.c] is not { Success: true, ResultStatistics: not null })
            .Select(x => x.c)
            .ToList();
        return failed.Count == 0
            ? null
            : $"{failed.Count} of {cases.Count} benchmarks have no results, first {Describe(failed[0])} (see the log above)";
    }

    // "GemmBenchmarks.Forward [Hidden=16, Threads=1, Isa=Vector512] job Dry"
    private static string Describe(BenchmarkCase benchmarkCase)
    {
        string parameters = benchmarkCase.HasParameters ? $" {benchmarkCase.Parameters.DisplayInfo}" : "";
        return $"{benchmarkCase.Descriptor.DisplayInfo}{parameters} job {benchmarkCase.Job.Id}";
    }

    private static string OneLine(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.TrimEntries));
}
