using System.Diagnostics;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Threading;

namespace NeuralCoreCompare;

/// <summary>
/// Measurements that run.sh takes beside the epochs: the FMA peak of one core (the denominator of every "% of
/// peak"), and the training step alone on a fixed batch (no data loading or batch gathering).
/// </summary>
internal static class Probes
{
    /// <summary>Runs the FMA chains for <paramref name="seconds"/> and returns GFLOP/s at the widest hardware width.</summary>
    public static (double Gflops, int Bits) Fma(double seconds)
    {
        int bits = FmaProbe.Bits;
        const int iterations = 1 << 18;
        float sink = 0;

        // Warm up (tiering, clocks) for a tenth of the time, then measure the best of several slices: the highest
        // rate is the peak, lower ones are interference.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < seconds / 10)
        {
            sink += FmaProbe.Run(iterations, bits);
        }

        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 16; i++)
            {
                sink += FmaProbe.Run(iterations, bits);
            }

            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, 16 * FmaProbe.Flops(iterations, bits) / elapsed / 1e9);
        }

        GC.KeepAlive(sink);
        return (best, bits);
    }

    /// <summary>
    /// Two threads pass one cache line back and forth (each waits for the other's number, then writes the next) for
    /// <paramref name="seconds"/>, in slices of 20,000 round trips; returns the fastest and the median slice's
    /// nanoseconds per round trip. On a VM it follows where the host puts the two vCPUs: on the 2-core AMD EPYC Zen 5
    /// it read 116-350 ns from one second to the next (2026-12-01). Every parallel region's start and join pays it, so
    /// run.sh records it at the start and the end of a run, beside the two-thread figures.
    /// </summary>
    public static (double MinNanoseconds, double MedianNanoseconds) RoundTrip(double seconds)
    {
        long[] line = new long[32];
        const int index = 16; // away from the array's header: a line no other data shares
        const long perSlice = 20_000;
        long next = 0;
        bool stop = false;
        var partner = new Thread(() =>
        {
            long expected = 1;
            while (!Volatile.Read(ref stop))
            {
                if (Volatile.Read(ref line[index]) == expected)
                {
                    Volatile.Write(ref line[index], expected + 1);
                    expected += 2;
                }
            }
        })
        { IsBackground = true };
        partner.Start();

        var slices = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || slices.Count < 5)
        {
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < perSlice; i++)
            {
                Volatile.Write(ref line[index], next + 1);
                while (Volatile.Read(ref line[index]) != next + 2)
                {
                }

                next += 2;
            }

            slices.Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / perSlice);
        }

        Volatile.Write(ref stop, true);
        partner.Join();
        slices.Sort();
        return (slices[0], slices[slices.Count / 2]);
    }

    /// <summary>
    /// Times TrainStep on one fixed random batch: warm-up, then <paramref name="seconds"/> of steps in slices; returns
    /// the fastest and the median slice's microseconds per step. <paramref name="loop"/> says how the steps run:
    /// <c>fit</c>, the first layer's weights in panel order as Fit keeps them during an epoch; <c>plain</c>, a caller's
    /// own loop of TrainStep calls (row-major weights, packed by every forward); <c>training-loop</c>, that loop inside
    /// <see cref="Sequential.BeginTrainingLoop"/>. With <paramref name="readEvery"/> above 0 the loop reads
    /// <see cref="Sequential.Parameters"/> after every <paramref name="readEvery"/>th step, as a loop that logs or checks
    /// the weights now and then (the read itself copies nothing).
    /// </summary>
    /// <summary>
    /// How much of the wall-clock time busy threads lose to the host: each thread spins reading the clock for
    /// <paramref name="seconds"/> and adds up the pauses between two reads longer than 5 µs (the time it did not run).
    /// First one thread alone, then <paramref name="threads"/> at once. On the 2-vCPU AMD EPYC Zen 5 VM (2026-12-04) one
    /// thread lost 3-6% and two 3-4% each in quiet stretches, but two lost 45-47% each, in pauses of up to 125 ms, in
    /// slow ones, as under a CPU quota of about 1.1 processors: two-thread epochs then ran up to twice as long as
    /// one-thread ones. The FMA probe, which keeps the best of its slices, does not see this; /proc/stat's steal read 0.
    /// </summary>
    public static (double AloneLost, double[] TogetherLost, double MaxPauseMilliseconds) Contention(double seconds, int threads)
    {
        (double alone, _) = Spin(seconds);
        var lost = new double[threads];
        var pauses = new double[threads];
        var spinners = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            spinners[t] = new Thread(() => (lost[index], pauses[index]) = Spin(seconds)) { IsBackground = true };
        }

        foreach (Thread spinner in spinners)
        {
            spinner.Start();
        }

        foreach (Thread spinner in spinners)
        {
            spinner.Join();
        }

        return (alone, lost, pauses.Max());
    }

    // The share of `seconds` lost in pauses above 5 µs, and the longest pause in milliseconds.
    private static (double Lost, double MaxPauseMilliseconds) Spin(double seconds)
    {
        long threshold = Stopwatch.Frequency / 200_000, start = Stopwatch.GetTimestamp(), last = start;
        long end = start + (long)(seconds * Stopwatch.Frequency), lost = 0, longest = 0;
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            long gap = now - last;
            if (gap > threshold)
            {
                lost += gap;
                longest = Math.Max(longest, gap);
            }

            last = now;
            if (now >= end)
            {
                return ((double)lost / (now - start), longest * 1000.0 / Stopwatch.Frequency);
            }
        }
    }

    public static (double MinMicroseconds, double MedianMicroseconds) Step(int[] hidden, int batch, double seconds, string loop = "fit", int readEvery = 0,
        Dataset? images = null)
    {
        StepCopy copy = new(hidden, batch, loop, readEvery, seed: 20261130, images);
        copy.Warm(seconds);
        return copy.Measure(Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency));
    }

    /// <summary>
    /// <paramref name="copies"/> independent one-thread steps at once, each on its own thread with its own model and
    /// batch, measured over the same window: what the host gives two cores that share nothing of ours (its L3, memory
    /// and other tenants stay shared), the ceiling against which a step on that many threads is judged.
    /// </summary>
    public static (double MinMicroseconds, double MedianMicroseconds)[] StepCopies(int[] hidden, int batch, double seconds, int copies)
    {
        var results = new (double, double)[copies];
        using var warmed = new Barrier(copies);
        long end = 0;
        var threads = new Thread[copies];
        Exception? failure = null;
        for (int c = 0; c < copies; c++)
        {
            int index = c;
            threads[c] = new Thread(() =>
            {
                bool waited = false;
                try
                {
                    StepCopy copy = new(hidden, batch, "fit", 0, seed: 20261130 + index);
                    copy.Warm(seconds);
                    warmed.SignalAndWait();
                    waited = true;

                    // Every copy measures up to the same deadline, set by the first past the barrier, so that no copy's
                    // steps are timed alone.
                    Interlocked.CompareExchange(ref end, Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency), 0);
                    results[index] = copy.Measure(Volatile.Read(ref end));
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                    if (!waited)
                    {
                        // The others must not wait at the barrier for a copy that will never reach it.
                        warmed.RemoveParticipant();
                    }
                }
            })
            { IsBackground = true, Name = $"step copy {index}" };
            threads[c].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        return failure is null ? results : throw new InvalidOperationException($"a step copy failed: {failure.Message}", failure);
    }

    /// <summary>
    /// One model of 784-hidden-10 with its fixed batch: uniform random values (no zero: the dense kernels), or the first
    /// images of a data set (MNIST's, four fifths of whose pixels are 0: the kernels that skip them, as in an epoch).
    /// </summary>
    private sealed class StepCopy
    {
        private readonly float[] _x;
        private readonly int[] _y;
        private readonly Sequential _model;
        private readonly int _batch;
        private readonly int _readEvery;
        private readonly TrainingLoop? _training;
        private long _done;

        public StepCopy(int[] hidden, int batch, string loop, int readEvery, int seed, Dataset? images = null)
        {
            var random = new Random(seed);
            if (images is null)
            {
                _x = [.. Enumerable.Range(0, batch * 784).Select(_ => (float)random.NextDouble())];
                _y = [.. Enumerable.Range(0, batch).Select(_ => random.Next(10))];
            }
            else
            {
                // The first `batch` samples, gathered as Fit gathers a batch (Features would convert all of them).
                _x = new float[batch * images.FeatureSize];
                _y = new int[batch];
                images.Gather([.. Enumerable.Range(0, batch)], 0, batch, _x, _y);
            }

            _model = new Sequential(784, seed: 1);
            foreach (int width in hidden)
            {
                _model.Add(new Dense(width)).Add(new Relu());
            }

            _model.Add(new Dense(10));
            _model.Compile(new SoftmaxCrossEntropy(), new Adam(new AdamOptions(1e-3f, Epsilon: 1e-7f)), batch);
            _batch = batch;
            _readEvery = readEvery;

            // As Fit runs its steps: the first layer's weights in its products' order, so that the forward does not pack them.
            if (loop == "fit")
            {
                _model.EnterPanelOrder();
            }

            // Ended with the process: the benchmark measures once and exits.
            _training = loop == "training-loop" ? _model.BeginTrainingLoop() : null;
        }

        private void Step()
        {
            _model.TrainStep(_x, _y, _batch);
            if (_readEvery > 0 && ++_done % _readEvery == 0)
            {
                _ = _model.Parameters;
            }
        }

        public void Warm(double seconds)
        {
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed.TotalSeconds < Math.Max(0.3, seconds / 5))
            {
                Step();
            }
        }

        /// <summary>Slices of 20 steps until <paramref name="deadline"/> (at least 5): the best and the median slice's µs a step.</summary>
        public (double MinMicroseconds, double MedianMicroseconds) Measure(long deadline)
        {
            var slices = new List<double>();
            while (Stopwatch.GetTimestamp() < deadline || slices.Count < 5)
            {
                const int steps = 20;
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++)
                {
                    Step();
                }

                slices.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps);
            }

            _training?.Dispose();
            slices.Sort();
            return (slices[0], slices[slices.Count / 2]);
        }
    }

    /// <summary>
    /// GEMM FLOPs of one step (run.sh and aggregate.py count the same): the forward and the weight gradient of every
    /// layer, and the input gradient of every layer but the first (whose input needs none).
    /// </summary>
    public static double StepFlops(int[] hidden, int batch)
    {
        double flops = 0;
        int inputs = 784;
        for (int i = 0; i <= hidden.Length; i++)
        {
            int outputs = i < hidden.Length ? hidden[i] : 10;
            flops += (i == 0 ? 2 : 3) * 2.0 * batch * inputs * outputs;
            inputs = outputs;
        }

        return flops;
    }
}
