using NeuralCore.Kernels;
using NeuralCore.Threading;

namespace NeuralCore.Tests.Kernels;

[Collection(SerialTests.Name)]
public unsafe class GemmBuffersTests
{
    // Each item waits for the others, so that the two run on two threads; item 1 then asks for the buffers the caller
    // grew (none when aLength is 0), and records what that allocated on its thread.
    private sealed unsafe class AskingWork(long aLength) : IParallelWork
    {
        private int _arrived;

        public int[] Threads { get; } = new int[2];

        public long Allocated { get; private set; } = -1;

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

            if (index == 1 && aLength > 0)
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
    public void After_a_run_every_thread_holds_buffers_as_large_as_any_thread_asked_for()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            // A size a little above any other test's (which every pool thread then keeps: 1.2 MB), grown on this (the
            // calling) thread only.
            long aLength = 300_017 + Random.Shared.Next(1000);
            _ = GemmBuffers.A(aLength);
            _ = GemmBuffers.B;
            _ = GemmBuffers.Tile;
            int caller = Environment.CurrentManagedThreadId;
            for (int attempt = 0; attempt < 100; attempt++)
            {
                // A run that asks for nothing, whose item 1 the worker must run: it reserves after it.
                var empty = new AskingWork(0);
                Assert.True(WorkerPool.TryRun(empty, 2, 2));
                if (empty.Threads[1] == caller)
                {
                    continue;
                }

                var asking = new AskingWork(aLength);
                Assert.True(WorkerPool.TryRun(asking, 2, 2));
                if (asking.Threads[1] == empty.Threads[1])
                {
                    Assert.True(asking.Allocated == 0, $"the worker allocated {asking.Allocated} bytes for buffers the caller had grown");
                    return;
                }
            }

            Assert.Fail("item 1 never ran on the worker thread");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }
}
