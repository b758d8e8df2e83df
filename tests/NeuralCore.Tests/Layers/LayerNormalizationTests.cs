using System.Text.Json;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>LayerNormalization against PyTorch's LayerNorm (torch_layernorm.py, beside this file), its kernels' documented summation order, and Keras's semantics.</summary>
[Collection(SerialTests.Name)]
public sealed class LayerNormalizationTests : IDisposable
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Layers", "golden_torch_layernorm.json"))).RootElement;

    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-layernorm-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Floats(string name) => [.. Golden.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble())];

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6f * Math.Max(1f, Math.Abs(expected[i])),
                $"{what}[{i}]: PyTorch {expected[i]:R}, NeuralCore {actual[i]:R}");
        }
    }

    [Fact]
    public void Forward_and_backward_match_pytorch()
    {
        int batch = Golden.GetProperty("batch").GetInt32(), features = Golden.GetProperty("features").GetInt32();
        var layer = new LayerNormalization(features, (float)Golden.GetProperty("epsilon").GetDouble());
        Floats("gamma").CopyTo(layer.Parameters.Span);
        Floats("beta").CopyTo(layer.Parameters.Span[features..]);
        float[] x = Floats("x"), output = new float[x.Length], inputGrad = new float[x.Length];
        layer.Forward(x, output, batch, training: true);
        AssertClose(Floats("output"), output, "output");

        layer.Gradients.Span.Clear();
        layer.Backward(x, output, Floats("r"), inputGrad, batch);
        AssertClose(Floats("input_grad"), inputGrad, "input gradient");
        AssertClose(Floats("gamma_grad"), layer.Gradients.Span[..features], "gamma gradient");
        AssertClose(Floats("beta_grad"), layer.Gradients.Span[features..], "beta gradient");

        // Inference is the same function: no running statistics.
        float[] inferred = new float[x.Length];
        layer.Forward(x, inferred, batch, training: false);
        Assert.Equal(output, inferred);
    }

    // The kernels' documented order, written out: element j of a row into running sum j mod 8, the sums combined as
    // ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)), the last features mod 8 elements added after them in order.
    private static double RowSum(int features, Func<int, double> term)
    {
        double[] s = new double[8];
        int j = 0;
        for (; j + 8 <= features; j += 8)
        {
            for (int k = 0; k < 8; k++)
            {
                s[k] += term(j + k);
            }
        }

        double total = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
        for (; j < features; j++)
        {
            total += term(j);
        }

        return total;
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(3, 7)]
    [InlineData(2, 8)]
    [InlineData(3, 9)]
    [InlineData(4, 16)]
    [InlineData(3, 17)]
    [InlineData(5, 40)]
    [InlineData(2, 101)]
    public void The_kernels_follow_their_documented_order_to_the_bit(int batch, int features)
    {
        // The same bits on every instruction-set level (CI runs this with AVX-512 off and with intrinsics off): the
        // vector and scalar paths must both keep exactly this order. Rows far from zero, so that another order of the
        // sums would change their last bits.
        float[] x = Seeded.Uniform(batch * features, features, 3f), dy = Seeded.Uniform(batch * features, features + 1);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += 7.25f * (1 + (i / features));
        }

        float[] gamma = Seeded.Uniform(features, features + 2), beta = Seeded.Uniform(features, features + 3);
        const float Epsilon = 1e-3f;
        float[] y = new float[x.Length], dx = new float[x.Length], dGamma = new float[features], dBeta = new float[features];
        double[] mean = new double[batch], scale = new double[batch];
        LayerNormKernels.Forward(x, y, batch, features, gamma, beta, Epsilon, mean, scale);
        LayerNormKernels.Backward(x, dy, dx, batch, features, mean, scale, gamma, dGamma, dBeta, new double[2 * features]);

        double[] columnDy = new double[features], columnDyXhat = new double[features];
        for (int n = 0; n < batch; n++)
        {
            int o = n * features;
            double mu = RowSum(features, j => x[o + j]) / features;
            double s = 1 / Math.Sqrt((RowSum(features, j => (x[o + j] - mu) * (x[o + j] - mu)) / features) + Epsilon);
            Assert.Equal(mu, mean[n]);
            Assert.Equal(s, scale[n]);
            double gMean = RowSum(features, j => (double)gamma[j] * dy[o + j]) / features;
            double pMean = RowSum(features, j => (double)gamma[j] * dy[o + j] * ((x[o + j] - mu) * s)) / features;
            for (int j = 0; j < features; j++)
            {
                double xhat = (x[o + j] - mu) * s;
                Assert.Equal((float)((gamma[j] * xhat) + beta[j]), y[o + j]);
                Assert.Equal((float)(s * ((dy[o + j] * (double)gamma[j]) - gMean - (xhat * pMean))), dx[o + j]);
                columnDy[j] += dy[o + j];
                columnDyXhat[j] += dy[o + j] * xhat;
            }
        }

        Assert.Equal([.. columnDyXhat.Select(v => (float)v)], dGamma);
        Assert.Equal([.. columnDy.Select(v => (float)v)], dBeta);
    }

    [Theory]
    [InlineData(2, 2, 1)]
    [InlineData(3, 7, 2)]
    [InlineData(2, 17, 3)]
    [InlineData(3, 40, 4)]
    public void The_kernels_backward_is_the_derivative_in_double(int batch, int features, int seed)
    {
        // Central differences of a double-precision forward written here (h = 1e-6, error about 1e-9), against the
        // kernel's backward (double inside, rounded to float once): within 1e-5 relative. Rows of two features are the
        // sharply curved ones that float differences cannot check.
        float[] x = Seeded.Uniform(batch * features, seed, 2f), r = Seeded.Uniform(batch * features, seed + 1);
        float[] gamma = Seeded.Uniform(features, seed + 2), beta = Seeded.Uniform(features, seed + 3);
        const double Epsilon = 1e-3;
        double Objective(double[] input, double[] g, double[] b)
        {
            double total = 0;
            for (int n = 0; n < batch; n++)
            {
                double mean = Enumerable.Range(0, features).Average(j => input[(n * features) + j]);
                double variance = Enumerable.Range(0, features).Average(j => Math.Pow(input[(n * features) + j] - mean, 2));
                for (int j = 0; j < features; j++)
                {
                    double y = (g[j] * (input[(n * features) + j] - mean) / Math.Sqrt(variance + Epsilon)) + b[j];
                    total += y * r[(n * features) + j];
                }
            }

            return total;
        }

        double[] mean = new double[batch], scale = new double[batch];
        float[] output = new float[x.Length], dx = new float[x.Length], dGamma = new float[features], dBeta = new float[features];
        LayerNormKernels.Forward(x, output, batch, features, gamma, beta, (float)Epsilon, mean, scale);
        LayerNormKernels.Backward(x, r, dx, batch, features, mean, scale, gamma, dGamma, dBeta, new double[2 * features]);

        double[] xd = [.. x.Select(v => (double)v)], gd = [.. gamma.Select(v => (double)v)], bd = [.. beta.Select(v => (double)v)];
        DoubleDifferences.AssertMatches(xd, dx, () => Objective(xd, gd, bd), "input gradient");
        DoubleDifferences.AssertMatches(gd, dGamma, () => Objective(xd, gd, bd), "gamma gradient");
        DoubleDifferences.AssertMatches(bd, dBeta, () => Objective(xd, gd, bd), "beta gradient");
    }

    [Theory]
    [InlineData(128, 600)]
    [InlineData(2100, 9)]
    public void Threads_that_divide_the_samples_and_features_give_the_same_bits(int Batch, int Features)
    {
        // 128 × 600 values: two to five threads take slices of the samples (forward, input gradient) and of whole
        // vectors of 8 features (γ and β gradients), the last ragged. 2,100 × 9: two vectors of features for up to five
        // threads, so that some take none.
        float[] x = Seeded.Uniform(Batch * Features, 31, 3f), dy = Seeded.Uniform(Batch * Features, 32);
        (float[] Y, float[] Dx, float[] Gradients)? first = null;
        foreach (int threads in new[] { 1, 2, 3, 5 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            try
            {
                var layer = new LayerNormalization(Features);
                Seeded.Uniform(2 * Features, 33, 0.5f).CopyTo(layer.Parameters.Span);
                float[] y = new float[x.Length], dx = new float[x.Length];
                layer.Forward(x, y, Batch, training: true);
                layer.Gradients.Span.Clear();
                layer.Backward(x, y, dy, dx, Batch);
                first ??= (y, dx, layer.Gradients.ToArray());
                Assert.Equal(first.Value.Y, y);
                Assert.Equal(first.Value.Dx, dx);
                Assert.Equal(first.Value.Gradients, layer.Gradients.ToArray());
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
            }
        }

        // And the same values as the public, single-pass kernels.
        float[] parameters = Seeded.Uniform(2 * Features, 33, 0.5f);
        float[] expected = new float[x.Length];
        LayerNormKernels.Forward(x, expected, Batch, Features, parameters.AsSpan(0, Features), parameters.AsSpan(Features), 1e-3f, new double[Batch], new double[Batch]);
        Assert.Equal(expected, first!.Value.Y);
    }

    [Fact]
    public void The_defaults_are_keras_and_bad_settings_are_refused_by_name()
    {
        var layer = new LayerNormalization(3);
        Assert.Equal((1e-3f, true, true), (layer.Epsilon, layer.Center, layer.Scale));
        Assert.Equal([1f, 1f, 1f, 0f, 0f, 0f], layer.Parameters.ToArray());
        Assert.All(layer.ParameterSegments, s => Assert.Equal(ParameterRole.Bias, s.Role));
        Assert.Equal("layer_normalization", layer.DefaultName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormalization(epsilon: 0f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormalization(epsilon: float.NaN)).ParamName);

        // A backward needs the statistics of a training forward of the same samples just before it: none, an inference
        // forward in between, or a training forward of another batch would give gradients of other statistics.
        var fresh = new LayerNormalization(3);
        float[] x = Seeded.Uniform(8 * 3, 5), y = new float[8 * 3], dy = Seeded.Uniform(8 * 3, 6), dx = new float[8 * 3];
        var e = Assert.Throws<InvalidOperationException>(() => fresh.Backward(x.AsSpan(0, 6), y.AsSpan(0, 6), dy.AsSpan(0, 6), dx.AsSpan(0, 6), 2));
        Assert.Contains("the last forward was none, or an inference one", e.Message, StringComparison.Ordinal);
        fresh.Forward(x, y, 8, training: true);
        fresh.Forward(x.AsSpan(0, 6), y.AsSpan(0, 6), 2, training: true);
        e = Assert.Throws<InvalidOperationException>(() => fresh.Backward(x, y, dy, dx, 8));
        Assert.Contains("a training forward of 2 samples", e.Message, StringComparison.Ordinal);
        fresh.Forward(x, y, 8, training: true);
        fresh.Forward(x, y, 8, training: false);
        Assert.Throws<InvalidOperationException>(() => fresh.Backward(x, y, dy, dx, 8));
        fresh.Forward(x, y, 8, training: true);
        fresh.Backward(x, y, dy, dx, 8);
    }

    [Fact]
    public void Without_center_or_scale_the_layer_has_fewer_parameters_and_acts_as_if_they_were_identity()
    {
        float[] x = Seeded.Uniform(3 * 6, 41, 2f);
        float[] full = new float[x.Length], bare = new float[x.Length], onlyScale = new float[x.Length];
        new LayerNormalization(6).Forward(x, full, 3, training: false);
        var none = new LayerNormalization(6, center: false, scale: false);
        var scaleOnly = new LayerNormalization(6, center: false);
        Assert.Equal((0, 6, 12), (none.ParameterCount, scaleOnly.ParameterCount, new LayerNormalization(6).ParameterCount));
        Assert.Equal("gamma", scaleOnly.ParameterSegments.Single().Name.Split('/')[^1]);
        Assert.Equal("beta", new LayerNormalization(6, scale: false).ParameterSegments.Single().Name.Split('/')[^1]);
        none.Forward(x, bare, 3, training: false);
        scaleOnly.Forward(x, onlyScale, 3, training: false);
        Assert.Equal(full, bare);
        Assert.Equal(full, onlyScale);
    }

    [Fact]
    public void A_sample_of_equal_features_outputs_beta_and_a_prediction_does_not_depend_on_the_batch()
    {
        var layer = new LayerNormalization(4);
        float[] beta = [0.5f, -1f, 2f, 0f];
        beta.CopyTo(layer.Parameters.Span[4..]);
        float[] constant = [3f, 3f, 3f, 3f], output = new float[4];
        layer.Forward(constant, output, 1, training: false);
        Assert.Equal(beta, output);

        // Each sample is normalized alone: its prediction is the same bits in any batch.
        float[] x = Seeded.Uniform(5 * 4, 42, 4f), together = new float[x.Length], alone = new float[4];
        layer.Forward(x, together, 5, training: false);
        for (int n = 0; n < 5; n++)
        {
            layer.Forward(x.AsSpan(n * 4, 4), alone, 1, training: false);
            Assert.Equal(together.AsSpan(n * 4, 4).ToArray(), alone);
        }
    }

    private static (float[] X, int[] Y) Blobs()
    {
        // Three classes of points in 4 dimensions, each class shifted along its own axis, at very different scales.
        var random = new Random(7);
        float[] x = new float[300 * 4];
        int[] y = new int[300];
        for (int n = 0; n < 300; n++)
        {
            y[n] = n % 3;
            for (int j = 0; j < 4; j++)
            {
                x[(n * 4) + j] = (float)((random.NextDouble() - 0.5 + (j == y[n] ? 2 : 0)) * (j + 1) * 10);
            }
        }

        return (x, y);
    }

    [Fact]
    public void A_model_with_layer_normalization_learns_trains_the_same_bits_on_any_thread_count_and_saves()
    {
        (float[] x, int[] y) = Blobs();
        float[]? first = null;
        Sequential? trained = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            try
            {
                var model = new Sequential(4, seed: 3).Add(new Dense(16)).Add(new LayerNormalization()).Add(new Relu()).Add(new Dense(3));
                model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
                History history = model.Fit(x, y, new FitOptions { Epochs = 15, BatchSize = 16, Seed = 5, MeasureStepThreads = false });
                Assert.True(history.Accuracy[^1] > 0.95, $"accuracy {history.Accuracy[^1]}");
                float[] parameters = model.Parameters.ToArray();
                first ??= parameters;
                Assert.Equal(first, parameters);
                trained = model;
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
            }
        }

        // Saved and loaded with its settings and parameters: the same predictions, bit for bit.
        string path = Path.Combine(_folder, "ln.ncm");
        var custom = new Sequential(4, seed: 1).Add(new Dense(5)).Add(new LayerNormalization(0.25f, center: false, name: "norm")).Add(new Dense(3));
        foreach (Sequential model in new[] { trained!, custom })
        {
            ModelFile.Save(model, path);
            Sequential loaded = ModelFile.Load(path);
            var (a, b) = ((LayerNormalization)model.Layers[1], (LayerNormalization)loaded.Layers[1]);
            Assert.Equal((a.Epsilon, a.Center, a.Scale, a.Name), (b.Epsilon, b.Center, b.Scale, b.Name));
            Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
            Assert.Equal(model.Predict(x, 300), loaded.Predict(x, 300));
        }
    }

    [Fact]
    public void A_predictor_keeps_the_parameters_it_was_created_with()
    {
        (float[] x, int[] y) = Blobs();
        var model = new Sequential(4, seed: 3).Add(new Dense(8)).Add(new LayerNormalization()).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Seed = 1 });
        Predictor predictor = model.CreatePredictor();
        float[] before = new float[300 * 3], after = new float[300 * 3];
        predictor.Predict(x, before, 300);
        Assert.Equal(model.Predict(x, 300), before);
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Seed = 2 });
        predictor.Predict(x, after, 300);
        Assert.Equal(before, after);
        Assert.NotEqual(before, model.Predict(x, 300));
    }
}
