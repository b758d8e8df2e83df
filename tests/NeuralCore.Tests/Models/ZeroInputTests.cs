using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary>
/// A model's first dense layer skips the steps at which its input is zero (<see cref="Dense.SkipsZeroInputs"/>). On
/// data with MNIST's share of zeros, training and prediction must give bitwise what they give with the skipping off:
/// in panel order and row-major, at any thread count, for one sample, a few and a batch.
/// </summary>
[Collection(SerialTests.Name)]
public class ZeroInputTests
{
    private const int Features = 784;

    // Images of a sort: each row of 28 pixels zero outside a random stretch, and a fifth of the pixels inside it zero too.
    private static Dataset Data(int count, int seed)
    {
        var random = new Random(seed);
        byte[] bytes = new byte[count * Features];
        for (int i = 0; i < count; i++)
        {
            for (int row = 4; row < 24; row++)
            {
                int lo = random.Next(4, 14), hi = random.Next(14, 24);
                for (int column = lo; column < hi; column++)
                {
                    bytes[(i * Features) + (row * 28) + column] = random.Next(5) == 0 ? (byte)0 : (byte)random.Next(1, 256);
                }
            }
        }

        int[] labels = [.. Enumerable.Range(0, count).Select(i => (bytes[(i * Features) + 400] + bytes[(i * Features) + 300]) % 10)];
        return Dataset.FromBytes(bytes, labels, Features, 255f);
    }

    private static Sequential Build(bool skip)
    {
        var model = new Sequential(Features, seed: 9);
        model.Add(new Dense(128)).Add(new Relu()).Add(new Dense(64)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(2e-3f));
        ((Dense)model.Layers[0]).SkipsZeroInputs = skip;
        return model;
    }

    [Fact]
    public void A_model_skips_the_zeros_of_its_first_dense_layer_only()
    {
        Sequential model = Build(skip: true);
        Assert.True(((Dense)model.Layers[0]).SkipsZeroInputs);
        Assert.False(((Dense)model.Layers[2]).SkipsZeroInputs);
        Assert.False(((Dense)model.Layers[4]).SkipsZeroInputs);

        var dropoutFirst = new Sequential(Features, seed: 1);
        dropoutFirst.Add(new Dropout(0.2f)).Add(new Dense(16));
        Assert.False(((Dense)dropoutFirst.Layers[1]).SkipsZeroInputs);
    }

    [Fact]
    public void Training_with_the_zeros_skipped_is_bitwise_training_without()
    {
        Dataset data = Data(600, 3);
        var options = new FitOptions { Epochs = 2, BatchSize = 64, ValidationSplit = 0.1, Seed = 5, MeasureStepThreads = false };
        int savedThreads = Parallelism.DegreeOfParallelism;
        bool savedOrder = Sequential.PanelOrderEnabled;
        try
        {
            Parallelism.DegreeOfParallelism = 1;
            Sequential.PanelOrderEnabled = false;
            Sequential reference = Build(skip: false);
            History expected = reference.Fit(data, options);
            float[] expectedParameters = reference.Parameters.ToArray();
            foreach (bool panelOrder in new[] { false, true })
            {
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    Parallelism.DegreeOfParallelism = threads;
                    Parallelism.FmaThreadsOverride = threads;
                    Sequential.PanelOrderEnabled = panelOrder;
                    Sequential model = Build(skip: true);
                    History history = model.Fit(data, options);
                    float[] parameters = model.Parameters.ToArray();
                    int first = expectedParameters.AsSpan().CommonPrefixLength(parameters);
                    Assert.True(first == expectedParameters.Length, $"panel order {panelOrder}, {threads} threads: parameter {first} differs");
                    Assert.Equal(expected.Loss, history.Loss);
                    Assert.Equal(expected.ValidationLoss, history.ValidationLoss);
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
            Sequential.PanelOrderEnabled = savedOrder;
        }
    }

    [Fact]
    public void Predictions_with_the_zeros_skipped_are_bitwise_those_without()
    {
        Dataset data = Data(64, 4);
        float[] inputs = data.Features;
        int savedThreads = Parallelism.DegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Parallelism.DegreeOfParallelism = threads;
                Parallelism.FmaThreadsOverride = threads;
                Sequential dense = Build(skip: false), sparse = Build(skip: true);
                Predictor predictor = sparse.CreatePredictor();
                foreach (int batch in new[] { 1, 3, 64 })
                {
                    float[] expected = new float[batch * 10], actual = new float[batch * 10], frozen = new float[batch * 10];
                    dense.Predict(inputs.AsSpan(0, batch * Features), expected, batch);
                    sparse.Predict(inputs.AsSpan(0, batch * Features), actual, batch);
                    predictor.Predict(inputs.AsSpan(0, batch * Features), frozen, batch);
                    Assert.Equal(expected, actual);
                    Assert.Equal(expected, frozen);
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
        }
    }
}
