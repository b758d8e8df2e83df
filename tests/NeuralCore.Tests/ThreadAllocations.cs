namespace NeuralCore.Tests;

/// <summary>Reads the allocation counter of the calling thread and of every worker-pool thread.</summary>
internal sealed class ThreadAllocations : NeuralCore.Threading.IParallelWork
{
    private readonly int[] _threads;
    private readonly long[] _bytes;
    private int _arrived;

    private ThreadAllocations(int count)
    {
        _threads = new int[count];
        _bytes = new long[count];
    }

    /// <summary>
    /// Runs <paramref name="run"/> and returns the bytes each thread allocated meanwhile: the calling thread's, read
    /// around it from a settled baseline (<see cref="AllocationBaseline"/>; the probe itself allocates on that thread),
    /// and each pool worker's, read by the probe before and after. <c>GC.GetTotalAllocatedBytes(precise: true)</c>
    /// proved unreliable both ways: in a CI run it read 168 bytes in every 20-step window, allocated by threads other
    /// than these, and over short windows it missed the workers' allocations (a build allocating 448 bytes per two
    /// steps on them read 0 in some). The calling thread's count alone misses every worker's allocation.
    /// </summary>
    /// <param name="run">The code measured; run it past warm-up first.</param>
    /// <returns>The calling thread's bytes, and each worker thread's (at least one, or this throws).</returns>
    public static (long Caller, Dictionary<int, long> Workers) During(Action run)
    {
        // A collection first: the one AllocationBaseline makes below retires every thread's allocation context, and a
        // worker's count could grow by the room left in its own (see AllocationBaseline), though it allocated nothing
        // in between. A worker with no context has none to retire, and the probe allocates nothing on it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Dictionary<int, long> before = Read();
        long callerBefore = AllocationBaseline.Read();
        run();
        long caller = GC.GetAllocatedBytesForCurrentThread() - callerBefore;
        Dictionary<int, long> after = Read();
        var workers = new Dictionary<int, long>();
        foreach ((int thread, long bytes) in after)
        {
            if (thread != Environment.CurrentManagedThreadId)
            {
                workers[thread] = bytes - before.GetValueOrDefault(thread);
            }
        }

        return workers.Count >= 1 ? (caller, workers) : throw new InvalidOperationException("the probe did not reach a worker thread");
    }

    /// <summary>"" when no thread allocated in <paramref name="measured"/>, else which did and how much.</summary>
    public static string Allocated((long Caller, Dictionary<int, long> Workers) measured) =>
        string.Join("; ", measured.Workers.Where(w => w.Value != 0).Select(w => $"worker thread {w.Key} allocated {w.Value} bytes")
            .Prepend(measured.Caller != 0 ? $"the calling thread allocated {measured.Caller} bytes" : "").Where(line => line.Length > 0));

    /// <summary>Each pool thread's allocated bytes, and the calling thread's, by managed thread id.</summary>
    public static Dictionary<int, long> Read()
    {
        int count = Parallelism.DegreeOfParallelism;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            // Every item waits until all have started, so each runs on a different thread.
            var probe = new ThreadAllocations(count);
            if (NeuralCore.Threading.WorkerPool.TryRun(probe, count, count) && probe._threads.Distinct().Count() == count)
            {
                var result = new Dictionary<int, long>();
                for (int i = 0; i < count; i++)
                {
                    result[probe._threads[i]] = probe._bytes[i];
                }

                return result;
            }
        }

        throw new InvalidOperationException("could not run the probe on every pool thread");
    }

    public void Execute(int index)
    {
        _threads[index] = Environment.CurrentManagedThreadId;
        Interlocked.Increment(ref _arrived);
        var spinner = new SpinWait();
        long deadline = Environment.TickCount64 + 1000;
        while (Volatile.Read(ref _arrived) < _threads.Length && Environment.TickCount64 < deadline)
        {
            spinner.SpinOnce();
        }

        _bytes[index] = GC.GetAllocatedBytesForCurrentThread();
    }
}
