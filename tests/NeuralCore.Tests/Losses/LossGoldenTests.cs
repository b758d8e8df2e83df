using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Losses;

namespace NeuralCore.Tests.Losses;

/// <summary>Per-sample losses, reductions and weights against golden_losses.py (Keras 3's formulas in float64).</summary>
public class LossGoldenTests
{
    private static readonly float[] Logits = [2f, -1f, 0.5f, 0.1f, 0.2f, -3f];
    private static readonly int[] Labels = [2, 1];
    private static readonly float[] OneHot = [0f, 0f, 1f, 0f, 1f, 0f];

    private static double[] PerSample(ILoss loss, ReadOnlySpan<float> output, LossTargets targets, int outputs)
    {
        int batch = output.Length / outputs;
        double[] losses = new double[batch];
        loss.PerSample(output, targets, losses, batch, outputs);
        return losses;
    }

    private static void Near(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], tolerance);
        }
    }

    [Fact]
    public void Categorical_cross_entropy_from_logits_labels_one_hot_and_smoothing()
    {
        double[] expected = [1.7413112966571571, 0.6655702185125156];
        Near(expected, PerSample(new SoftmaxCrossEntropy(), Logits, LossTargets.FromLabels(Labels), 3), 1e-6);
        Near(expected, PerSample(new CategoricalCrossentropy(fromLogits: true), Logits, LossTargets.FromValues(OneHot), 3), 1e-6);
        double[] smoothed = [1.7413112966571571, 0.7755702185125156];
        Near(smoothed, PerSample(new SoftmaxCrossEntropy(labelSmoothing: 0.1f), Logits, LossTargets.FromLabels(Labels), 3), 1e-6);
        Near(smoothed, PerSample(new SoftmaxCrossEntropy(labelSmoothing: 0.1f), Logits, LossTargets.FromValues(OneHot), 3), 1e-6);
    }

    [Fact]
    public void Categorical_cross_entropy_on_probabilities_and_soft_targets()
    {
        float[] probabilities = new float[6];
        Elementwise.SoftmaxRows(Logits, probabilities, 2, 3);
        float[] soft = [0.2f, 0.3f, 0.5f, 0.6f, 0.4f, 0f];
        Near([1.891311296657157, 0.7255702185125156],
            PerSample(new CategoricalCrossentropy(), probabilities, LossTargets.FromValues(soft), 3), 1e-6);
    }

    [Fact]
    public void Reductions_and_sample_weights_follow_keras()
    {
        float[] weights = [2f, 0.5f];
        var targets = LossTargets.FromLabels(Labels, weights);
        float[] grad = new float[6];
        Assert.Equal(1.907703851285286, new SoftmaxCrossEntropy().Compute(Logits, targets, grad, 2, 3), 1e-6);
        Assert.Equal(3.815407702570572, new SoftmaxCrossEntropy(reduction: Reduction.Sum).Compute(Logits, targets, grad, 2, 3), 1e-6);
        Near([2 * 1.7413112966571571, 0.5 * 0.6655702185125156],
            PerSample(new SoftmaxCrossEntropy(reduction: Reduction.None), Logits, targets, 3), 1e-6);

        // The gradient follows the reduction: Sum is Mean's times the batch size, row by row times the weight.
        float[] mean = new float[6], sum = new float[6], unweighted = new float[6];
        new SoftmaxCrossEntropy().Compute(Logits, targets, mean, 2, 3);
        new SoftmaxCrossEntropy(reduction: Reduction.Sum).Compute(Logits, targets, sum, 2, 3);
        new SoftmaxCrossEntropy(reduction: Reduction.Sum).Compute(Logits, LossTargets.FromLabels(Labels), unweighted, 2, 3);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(2 * mean[i], sum[i], 1e-6f);
            Assert.Equal(weights[i / 3] * unweighted[i], sum[i], 1e-6f);
        }
    }

    [Fact]
    public void Binary_cross_entropy_from_logits_probabilities_clip_and_smoothing()
    {
        float[] logits = [1.5f, -0.3f, -2f, 4f];
        float[] targets = [1f, 0f, 0f, 1f];
        Near([0.3778842612256398, 0.07253896948039111],
            PerSample(new BinaryCrossentropy(fromLogits: true), logits, LossTargets.FromValues(targets), 2), 1e-6);
        Near([0.46788426122563975, 0.3725389694803911],
            PerSample(new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.2f), logits, LossTargets.FromValues(targets), 2), 1e-6);

        // Probabilities 0 and 1 meet Keras's clip at 1e-7: a finite loss, and no gradient through the clipped outputs.
        float[] probabilities = [0.9f, 0.2f, 0f, 1f];
        Near([0.164252033486018, 1.0000000494736474e-07],
            PerSample(new BinaryCrossentropy(), probabilities, LossTargets.FromValues(targets), 2), 1e-6);
        float[] grad = new float[4];
        new BinaryCrossentropy().Compute(probabilities, LossTargets.FromValues(targets), grad, 2, 2);
        Assert.Equal([0f, 0f], grad[2..]);
        Assert.All(grad, g => Assert.True(float.IsFinite(g)));
    }

    [Fact]
    public void One_output_binary_cross_entropy_takes_labels_0_and_1()
    {
        var loss = new BinaryCrossentropy(fromLogits: true);
        double[] fromLabels = PerSample(loss, [1.5f, -2f], LossTargets.FromLabels([1, 0]), 1);
        double[] fromValues = PerSample(loss, [1.5f, -2f], LossTargets.FromValues([1f, 0f]), 1);
        Assert.Equal(fromValues, fromLabels);
        var ex = Assert.Throws<ArgumentException>(() => loss.PerSample([1f, 2f], LossTargets.FromLabels([1]), new double[1], 1, 2));
        Assert.Contains("only for a model with one output", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Regression_losses_give_keras_values()
    {
        float[] output = [1f, 2f, 3f, -1f];
        float[] targets = [1.5f, 2f, 0f, 1f];
        Near([0.125, 6.5], PerSample(new MeanSquaredError(), output, LossTargets.FromValues(targets), 2), 1e-12);
        Near([0.25, 2.5], PerSample(new MeanAbsoluteError(), output, LossTargets.FromValues(targets), 2), 1e-12);
        float[] grad = new float[4];
        new MeanAbsoluteError().Compute(output, LossTargets.FromValues(targets), grad, 2, 2);
        Assert.Equal([-0.25f, 0f, 0.25f, -0.25f], grad);

        // Huber and log-cosh: golden_losses.py (Keras's formulas). PyTorch's huber_loss and log(cosh) autograd are the
        // second source, in TorchLossGoldenTests (torch_losses.py, golden_torch_losses.json). The step's gradient is of
        // the batch mean: each sample's, halved.
        Near([0.0625, 2.0], PerSample(new Huber(), output, LossTargets.FromValues(targets), 2), 1e-12);
        Near([0.046875, 0.59375], PerSample(new Huber(0.25f), output, LossTargets.FromValues(targets), 2), 1e-12);
        Near([0.06005725347913876, 1.8171656259678246], PerSample(new LogCosh(), output, LossTargets.FromValues(targets), 2), 1e-12);
        new Huber(0.25f).Compute(output, LossTargets.FromValues(targets), grad, 2, 2);
        Assert.Equal([-0.125f / 2, 0f, 0.125f / 2, -0.125f / 2], grad);
        new LogCosh().Compute(output, LossTargets.FromValues(targets), grad, 2, 2);
        Near([-0.23105858 / 2, 0, 0.49752738 / 2, -0.48201379 / 2], [.. grad.Select(g => (double)g)], 1e-7);
        Assert.Equal("delta", Assert.Throws<ArgumentOutOfRangeException>(() => new Huber(0f)).ParamName);
    }

    [Fact]
    public void Target_checks_name_the_value_and_say_what_the_loss_needs()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new CategoricalCrossentropy().CheckTargets(LossTargets.FromValues([0.5f, 0.5f, 3.2f, -2.2f]), 2, 2, "targets"));
        Assert.Contains("targets[1, 0] = 3.2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MeanSquaredError", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            new CategoricalCrossentropy().CheckTargets(LossTargets.FromValues([0.5f, 0.2f]), 1, 2, "targets"));
        Assert.Contains("sums to 0.7", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            new MeanSquaredError().CheckTargets(LossTargets.FromValues([1f, float.NaN]), 2, 1, "targets"));
        Assert.Contains("targets[1, 0] = NaN", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            new BinaryCrossentropy().CheckTargets(LossTargets.FromValues([1f, 2f]), 2, 1, "targets"));
        Assert.Contains("[0, 1]", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            new MeanSquaredError().CheckTargets(LossTargets.FromValues([1f, 2f], [1f, -1f]), 2, 1, "targets"));
        Assert.Contains("Sample weight 1 is -1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_labels_score_as_their_one_hot_rows_do_for_every_loss_that_takes_them()
    {
        // Label smoothing on labels was untested for the focal losses: a Row that skipped it for labels passed.
        ILoss[] multi =
        [
            new SoftmaxCrossEntropy(0.2f), new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1f),
            new CategoricalFocalCrossentropy(0.5f, 1.5f, true, 0.2f), new CategoricalFocalCrossentropy(labelSmoothing: 0.1f),
            new CategoricalFocalCrossentropy(0.25f, 2f, true, 0.3f), new KLDivergence(), new CategoricalHinge(), new MeanSquaredError(),
            new MeanSquaredLogarithmicError(), new Poisson(), new CosineSimilarity(), new Hinge(), new SquaredHinge(), new Huber(),
        ];
        ILoss[] single =
        [
            new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.2f), new BinaryFocalCrossentropy(true, 0.3f, 2f, true, 0.1f),
            new BinaryFocalCrossentropy(labelSmoothing: 0.3f), new Hinge(), new SquaredHinge(),
        ];
        float[] weights = [0.5f, 2f, 1f];
        foreach ((ILoss[] losses, int outputs) in new[] { (multi, 4), (single, 1) })
        {
            foreach (ILoss loss in losses)
            {
                var random = new Random(7);
                float[] output = [.. Enumerable.Range(0, 3 * outputs).Select(_ => loss.Input == LossInput.Probabilities || loss is Poisson ? 0.1f + (0.8f * (float)random.NextDouble()) : (float)((random.NextDouble() * 4) - 2))];
                if (loss.Input == LossInput.Probabilities && outputs > 1)
                {
                    for (int r = 0; r < 3; r++)
                    {
                        Span<float> row = output.AsSpan(r * outputs, outputs);
                        float total = row.ToArray().Sum();
                        for (int j = 0; j < outputs; j++)
                        {
                            row[j] /= total;
                        }
                    }
                }

                int[] labels = outputs == 1 ? [1, 0, 1] : [2, 0, 3];
                float[] oneHot = [.. labels.SelectMany(l => Enumerable.Range(0, outputs).Select(j => outputs == 1 ? l : j == l ? 1f : 0f))];
                double[] fromLabels = PerSample(loss, output, LossTargets.FromLabels(labels, weights), outputs);
                double[] fromValues = PerSample(loss, output, LossTargets.FromValues(oneHot, weights), outputs);
                float[] gradLabels = new float[output.Length], gradValues = new float[output.Length];
                loss.Compute(output, LossTargets.FromLabels(labels, weights), gradLabels, 3, outputs);
                loss.Compute(output, LossTargets.FromValues(oneHot, weights), gradValues, 3, outputs);
                for (int r = 0; r < 3; r++)
                {
                    Assert.True(Math.Abs(fromLabels[r] - fromValues[r]) <= 1e-6 * Math.Max(1, Math.Abs(fromValues[r])), $"{loss.Name} {loss.GetType().Name}: sample {r}, {fromLabels[r]} from labels, {fromValues[r]} from one-hot rows");
                }

                for (int i = 0; i < output.Length; i++)
                {
                    Assert.True(Math.Abs(gradLabels[i] - gradValues[i]) <= 1e-6 * Math.Max(1, Math.Abs(gradValues[i])), $"{loss.Name}: gradient {i}, {gradLabels[i]} from labels, {gradValues[i]} from one-hot rows");
                }
            }
        }
    }

    [Fact]
    public void Every_loss_and_its_settings_round_trip_through_its_config()
    {
        ILoss[] losses =
        [
            new SoftmaxCrossEntropy(0.1f, Reduction.Sum), new CategoricalCrossentropy(labelSmoothing: 0.2f),
            new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.05f), new BinaryCrossentropy(reduction: Reduction.None),
            new MeanSquaredError(Reduction.Sum), new MeanAbsoluteError(), new Huber(0.5f, Reduction.Sum), new LogCosh(),
            new MeanSquaredLogarithmicError(Reduction.Sum), new MeanAbsolutePercentageError(), new Poisson(), new KLDivergence(),
            new CosineSimilarity(Reduction.Sum), new Hinge(), new SquaredHinge(Reduction.Sum), new CategoricalHinge(),
            new BinaryFocalCrossentropy(true, 0.4f, 1.5f, true, 0.1f, Reduction.Sum), new BinaryFocalCrossentropy(),
            new CategoricalFocalCrossentropy(0.5f, 0f, true, 0.05f), new CategoricalFocalCrossentropy(),
            new CategoricalFocalCrossentropy(fromLogits: true) { ClassAlphas = [0.1f, 0.7f, 2f] },
        ];
        foreach (ILoss loss in losses)
        {
            ComponentConfig config = ComponentRegistry.ConfigOf(loss);
            ILoss rebuilt = ComponentRegistry.CreateLoss(config);
            Assert.Equal(loss.GetType(), rebuilt.GetType());
            Assert.Equal(config.ToString(), ComponentRegistry.ConfigOf(rebuilt).ToString());
        }

        // Version 1 files named the from-logits loss without settings.
        Assert.IsType<SoftmaxCrossEntropy>(ComponentRegistry.CreateLoss(new ComponentConfig("categorical_crossentropy")));
    }
}
