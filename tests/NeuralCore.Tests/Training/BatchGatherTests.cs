using NeuralCore.Data;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Training;

/// <summary>
/// The batch gather on several threads (rows split among them, byte features written with streaming stores or ordinary
/// ones) must give the one-thread gather's floats, labels and weights bit for bit.
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
            foreach (bool streaming in new[] { true, false })
            {
                float[] x = new float[batch * features];
                int[] y = new int[batch];
                float[] w = new float[batch];
                var gather = new BatchGather(source, order, x, y, [], w);
                bool splits = false;
                bool streamed = false;
                WithThreads(threads, () =>
                {
                    splits = gather.Splits(batch);
                    gather.Run(first, batch, streaming);
                    streamed = gather.LastRunStreaming;
                });
                Assert.Equal(threads > 1 && batch * features >= 2 * 16 * 1024, splits);
                Assert.Equal(streaming && splits, streamed);
                AssertBitwiseEqual(expected, x, $"features, {threads} threads, streaming {streaming}");
                Assert.Equal(expectedLabels, y);
                AssertBitwiseEqual(expectedWeights, w, $"weights, {threads} threads, streaming {streaming}");
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
