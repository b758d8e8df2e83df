using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Models;

/// <summary>
/// A step on several threads computes its loss and accuracy count on the output layer's rows, by the threads that
/// computed them: the loss, the count, the gradients and the update must be the bits of the same step on one thread,
/// which computes them after the product, with and without sample weights, for each loss that reads labels.
/// </summary>
[Collection(SerialTests.Name)]
public class StepOutputRowsTests
{
    public static TheoryData<string, int, bool> Cases() => new()
    {
        // loss, output units, sample weights
        { "softmax", 10, false },
        { "softmax", 10, true },
        { "softmax-sum", 10, false },
        { "smoothed", 10, true },
        { "binary-logits", 1, true },
    };

    private static Loss Create(string name) => name switch
    {
        "softmax" => new SoftmaxCrossEntropy(),
        "softmax-sum" => new SoftmaxCrossEntropy(reduction: Reduction.Sum),
        "smoothed" => new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1f),
        "binary-logits" => new BinaryCrossentropy(fromLogits: true),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Two_threads_give_the_loss_count_and_update_of_one(string loss, int units, bool weighted)
    {
        const int features = 300, batch = 128, steps = 4;
        float[] x = Seeded.Uniform(batch * features, 41);
        var random = new Random(42);
        int[] labels = [.. Enumerable.Range(0, batch).Select(_ => random.Next(units == 1 ? 2 : units))];
        float[] weights = weighted ? [.. Enumerable.Range(0, batch).Select(_ => (float)random.NextDouble())] : [];

        (TrainStepResult[] Results, float[] Parameters, bool ByRows) Train(int threads)
        {
            var model = new Sequential(features, seed: 5).Add(new Dense(256)).Add(new Relu()).Add(new Dense(units));
            model.Compile(Create(loss), new Adam(1e-2f));
            model.StepThreshold = 1;
            var results = new TrainStepResult[steps];
            bool byRows = true;
            WithThreads(threads, () =>
            {
                for (int s = 0; s < steps; s++)
                {
                    results[s] = model.TrainStep(x, LossTargets.FromLabels(labels, weights), batch);
                    byRows &= model.LastLossByRows;
                }
            });
            return (results, model.Parameters.ToArray(), byRows);
        }

        var expected = Train(1);
        Assert.False(expected.ByRows);
        var actual = Train(2);

        // Where the 10-class product takes the 16-column path (512-bit vectors), the rows computed the loss: 128 rows
        // of 256 against 10 columns, two threads' worth (GemmNarrow.MinFmaPerThread).
        Assert.Equal(GemmNarrow.Applies(KernelIsaSupport.Best, batch, units), actual.ByRows);
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected.Results[s].Loss), BitConverter.DoubleToInt64Bits(actual.Results[s].Loss));
            Assert.Equal(expected.Results[s], actual.Results[s]);
        }

        AssertBitwiseEqual(expected.Parameters, actual.Parameters, $"{loss}, weighted {weighted}");
    }

    [Fact]
    public void A_label_out_of_range_is_refused_before_anything_changes()
    {
        float[] x = Seeded.Uniform(64 * 200, 43);
        int[] labels = [.. Enumerable.Range(0, 64).Select(i => i % 10)];
        labels[37] = 10;
        var model = new Sequential(200, seed: 6).Add(new Dense(128)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-2f));
        model.StepThreshold = 1;
        float[] before = model.Parameters.ToArray();
        WithThreads(2, () =>
        {
            var e = Assert.Throws<ArgumentException>(() => model.TrainStep(x, labels, 64));
            Assert.Contains("37", e.Message);
        });
        AssertBitwiseEqual(before, model.Parameters.ToArray(), "parameters after the refused step");
    }
}
