using System.Diagnostics;
using NeuralCore.Data;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Threading;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Threading;

/// <summary>
/// The division of a parallel region's units by the threads' measured rates: it starts equal, moves toward the faster
/// thread and settles where they finish together, one slow run cannot swing it, and a training on divisions far from
/// equal gives the bits of one thread.
/// </summary>
[Collection(SerialTests.Name)]
public class ThreadBalanceTests
{
    // A run of the balance where slice s takes cost[s] ticks a unit (ticks far above the few the test itself spends).
    private static void Run(ThreadBalance balance, int units, double[] cost)
    {
        balance.Divide(units, cost.Length);
        long now = Stopwatch.GetTimestamp();
        for (int s = 0; s < cost.Length; s++)
        {
            (int first, int end) = balance.Slice(s);
            balance.Finish(s, now - (long)(cost[s] * (end - first) * 1e6));
        }

        balance.Update();
    }

    private static int[] Sizes(ThreadBalance balance) =>
        [.. Enumerable.Range(0, balance.Slices).Select(s => balance.Slice(s).End - balance.Slice(s).First)];

    [Fact]
    public void The_first_division_is_equal_and_covers_every_unit()
    {
        var balance = new ThreadBalance();
        balance.Divide(98, 2);
        Assert.Equal((0, 49), balance.Slice(0));
        Assert.Equal((49, 98), balance.Slice(1));
        balance.Divide(10, 3);
        Assert.Equal([3, 4, 3], Sizes(balance));
        Assert.Equal(10, balance.Slice(2).End);
    }

    [Fact]
    public void A_slower_thread_gets_fewer_units_until_both_finish_together()
    {
        var balance = new ThreadBalance();
        double[] cost = [1.0, 1.5];
        Run(balance, 98, cost);
        balance.Divide(98, 2);
        int first = Sizes(balance)[0];

        // One run moves the rates a little, not yet far enough apart to leave equal slices.
        Assert.Equal(49, first);
        for (int i = 0; i < 40; i++)
        {
            Run(balance, 98, cost);
        }

        balance.Divide(98, 2);
        int[] sizes = Sizes(balance);

        // Equal times: 1.0·a = 1.5·(98 - a), a = 58.8.
        Assert.InRange(sizes[0], 58, 60);
        Assert.Equal(98, sizes.Sum());
    }

    [Fact]
    public void Threads_a_little_apart_keep_equal_slices()
    {
        var balance = new ThreadBalance();
        for (int i = 0; i < 40; i++)
        {
            Run(balance, 98, [1.0, 1.1]);
        }

        balance.Divide(98, 2);
        Assert.False(balance.Uneven);
        Assert.Equal([49, 49], Sizes(balance));
    }

    [Fact]
    public void One_interrupted_run_leaves_the_division_as_it_was()
    {
        var balance = new ThreadBalance();
        for (int i = 0; i < 20; i++)
        {
            Run(balance, 128, [1, 1]);
        }

        // The second slice took a thousand times as long once (the host took its vCPU away).
        Run(balance, 128, [1, 1000]);
        balance.Divide(128, 2);
        Assert.Equal(64, Sizes(balance)[0]);

        // Three such runs in a row do move it, toward the thread that kept its speed.
        Run(balance, 128, [1, 1000]);
        Run(balance, 128, [1, 1000]);
        balance.Divide(128, 2);
        Assert.InRange(Sizes(balance)[0], 70, 90);
    }

    [Fact]
    public void Every_slice_keeps_its_minimum_and_another_slice_count_starts_equal()
    {
        var balance = new ThreadBalance();
        for (int i = 0; i < 60; i++)
        {
            Run(balance, 20, [1, 50, 1]);
        }

        balance.Divide(20, 3, minimum: 4);
        Assert.All(Sizes(balance), size => Assert.True(size >= 4, $"a slice of {size} units"));
        Assert.Equal(20, Sizes(balance).Sum());

        balance.Divide(20, 2);
        Assert.Equal([10, 10], Sizes(balance));
    }

    [Fact]
    public void A_run_in_which_a_slice_did_not_finish_changes_nothing()
    {
        var balance = new ThreadBalance();
        balance.Divide(64, 2);
        balance.Finish(0, Stopwatch.GetTimestamp() - 1_000_000);
        balance.Update();
        balance.Divide(64, 2);
        Assert.Equal([32, 32], Sizes(balance));
    }

    [Fact]
    public void A_forced_share_divides_as_asked()
    {
        var balance = new ThreadBalance();
        try
        {
            ThreadBalance.ForcedFirstShare = 0.25;
            balance.Divide(100, 3);
            Assert.Equal([25, 37, 38], Sizes(balance));
        }
        finally
        {
            ThreadBalance.ForcedFirstShare = 0;
        }
    }

    [Theory]
    [InlineData(784, 128, 128)]
    [InlineData(300, 40, 77)]
    [InlineData(97, 64, 200)]
    public void A_weight_gradient_divided_unequally_gives_the_bits_of_an_equal_division(int inFeatures, int units, int batch)
    {
        float[] x = Seeded.Uniform(batch * inFeatures, 21);
        float[] g = Seeded.Uniform(batch * units, 22);
        float[] relu = Seeded.Uniform(batch * units, 23);
        float[] upperGrad = Seeded.Uniform(batch * 10, 24);
        float[] upperWeights = Seeded.Uniform(units * 10, 25);
        foreach (int threads in new[] { 2, 3 })
        {
            float[] expectedW = new float[inFeatures * units], expectedB = new float[units];
            float[] expectedThroughW = new float[inFeatures * units], expectedThroughB = new float[units];
            WithThreads(threads, () =>
            {
                Gemm.WeightGradient(x, g, expectedW, expectedB, inFeatures, units, batch, accumulate: false);
                Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, expectedThroughW, expectedThroughB,
                    inFeatures, units, batch, 10, accumulate: false);
            });
            foreach (double share in new[] { 0.1, 0.7, 0.95 })
            {
                float[] w = new float[inFeatures * units], b = new float[units];
                float[] throughW = new float[inFeatures * units], throughB = new float[units];
                var balance = new ThreadBalance();
                WithThreads(threads, () =>
                {
                    try
                    {
                        ThreadBalance.ForcedFirstShare = share;
                        Gemm.WeightGradient(x, g, w, b, inFeatures, units, batch, accumulate: false, balance: balance);
                        Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, throughW, throughB,
                            inFeatures, units, batch, 10, accumulate: false, balance: balance);
                    }
                    finally
                    {
                        ThreadBalance.ForcedFirstShare = 0;
                    }
                });
                string what = $"{threads} threads, first share {share}";
                AssertBitwiseEqual(expectedW, w, "weights, " + what);
                AssertBitwiseEqual(expectedB, b, "bias, " + what);
                AssertBitwiseEqual(expectedThroughW, throughW, "weights through the ReLU, " + what);
                AssertBitwiseEqual(expectedThroughB, throughB, "bias through the ReLU, " + what);
            }
        }
    }

    [Fact]
    public void Divisions_far_from_equal_train_the_bits_of_one_thread()
    {
        // 20 steps of 128 MNIST-sized rows on two threads: the first layer's weight gradient (its rows) and the batch
        // gather (the batch's rows) divided as forced, against one thread.
        const int features = 784, count = 20 * 128;
        byte[] bytes = new byte[count * features];
        new Random(9).NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, count).Select(i => bytes[i * features] % 10)];
        Dataset data = Dataset.FromBytes(bytes, labels, features, 255f);

        (float[] Parameters, float[] State, (int, int) FirstRows) Train(int threads, double share)
        {
            var model = new Sequential(features, seed: 4).Add(new Dense(64)).Add(new Relu()).Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f));
            model.StepThreshold = 1;
            WithThreads(threads, () =>
            {
                try
                {
                    ThreadBalance.ForcedFirstShare = share;
                    model.Fit(data, new FitOptions { Epochs = 1, BatchSize = 128, Seed = 2, MeasureStepThreads = false });
                }
                finally
                {
                    ThreadBalance.ForcedFirstShare = 0;
                }
            });
            ThreadBalance gradient = ((Dense)model.Layers[0]).GradientBalance;
            return (model.Parameters.ToArray(), ((Optimizer)model.Optimizer!).State.ToArray(),
                gradient.Slices == 2 ? gradient.Slice(0) : (0, 0));
        }

        var expected = Train(1, 0);
        int panels = 0;
        WithThreads(2, () =>
        {
            Gemm.RowPartition(features, 64, 128, out int slices, out int mr);
            panels = slices == 2 && GemmJob.Parts(GemmPlan.Create(features, 64, 128, KernelIsaSupport.Best, 2, GemmSplit.Rows), true, true) == 1
                ? (features + mr - 1) / mr
                : 0;
        });
        foreach (double share in new[] { 0.15, 0.5, 0.85 })
        {
            var actual = Train(2, share);

            // The weight gradient was divided as forced (on the paths whose split is one item a slice).
            Assert.Equal(panels == 0 ? (0, 0) : (0, (int)Math.Round(share * panels)), actual.FirstRows);
            AssertBitwiseEqual(expected.Parameters, actual.Parameters, $"parameters, first share {share}");
            AssertBitwiseEqual(expected.State, actual.State, $"optimizer state, first share {share}");
        }
    }
}
