using NeuralCore.Kernels;
using NeuralCore.Threading;

namespace NeuralCore.Tests.Kernels;

[Collection(SerialTests.Name)]
public unsafe class GemmBuffersTests
{
    // Two items that wait for each other, so that they run on two threads; item `asker` asks for the buffers (none when
    // aLength is 0) and records what that allocated on its thread.
    private sealed class AskingWork(long aLength, int asker) : IParallelWork
    {
        private int _arrived;

        public int[] Threads { get; } = new int[2];

        public long Allocated { get; private set; } = -1;

        // The asker's thread's count of allocated bytes when it reached its item.
        public long StartBytes { get; private set; } = -1;

        public void Execute(int index)
        {
            Threads[index] = Environment.CurrentManagedThreadId;
            Interlocked.Increment(ref _arrived);
            long deadline = Environment.TickCount64 + 1000;
            var spinner = new SpinWait();
            while (Volatile.Read(ref _arrived) < 2 && Environment.TickCount64 < deadline)
            {
                spinner.SpinOnce();
            }

            if (index == asker)
            {
                StartBytes = GC.GetAllocatedBytesForCurrentThread();
            }

            if (index == asker && aLength > 0)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                _ = GemmBuffers.A(aLength);
                _ = GemmBuffers.B;
                _ = GemmBuffers.Tile;
                Allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
    }

    [Fact]
    public void After_a_run_every_worker_holds_buffers_as_large_as_any_item_asked_for()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            // A size above any asked for so far in this process (which every worker then keeps), asked for by the
            // caller's own item of a run: a worker that already held it would pass without a reserve.
            long aLength = Math.Max(300_017, GemmBuffers.HighWaterA + 1) + Random.Shared.Next(1000);
            int caller = Environment.CurrentManagedThreadId;
            for (int attempt = 0; attempt < 100; attempt++)
            {
                var growing = new AskingWork(aLength, asker: 0);
                Assert.True(WorkerPool.TryRun(growing, 2, 2));
                if (growing.Threads[0] != caller || growing.Threads[1] == caller)
                {
                    continue;
                }

                // A run that asks for nothing, whose item 1 the worker must run: it reserves after it.
                var empty = new AskingWork(0, asker: 1);
                Assert.True(WorkerPool.TryRun(empty, 2, 2));
                if (empty.Threads[1] == caller)
                {
                    continue;
                }

                var asking = new AskingWork(aLength, asker: 1);
                Assert.True(WorkerPool.TryRun(asking, 2, 2));
                if (asking.Threads[1] == empty.Threads[1])
                {
                    Assert.True(asking.Allocated == 0, $"the worker allocated {asking.Allocated} bytes for buffers the caller's item had grown");
                    return;
                }
            }

            Assert.Fail("the items never ran on the threads the test needs");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void A_buffer_grown_outside_any_run_is_not_reserved_on_the_workers()
    {
        // A serial product (a one-thread model, a larger batch's prediction) grows only its own thread's buffers: the
        // workers, which never take such a product over, must not all grow theirs to its size after their next run.
        Assert.False(WorkerPool.InRun);
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            int caller = Environment.CurrentManagedThreadId;
            for (int attempt = 0; attempt < 100; attempt++)
            {
                // The worker's own small buffers first, so that nothing below needs to make them.
                var warm = new AskingWork(1, asker: 1);
                Assert.True(WorkerPool.TryRun(warm, 2, 2));
                _ = GemmBuffers.A(2_000_003 + Random.Shared.Next(1000));

                // No thread keeps an allocation context past this, so a collection between the two reads below cannot
                // add its unused room to the worker's count (AllocationBaseline).
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var first = new AskingWork(0, asker: 1);
                Assert.True(WorkerPool.TryRun(first, 2, 2));
                var second = new AskingWork(0, asker: 1);
                Assert.True(WorkerPool.TryRun(second, 2, 2));
                if (warm.Threads[1] != caller && first.Threads[1] == warm.Threads[1] && second.Threads[1] == warm.Threads[1])
                {
                    // Between its items of the two runs the worker ran nothing but what follows a run (the reserve).
                    long between = second.StartBytes - first.StartBytes;
                    Assert.True(between == 0, $"the worker allocated {between} bytes after a serial product grew the caller's buffer");
                    return;
                }
            }

            Assert.Fail("item 1 never ran on the worker thread three runs in a row");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }
}
