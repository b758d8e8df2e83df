using NeuralCore.Diagnostics;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>GaussianNoise, GaussianDropout and AlphaDropout: Keras's distributions and formulas, seeds, and their life in a model.</summary>
public sealed class NoiseLayersTests : IDisposable
{
    private const int Count = 200_000;

    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-noise-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (double Mean, double Std) Moments(ReadOnlySpan<float> values)
    {
        double mean = 0, squares = 0;
        foreach (float v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        foreach (float v in values)
        {
            squares += (v - mean) * (v - mean);
        }

        return (mean, Math.Sqrt(squares / values.Length));
    }

    [Fact]
    public void Gaussian_noise_adds_normal_noise_of_its_deviation_in_training_only()
    {
        var layer = new GaussianNoise(Count, 0.3f, seed: 7);
        float[] x = Seeded.Uniform(Count, 1, 2f), y = new float[Count], dx = new float[Count], dy = Seeded.Uniform(Count, 2);
        layer.Forward(x, y, 1, training: false);
        Assert.Equal(x, y);

        layer.Forward(x, y, 1, training: true);
        float[] noise = [.. y.Select((v, i) => v - x[i])];
        (double mean, double std) = Moments(noise);
        // The estimators' own spread over 200,000 values: 0.3/√n = 6.7e-4 for the mean, about 4.7e-4 for the deviation.
        Assert.True(Math.Abs(mean) < 3e-3 && Math.Abs(std - 0.3) < 3e-3, $"noise mean {mean}, deviation {std}");
        Assert.True(noise.Count(v => Math.Abs(v) > 0.9) is > 300 and < 800, "about 0.27% beyond three deviations"); // 540 expected

        layer.Backward(x, y, dy, dx, 1);
        Assert.Equal(dy, dx);
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianNoise(1.5f)).ParamName);
        Assert.Equal("stddev", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianNoise(float.NaN)).ParamName);
    }

    [Fact]
    public void Gaussian_dropout_multiplies_by_normal_noise_around_one_and_its_gradient_by_the_same()
    {
        // Keras: N(1, rate / (1 - rate)); at 0.2 the deviation is 0.5.
        var layer = new GaussianDropout(Count, 0.2f, seed: 8);
        float[] x = [.. Seeded.Uniform(Count, 3, 2f).Select(v => v + 3f)], y = new float[Count], dx = new float[Count], dy = Seeded.Uniform(Count, 4);
        layer.Forward(x, y, 1, training: true);
        float[] noise = [.. y.Select((v, i) => v / x[i])];
        (double mean, double std) = Moments(noise);
        Assert.True(Math.Abs(mean - 1) < 5e-3 && Math.Abs(std - 0.5) < 5e-3, $"noise mean {mean}, deviation {std}");

        layer.Backward(x, y, dy, dx, 1);
        for (int i = 0; i < Count; i += 997)
        {
            Assert.True(Math.Abs(dx[i] - (dy[i] * noise[i])) <= 1e-5f * Math.Abs(dy[i] * noise[i]) + 1e-7f, $"element {i}");
        }

        layer.Forward(x, y, 1, training: false);
        Assert.Equal(x, y);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianDropout(1f)).ParamName);
    }

    [Fact]
    public void Alpha_dropout_keeps_a_unit_gaussians_mean_and_variance_with_kerass_affine_map()
    {
        const float Rate = 0.2f;
        var layer = new AlphaDropout(Count, Rate, seed: 9);
        var random = new Random(10);
        float[] x = new float[Count], y = new float[Count], dx = new float[Count], dy = Seeded.Uniform(Count, 5);
        for (int i = 0; i < Count; i++)
        {
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        layer.Forward(x, y, 1, training: true);

        // Keras's a, b from the Python float 0.2, used as float32.
        const double Alpha = 1.6732632423543772848170429916717, Scale = 1.0507009873554804934193349852946, AlphaP = -Alpha * Scale;
        double aExact = Math.Pow((1 - 0.2) * (1 + (0.2 * AlphaP * AlphaP)), -0.5);
        float a = (float)aExact, b = (float)(-aExact * AlphaP * 0.2), dropped = (a * (float)AlphaP) + b;
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            bool isKept = y[i] == (a * x[i]) + b;
            Assert.True(isKept || y[i] == dropped, $"element {i}: {y[i]} is neither a·x + b nor the dropped value");
            kept += isKept ? 1 : 0;
        }

        Assert.True(Math.Abs((kept / (double)Count) - (1 - Rate)) < 5e-3, $"kept {kept} of {Count}");
        (double mean, double std) = Moments(y);
        Assert.True(Math.Abs(mean) < 1e-2 && Math.Abs(std - 1) < 1e-2, $"output mean {mean}, deviation {std}");

        layer.Backward(x, y, dy, dx, 1);
        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(y[i] == dropped && y[i] != (a * x[i]) + b ? 0f : dy[i] * a, dx[i]);
        }
    }

    [Fact]
    public void The_noise_follows_the_seed_and_a_saved_model_resumes_it()
    {
        float[] Draw(ulong seed)
        {
            var layer = new GaussianNoise(64, 0.5f, seed);
            float[] y = new float[64];
            layer.Forward(new float[64], y, 1, training: true);
            return y;
        }

        Assert.Equal(Draw(3), Draw(3));
        Assert.NotEqual(Draw(3), Draw(4));

        // Training on after a save and a load draws what the model would have drawn: the same weights, bit for bit.
        var random = new Random(2);
        float[] x = [.. Enumerable.Range(0, 64 * 5).Select(_ => (float)random.NextDouble())];
        int[] labels = [.. Enumerable.Range(0, 64).Select(i => i % 3)];
        Sequential Build() => new Sequential(5, seed: 11)
            .Add(new GaussianNoise(0.1f)).Add(new Dense(8)).Add(new GaussianDropout(0.2f)).Add(new Selu()).Add(new AlphaDropout(0.1f)).Add(new Dense(3));
        Sequential straight = Build(), resumed = Build();
        foreach (Sequential model in new[] { straight, resumed })
        {
            model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        }

        straight.Fit(x, labels, new FitOptions { Epochs = 4, BatchSize = 16, Seed = 1 });
        resumed.Fit(x, labels, new FitOptions { Epochs = 2, BatchSize = 16, Seed = 1 });
        string path = Path.Combine(_folder, "noisy.ncm");
        ModelFile.Save(resumed, path);
        Sequential loaded = ModelFile.Load(path);
        loaded.Fit(x, labels, new FitOptions { Epochs = 4, InitialEpoch = 2, BatchSize = 16, Seed = 1 });
        Assert.Equal(straight.Parameters.ToArray(), loaded.Parameters.ToArray());

        // Inference is the identity: the predictions are those of the same weights without the noise layers.
        var plain = new Sequential(5).Add(new Dense(8)).Add(new Selu()).Add(new Dense(3));
        plain.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        straight.Parameters.Span.CopyTo(plain.Parameters.Span);
        Assert.Equal(plain.Predict(x, 64), straight.Predict(x, 64));
    }

    [Fact]
    public void A_backward_needs_the_training_forward_of_its_own_batch_just_before_it()
    {
        // After an inference forward, or a training forward of another batch, the backward had multiplied by an older
        // draw (or failed with a bare ArgumentOutOfRangeException when the batch had grown).
        foreach (Layer layer in new Layer[] { new Dropout(3, 0.5f, 1, name: "d"), new GaussianDropout(3, 0.3f, 2, name: "d"), new AlphaDropout(3, 0.2f, 3, name: "d") })
        {
            float[] x = Seeded.Uniform(4 * 3, 7), y = new float[4 * 3], dy = Seeded.Uniform(4 * 3, 8), dx = new float[4 * 3];
            layer.Forward(x.AsSpan(0, 6), y.AsSpan(0, 6), 2, training: true);
            var e = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, y, dy, dx, 4));
            Assert.Contains($"'d' ({layer.TypeId}): Backward needs", e.Message, StringComparison.Ordinal);
            Assert.Contains("a training forward of 2 samples", e.Message, StringComparison.Ordinal);
            layer.Forward(x, y, 4, training: true);
            layer.Forward(x, y, 4, training: false);
            Assert.Contains("none, or an inference one", Assert.Throws<InvalidOperationException>(() => layer.Backward(x, y, dy, dx, 4)).Message, StringComparison.Ordinal);
            layer.Forward(x, y, 4, training: true);
            layer.Backward(x, y, dy, dx, 4);
        }
    }

    [Fact]
    public void A_model_gradient_check_refuses_a_layer_that_draws_noise_in_training_by_name()
    {
        var model = new Sequential(4, seed: 1).Add(new Dense(5)).Add(new GaussianNoise(0.2f, name: "noise")).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
        var e = Assert.Throws<InvalidOperationException>(() => GradientChecker.CheckModel(model, Seeded.Uniform(8, 1), [0, 1], 2));
        Assert.Contains("'noise' (GaussianNoise) draws random values in training", e.Message, StringComparison.Ordinal);

        // Alone, a noisy layer is checked with its noise frozen, and refused without.
        var layer = new GaussianDropout(4, 0.3f, 1, name: "gd");
        float[] x = Seeded.Uniform(8, 2);
        Assert.Contains("'gd' (GaussianDropout) draws new noise at each training forward",
            Assert.Throws<InvalidOperationException>(() => GradientChecker.CheckLayer(layer, x, 2)).Message, StringComparison.Ordinal);
        layer.Forward(x, new float[8], 2, training: true);
        layer.FreezeNoise = true;
        // x·noise is linear: only float rounding is left. One fixed case, measured 4.8e-7 at each of the three
        // instruction-set levels CI runs (2026-12-06); bound = 4.2 × 4.8e-7. A backward off by 1% reads 5e-3.
        GradientCheckResult frozen = GradientChecker.CheckLayer(layer, x, 2);
        Assert.True(frozen.MaxError < 2e-6, frozen.ToString());

        // With no noise to draw, the check runs.
        var quiet = new Sequential(4, seed: 1).Add(new Dense(5)).Add(new GaussianNoise(0f)).Add(new Dropout(0f)).Add(new Dense(3));
        quiet.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
        // One fixed case, measured 2.6e-4 at each of the three instruction-set levels (2026-12-06); bound = 3.9 × 2.6e-4.
        GradientCheckResult whole = GradientChecker.CheckModel(quiet, Seeded.Uniform(8, 1), [0, 1], 2);
        Assert.True(whole.MaxError < 1e-3, whole.ToString());
    }
}
