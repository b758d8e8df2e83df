using System.Collections.Concurrent;
using NeuralCore.Threading;

namespace NeuralCore.Tests.Threading;

[Collection(SerialTests.Name)]
public class WorkerPoolTests
{
    private sealed class RecordingWork(int count) : IParallelWork
    {
        public int[] Runs { get; } = new int[count];

        public ConcurrentDictionary<int, bool> Threads { get; } = new();

        public void Execute(int index)
        {
            Interlocked.Increment(ref Runs[index]);
            Threads.TryAdd(Environment.CurrentManagedThreadId, true);
            Thread.SpinWait(20_000);
        }
    }

    private sealed class ThrowingWork : IParallelWork
    {
        public void Execute(int index)
        {
            if (index == 5)
            {
                throw new InvalidOperationException("item 5");
            }
        }
    }

    [Fact]
    public void Runs_every_item_exactly_once_on_several_threads()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            bool shared = false;
            for (int round = 0; round < 50; round++)
            {
                var work = new RecordingWork(64);
                WorkerPool.Run(work, 64, 2);
                Assert.All(work.Runs, r => Assert.Equal(1, r));
                shared |= work.Threads.Count >= 2;
            }

            // On a loaded machine the worker may wake too late for some rounds, but not for all fifty.
            Assert.True(shared, "the worker thread never took an item");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    private sealed class SlowOwnerWork(int count, int slowItem) : IParallelWork
    {
        public int[] Runs { get; } = new int[count];

        public int[] ThreadOf { get; } = new int[count];

        private volatile bool _slowStarted;

        public void Execute(int index)
        {
            Interlocked.Increment(ref Runs[index]);
            ThreadOf[index] = Environment.CurrentManagedThreadId;
            if (index == slowItem)
            {
                _slowStarted = true;
                Thread.Sleep(300);
            }
            else if (index == 0)
            {
                // The caller's first item waits (up to a second) for the slow one to start, so that a worker slow to
                // wake on a loaded machine does not leave every item to the caller.
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!_slowStarted && clock.ElapsedMilliseconds < 1000)
                {
                    Thread.Yield();
                }
            }
        }
    }

    [Fact]
    public void The_last_items_of_an_owner_far_behind_are_taken_over_and_each_runs_once()
    {
        // Participant 1 owns items 1, 3, 5 and 7, and its first takes 300 ms (a vCPU the host slowed): the caller,
        // done with its own, takes 7, 5 and 3 from the last, which would otherwise wait for it.
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            bool tookOver = false;
            for (int round = 0; round < 10 && !tookOver; round++)
            {
                var work = new SlowOwnerWork(8, slowItem: 1);
                WorkerPool.Run(work, 8, 2);
                Assert.All(work.Runs, r => Assert.Equal(1, r));
                int caller = Environment.CurrentManagedThreadId;

                // Only a round where the worker woke in time and ran its first item tells anything.
                if (work.ThreadOf[1] != caller)
                {
                    Assert.Equal(caller, work.ThreadOf[7]);
                    Assert.Equal(caller, work.ThreadOf[5]);
                    tookOver = true;
                }
            }

            Assert.True(tookOver, "the worker never ran the slow item in ten rounds");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void A_thread_limit_keeps_every_item_on_the_caller_until_it_is_disposed()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            using (Parallelism.LimitTo(1))
            {
                for (int round = 0; round < 20; round++)
                {
                    var work = new RecordingWork(16);
                    WorkerPool.Run(work, 16, 2);
                    Assert.All(work.Runs, r => Assert.Equal(1, r));
                    Assert.Equal([Environment.CurrentManagedThreadId], work.Threads.Keys);
                }

                // Scopes nest: an inner one replaces the cap and the outer one comes back after it.
                using (Parallelism.LimitTo(2))
                {
                    Assert.Equal(2, Parallelism.CallerThreads);
                }

                Assert.Equal(1, Parallelism.CallerThreads);
            }

            Assert.Equal(2, Parallelism.CallerThreads);
            bool shared = false;
            for (int round = 0; round < 50 && !shared; round++)
            {
                var work = new RecordingWork(64);
                WorkerPool.Run(work, 64, 2);
                shared = work.Threads.Count >= 2;
            }

            Assert.True(shared, "after the scope, the worker thread never took an item");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void An_item_that_throws_surfaces_on_the_caller_and_the_pool_recovers()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            var ex = Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(new ThrowingWork(), 16, 2));
            Assert.Equal("item 5", ex.Message);
            var work = new RecordingWork(8);
            WorkerPool.Run(work, 8, 2);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    [Fact]
    public void Consecutive_runs_with_changing_thread_counts_each_run_every_item_once()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 8;
            for (int round = 0; round < 2000; round++)
            {
                int threads = 1 + (round % 5);
                var work = new CountingWork(17);
                WorkerPool.Run(work, 17, threads);
                Assert.All(work.Runs, r => Assert.Equal(1, r));
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    private sealed class CountingWork(int count) : IParallelWork
    {
        public int[] Runs { get; } = new int[count];

        public void Execute(int index) => Interlocked.Increment(ref Runs[index]);
    }

    [Fact]
    public void Fma_threads_is_measured_between_one_and_the_processor_count()
    {
        int measured = Parallelism.FmaThreads;
        Assert.InRange(measured, 1, Environment.ProcessorCount);
        Assert.Equal(measured, Parallelism.FmaThreads);
    }

    [Fact]
    public void A_persistent_measurement_reads_between_one_and_the_processor_count()
    {
        // 0 only when another run holds the workers at that moment; one processor needs no measurement.
        int processors = Math.Min(Environment.ProcessorCount, 64);
        Assert.InRange(NeuralCore.Threading.FmaCalibration.Measure(processors, persistent: true), 0, processors);
        Assert.Equal(1, NeuralCore.Threading.FmaCalibration.Measure(1, persistent: true));
    }

    [Fact]
    public void A_busy_pool_refuses_a_second_parallel_run_instead_of_waiting()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            bool? nested = null;
            var outer = new NestedWork(() => nested = WorkerPool.TryRun(new CountingWork(4), 4, 2));
            Assert.True(WorkerPool.TryRun(outer, 2, 2));
            Assert.False(nested);
            Assert.False(WorkerPool.TryRun(new CountingWork(1), 1, 2));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
        }
    }

    private sealed class NestedWork(Action action) : IParallelWork
    {
        public void Execute(int index)
        {
            if (index == 0)
            {
                action();
            }
        }
    }

    [Fact]
    public void Degree_of_parallelism_rejects_values_below_one()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.DegreeOfParallelism = 0);
        Assert.Equal("value", ex.ParamName);
    }
}
