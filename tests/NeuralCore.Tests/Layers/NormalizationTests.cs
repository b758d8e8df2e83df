using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>Normalization against Keras's formula (in float, to the bit), its adapt, and its life in a model and a file.</summary>
public sealed class NormalizationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-normalization-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_output_is_keras_formula_in_float_to_the_bit_both_ways()
    {
        // keras.layers.Normalization.call: (x - mean) / maximum(sqrt(variance), epsilon()), epsilon() = 1e-7 in float32;
        // inverted, mean + x * maximum(...). The variance 0 and 1e-16 give the floor; 1e-12 gives 1e-6.
        float[] mean = [0.5f, -3f, 100f, 0f, 2f], variance = [4f, 0.09f, 0f, 1e-16f, 1e-12f];
        float[] x = Seeded.Uniform(7 * 5, 3, 10f);
        foreach (bool invert in new[] { false, true })
        {
            var layer = new Normalization(mean, variance, invert);
            var model = new Sequential(5).Add(layer);
            float[] y = new float[x.Length], dx = new float[x.Length];
            layer.Forward(x, y, 7, training: false);
            for (int i = 0; i < x.Length; i++)
            {
                int j = i % 5;
                float std = MathF.Max(MathF.Sqrt(variance[j]), 1e-7f);
                Assert.Equal(invert ? mean[j] + (x[i] * std) : (x[i] - mean[j]) / std, y[i]);
            }

            // The derivative: the scale factor alone.
            layer.Backward(x, y, x, dx, 7);
            for (int i = 0; i < x.Length; i++)
            {
                float std = MathF.Max(MathF.Sqrt(variance[i % 5]), 1e-7f);
                Assert.Equal(invert ? x[i] * std : x[i] / std, dx[i]);
            }

            Assert.Equal(0, model.ParameterCount);
        }
    }

    [Fact]
    public void Adapt_takes_each_features_mean_and_biased_variance_and_standardizes_the_data()
    {
        // Features of very different scales and offsets, one constant.
        const int Samples = 200, Features = 4;
        var random = new Random(4);
        float[] data = new float[Samples * Features];
        for (int n = 0; n < Samples; n++)
        {
            data[(n * 4) + 0] = (float)(random.NextDouble() * 1000);
            data[(n * 4) + 1] = (float)(1e4 + random.NextDouble());
            data[(n * 4) + 2] = 7f;
            data[(n * 4) + 3] = (float)(random.NextDouble() - 0.5) * 1e-3f;
        }

        var layer = new Normalization();
        layer.Adapt(data, Samples);
        Assert.Equal(Features, layer.InputSize);
        for (int j = 0; j < Features; j++)
        {
            double m = Enumerable.Range(0, Samples).Average(n => (double)data[(n * 4) + j]);
            double v = Enumerable.Range(0, Samples).Average(n => Math.Pow(data[(n * 4) + j] - m, 2));
            Assert.Equal((float)m, layer.Mean.Span[j]);
            Assert.Equal((float)v, layer.Variance.Span[j]);
        }

        float[] scaled = new float[data.Length];
        layer.Forward(data, scaled, Samples, training: false);
        foreach (int j in new[] { 0, 1, 3 })
        {
            double m = Enumerable.Range(0, Samples).Average(n => (double)scaled[(n * 4) + j]);
            double v = Enumerable.Range(0, Samples).Average(n => Math.Pow(scaled[(n * 4) + j] - m, 2));
            // Feature 1 sits at 10^4, where a float's step is 1e-3 against a spread of 0.29: its mean is off by up to 2e-3.
            Assert.True(Math.Abs(m) < 3e-3 && Math.Abs(v - 1) < 1e-3, $"feature {j}: mean {m}, variance {v}");
        }

        // The constant feature is divided by 1e-7, as in Keras: its value maps to 0.
        Assert.All(Enumerable.Range(0, Samples), n => Assert.Equal(0f, scaled[(n * 4) + 2]));

        // And an inverted layer with the same statistics gives the data back, within float rounding.
        var back = new Normalization(layer.Mean.Span, layer.Variance.Span, invert: true);
        back.Build(Features, 0);
        float[] restored = new float[data.Length];
        back.Forward(scaled, restored, Samples, training: false);
        for (int i = 0; i < data.Length; i++)
        {
            if (i % 4 != 2)
            {
                Assert.True(Math.Abs(restored[i] - data[i]) <= 1e-5f * Math.Max(1f, Math.Abs(data[i])), $"value {i}: {restored[i]} against {data[i]}");
            }
        }
    }

    [Fact]
    public void Bad_data_and_statistics_are_refused_by_name()
    {
        var layer = new Normalization(3);
        Assert.Equal([0f, 0f, 0f], layer.Mean.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.Variance.ToArray());
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => layer.Adapt(new float[6], 0)).ParamName);
        Assert.Contains("data holds 8 floats", Assert.Throws<ArgumentException>(() => layer.Adapt(new float[8], 2)).Message, StringComparison.Ordinal);
        var e = Assert.Throws<ArgumentException>(() => layer.Adapt([1f, 2f, float.NaN, 4f, 5f, 6f], 2));
        Assert.Contains("data[0, 2] = NaN", e.Message, StringComparison.Ordinal);
        Assert.Contains("past float's range (column 0 of each row; a TableEncoder's FeatureNames[0] names its column)", Assert.Throws<ArgumentException>(() => layer.Adapt([3e38f, 0f, 0f, -3e38f, 0f, 0f], 2)).Message, StringComparison.Ordinal);
        Assert.Equal([0f, 0f, 0f], layer.Mean.ToArray());
        Assert.Contains("not 4 whole rows", Assert.Throws<ArgumentException>(() => new Normalization().Adapt(new float[6], 4)).Message, StringComparison.Ordinal);

        Assert.Contains("2 means and 3 variances", Assert.Throws<ArgumentException>(() => new Normalization([0f, 1f], [1f, 1f, 1f])).Message, StringComparison.Ordinal);
        Assert.Equal("variance", Assert.Throws<ArgumentException>(() => new Normalization([0f], [-1f])).ParamName);
        Assert.Equal("mean", Assert.Throws<ArgumentException>(() => new Normalization([float.PositiveInfinity], [1f])).ParamName);
        var wrongWidth = new Normalization([0f, 1f], [1f, 2f], name: "norm");
        Assert.Contains("'norm' (Normalization) was given 2 means and variances for 3 features",
            Assert.Throws<ArgumentException>(() => new Sequential(3).Add(wrongWidth)).Message, StringComparison.Ordinal);
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => new Normalization().Mean).Message, StringComparison.Ordinal);

        // Statistics given at construction are what the layer was made for: adapting it is refused, as in Keras.
        Assert.Contains("was given its mean and variance when it was made",
            Assert.Throws<InvalidOperationException>(() => new Normalization([0f], [1f]).Adapt(new float[4], 2)).Message, StringComparison.Ordinal);

        // One value for all features is broadcast.
        var shared = new Normalization([2f], [9f]);
        new Sequential(3).Add(shared);
        Assert.Equal([2f, 2f, 2f], shared.Mean.ToArray());
        Assert.Equal([9f, 9f, 9f], shared.Variance.ToArray());
    }

    [Fact]
    public void A_model_takes_raw_inputs_saves_its_statistics_and_refuses_to_save_bad_ones()
    {
        // Two classes told apart by a feature around 5,000 with a spread of 10, beside one in [0, 1]: without the layer,
        // Adam at 0.01 sees inputs of 5,000.
        const int Samples = 400;
        var random = new Random(6);
        float[] x = new float[Samples * 2];
        int[] y = new int[Samples];
        for (int n = 0; n < Samples; n++)
        {
            y[n] = n % 2;
            x[n * 2] = (float)(5000 + ((y[n] == 1 ? 8 : -8) + ((random.NextDouble() - 0.5) * 10)));
            x[(n * 2) + 1] = (float)random.NextDouble();
        }

        var normalization = new Normalization(name: "standardize");
        normalization.Adapt(x, Samples);
        var model = new Sequential(2, seed: 2).Add(normalization).Add(new Dense(8, Activation.Relu)).Add(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 20, BatchSize = 32, Seed = 1 });
        Assert.True(history.Accuracy[^1] > 0.95, $"accuracy {history.Accuracy[^1]}");

        string path = Path.Combine(_folder, "standardized.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        var read = (Normalization)loaded.Layers[0];
        Assert.Equal(("standardize", false), (read.Name, read.Invert));
        read.Adapt(x, Samples); // an adapted layer may be adapted again; one made with its statistics may not, loaded or not
        var fixedStatistics = new Sequential(2).Add(new Normalization([1f, 2f], [3f, 4f]));
        ModelFile.Save(fixedStatistics, path);
        Assert.Throws<InvalidOperationException>(() => ((Normalization)ModelFile.Load(path).Layers[0]).Adapt(x, Samples));
        ModelFile.Save(model, path);
        Assert.Equal(normalization.Mean.ToArray(), read.Mean.ToArray());
        Assert.Equal(normalization.Variance.ToArray(), read.Variance.ToArray());
        Assert.Equal(model.Predict(x, Samples), loaded.Predict(x, Samples));

        // A predictor keeps the statistics it was made with.
        Predictor predictor = model.CreatePredictor();
        float[] before = new float[Samples * 2], after = new float[Samples * 2];
        predictor.Predict(x, before, Samples);
        normalization.Mean.Span[0] = 0f;
        predictor.Predict(x, after, Samples);
        Assert.Equal(before, after);

        normalization.Variance.Span[1] = -1f;
        var e = Assert.Throws<ArgumentException>(() => ModelFile.Save(model, path));
        Assert.Contains("'standardize': Feature 1's variance -1", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was written", e.Message, StringComparison.Ordinal);
        // The file written before the edits is whole and unchanged: its predictions are the saved model's.
        Assert.Equal(before, ModelFile.Load(path).Predict(x, Samples));
    }
}
