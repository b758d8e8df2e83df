using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NeuralCore;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCoreCompare;

/// <summary>
/// Measurements that run.sh takes beside the epochs: the FMA peak of one core (the denominator of every "% of
/// peak"), and the training step alone on a fixed batch (no data loading or batch gathering).
/// </summary>
internal static class Probes
{
    /// <summary>FMA instructions per loop iteration: 16 independent chains, more than latency x ports on any x64 core.</summary>
    private const int Chains = 16;

    /// <summary>Runs the FMA chains for <paramref name="seconds"/> and returns GFLOP/s at the widest hardware width.</summary>
    public static (double Gflops, int Bits) Fma(double seconds)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int lanes = wide ? 16 : 8;
        const int iterations = 1 << 18;
        float sink = 0;

        // Warm up (tiering, clocks) for a tenth of the time, then measure the best of several slices: the highest
        // rate is the peak, lower ones are interference.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < seconds / 10)
        {
            sink += wide ? Chains512(0.999f, 0.001f, iterations) : Chains256(0.999f, 0.001f, iterations);
        }

        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 16; i++)
            {
                sink += wide ? Chains512(0.999f, 0.001f, iterations) : Chains256(0.999f, 0.001f, iterations);
            }

            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, 16.0 * iterations * Chains * lanes * 2 / elapsed / 1e9);
        }

        GC.KeepAlive(sink);
        return (best, wide ? 512 : 256);
    }

    /// <summary>
    /// Times TrainStep on one fixed random batch: warm-up, then <paramref name="seconds"/> of steps in slices; returns
    /// the fastest and the median slice's microseconds per step.
    /// </summary>
    public static (double MinMicroseconds, double MedianMicroseconds) Step(int hidden, int batch, double seconds)
    {
        var random = new Random(20261130);
        float[] x = [.. Enumerable.Range(0, batch * 784).Select(_ => (float)random.NextDouble())];
        int[] y = [.. Enumerable.Range(0, batch).Select(_ => random.Next(10))];
        var model = new Sequential(784, seed: 1).Add(new Dense(hidden)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(new AdamOptions(1e-3f, Epsilon: 1e-7f)), batch);
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Max(0.3, seconds / 5))
        {
            model.TrainStep(x, y, batch);
        }

        var slices = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || slices.Count < 5)
        {
            const int steps = 20;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++)
            {
                model.TrainStep(x, y, batch);
            }

            slices.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps);
        }

        slices.Sort();
        return (slices[0], slices[slices.Count / 2]);
    }

    /// <summary>GEMM FLOPs of one step (run.sh and aggregate.py count the same).</summary>
    public static double StepFlops(int hidden, int batch) => (2.0 * 2 * batch * 784 * hidden) + (3 * 2.0 * batch * hidden * 10);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains512(float multiplier, float addend, int iterations)
    {
        Vector512<float> m = Vector512.Create(multiplier), c = Vector512.Create(addend);
        Vector512<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c;
        Vector512<float> a8 = c, a9 = c, a10 = c, a11 = c, a12 = c, a13 = c, a14 = c, a15 = c;
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
            a12 = Vector512.FusedMultiplyAdd(a12, m, c);
            a13 = Vector512.FusedMultiplyAdd(a13, m, c);
            a14 = Vector512.FusedMultiplyAdd(a14, m, c);
            a15 = Vector512.FusedMultiplyAdd(a15, m, c);
        }

        return Vector512.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11) + (a12 + a13) + (a14 + a15));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains256(float multiplier, float addend, int iterations)
    {
        Vector256<float> m = Vector256.Create(multiplier), c = Vector256.Create(addend);
        Vector256<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c;
        Vector256<float> a8 = c, a9 = c, a10 = c, a11 = c, a12 = c, a13 = c, a14 = c, a15 = c;
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
            a12 = Vector256.FusedMultiplyAdd(a12, m, c);
            a13 = Vector256.FusedMultiplyAdd(a13, m, c);
            a14 = Vector256.FusedMultiplyAdd(a14, m, c);
            a15 = Vector256.FusedMultiplyAdd(a15, m, c);
        }

        return Vector256.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11) + (a12 + a13) + (a14 + a15));
    }
}
