using System.Diagnostics;

namespace NeuralCore;

/// <summary>
/// The process-wide degree of parallelism used by NeuralCore's kernels.
/// </summary>
/// <remarks>
/// The thread count only decides which thread computes what: a matrix product adds the k blocks of every element in
/// the same order whichever thread summed them, and element-wise work is the same per element; so every result is
/// bitwise identical whatever these values are.
/// </remarks>
public static class Parallelism
{
    private static readonly object s_gate = new();
    private static int s_degree = Environment.ProcessorCount;
    private static int s_fmaThreads;
    private static int s_fmaOverride;
    private static int s_fmaAttempts;
    private static long s_fmaNextAttempt;

    // Seconds after the previous measurement at which FmaThreads measures again while below the processor count.
    private static readonly double[] s_remeasureDelays = [0.25, 1, 4, 15];

    /// <summary>
    /// Gets or sets the largest number of threads (the calling thread included) that one kernel call may use.
    /// Defaults to <see cref="Environment.ProcessorCount"/>; 1 runs everything on the calling thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1 or greater than 256.</exception>
    public static int DegreeOfParallelism
    {
        get => Volatile.Read(ref s_degree);
        set
        {
            if (value is < 1 or > 256)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    "DegreeOfParallelism must be between 1 and 256.");
            }

            Volatile.Write(ref s_degree, value);
        }
    }

    /// <summary>
    /// How many threads can run fused multiply-adds at full speed at once on this machine, measured at the first call
    /// (a few milliseconds) and again a few times over the next seconds while it is below the processor count: the
    /// processor count where each has its own FMA units, fewer where several share one core's (SMT siblings, or vCPUs
    /// placed on one core). Matrix products use at most this many threads, since more would only add the cost of
    /// splitting them; results never depend on it.
    /// </summary>
    public static int FmaThreads
    {
        get
        {
            if (Volatile.Read(ref s_fmaOverride) is > 0 and int forced)
            {
                return forced;
            }

            int processors = Math.Min(Environment.ProcessorCount, 64);
            int measured = Volatile.Read(ref s_fmaThreads);
            if (measured == processors || (measured > 0 && Stopwatch.GetTimestamp() < Volatile.Read(ref s_fmaNextAttempt)))
            {
                return measured;
            }

            if (!Monitor.TryEnter(s_gate))
            {
                // Another thread is measuring: use what is known.
                return measured > 0 ? measured : processors;
            }

            try
            {
                measured = s_fmaThreads;
                if (measured < processors && (measured == 0 || Stopwatch.GetTimestamp() >= s_fmaNextAttempt))
                {
                    // 0: not measurable right now (the workers are busy with another caller's product); that does not
                    // count as an attempt.
                    int now = Threading.FmaCalibration.Measure(processors);
                    if (now > 0)
                    {
                        measured = Math.Max(measured, now);
                        Volatile.Write(ref s_fmaThreads, measured);
                        long delay = s_fmaAttempts < s_remeasureDelays.Length
                            ? (long)(s_remeasureDelays[s_fmaAttempts++] * Stopwatch.Frequency)
                            : long.MaxValue / 2;
                        Volatile.Write(ref s_fmaNextAttempt, Stopwatch.GetTimestamp() + delay);
                    }
                }

                return measured > 0 ? measured : processors;
            }
            finally
            {
                Monitor.Exit(s_gate);
            }
        }
    }

    /// <summary>Threads for FMA-bound work: <see cref="DegreeOfParallelism"/> capped by <see cref="FmaThreads"/>.</summary>
    internal static int ComputeThreads => DegreeOfParallelism is var degree && degree <= 1 ? 1 : Math.Min(degree, FmaThreads);

    /// <summary>Replaces the measurement (0 restores it): tests use it to exercise more threads than the machine has.</summary>
    internal static int FmaThreadsOverride
    {
        get => Volatile.Read(ref s_fmaOverride);
        set => Volatile.Write(ref s_fmaOverride, value);
    }
}
