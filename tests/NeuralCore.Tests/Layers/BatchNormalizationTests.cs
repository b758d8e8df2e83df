using System.Text.Json;
using NeuralCore.Configuration;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>BatchNormalization against PyTorch's BatchNorm1d (torch_batchnorm.py, beside this file) and Keras's semantics.</summary>
[Collection(SerialTests.Name)]
public class BatchNormalizationTests
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Layers", "golden_torch_batchnorm.json"))).RootElement;

    private static float[] Floats(string name) => [.. Golden.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble())];

    private static BatchNormalization Layer()
    {
        int features = Golden.GetProperty("features").GetInt32();
        var layer = new BatchNormalization(features, (float)Golden.GetProperty("momentum").GetDouble(), (float)Golden.GetProperty("epsilon").GetDouble());
        Floats("gamma").CopyTo(layer.Parameters.Span);
        Floats("beta").CopyTo(layer.Parameters.Span[features..]);
        return layer;
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6f * Math.Max(1f, Math.Abs(expected[i])),
                $"{what}[{i}]: PyTorch {expected[i]:R}, NeuralCore {actual[i]:R}");
        }
    }

    [Fact]
    public void A_training_step_matches_pytorch_forward_backward_and_running_mean()
    {
        BatchNormalization layer = Layer();
        int batch = Golden.GetProperty("batch").GetInt32(), features = layer.InputSize;
        float[] x = Floats("x"), output = new float[x.Length], inputGrad = new float[x.Length];
        layer.Forward(x, output, batch, training: true);
        AssertClose(Floats("output"), output, "output");

        layer.Gradients.Span.Clear();
        layer.Backward(x, output, Floats("r"), inputGrad, batch);
        AssertClose(Floats("input_grad"), inputGrad, "input gradient");
        AssertClose(Floats("gamma_grad"), layer.Gradients.Span[..features], "gamma gradient");
        AssertClose(Floats("beta_grad"), layer.Gradients.Span[features..], "beta gradient");
        AssertClose(Floats("running_mean"), layer.MovingMean.Span, "running mean");

        // Keras's running variance takes the biased batch variance: 0.9·1 + 0.1·σ².
        for (int j = 0; j < features; j++)
        {
            double mean = Enumerable.Range(0, batch).Average(n => (double)x[(n * features) + j]);
            double variance = Enumerable.Range(0, batch).Average(n => Math.Pow(x[(n * features) + j] - mean, 2));
            Assert.Equal(0.9 + (0.1 * variance), layer.MovingVariance.Span[j], 1e-6);
        }
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 7)]
    [InlineData(3, 15)]
    [InlineData(2, 16)]
    [InlineData(5, 17)]
    [InlineData(3, 40)]
    public void The_kernels_compute_each_feature_as_a_scalar_loop_does_to_the_bit(int batch, int features)
    {
        // Each vector lane performs the scalar tail's operations (the 512-bit, Vector<T> and scalar paths alike; CI runs
        // this with AVX-512 off and with intrinsics off), so every value equals this loop's, feature by feature.
        float[] x = Seeded.Uniform(batch * features, features, 3f), dy = Seeded.Uniform(batch * features, features + 1);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += 5.5f * (i % features);
        }

        float[] gamma = Seeded.Uniform(features, features + 2), beta = Seeded.Uniform(features, features + 3);
        double[] mean = new double[features], variance = new double[features], scale = new double[features];
        NeuralCore.Kernels.BatchNormKernels.Moments(x, batch, features, mean, variance);
        for (int j = 0; j < features; j++)
        {
            scale[j] = 1 / Math.Sqrt(variance[j] + 1e-3);
        }

        float[] y = new float[x.Length], dx = new float[x.Length], dGamma = new float[features], dBeta = new float[features];
        NeuralCore.Kernels.BatchNormKernels.Normalize(x, y, batch, features, mean, scale, gamma, beta);
        NeuralCore.Kernels.BatchNormKernels.Backward(x, dy, dx, batch, features, mean, scale, gamma, dGamma, dBeta, new double[2 * features]);
        for (int j = 0; j < features; j++)
        {
            double m = 0, v = 0, dySum = 0, dyXhatSum = 0;
            for (int n = 0; n < batch; n++)
            {
                m += x[(n * features) + j];
            }

            m /= batch;
            for (int n = 0; n < batch; n++)
            {
                double a = x[(n * features) + j] - m;
                v += a * a;
            }

            Assert.Equal(m, mean[j]);
            Assert.Equal(v / batch, variance[j]);
            for (int n = 0; n < batch; n++)
            {
                int i = (n * features) + j;
                Assert.Equal((float)((gamma[j] * ((x[i] - m) * scale[j])) + beta[j]), y[i]);
                dySum += dy[i];
                dyXhatSum += dy[i] * ((x[i] - m) * scale[j]);
            }

            Assert.Equal((float)dyXhatSum, dGamma[j]);
            Assert.Equal((float)dySum, dBeta[j]);
            (dySum, dyXhatSum) = (dySum / batch, dyXhatSum / batch);
            for (int n = 0; n < batch; n++)
            {
                int i = (n * features) + j;
                double xhat = (x[i] - m) * scale[j];
                Assert.Equal((float)(gamma[j] * scale[j] * (dy[i] - dySum - (xhat * dyXhatSum))), dx[i]);
            }
        }
    }

    [Theory]
    [InlineData(2, 3, 1)]
    [InlineData(3, 7, 2)]
    [InlineData(5, 17, 3)]
    [InlineData(8, 40, 4)]
    public void The_kernels_backward_is_the_derivative_in_double(int batch, int features, int seed)
    {
        // Central differences of a double-precision forward written here (h = 1e-6, error about 1e-9), against the
        // kernel's backward (double inside, rounded to float once): within 1e-5 relative. Batches of 2 and 3 are the
        // sharply curved ones that float differences cannot check.
        float[] x = Seeded.Uniform(batch * features, seed, 2f), r = Seeded.Uniform(batch * features, seed + 1);
        float[] gamma = Seeded.Uniform(features, seed + 2), beta = Seeded.Uniform(features, seed + 3);
        const double Epsilon = 1e-3;
        double Objective(double[] input, double[] g, double[] b)
        {
            double total = 0;
            for (int j = 0; j < features; j++)
            {
                double mean = 0, variance = 0;
                for (int n = 0; n < batch; n++)
                {
                    mean += input[(n * features) + j];
                }

                mean /= batch;
                for (int n = 0; n < batch; n++)
                {
                    variance += Math.Pow(input[(n * features) + j] - mean, 2);
                }

                variance /= batch;
                for (int n = 0; n < batch; n++)
                {
                    double y = (g[j] * (input[(n * features) + j] - mean) / Math.Sqrt(variance + Epsilon)) + b[j];
                    total += y * r[(n * features) + j];
                }
            }

            return total;
        }

        double[] mean = new double[features], variance = new double[features], scale = new double[features];
        NeuralCore.Kernels.BatchNormKernels.Moments(x, batch, features, mean, variance);
        for (int j = 0; j < features; j++)
        {
            scale[j] = 1 / Math.Sqrt(variance[j] + Epsilon);
        }

        float[] dx = new float[x.Length], dGamma = new float[features], dBeta = new float[features];
        NeuralCore.Kernels.BatchNormKernels.Backward(x, r, dx, batch, features, mean, scale, gamma, dGamma, dBeta, new double[2 * features]);

        double[] xd = [.. x.Select(v => (double)v)], gd = [.. gamma.Select(v => (double)v)], bd = [.. beta.Select(v => (double)v)];
        DoubleDifferences.AssertMatches(xd, dx, () => Objective(xd, gd, bd), "input gradient");
        DoubleDifferences.AssertMatches(gd, dGamma, () => Objective(xd, gd, bd), "gamma gradient");
        DoubleDifferences.AssertMatches(bd, dBeta, () => Objective(xd, gd, bd), "beta gradient");
    }

    [Fact]
    public void Inference_uses_the_running_statistics_and_changes_nothing()
    {
        var layer = new BatchNormalization(2, momentum: 0.5f, epsilon: 0.01f);
        new float[] { 2f, 0.5f, -1f, 3f }.CopyTo(layer.Parameters.Span);
        new float[] { 1f, -2f }.CopyTo(layer.MovingMean.Span);
        new float[] { 4f, 0.25f }.CopyTo(layer.MovingVariance.Span);
        float[] y = new float[4];
        layer.Forward([3f, -2f, 1f, 0f], y, 2, training: false);
        float[] expected =
        [
            (float)((2 * (3 - 1) / Math.Sqrt(4.01)) - 1), (float)((0.5 * (-2 + 2) / Math.Sqrt(0.26)) + 3),
            (float)((2 * (1 - 1) / Math.Sqrt(4.01)) - 1), (float)((0.5 * (0 + 2) / Math.Sqrt(0.26)) + 3),
        ];
        AssertClose(expected, y, "inference output");
        Assert.Equal([1f, -2f], layer.MovingMean.ToArray());
        Assert.Equal([4f, 0.25f], layer.MovingVariance.ToArray());

        // A training step moves them halfway (momentum 0.5) to the batch's mean 2, -1 and biased variance 1, 1.
        layer.Forward([3f, -2f, 1f, 0f], y, 2, training: true);
        Assert.Equal([1.5f, -1.5f], layer.MovingMean.ToArray());
        Assert.Equal([2.5f, 0.625f], layer.MovingVariance.ToArray());
    }

    [Fact]
    public void A_batch_of_one_sample_outputs_beta_and_passes_no_input_gradient()
    {
        var layer = new BatchNormalization(3);
        new float[] { 2f, 2f, 2f, 0.5f, -1f, 0f }.CopyTo(layer.Parameters.Span);
        float[] y = new float[3], dx = [9f, 9f, 9f];
        layer.Forward([5f, -7f, 1e6f], y, 1, training: true);
        Assert.Equal([0.5f, -1f, 0f], y);
        layer.Backward([5f, -7f, 1e6f], y, [1f, 2f, 3f], dx, 1);
        Assert.Equal([0f, 0f, 0f], dx);
    }

    [Fact]
    public void A_backward_needs_the_training_forward_of_its_own_batch_just_before_it()
    {
        // The backward reads the batch statistics of the last training forward: after an inference forward, or a
        // training forward of another batch, its gradients were those of other statistics, without a word.
        var layer = new BatchNormalization(3, name: "bn");
        float[] x = Seeded.Uniform(8 * 3, 5), y = new float[8 * 3], dy = Seeded.Uniform(8 * 3, 6), dx = new float[8 * 3];
        var e = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, y, dy, dx, 8));
        Assert.Contains("'bn' (BatchNormalization): Backward needs the batch statistics of a training Forward of the same 8 samples", e.Message, StringComparison.Ordinal);
        layer.Forward(x, y, 8, training: true);
        layer.Forward(x.AsSpan(0, 6), y.AsSpan(0, 6), 2, training: true);
        Assert.Contains("a training forward of 2 samples", Assert.Throws<InvalidOperationException>(() => layer.Backward(x, y, dy, dx, 8)).Message, StringComparison.Ordinal);
        layer.Forward(x, y, 8, training: true);
        layer.Forward(x, y, 8, training: false);
        Assert.Contains("none, or an inference one", Assert.Throws<InvalidOperationException>(() => layer.Backward(x, y, dy, dx, 8)).Message, StringComparison.Ordinal);
        layer.Forward(x, y, 8, training: true);
        layer.Backward(x, y, dy, dx, 8);
    }

    [Fact]
    public void A_batch_with_a_nan_or_an_infinity_leaves_the_running_statistics_of_its_features()
    {
        // A layer alone moves them at each training forward; statistics that are not finite would make every later
        // prediction NaN.
        var layer = new BatchNormalization(3, momentum: 0.5f);
        float[] y = new float[6];
        layer.Forward([1f, float.NaN, 2f, 3f, 4f, float.PositiveInfinity], y, 2, training: true);
        Assert.Equal([1f, 0f, 0f], layer.MovingMean.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.MovingVariance.ToArray());
    }

    [Fact]
    public void In_a_model_the_running_statistics_move_only_with_a_finite_loss()
    {
        // A skipped step (its loss not finite) left the parameters as they were but had moved the statistics, to ±∞ and
        // NaN with SGD at a rate of 1e18. ComputeGradients moves them as Keras's training-mode call does (a loop of
        // one's own that applies the optimizer after it must train them: they stayed at 0 and 1 for good), except with
        // a loss that is not finite.
        var model = new Sequential(2, seed: 3).Add(new BatchNormalization(momentum: 0.5f)).Add(new Dense(2));
        model.Compile(new MeanSquaredError(), new Sgd(0.1f));
        var normalization = (BatchNormalization)model.Layers[0];
        float[] x = [1f, 2f, 3f, 6f], targets = [0f, 1f, 1f, 0f], poisoned = [float.NaN, 5f, 1f, 5f];
        model.ComputeGradients(x, LossTargets.FromValues(targets), 2);
        Assert.Equal([1f, 2f], normalization.MovingMean.ToArray());
        Assert.Equal([1f, 2.5f], normalization.MovingVariance.ToArray());

        // A NaN in the first feature makes the loss NaN: nothing moves, not even the second feature's finite statistics.
        model.ComputeGradients(poisoned, LossTargets.FromValues(targets), 2);
        TrainStepResult skipped = model.TrainStep(poisoned, LossTargets.FromValues(targets), 2);
        Assert.True(skipped.Skipped);
        Assert.Equal([1f, 2f], normalization.MovingMean.ToArray());
        Assert.Equal([1f, 2.5f], normalization.MovingVariance.ToArray());

        model.TrainStep(x, LossTargets.FromValues(targets), 2);
        Assert.Equal([1.5f, 3f], normalization.MovingMean.ToArray());
        Assert.Equal([1f, 3.25f], normalization.MovingVariance.ToArray());
    }

    [Fact]
    public void The_layer_gradient_check_leaves_the_running_statistics_and_save_refuses_non_finite_ones()
    {
        var layer = new BatchNormalization(3);
        var result = NeuralCore.Diagnostics.GradientChecker.CheckLayer(layer, Seeded.Uniform(4 * 3, 7), 4, step: 5e-3f);
        // One fixed case, measured 1.2e-4 at each of the three instruction-set levels CI runs (2026-12-06); bound = 4.1 × 1.2e-4.
        Assert.True(result.MaxError < 5e-4, result.ToString());
        Assert.Equal([0f, 0f, 0f], layer.MovingMean.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.MovingVariance.ToArray());

        // Save refuses what Load refuses: a running variance that is infinite or negative (it wrote the negative one).
        var model = new Sequential(3).Add(new BatchNormalization(name: "bn")).Add(new Dense(2));
        string path = Path.Combine(Path.GetTempPath(), $"bn-{Guid.NewGuid():N}.ncm");
        foreach (float bad in new[] { float.PositiveInfinity, -0.5f })
        {
            ((BatchNormalization)model.Layers[0]).MovingVariance.Span[1] = bad;
            var e = Assert.Throws<ArgumentException>(() => NeuralCore.Serialization.ModelFile.Save(model, path));
            Assert.Contains($"Layer 'bn': feature 1's running mean 0 or variance {bad}", e.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was written", e.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(path));
        }
    }

    [Fact]
    public void The_defaults_are_keras_and_bad_settings_are_refused_by_name()
    {
        var layer = new BatchNormalization(4);
        Assert.Equal((0.99f, 1e-3f), (layer.Momentum, layer.Epsilon));
        Assert.Equal([1f, 1f, 1f, 1f, 0f, 0f, 0f, 0f], layer.Parameters.ToArray());
        Assert.Equal([0f, 0f, 0f, 0f], layer.MovingMean.ToArray());
        Assert.Equal([1f, 1f, 1f, 1f], layer.MovingVariance.ToArray());
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization(momentum: 1f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization(epsilon: 0f)).ParamName);
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => new BatchNormalization().MovingMean).Message, StringComparison.Ordinal);
        Assert.All(layer.ParameterSegments, s => Assert.Equal(ParameterRole.Bias, s.Role));
    }

    [Fact]
    public void Saved_state_with_the_wrong_length_or_a_negative_variance_is_refused()
    {
        var layer = new BatchNormalization(2);
        var state = new ComponentConfig("BatchNormalization");
        state.Set("moving_mean", [0f, 1f, 2f]).Set("moving_variance", [1f, 1f, 1f]);
        Assert.Contains("2 features but its state holds 3", Assert.Throws<InvalidDataException>(() => layer.ReadState(state)).Message, StringComparison.Ordinal);
        state = new ComponentConfig("BatchNormalization");
        state.Set("moving_mean", [0f, 1f]).Set("moving_variance", [1f, -0.5f]);
        Assert.Contains("feature 1", Assert.Throws<InvalidDataException>(() => layer.ReadState(state)).Message, StringComparison.Ordinal);
        Assert.Equal([1f, 1f], layer.MovingVariance.ToArray());
    }

    [Fact]
    public void A_model_with_batch_normalization_learns_and_trains_the_same_bits_on_any_thread_count()
    {
        (float[] x, int[] y) = FitTestsData();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            try
            {
                var model = new Sequential(4, seed: 3).Add(new Dense(16)).Add(new BatchNormalization()).Add(new Relu()).Add(new Dense(3));
                model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
                History history = model.Fit(x, y, new FitOptions { Epochs = 15, BatchSize = 16, Seed = 5, MeasureStepThreads = false });
                Assert.True(history.Accuracy[^1] > 0.95, $"accuracy {history.Accuracy[^1]}");
                var bn = (BatchNormalization)model.Layers[1];
                float[] state = [.. model.Parameters.ToArray(), .. bn.MovingMean.ToArray(), .. bn.MovingVariance.ToArray()];
                first ??= state;
                Assert.Equal(first, state);
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
            }
        }
    }

    [Fact]
    public void Threads_that_divide_the_features_give_the_same_bits()
    {
        // 128 × 600 values: two or three threads take slices of whole vectors of 16 features, the last one ragged.
        const int Batch = 128, Features = 600;
        float[] x = Seeded.Uniform(Batch * Features, 21, 3f), dy = Seeded.Uniform(Batch * Features, 22);
        (float[] Y, float[] Dx, float[] Gradients, float[] Mean)? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            try
            {
                var layer = new BatchNormalization(Features, momentum: 0.5f);
                Seeded.Uniform(2 * Features, 23, 0.5f).CopyTo(layer.Parameters.Span);
                float[] y = new float[x.Length], dx = new float[x.Length];
                layer.Forward(x, y, Batch, training: true);
                layer.Gradients.Span.Clear();
                layer.Backward(x, y, dy, dx, Batch);
                (float[], float[], float[], float[]) result = (y, dx, layer.Gradients.ToArray(), layer.MovingMean.ToArray());
                first ??= result;
                Assert.Equal(first.Value.Y, result.Item1);
                Assert.Equal(first.Value.Dx, result.Item2);
                Assert.Equal(first.Value.Gradients, result.Item3);
                Assert.Equal(first.Value.Mean, result.Item4);
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
            }
        }

        // And the same values as the public, single-pass kernels.
        var reference = new BatchNormalization(Features, momentum: 0.5f);
        Seeded.Uniform(2 * Features, 23, 0.5f).CopyTo(reference.Parameters.Span);
        double[] mean = new double[Features], variance = new double[Features], scale = new double[Features];
        NeuralCore.Kernels.BatchNormKernels.Moments(x, Batch, Features, mean, variance);
        for (int j = 0; j < Features; j++)
        {
            scale[j] = 1 / Math.Sqrt(variance[j] + reference.Epsilon);
        }

        float[] expected = new float[x.Length];
        NeuralCore.Kernels.BatchNormKernels.Normalize(x, expected, Batch, Features, mean, scale,
            reference.Parameters.Span[..Features], reference.Parameters.Span[Features..]);
        Assert.Equal(expected, first!.Value.Y);
    }

    [Fact]
    public void A_predictor_keeps_the_statistics_it_was_created_with()
    {
        (float[] x, int[] y) = FitTestsData();
        var model = new Sequential(4, seed: 3).Add(new Dense(8)).Add(new BatchNormalization(0.5f)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16, Seed = 5 });
        Predictor predictor = model.CreatePredictor();
        float[] expected = new float[10 * 3], actual = new float[10 * 3];
        model.Predict(x.AsSpan(0, 10 * 4), expected, 10);
        predictor.Predict(x.AsSpan(0, 10 * 4), actual, 10);
        Assert.Equal(expected, actual);

        // Training moves the model's running statistics (momentum 0.5), not the predictor's.
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Seed = 6 });
        predictor.Predict(x.AsSpan(0, 10 * 4), actual, 10);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_summary_counts_the_running_statistics_as_non_trainable_as_keras_does()
    {
        var model = new Sequential(4, seed: 3).Add(new Dense(16)).Add(new BatchNormalization()).Add(new Dense(3));
        string summary = model.Summary();
        Assert.Contains("(None, 16)                64", summary, StringComparison.Ordinal);
        Assert.Contains("Total params: 195 (780.00 B)", summary, StringComparison.Ordinal);
        Assert.Contains("Trainable params: 163 (652.00 B)", summary, StringComparison.Ordinal);
        Assert.Contains("Non-trainable params: 32 (128.00 B)", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Restoring_the_best_weights_restores_the_running_statistics_of_that_epoch()
    {
        // Keras's restore_best_weights sets get_weights(), which holds the running statistics: the parameters alone
        // put back beside the last epoch's statistics gave a model that was never trained.
        (float[] x, int[] y) = FitTestsData();
        var model = new Sequential(4, seed: 3).Add(new Dense(8)).Add(new BatchNormalization(0.5f)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f));
        var recorder = new StatisticsRecorder();
        var stopping = new EarlyStopping("val_accuracy", patience: 100, restoreBestWeights: true);
        model.Fit(x, y, new FitOptions { Epochs = 8, BatchSize = 16, Seed = 5, ValidationSplit = 0.25, Callbacks = [recorder, stopping] });

        Assert.InRange(stopping.RestoredEpoch, 1, 7);
        var normalization = (BatchNormalization)model.Layers[1];
        Assert.Equal(recorder.Means[stopping.RestoredEpoch - 1], normalization.MovingMean.ToArray());
        Assert.Equal(recorder.Variances[stopping.RestoredEpoch - 1], normalization.MovingVariance.ToArray());
        Assert.NotEqual(recorder.Means[^1], normalization.MovingMean.ToArray());
    }

    [Fact]
    public void The_model_gradient_check_refuses_a_batch_normalized_model_and_leaves_it_untouched()
    {
        var model = new Sequential(4, seed: 3).Add(new Dense(8)).Add(new BatchNormalization(name: "bn")).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        float[] before = model.Parameters.ToArray();
        var e = Assert.Throws<InvalidOperationException>(() =>
            NeuralCore.Diagnostics.GradientChecker.CheckModel(model, Seeded.Uniform(5 * 4, 2), [0, 1, 2, 0, 1], 5));
        Assert.Contains("'bn' is a BatchNormalization", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.Equal(new float[8], ((BatchNormalization)model.Layers[1]).MovingMean.ToArray());
    }

    private sealed class StatisticsRecorder : Callback
    {
        public List<float[]> Means { get; } = [];

        public List<float[]> Variances { get; } = [];

        public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
        {
            var normalization = (BatchNormalization)context.Model.Layers[1];
            Means.Add(normalization.MovingMean.ToArray());
            Variances.Add(normalization.MovingVariance.ToArray());
        }
    }

    // Three separable classes of 4 features at offsets far from 0 (what batch normalization is for).
    private static (float[] X, int[] Y) FitTestsData()
    {
        const int Count = 240;
        float[] noise = Seeded.Uniform(Count * 4, 17);
        float[] x = new float[Count * 4];
        int[] y = new int[Count];
        for (int n = 0; n < Count; n++)
        {
            y[n] = n % 3;
            for (int j = 0; j < 4; j++)
            {
                x[(n * 4) + j] = 50f + (10f * (j == y[n] ? 1 : 0)) + (3f * noise[(n * 4) + j]);
            }
        }

        return (x, y);
    }
}
