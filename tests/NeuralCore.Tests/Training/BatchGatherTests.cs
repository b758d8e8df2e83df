using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Training;

/// <summary>
/// The batch gather on several threads (rows split among them, byte features written with streaming stores; or the
/// features split as the model's first product reads them) must give the one-thread gather's floats, labels and
/// weights bit for bit.
/// </summary>
[Collection(SerialTests.Name)]
public class BatchGatherTests
{
    // Starts in the middle of the order, and where the next batch (whose pages each gather hints) is shorter than this
    // one, one row long, or past the end of the order.
    [Theory]
    [InlineData(128, 784, 300)]
    [InlineData(100, 333, 300)]
    [InlineData(128, 784, 1000 - 128 - 5)]
    [InlineData(128, 784, 1000 - 128 - 1)]
    [InlineData(128, 784, 1000 - 128)]
    public void Every_thread_count_gathers_the_same_bits(int batch, int features, int first)
    {
        (SampleSource source, int[] order) = RandomSource(1000, features, 7);

        float[] expected = new float[batch * features];
        int[] expectedLabels = new int[batch];
        float[] expectedWeights = new float[batch];
        source.Gather(order.AsSpan(first, batch), expected, expectedLabels, default, expectedWeights);

        foreach (int threads in new[] { 1, 2, 3 })
        {
            float[] x = new float[batch * features];
            int[] y = new int[batch];
            float[] w = new float[batch];
            var gather = new BatchGather(source, order, x, y, [], w);
            WithThreads(threads, () => gather.Run(first, batch));
            AssertBitwiseEqual(expected, x, $"features, {threads} threads");
            Assert.Equal(expectedLabels, y);
            AssertBitwiseEqual(expectedWeights, w, $"weights, {threads} threads");
        }
    }

    [Theory]
    [InlineData(128, 784, 64, 200)]
    [InlineData(128, 333, 64, 200)]
    [InlineData(128, 1000, 96, 200)]
    [InlineData(128, 784, 64, 700 - 128 - 3)]
    [InlineData(128, 784, 64, 700 - 128)]
    public void Columns_gathered_as_the_first_product_reads_them_are_the_same_bits(int batch, int features, int units, int first)
    {
        (SampleSource source, int[] order) = RandomSource(700, features, 11);
        float[] expected = new float[batch * features];
        int[] expectedLabels = new int[batch];
        float[] expectedWeights = new float[batch];
        source.Gather(order.AsSpan(first, batch), expected, expectedLabels, default, expectedWeights);

        var model = new Sequential(features, seed: 3);
        model.Add(new Dense(units)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new CategoricalCrossentropy(fromLogits: true), new Adam(1e-3f), batch);
        Assert.True(model.EnterPanelOrder());
        try
        {
            foreach (int threads in new[] { 2, 3 })
            {
                // NaN everywhere first: a column no thread writes would stay NaN.
                float[] x = Enumerable.Repeat(float.NaN, batch * features).ToArray();
                int[] y = new int[batch];
                float[] w = new float[batch];
                var gather = new BatchGather(source, order, x, y, [], w);
                bool byColumns = false;
                WithThreads(threads, () =>
                {
                    gather.Run(first, batch, model);
                    byColumns = gather.LastRunByColumns;
                });
                Assert.True(byColumns, $"{threads} threads gathered by rows");
                AssertBitwiseEqual(expected, x, $"features, {threads} threads");
                Assert.Equal(expectedLabels, y);
                AssertBitwiseEqual(expectedWeights, w, $"weights, {threads} threads");
            }
        }
        finally
        {
            model.ExitPanelOrder();
        }
    }

    [Fact]
    public void Column_slices_tile_every_row_whatever_the_buffers_alignment()
    {
        const int features = 45, rows = 9;
        var source = new SampleSource(new byte[rows * features], 255f, new int[rows], features);
        int[] bounds = [0, 3, 16, 17, 30, 44, features];
        for (int alignment = 0; alignment < 16; alignment++)
        {
            for (int row = 0; row < rows; row++)
            {
                int previous = 0;
                foreach (int f in bounds)
                {
                    int at = source.ColumnBound(row, f, alignment);
                    Assert.InRange(at, previous, features);
                    Assert.True(at == 0 || at == features || ((row * features) + at + alignment) % 16 == 0,
                        $"bound {f} of row {row} at {at}, alignment {alignment}, starts no cache line");
                    previous = at;
                }
            }
        }
    }

    // Random byte features, labels and weights for `samples` samples, and a shuffled order of them.
    private static (SampleSource Source, int[] Order) RandomSource(int samples, int features, int seed)
    {
        var random = new Random(seed);
        byte[] bytes = new byte[samples * features];
        random.NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, samples).Select(_ => random.Next(10))];
        float[] sampleWeights = [.. Enumerable.Range(0, samples).Select(_ => (float)random.NextDouble())];
        int[] order = [.. Enumerable.Range(0, samples).OrderBy(_ => random.Next())];
        return (new SampleSource(bytes, 255f, labels, features, sampleWeights), order);
    }
}
