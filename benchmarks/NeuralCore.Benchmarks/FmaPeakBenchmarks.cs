using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The single-thread FMA peak: <see cref="Chains"/> independent chains <c>acc = acc·m + c</c> held in registers, so
/// nothing but the FMA units limits the rate. The "% of peak" column divides every GFLOP/s figure by this one.
/// </summary>
/// <remarks>
/// Twelve chains cover the FMA latency times the FMA ports on current x64 cores (4 cycles × 2 ports = 8 in
/// flight) with room to spare, and with two more registers for m and c they fit the 16 registers of AVX2. The
/// chains converge to <c>c / (1 - m)</c>, so the values stay normal (no denormal slow path) and finite.
/// </remarks>
public class FmaPeakBenchmarks
{
    /// <summary>Independent accumulator chains per loop iteration.</summary>
    internal const int Chains = 12;

    /// <summary>Loop iterations per invocation: about 12.6 M FMA instructions, a few milliseconds.</summary>
    internal const int Iterations = 1 << 20;

    private float _multiplier;
    private float _addend;

    /// <summary>The vector width probed.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.SupportedIsaPaths))]
    public IsaPath Isa { get; set; }

    /// <summary>Always 1: the probe measures one core. A parameter so that it lines up with the GEMM rows.</summary>
    [Params(1)]
    public int Threads { get; set; } = 1;

    /// <summary>Floating-point operations of one invocation at <paramref name="isa"/>'s width.</summary>
    internal static double Flops(IsaPath isa)
    {
        int lanes = isa == IsaPath.Vector512 ? Vector512<float>.Count : Vector256<float>.Count;
        return 2.0 * Iterations * Chains * lanes;
    }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkParams.RequireSupported(Isa);

        // Read from fields so that the JIT cannot fold the chains into constants.
        _multiplier = 0.999f;
        _addend = 0.001f;
    }

    /// <summary>Runs the chains; the sum is returned so that they are not dead code.</summary>
    [Benchmark]
    public float Fma() => Isa == IsaPath.Vector512
        ? Chains512(_multiplier, _addend, Iterations)
        : Chains256(_multiplier, _addend, Iterations);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains512(float multiplier, float addend, int iterations)
    {
        Vector512<float> m = Vector512.Create(multiplier), c = Vector512.Create(addend);
        Vector512<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c);
            a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c);
            a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c);
            a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c);
            a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c);
            a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c);
            a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }

        Vector512<float> sum = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11);
        return Vector512.Sum(sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains256(float multiplier, float addend, int iterations)
    {
        Vector256<float> m = Vector256.Create(multiplier), c = Vector256.Create(addend);
        Vector256<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c);
            a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c);
            a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c);
            a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c);
            a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c);
            a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c);
            a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }

        Vector256<float> sum = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11);
        return Vector256.Sum(sum);
    }
}
