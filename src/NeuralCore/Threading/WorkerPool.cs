using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Threading;

/// <summary>A unit of parallel work: a fixed number of independent items, each identified by its index.</summary>
internal interface IParallelWork
{
    /// <summary>Runs item <paramref name="index"/>; items never write the same memory.</summary>
    void Execute(int index);
}

/// <summary>
/// A small pool of dedicated worker threads that runs <see cref="IParallelWork"/> items without allocating.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Parallel.For(int, int, Action{int})"/> allocates on every call and wakes pool threads slowly; a training
/// step opens about a dozen parallel regions of a few to a few hundred microseconds each, so a region's fork and join
/// must cost well under a microsecond. What costs time is moving cache lines between cores (about 0.2 µs each way on
/// the machines measured), so a run is arranged to move as few as possible:
/// </para>
/// <list type="bullet">
/// <item>The run's description (work, item count, participants, generation) shares one cache line, read by a worker in
/// one transfer. A seqlock-like "writing" bit makes the worker's snapshot of it consistent.</item>
/// <item>Participant p owns items p, p + T, p + 2T, …: it claims them on cache lines that only it wrote last time, so
/// claims do not bounce between cores. Items a late participant has not claimed yet are taken over by the others
/// (a claim is a compare-and-swap of the run's generation into the item's word), so a worker the scheduler has not
/// woken never holds the caller up for more than the items it already started.</item>
/// <item>Workers spin on the description's line with the CPU's pause hint, never yielding to the scheduler (which
/// costs microseconds in a VM), for a millisecond after each run, and only then block.</item>
/// </list>
/// <para>
/// One run owns the workers at a time; a concurrent or nested call runs its items on its own thread, which gives the
/// same results because items are independent.
/// </para>
/// </remarks>
internal static class WorkerPool
{
    /// <summary>The most items one run may have.</summary>
    public const int MaxItems = 256;

    // Spinning this long after a run lets the next region of a training step, and the next step, find the workers
    // awake; the serial stretches between regions (batch gathering, the loss, small layers) are far shorter.
    private static readonly long s_spinTicks = Stopwatch.Frequency / 1000; // 1 millisecond

    private static readonly object s_gate = new();
    private static readonly Descriptor s_run = new();
    private static readonly Counters s_counters = new();

    // One claim word per item, 16 longs (128 bytes) apart: the generation of the run that last claimed the item.
    private static readonly long[] s_claims = new long[MaxItems * ClaimStride];
    private static Worker[] s_workers = [];
    private static int s_busy;
    private static Exception? s_error;

    // The current run's work, published with the descriptor (kept apart from it so that the descriptor holds no
    // object reference and keeps its explicit layout).
    private static IParallelWork? s_work;

    private const int ClaimStride = 16;

    // Items run by a thread other than their owner, since the process started (rare: an owner far behind).
    private static long s_takenOver;

    /// <summary>How many items, since the process started, a thread ran in place of their late owner (for tests).</summary>
    public static long TakenOver => Volatile.Read(ref s_takenOver);

    // What each thread that runs items calls, between runs, when the kernels' per-thread buffers have grown on some
    // thread since it last did (ReserveGrew), so that a worker can then run any item without allocating. The
    // version sits on a cache line of its own: every worker reads it after every run, and it changes only when a buffer
    // grows, so it must not share a line with the words each run writes (s_busy, the claims).
    private static Action? s_reserve;
    private static readonly ReserveVersion s_reserveVersion = new();

    [ThreadStatic]
    private static int t_reserved;

    // True on a pool worker, and on a caller while it runs items of its own run.
    [ThreadStatic]
    private static bool t_inRun;

    /// <summary>
    /// Whether the calling thread is running items of a run (a pool worker, or a caller inside <see cref="TryRun"/>):
    /// only the buffers such items grow need reserving on the other threads. A product run serially, outside any run,
    /// grows only its own thread's (the caller of a one-thread model, or of a larger batch's prediction), which no
    /// worker will take over.
    /// </summary>
    internal static bool InRun => t_inRun;

    /// <summary>
    /// Says that a per-thread buffer grew on a thread running items: every pool worker calls <paramref name="reserve"/>
    /// once after its next run, off that run's critical path, to grow its own. The callers of runs do not: a reserve
    /// in the middle of a step could replace a buffer a product still points into, and at a step's start it would
    /// allocate in a training loop whenever another model in the process grew one. So a caller that takes over a late
    /// worker's item may still allocate there once, where that item asks for more than the caller's own items and
    /// serial products ever did (the take-over test checks the usual case: the caller's items are the larger).
    /// </summary>
    internal static void ReserveGrew(Action reserve)
    {
        Volatile.Write(ref s_reserve, reserve);
        _ = Interlocked.Increment(ref s_reserveVersion.Value);
    }

    // Calls the reserve ReserveGrew registered when the buffers grew since this worker last did; a worker between runs
    // holds no pointer into its buffers. A reserve that finds no memory is left undone: the item that needs the buffer
    // then reports it, as it did before.
    private static void ReserveIfBehind()
    {
        int version = Volatile.Read(ref s_reserveVersion.Value);
        if (version != t_reserved && Volatile.Read(ref s_reserve) is { } reserve)
        {
            t_reserved = version;
            try
            {
                reserve();
            }
            catch (Exception ex) when (ex is OutOfMemoryException or InsufficientMemoryException)
            {
            }
        }
    }

    /// <summary>
    /// Runs items 0..count-1 on up to <paramref name="maxThreads"/> threads, the caller included, and never more than
    /// <see cref="Parallelism.CallerThreads"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> exceeds <see cref="MaxItems"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(IParallelWork work, int count, int maxThreads)
    {
        if (!TryRun(work, count, Math.Min(maxThreads, Parallelism.CallerThreads)))
        {
            for (int i = 0; i < count; i++)
            {
                work.Execute(i);
            }
        }
    }

    /// <summary>
    /// Runs items 0..count-1 on <paramref name="threads"/> threads (the caller included, not capped by
    /// <see cref="Parallelism.DegreeOfParallelism"/>) and returns true; returns false without running anything when
    /// fewer than two threads are asked for or another run holds the workers.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> exceeds <see cref="MaxItems"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryRun(IParallelWork work, int count, int threads)
    {
        Check.AtMost(count, MaxItems, nameof(count), "a number of items");
        threads = Math.Min(threads, count);
        if (threads <= 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            return false;
        }

        Descriptor run = s_run;
        try
        {
            EnsureWorkers(threads - 1);
            s_error = null;
            Volatile.Write(ref s_counters.Pending, count);

            long generation = (run.State >> StateShift) + 1;

            // Writing bit first (a full fence: the fields below cannot be seen before it), so that a worker that reads
            // the fields while they change sees the bit, or a newer generation, on its second look and retries.
            Interlocked.Exchange(ref run.State, (generation << StateShift) | WritingBit);
            Volatile.Write(ref s_work, work);
            Volatile.Write(ref run.Count, count);
            Volatile.Write(ref run.Participants, threads);
            Interlocked.Exchange(ref run.State, generation << StateShift);
            if (Volatile.Read(ref s_counters.Sleepers) > 0)
            {
                lock (s_gate)
                {
                    Monitor.PulseAll(s_gate);
                }
            }

            t_inRun = true;
            Participate(work, count, threads, 0, generation);
            t_inRun = false;
            while (Volatile.Read(ref s_counters.Pending) != 0)
            {
                Thread.SpinWait(1);
            }

            if (s_error is { } error)
            {
                s_error = null;
                ExceptionDispatchInfo.Throw(error);
            }
        }
        finally
        {
            Volatile.Write(ref s_work, null);
            Volatile.Write(ref s_busy, 0);
        }

        return true;
    }

    private const int StateShift = 1;
    private const long WritingBit = 1;

    // Runs the participant's own items, then any item no one has claimed yet.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Participate(IParallelWork work, int count, int threads, int participant, long generation)
    {
        for (int i = participant; i < count; i += threads)
        {
            _ = TryExecute(work, i, generation);
        }

        // Others' items from the last, and only those whose owner has not yet claimed the item before them: an owner
        // at most one item behind finishes its own (taking an owner's last item while it worked on the one before cost
        // the item's data a trip between cores, and made a quiet two-thread step of 784-128-10, batch 128, 8% slower
        // in medians, AMD EPYC Zen 1); one further behind (a vCPU the host slowed, a worker not yet awake) loses
        // its last items, in order.
        for (int i = count - 1; i >= 0; i--)
        {
            if (i % threads != participant && (i < threads || Volatile.Read(ref s_claims[(i - threads) * ClaimStride]) < generation)
                && TryExecute(work, i, generation))
            {
                Interlocked.Increment(ref s_takenOver);
            }
        }
    }

    // Whether this thread claimed and ran the item.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryExecute(IParallelWork work, int index, long generation)
    {
        ref long claim = ref s_claims[index * ClaimStride];
        long seen = Volatile.Read(ref claim);
        if (seen >= generation || Interlocked.CompareExchange(ref claim, generation, seen) != seen)
        {
            return false;
        }

        try
        {
            work.Execute(index);
        }
        catch (Exception ex)
        {
            // Every exception, OutOfMemoryException included, is handed to the caller after all items finish:
            // letting one escape here would release the pool while other threads still run this job.
            Interlocked.CompareExchange(ref s_error, ex, null);
        }

        Interlocked.Decrement(ref s_counters.Pending);
        return true;
    }

    private static void EnsureWorkers(int needed)
    {
        if (s_workers.Length >= needed)
        {
            return;
        }

        var grown = new Worker[needed];
        Array.Copy(s_workers, grown, s_workers.Length);
        for (int i = s_workers.Length; i < needed; i++)
        {
            grown[i] = new Worker(i + 1, Volatile.Read(ref s_run.State) >> StateShift);
        }

        s_workers = grown;
    }

    /// <summary>The current run, on one cache line of its own (128 bytes: adjacent-line prefetchers pair lines).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private sealed class Descriptor
    {
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _before;
#pragma warning restore CS0169, IDE0051
        public long State;
        public int Count;
        public int Participants;
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _after;
#pragma warning restore CS0169, IDE0051
    }

    /// <summary>The reserve's version, alone on its line: read after every run, written only when a buffer grows.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private sealed class ReserveVersion
    {
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _before;
#pragma warning restore CS0169, IDE0051
        public int Value;
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _after;
#pragma warning restore CS0169, IDE0051
    }

    /// <summary>The words every participant writes, away from the description's line.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private sealed class Counters
    {
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _before;
#pragma warning restore CS0169, IDE0051
        public int Pending;
        public int Sleepers;
#pragma warning disable CS0169, IDE0051 // padding
        private readonly Padding _after;
#pragma warning restore CS0169, IDE0051
    }

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct Padding
    {
    }

    private sealed class Worker
    {
        private readonly int _participant;
        private long _seen;

        public Worker(int participant, long generation)
        {
            _participant = participant;
            _seen = generation;
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = $"NeuralCore worker {participant}",
            };
            thread.Start();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Loop()
        {
            t_inRun = true;
            Descriptor run = s_run;
            while (true)
            {
                long generation = WaitForRun();

                // A consistent snapshot: the fields were not being rewritten while they were read. The fence keeps the
                // second look at the state after the reads of the fields (on ARM64 too).
                IParallelWork? work = Volatile.Read(ref s_work);
                int count = Volatile.Read(ref run.Count), threads = Volatile.Read(ref run.Participants);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref run.State) != generation << StateShift || work is null || _participant >= threads)
                {
                    ReserveIfBehind();
                    continue;
                }

                Participate(work, count, threads, _participant, generation);
                ReserveIfBehind();
            }
        }

        // Waits for a generation newer than the last one seen whose description is fully written.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long WaitForRun()
        {
            Descriptor run = s_run;
            long start = Stopwatch.GetTimestamp();
            int polls = 0;
            while (true)
            {
                long state = Volatile.Read(ref run.State);
                if (state >> StateShift != _seen && (state & WritingBit) == 0)
                {
                    _seen = state >> StateShift;
                    return _seen;
                }

                Thread.SpinWait(1);
                if ((++polls & 255) != 0 || Stopwatch.GetTimestamp() - start < s_spinTicks)
                {
                    continue;
                }

                lock (s_gate)
                {
                    Interlocked.Increment(ref s_counters.Sleepers);
                    while (Interlocked.Read(ref run.State) >> StateShift == _seen)
                    {
                        Monitor.Wait(s_gate);
                    }

                    Interlocked.Decrement(ref s_counters.Sleepers);
                }

                start = Stopwatch.GetTimestamp();
            }
        }
    }
}
