using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Threading;

/// <summary>
/// Measures how many threads can run fused multiply-adds at full speed at once: the processors, or fewer where
/// several of them share one core's FMA units (SMT siblings, or vCPUs a hypervisor placed on one core).
/// </summary>
/// <remarks>
/// The machines this project runs on differ exactly there: on two real cores a product split in two runs 1.8-2x
/// faster, while on two vCPUs sharing one core's FMA units it cannot run faster at all, and the split only adds
/// its overhead. Nothing the operating system reports tells them apart inside a VM, so this measures it, once per
/// process: the same FMA loop on one thread, then on every thread of the pool at once. Interference only ever lowers
/// the measured scaling (at process start the runtime's background compiler often holds a core), so the best of three
/// tries is kept, and <see cref="Parallelism.FmaThreads"/> measures again a few times over the first seconds while
/// the result is below the processor count.
/// </remarks>
internal static class FmaCalibration
{
    private const int Tries = 3;

    // One probe for every measurement: a measurement taken again during training allocates nothing.
    private static readonly Probe s_probe = new();

    /// <summary>
    /// Threads whose FMA throughput adds up, between 1 and <paramref name="processors"/>; 0 when the measurement could
    /// not run now (another parallel run holds the workers), to be tried again later.
    /// </summary>
    public static int Measure(int processors)
    {
        if (processors <= 1 || !HasVectorFma)
        {
            return Math.Max(1, processors);
        }

        Probe work = s_probe;
        if (!WorkerPool.TryRun(work, processors, processors))
        {
            return 0;
        }

        work.Execute(0);
        double best = 0;
        for (int attempt = 0; attempt < Tries; attempt++)
        {
            long start = Stopwatch.GetTimestamp();
            work.Execute(0);
            long one = Stopwatch.GetTimestamp() - start;
            start = Stopwatch.GetTimestamp();
            if (!WorkerPool.TryRun(work, processors, processors))
            {
                return 0;
            }

            long all = Stopwatch.GetTimestamp() - start;
            best = Math.Max(best, processors * (double)one / Math.Max(1, all));
        }

        // Two real cores measure about 1.9-2.0, two SMT siblings about 1.0-1.1.
        return Math.Clamp((int)Math.Round(best), 1, processors);
    }

    private static bool HasVectorFma => Fma.IsSupported || AdvSimd.IsSupported;

    private sealed class Probe : IParallelWork
    {
        // About 0.25 ms of FMAs on current cores: long against a worker's wake-up, short against the calibration.
        private const int Iterations = 1 << 16;

        public float Sink { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            float sum = Vector512.IsHardwareAccelerated ? Chains512(Iterations) : Chains128(Iterations);
            Sink += sum;
        }

        // Independent accumulator chains, as many as latency times ports on any current core, so only the FMA units
        // limit the rate. They converge to c / (1 - m): values stay normal.
        private static float Chains512(int iterations)
        {
            Vector512<float> m = Vector512.Create(0.999f), c = Vector512.Create(0.001f);
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

            return Vector512.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11));
        }

        private static float Chains128(int iterations)
        {
            Vector128<float> m = Vector128.Create(0.999f), c = Vector128.Create(0.001f);
            Vector128<float> a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c, a8 = c, a9 = c, a10 = c, a11 = c;
            for (int i = 0; i < iterations * 4; i++)
            {
                a0 = Vector128.FusedMultiplyAdd(a0, m, c);
                a1 = Vector128.FusedMultiplyAdd(a1, m, c);
                a2 = Vector128.FusedMultiplyAdd(a2, m, c);
                a3 = Vector128.FusedMultiplyAdd(a3, m, c);
                a4 = Vector128.FusedMultiplyAdd(a4, m, c);
                a5 = Vector128.FusedMultiplyAdd(a5, m, c);
                a6 = Vector128.FusedMultiplyAdd(a6, m, c);
                a7 = Vector128.FusedMultiplyAdd(a7, m, c);
                a8 = Vector128.FusedMultiplyAdd(a8, m, c);
                a9 = Vector128.FusedMultiplyAdd(a9, m, c);
                a10 = Vector128.FusedMultiplyAdd(a10, m, c);
                a11 = Vector128.FusedMultiplyAdd(a11, m, c);
            }

            return Vector128.Sum((a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7) + (a8 + a9) + (a10 + a11));
        }
    }
}
