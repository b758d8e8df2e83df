using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NeuralCore.Benchmarks;

/// <summary>The floating-point work and the measured rate of a benchmark case.</summary>
internal static class FlopRates
{
    /// <summary>FLOPs of one invocation of the case's method, or null for a benchmark without a known count.</summary>
    public static double? FlopsOf(BenchmarkCase benchmarkCase)
    {
        Type type = benchmarkCase.Descriptor.Type;
        string method = benchmarkCase.Descriptor.WorkloadMethod.Name;
        if (type == typeof(GemmBenchmarks) && Parameter(benchmarkCase, nameof(GemmBenchmarks.Hidden)) is int hidden)
        {
            return GemmBenchmarks.ShapeOf(method, hidden).Flops;
        }

        if (type == typeof(TrainingStepBenchmarks)
            && Parameter(benchmarkCase, nameof(TrainingStepBenchmarks.Hidden)) is int h
            && Parameter(benchmarkCase, nameof(TrainingStepBenchmarks.Batch)) is int batch)
        {
            return TrainingStepBenchmarks.Flops(h, batch);
        }

        if (type == typeof(EpochBenchmarks)
            && Parameter(benchmarkCase, nameof(EpochBenchmarks.Hidden)) is int eh
            && Parameter(benchmarkCase, nameof(EpochBenchmarks.Batch)) is int eb)
        {
            return EpochBenchmarks.Flops(eh, eb);
        }

        if (type == typeof(GemmSquareBenchmarks))
        {
            return GemmSquareBenchmarks.Shape.Flops;
        }

        if (type == typeof(FmaPeakBenchmarks) && Parameter(benchmarkCase, nameof(FmaPeakBenchmarks.Isa)) is IsaPath isa)
        {
            return FmaPeakBenchmarks.Flops(isa);
        }

        return null;
    }

    /// <summary>GFLOP/s from the mean time per invocation, or null when the case has no FLOP count or no result.</summary>
    public static double? Gflops(Summary summary, BenchmarkCase benchmarkCase)
    {
        // ResultStatistics is per operation, in nanoseconds, so FLOP per ns is GFLOP/s.
        double? mean = summary.HasReport(benchmarkCase) ? summary[benchmarkCase]?.ResultStatistics?.Mean : null;
        return FlopsOf(benchmarkCase) is double flops && mean > 0 ? flops / mean : null;
    }

    /// <summary>
    /// The single-thread GFLOP/s of the FMA probe at <paramref name="isa"/> in the same job, or null when the probe is
    /// not in <paramref name="summary"/> (filtered out, not joined, or failed).
    /// </summary>
    public static double? PeakGflops(Summary summary, BenchmarkCase benchmarkCase, IsaPath isa) =>
        summary.BenchmarksCases
            .Where(probe => probe.Descriptor.Type == typeof(FmaPeakBenchmarks)
                && probe.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo
                && Parameter(probe, nameof(FmaPeakBenchmarks.Isa)) is IsaPath probeIsa && probeIsa == isa)
            .Select(probe => Gflops(summary, probe))
            .FirstOrDefault(gflops => gflops is not null);

    public static object? Parameter(BenchmarkCase benchmarkCase, string name) =>
        benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
}

/// <summary>Shared plumbing of the two FLOP columns: shown always, after the statistics, right-aligned.</summary>
internal abstract class FlopColumn : IColumn
{
    public abstract string Id { get; }
    public abstract string ColumnName { get; }
    public abstract string Legend { get; }
    public abstract int PriorityInCategory { get; }
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        Value(summary, benchmarkCase) is double value
            ? Format(value, style.CultureInfo ?? CultureInfo.InvariantCulture)
            : "-";

    public override string ToString() => ColumnName;

    protected abstract double? Value(Summary summary, BenchmarkCase benchmarkCase);
    protected abstract string Format(double value, CultureInfo culture);
}

/// <summary>GFLOP/s = FLOPs per invocation / mean time.</summary>
internal sealed class GflopsColumn : FlopColumn
{
    public override string Id => "NeuralCore.Gflops";
    public override string ColumnName => "GFLOP/s";
    public override int PriorityInCategory => 0;
    public override string Legend => "FLOPs per invocation (2 per multiply-add) / mean time; '-' when unknown";

    protected override double? Value(Summary summary, BenchmarkCase benchmarkCase) =>
        FlopRates.Gflops(summary, benchmarkCase);

    protected override string Format(double value, CultureInfo culture) => value.ToString("F1", culture);
}

/// <summary>GFLOP/s as a percentage of (the same-width FMA probe's single-thread GFLOP/s × Threads).</summary>
internal sealed class PercentOfPeakColumn : FlopColumn
{
    public override string Id => "NeuralCore.PercentOfPeak";
    public override string ColumnName => "% of peak";
    public override int PriorityInCategory => 1;
    public override string Legend =>
        "GFLOP/s / (FmaPeakBenchmarks GFLOP/s at the same Isa (the default path when there is no Isa parameter), one thread, same run × Threads); '-' when the probe is not in the run";

    protected override double? Value(Summary summary, BenchmarkCase benchmarkCase)
    {
        if (FlopRates.Gflops(summary, benchmarkCase) is not double gflops
            || (FlopRates.Parameter(benchmarkCase, nameof(GemmBenchmarks.Isa)) as IsaPath? ?? BenchmarkParams.DefaultIsaPath) is not IsaPath isa
            || FlopRates.PeakGflops(summary, benchmarkCase, isa) is not double peak)
        {
            return null;
        }

        int threads = FlopRates.Parameter(benchmarkCase, nameof(GemmBenchmarks.Threads)) as int? ?? 1;
        return 100.0 * gflops / (peak * threads);
    }

    protected override string Format(double value, CultureInfo culture) => value.ToString("F1", culture) + "%";
}
