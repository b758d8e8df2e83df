using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>
/// <see cref="PRelu"/>: Keras's function and gradients with its slopes, shared or per feature, the slopes learned,
/// their role for weight decay, the model file and the predictor. The finite-difference and contract properties run
/// through <see cref="LayerFactory"/>.
/// </summary>
public sealed class PReluTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-prelu-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Forward_and_backward_are_kerass_with_a_slope_per_feature()
    {
        var layer = new PRelu(3);
        Assert.Equal(3, layer.ParameterCount);
        Assert.Equal([0f, 0f, 0f], layer.Alpha.ToArray());
        float[] slopes = [0.1f, -0.5f, 2f];
        slopes.CopyTo(layer.Alpha.Span);

        float[] x = [-1f, -2f, -3f, 4f, 0f, -0.5f];
        float[] y = new float[6];
        layer.Forward(x, y, 2, training: true);
        Assert.Equal([-0.1f, 1f, -6f, 4f, 0f, -1f], y);

        float[] dy = [1f, 2f, 3f, 4f, 5f, 6f], dx = new float[6];
        layer.Backward(x, y, dy, dx, 2);
        Assert.Equal([0.1f, -1f, 6f, 4f, 0f, 12f], dx);

        // ∂loss/∂α[j] = Σ x·dy over the samples where x < 0.
        Assert.Equal([-1f, -4f, (-3f * 3f) + (-0.5f * 6f)], layer.Gradients.ToArray());
    }

    [Fact]
    public void A_shared_slope_gets_the_sum_of_every_features_terms()
    {
        float[] x = Seeded.Uniform(5 * 7, 11, 2f), dy = Seeded.Uniform(5 * 7, 12, 1f);
        var shared = new PRelu(7, initialAlpha: 0.3f, sharedAlpha: true);
        var perFeature = new PRelu(7, initialAlpha: 0.3f);
        Assert.Equal(1, shared.ParameterCount);
        Assert.Equal([0.3f], shared.Alpha.ToArray());

        float[] y = new float[x.Length], yShared = new float[x.Length], dx = new float[x.Length], dxShared = new float[x.Length];
        perFeature.Forward(x, y, 5, training: true);
        shared.Forward(x, yShared, 5, training: true);
        Assert.Equal(y, yShared);
        perFeature.Backward(x, y, dy, dx, 5);
        shared.Backward(x, yShared, dy, dxShared, 5);
        Assert.Equal(dx, dxShared);

        double sum = 0;
        foreach (float term in perFeature.Gradients.Span)
        {
            sum += term;
        }

        Assert.Equal((float)sum, shared.Gradients.Span[0]);
        Assert.NotEqual(0f, shared.Gradients.Span[0]);
    }

    [Fact]
    public void Training_learns_the_slope_of_the_data()
    {
        // y = x above 0 and 0.4·x below, two features: a lone PReLU starting as a ReLU (α = 0) must find α = 0.4 from the
        // negative half, each feature's slope or the shared one.
        float[] x = Seeded.Uniform(2 * 256, 3, 3f);
        float[] targets = [.. x.Select(v => v < 0 ? 0.4f * v : v)];
        foreach (bool sharedAlpha in new[] { false, true })
        {
            var model = new Sequential(2, seed: 1).Add(new PRelu(sharedAlpha: sharedAlpha));
            model.Compile(new MeanSquaredError(), new Adam(0.02f));
            History history = model.Fit(x, targets, new FitOptions { Epochs = 60, BatchSize = 32, Seed = 2 });
            float[] alpha = ((PRelu)model.Layers[0]).Alpha.ToArray();
            Assert.Equal(sharedAlpha ? 1 : 2, alpha.Length);
            Assert.All(alpha, a => Assert.True(Math.Abs(a - 0.4f) < 0.01f, $"shared {sharedAlpha}: α = {a}, final loss {history.Loss[^1]}"));
        }
    }

    [Fact]
    public void The_slopes_are_left_out_of_weight_decay_by_default()
    {
        var layer = new PRelu(4, name: "act");
        ParameterSegment segment = Assert.Single(layer.ParameterSegments);
        Assert.Equal(new ParameterSegment("act/alpha", 0, 4, ParameterRole.Bias), segment);

        // AdamW-style decay with a zero gradient moves the dense weights but not the slopes.
        var model = new Sequential(4, seed: 2).Add(new Dense(4)).Add(new PRelu(initialAlpha: 0.25f));
        model.Compile(new MeanSquaredError(), new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f });
        float[] weights = ((Dense)model.Layers[0]).Weights.ToArray();
        model.TrainStep(new float[4], LossTargets.FromValues(new float[4]), 1);
        Assert.Equal([0.25f, 0.25f, 0.25f, 0.25f], ((PRelu)model.Layers[1]).Alpha.ToArray());
        Assert.NotEqual(weights, ((Dense)model.Layers[0]).Weights.ToArray());
    }

    [Fact]
    public void Saved_and_loaded_with_its_settings_slopes_and_predictions()
    {
        float[] x = Seeded.Uniform(40 * 3, 5, 2f);
        int[] labels = [.. Enumerable.Range(0, 40).Select(i => i % 2)];
        foreach (PRelu layer in new[] { new PRelu(initialAlpha: 0.25f, name: "prelu"), new PRelu(initialAlpha: -0.1f, sharedAlpha: true) })
        {
            var model = new Sequential(3, seed: 4).Add(new Dense(6)).Add(layer).Add(new Dense(2));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
            model.Fit(x, labels, new FitOptions { Epochs = 3, BatchSize = 8, Seed = 1 });
            string path = Path.Combine(_folder, "prelu.ncm");
            ModelFile.Save(model, path);
            Sequential loaded = ModelFile.Load(path);
            var read = (PRelu)loaded.Layers[1];
            Assert.Equal((layer.InitialAlpha, layer.SharedAlpha, layer.Name), (read.InitialAlpha, read.SharedAlpha, read.Name));
            Assert.Equal(layer.Alpha.ToArray(), read.Alpha.ToArray());
            Assert.NotEqual(layer.InitialAlpha, layer.Alpha.Span[0]);
            Assert.Equal(model.Predict(x, 40), loaded.Predict(x, 40));
        }
    }

    [Fact]
    public void A_predictor_keeps_the_slopes_it_was_created_with()
    {
        float[] x = Seeded.Uniform(40 * 3, 6, 2f);
        int[] labels = [.. Enumerable.Range(0, 40).Select(i => i % 3)];
        var model = new Sequential(3, seed: 4).Add(new Dense(6)).Add(new PRelu(initialAlpha: 0.2f)).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        Predictor predictor = model.CreatePredictor();
        float[] before = new float[40 * 3], after = new float[40 * 3];
        predictor.Predict(x, before, 40);
        model.Fit(x, labels, new FitOptions { Epochs = 2, BatchSize = 8, Seed = 1 });
        predictor.Predict(x, after, 40);
        Assert.Equal(before, after);
        Assert.NotEqual(before, model.Predict(x, 40));
    }

    [Fact]
    public void Settings_are_checked()
    {
        Assert.Contains("initialAlpha", Assert.Throws<ArgumentOutOfRangeException>(() => new PRelu(float.NaN)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PRelu(float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PRelu(0, 0.25f));
    }
}
