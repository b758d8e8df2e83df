using NeuralCore.Data;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Training;

/// <summary>
/// The batch gather on several threads (rows split among them, byte features written with streaming stores) must
/// give the one-thread gather's floats, labels and weights bit for bit.
/// </summary>
[Collection(SerialTests.Name)]
public class BatchGatherTests
{
    [Theory]
    [InlineData(128, 784)]
    [InlineData(100, 333)]
    public void Every_thread_count_gathers_the_same_bits(int batch, int features)
    {
        const int samples = 1000;
        var random = new Random(7);
        byte[] bytes = new byte[samples * features];
        random.NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, samples).Select(_ => random.Next(10))];
        float[] sampleWeights = [.. Enumerable.Range(0, samples).Select(_ => (float)random.NextDouble())];
        var source = new SampleSource(bytes, 255f, labels, features, sampleWeights);
        int[] order = [.. Enumerable.Range(0, samples).OrderBy(_ => random.Next())];

        float[] expected = new float[batch * features];
        int[] expectedLabels = new int[batch];
        float[] expectedWeights = new float[batch];
        source.Gather(order.AsSpan(300, batch), expected, expectedLabels, default, expectedWeights);

        foreach (int threads in new[] { 1, 2, 3 })
        {
            float[] x = new float[batch * features];
            int[] y = new int[batch];
            float[] w = new float[batch];
            var gather = new BatchGather(source, order, x, y, [], w);
            WithThreads(threads, () => gather.Run(300, batch));
            AssertBitwiseEqual(expected, x, $"features, {threads} threads");
            Assert.Equal(expectedLabels, y);
            AssertBitwiseEqual(expectedWeights, w, $"weights, {threads} threads");
        }
    }
}
