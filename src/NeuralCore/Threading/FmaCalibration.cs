using System.Diagnostics;

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
/// the result is below the processor count. The first measurement keeps trying, up to twelve times (about 6 ms), while
/// the scaling reads below the processor count: with three tries, 3 in 30 training processes on two real cores (AMD
/// EPYC Zen 5) started on one thread, until the next measurement a quarter of a second later; with twelve, none in 40.
/// </remarks>
internal static class FmaCalibration
{
    private const int Tries = 3;

    // The most tries of a persistent measurement (each about 0.5 ms).
    private const int PersistentTries = 12;

    // One probe for every measurement: a measurement taken again during training allocates nothing.
    private static readonly Probe s_probe = new();

    private static double s_oneThreadFlops;
    private static double s_oneThreadFlopsOverride;

    /// <summary>
    /// One thread's FMA rate (floating-point operations a second, the best of every try so far), or 0 before the
    /// first measurement; a test's <see cref="OneThreadFlopsOverride"/> replaces it.
    /// </summary>
    public static double OneThreadFlops =>
        Volatile.Read(ref s_oneThreadFlopsOverride) is > 0 and double forced ? forced : Volatile.Read(ref s_oneThreadFlops);

    /// <summary>Replaces <see cref="OneThreadFlops"/> (0 restores the measurement): tests fix the machine's speed with it.</summary>
    internal static double OneThreadFlopsOverride
    {
        get => Volatile.Read(ref s_oneThreadFlopsOverride);
        set => Volatile.Write(ref s_oneThreadFlopsOverride, value);
    }

    /// <summary>
    /// Threads whose FMA throughput adds up, between 1 and <paramref name="processors"/>; 0 when the measurement could
    /// not run now (another parallel run holds the workers), to be tried again later.
    /// </summary>
    /// <param name="processors">The threads to measure together.</param>
    /// <param name="persistent">Keep trying, up to twelve times, while the scaling reads below <paramref name="processors"/>.</param>
    public static int Measure(int processors, bool persistent = false)
    {
        if (processors <= 1 || FmaProbe.Bits == 0)
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
        int tries = persistent ? PersistentTries : Tries;
        for (int attempt = 0; attempt < tries && (attempt < Tries || best < processors - 0.5); attempt++)
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
            double flops = FmaProbe.Flops(Probe.Iterations, FmaProbe.Bits) * Stopwatch.Frequency / Math.Max(1, one);
            if (flops > Volatile.Read(ref s_oneThreadFlops))
            {
                Volatile.Write(ref s_oneThreadFlops, flops);
            }
        }

        // Two real cores measure about 1.9-2.0, two SMT siblings about 1.0-1.1.
        return Math.Clamp((int)Math.Round(best), 1, processors);
    }

    private sealed class Probe : IParallelWork
    {
        // About 0.25 ms of FMAs on current cores: long against a worker's wake-up, short against the calibration.
        public const int Iterations = 1 << 16;

        public float Sink { get; private set; }

        public void Execute(int index) => Sink += FmaProbe.Run(Iterations, FmaProbe.Bits);
    }
}
