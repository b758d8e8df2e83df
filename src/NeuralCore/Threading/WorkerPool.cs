using System.Diagnostics;
using System.Runtime.ExceptionServices;

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
/// <see cref="Parallel.For(int, int, Action{int})"/> allocates on every call and wakes pool threads slowly; a training
/// step issues a few dozen kernel calls of tens of microseconds each, so workers spin briefly after each run and only
/// then block. One run owns the workers at a time; a concurrent or nested call runs its items on its own thread, which
/// gives the same results because items are independent.
/// </remarks>
internal static class WorkerPool
{
    // Spinning this long after a run lets the next kernel call of a training step find its workers awake.
    private static readonly long s_spinTicks = Stopwatch.Frequency / 5000; // 200 microseconds

    private static readonly object s_gate = new();
    private static Worker[] s_workers = [];
    private static int s_busy;

    // State of the current run, published by the generation increment.
    private static IParallelWork? s_work;
    private static int s_count;
    private static int s_next;
    private static int s_pending;

    // The generation (high bits) and the run's participant count (low 8 bits) in one word, published by one atomic
    // write after everything else of the run: a worker reads both from a single load, so it can never pair one run's
    // generation with another run's participant count.
    private static long s_state;
    private static int s_sleepers;
    private static Exception? s_error;

    /// <summary>Runs items 0..count-1 on up to <paramref name="maxThreads"/> threads, the caller included.</summary>
    public static void Run(IParallelWork work, int count, int maxThreads)
    {
        int threads = Math.Min(Math.Min(maxThreads, count), Parallelism.DegreeOfParallelism);
        if (threads <= 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++)
            {
                work.Execute(i);
            }

            return;
        }

        try
        {
            EnsureWorkers(threads - 1);
            s_work = work;
            s_count = count;
            s_next = 0;
            s_error = null;
            s_pending = threads - 1;
            long generation = (Interlocked.Read(ref s_state) >> 8) + 1;
            Interlocked.Exchange(ref s_state, (generation << 8) | (uint)(threads - 1));
            if (Volatile.Read(ref s_sleepers) > 0)
            {
                lock (s_gate)
                {
                    Monitor.PulseAll(s_gate);
                }
            }

            Drain(work);
            var spinner = new SpinWait();
            while (Volatile.Read(ref s_pending) != 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            s_work = null;
            if (s_error is { } error)
            {
                s_error = null;
                ExceptionDispatchInfo.Throw(error);
            }
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static void Drain(IParallelWork work)
    {
        int count = s_count;
        int i;
        while ((i = Interlocked.Increment(ref s_next) - 1) < count)
        {
            try
            {
                work.Execute(i);
            }
            catch (Exception ex)
            {
                // Every exception, OutOfMemoryException included, is handed to the caller after all participants
                // finish: letting one escape here would release the pool while workers still run this job.
                Interlocked.CompareExchange(ref s_error, ex, null);
            }
        }
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
            grown[i] = new Worker(i, Interlocked.Read(ref s_state) >> 8);
        }

        s_workers = grown;
    }

    private sealed class Worker
    {
        private readonly int _id;
        private long _seen;

        public Worker(int id, long generation)
        {
            _id = id;
            _seen = generation;
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = $"NeuralCore worker {id + 1}",
            };
            thread.Start();
        }

        private void Loop()
        {
            while (true)
            {
                long state = WaitForRun();
                if (_id < (int)(state & 0xFF))
                {
                    Drain(s_work!);
                    Interlocked.Decrement(ref s_pending);
                }
            }
        }

        private long WaitForRun()
        {
            long start = Stopwatch.GetTimestamp();
            var spinner = new SpinWait();
            long state;
            while ((state = Interlocked.Read(ref s_state)) >> 8 == _seen)
            {
                if (Stopwatch.GetTimestamp() - start < s_spinTicks)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                    continue;
                }

                lock (s_gate)
                {
                    Interlocked.Increment(ref s_sleepers);
                    while (Interlocked.Read(ref s_state) >> 8 == _seen)
                    {
                        Monitor.Wait(s_gate);
                    }

                    Interlocked.Decrement(ref s_sleepers);
                }
            }

            _seen = state >> 8;
            return state;
        }
    }
}
