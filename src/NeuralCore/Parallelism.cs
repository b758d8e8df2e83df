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

    // The calling thread's cap on parallel regions (LimitTo); 0 when none.
    [ThreadStatic]
    private static int t_limit;
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
            Check.InRange(value, 1, 256, nameof(DegreeOfParallelism), "a degree of parallelism", paramName: nameof(value));
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
                    // The first measurement is the one the runtime's start-up work disturbs most, and a low one
                    // holds a process on one thread until the next: it keeps trying.
                    int now = Threading.FmaCalibration.Measure(processors, persistent: s_fmaAttempts == 0);
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

    /// <summary>
    /// Threads any parallel region started on the calling thread may use: <see cref="DegreeOfParallelism"/>, capped
    /// inside a <see cref="LimitTo"/> scope.
    /// </summary>
    internal static int CallerThreads => t_limit > 0 ? Math.Min(t_limit, DegreeOfParallelism) : DegreeOfParallelism;

    /// <summary>Threads for FMA-bound work: <see cref="CallerThreads"/> capped by <see cref="FmaThreads"/>.</summary>
    internal static int ComputeThreads => CallerThreads is var degree && degree <= 1 ? 1 : Math.Min(degree, FmaThreads);

    /// <summary>
    /// Caps the threads of every parallel region the calling thread starts until the returned scope is disposed (the
    /// previous cap is then restored, so scopes nest). A training step too small to gain from threads runs in such a
    /// scope (<see cref="Models.Sequential"/>): each product of it could gain from a second thread alone, but the step
    /// then moves its batch and its weights between cores several times, which costs more (docs/benchmarks.md).
    /// Results never depend on it.
    /// </summary>
    /// <param name="threads">The most threads, at least 1.</param>
    internal static ThreadLimit LimitTo(int threads)
    {
        int previous = t_limit;
        t_limit = Math.Max(1, threads);
        return new ThreadLimit(previous);
    }

    /// <summary>Restores the cap that was in force before <see cref="LimitTo"/>.</summary>
    internal readonly struct ThreadLimit(int previous) : IDisposable
    {
        public void Dispose() => t_limit = previous;
    }

    /// <summary>Replaces the measurement (0 restores it): tests use it to exercise more threads than the machine has.</summary>
    internal static int FmaThreadsOverride
    {
        get => Volatile.Read(ref s_fmaOverride);
        set => Volatile.Write(ref s_fmaOverride, value);
    }
}
