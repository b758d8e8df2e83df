using BenchmarkDotNet.Attributes;
using NeuralCore.Threading;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The single-thread FMA peak, measured with the library's own probe (<see cref="FmaProbe"/>: independent chains
/// <c>acc = acc·m + c</c> held in registers, so nothing but the FMA units limits the rate). The "% of peak" column
/// divides every GFLOP/s figure by this one.
/// </summary>
public class FmaPeakBenchmarks
{
    /// <summary>Loop iterations per invocation: about 16.8 M FMA instructions, a few milliseconds.</summary>
    internal const int Iterations = 1 << 20;

    /// <summary>The vector width probed.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.SupportedIsaPaths))]
    public IsaPath Isa { get; set; }

    /// <summary>Always 1: the probe measures one core. A parameter so that it lines up with the GEMM rows.</summary>
    [Params(1)]
    public int Threads { get; set; } = 1;

    /// <summary>Floating-point operations of one invocation at <paramref name="isa"/>'s width.</summary>
    internal static double Flops(IsaPath isa) => FmaProbe.Flops(Iterations, Bits(isa));

    [GlobalSetup]
    public void Setup() => BenchmarkParams.RequireSupported(Isa);

    /// <summary>Runs the chains; the sum is returned so that they are not dead code.</summary>
    [Benchmark]
    public float Fma() => FmaProbe.Run(Iterations, Bits(Isa));

    private static int Bits(IsaPath isa) => isa == IsaPath.Vector512 ? 512 : 256;
}
