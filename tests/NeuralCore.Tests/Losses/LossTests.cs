using NeuralCore.Diagnostics;
using NeuralCore.Kernels;
using NeuralCore.Losses;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Losses;

public class LossTests
{
    private static int[] Labels(int batch, int classes, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, batch).Select(_ => random.Next(classes))];
    }

    [Fact]
    public void Cross_entropy_of_uniform_logits_is_log_of_the_class_count()
    {
        float[] grad = new float[20];
        double loss = new SoftmaxCrossEntropy().Compute(new float[20], [3, 7], grad, 2, 10);
        Assert.Equal(Math.Log(10), loss, 1e-6);
        Assert.Equal((0.1f - 1f) / 2, grad[3], 1e-6f);
        Assert.Equal(0.1f / 2, grad[4], 1e-6f);
    }

    // Up to 64 classes a row's exponentials are kept on the stack, wider rows in the gradient itself: both must give
    // softmax - one-hot (smoothed), and the loss in double, to float rounding.
    [Theory]
    [InlineData(10, 0f)]
    [InlineData(64, 0f)]
    [InlineData(65, 0f)]
    [InlineData(300, 0f)]
    [InlineData(10, 0.2f)]
    [InlineData(300, 0.2f)]
    public void Cross_entropy_from_logits_is_softmax_minus_the_target_at_any_width(int classes, float smoothing)
    {
        const int batch = 3;
        float[] logits = Seeded.Uniform(batch * classes, classes, scale: 4f);
        int[] labels = [0, classes / 2, classes - 1];
        float[] grad = new float[batch * classes];
        double loss = new SoftmaxCrossEntropy(labelSmoothing: smoothing).Compute(logits, labels, grad, batch, classes);
        double expectedLoss = 0;
        for (int r = 0; r < batch; r++)
        {
            double max = logits.Skip(r * classes).Take(classes).Max();
            double sum = Enumerable.Range(0, classes).Sum(j => Math.Exp(logits[(r * classes) + j] - max));
            for (int j = 0; j < classes; j++)
            {
                double p = Math.Exp(logits[(r * classes) + j] - max) / sum;
                double t = ((j == labels[r] ? 1.0 : 0.0) * (1 - smoothing)) + (smoothing / classes);
                expectedLoss -= t * Math.Log(p) / batch;
                Assert.Equal((p - t) / batch, grad[(r * classes) + j], 1e-6);
            }
        }

        Assert.Equal(expectedLoss, loss, 1e-5);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(37)]
    public void Focal_loss_from_logits_reads_the_softmax_that_the_layer_and_predict_compute(int classes)
    {
        // It computed its own softmax in double: its probabilities differed from the Softmax layer's in the last bits,
        // so a model with the layer and one with fromLogits gave different losses for the same outputs.
        const int batch = 6;
        float[] logits = Seeded.Uniform(batch * classes, classes, 6f);
        float[] probabilities = new float[logits.Length];
        Elementwise.SoftmaxRows(logits, probabilities, batch, classes);
        int[] labels = Labels(batch, classes, 5);
        float[] gradient = new float[logits.Length];
        double fromLogits = new CategoricalFocalCrossentropy(0.25f, 2f, fromLogits: true).Compute(logits, labels, gradient, batch, classes);
        double fromSoftmax = new CategoricalFocalCrossentropy(0.25f, 2f).Compute(probabilities, labels, gradient, batch, classes);
        Assert.Equal(fromSoftmax, fromLogits);
    }

    [Fact]
    public void Cross_entropy_is_finite_for_huge_logits()
    {
        float[] logits = [1e4f, -1e4f, 0f];
        float[] grad = new float[3];
        double loss = new SoftmaxCrossEntropy().Compute(logits, [1], grad, 1, 3);
        Assert.Equal(2e4, loss, 1e-2);
        Assert.All(grad, g => Assert.True(float.IsFinite(g)));
    }

    [Theory]
    [InlineData(float.NegativeInfinity, 0f, 1f, 1)]
    [InlineData(3e38f, 0f, -3e38f, 0)]
    [InlineData(3e38f, 0f, -3e38f, 1)]
    public void Cross_entropy_of_one_hot_values_is_the_labels_where_a_logit_is_masked_or_far(float a, float b, float c, int label)
    {
        // A class of target 0 whose logit is -inf (or lies 6e38 below the largest) added 0·∞ = NaN to the row's loss.
        float[] logits = [a, b, c], oneHot = new float[3];
        oneHot[label] = 1f;
        foreach (ILoss loss in new ILoss[] { new SoftmaxCrossEntropy(), new CategoricalCrossentropy(fromLogits: true) })
        {
            float[] fromLabel = new float[3], fromValues = new float[3];
            int[] labels = [label];
            double expected = loss.Compute(logits, LossTargets.FromLabels(labels), fromLabel, 1, 3);
            double actual = loss.Compute(logits, LossTargets.FromValues(oneHot), fromValues, 1, 3);
            Assert.True(double.IsFinite(expected));
            Assert.Equal(expected, actual);
            Assert.Equal(fromLabel, fromValues);
        }

        float[] masked = [float.NegativeInfinity, 0f, 1f], second = [0f, 1f, 0f];
        Assert.Equal(Math.Log(1 + Math.E), new SoftmaxCrossEntropy().Compute(masked, LossTargets.FromValues(second), new float[3], 1, 3), 6);
    }

    [Fact]
    public void Mean_squared_error_uses_keras_reduction()
    {
        // Keras: mean over classes, then over the batch. Row 0: ((0.5-1)² + 0.5²)/2 = 0.25; row 1: (0² + 0²)/2 = 0.
        float[] grad = new float[4];
        double loss = new MeanSquaredError().Compute([0.5f, 0.5f, 0f, 1f], [0, 1], grad, 2, 2);
        Assert.Equal(0.125, loss, 1e-9);
        Assert.Equal([-0.25f, 0.25f, 0f, 0f], grad);
    }

    [Fact]
    public void Sum_agrees_with_the_mean_times_the_batch()
    {
        float[] x = Seeded.Uniform(30, 4, 3f);
        int[] y = Labels(3, 10, 1);
        foreach (Loss loss in new Loss[] { new SoftmaxCrossEntropy(), new MeanSquaredError() })
        {
            double mean = loss.Compute(x, y, new float[30], 3, 10);
            Assert.Equal(mean * 3, loss.Sum(x, y, 3, 10), 1e-5);
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    public void Out_of_range_labels_are_named(int label)
    {
        var ex = Assert.Throws<ArgumentException>(() => new SoftmaxCrossEntropy().Compute(new float[20], [0, label], new float[20], 2, 10));
        Assert.Equal("labels", ex.ParamName);
        Assert.Contains($"labels[1] = {label}", ex.Message, StringComparison.Ordinal);
    }
    [Theory]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Bad_sample_weights_are_named_by_every_entry(float weight)
    {
        // A negative weight turned the loss into something to maximize, and a NaN one gave a NaN loss, without a word.
        var loss = new MeanSquaredError();
        float[] values = [1f, 2f], weights = [1f, weight];
        foreach (Action call in new Action[]
        {
            () => loss.Compute(new float[2], LossTargets.FromValues(values, weights), new float[2], 2, 1),
            () => loss.Sum(new float[2], LossTargets.FromValues(values, weights), 2, 1),
            () => loss.PerSample(new float[2], LossTargets.FromValues(values, weights), new double[2], 2, 1),
        })
        {
            var ex = Assert.Throws<ArgumentException>(call);
            Assert.StartsWith($"Sample weight 1 is {weight.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", ex.Message, StringComparison.Ordinal);
        }
    }
    [Fact]
    public void Shape_errors_name_the_callers_parameter()
    {
        // classes = 0 blamed a parameter called 'outputs'; a short output span failed GradientChecker's slices with a
        // bare "Specified argument was out of the range".
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new CategoricalCrossentropy().Compute(new float[4], [0, 1], new float[4], 2, 0)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxCrossEntropy().Sum(new float[4], [0, 1], 2, 0)).ParamName);
        var shortOutput = Assert.Throws<ArgumentException>(() => GradientChecker.CheckLoss(new CategoricalCrossentropy(), new float[2], [0, 1], 2, 3));
        Assert.Equal("output", shortOutput.ParamName);
        Assert.Contains("output holds 2 floats but [batch=2, outputs=3] needs 6", shortOutput.Message, StringComparison.Ordinal);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => GradientChecker.CheckLoss(new CategoricalCrossentropy(), new float[6], [0], 2, 3)).ParamName);

        // A NaN target gave a NaN loss (and gradient) without a word.
        float[] values = [1f, float.NaN];
        var nan = Assert.Throws<ArgumentException>(() => new MeanSquaredError().Compute(new float[2], LossTargets.FromValues(values), new float[2], 1, 2));
        Assert.StartsWith("targets[0, 1] = NaN: targets must be finite", nan.Message, StringComparison.Ordinal);
    }
}
