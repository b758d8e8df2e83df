using FsCheck;
using FsCheck.Fluent;
using NeuralCore.Diagnostics;
using NeuralCore.Losses;
using NeuralCore.Tests.Layers;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// Every loss's gradient against central differences of its reduced value, over random shapes, targets of each kind,
/// sample weights and both reductions.
/// </summary>
public class LossGradientTests
{
    public static TheoryData<string> Losses() =>
    [
        "cce_logits", "cce_logits_smoothing", "cce_probabilities", "bce_logits", "bce_logits_smoothing",
        "bce_probabilities", "mse", "mae", "cce_logits_sum",
    ];

    private static ILoss Create(string name) => name switch
    {
        "cce_logits" => new SoftmaxCrossEntropy(),
        "cce_logits_smoothing" => new SoftmaxCrossEntropy(labelSmoothing: 0.2f),
        "cce_probabilities" => new CategoricalCrossentropy(),
        "bce_logits" => new BinaryCrossentropy(fromLogits: true),
        "bce_logits_smoothing" => new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1f),
        "bce_probabilities" => new BinaryCrossentropy(),
        "mse" => new MeanSquaredError(),
        "mae" => new MeanAbsoluteError(),
        "cce_logits_sum" => new SoftmaxCrossEntropy(reduction: Reduction.Sum),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public void The_gradient_matches_differences_for_labels_values_and_weights(string name)
    {
        ILoss loss = Create(name);
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            int outputs = Math.Max(2, c.Outputs), batch = c.Batch;
            var random = new Random(c.Seed);
            float[] output = new float[batch * outputs];
            float[] values = new float[batch * outputs];
            int[] labels = new int[batch];
            float[] weights = [.. Enumerable.Range(0, batch).Select(_ => (float)random.NextDouble() * 2)];
            for (int r = 0; r < batch; r++)
            {
                labels[r] = random.Next(outputs);
                float rowSum = 0;
                for (int j = 0; j < outputs; j++)
                {
                    int i = (r * outputs) + j;

                    // Probabilities stay well inside Keras's clip; MAE's kinks (at o = t, for t in [0, 1], labels
                    // included) stay more than a step away.
                    double u = random.NextDouble();
                    output[i] = loss.Input == LossInput.Probabilities ? 0.3f + (0.65f * (float)u)
                        : loss is MeanAbsoluteError ? (u < 0.5 ? -1.1f - (float)(4 * u) : 1.1f + (float)(4 * (u - 0.5)))
                        : (float)((u * 6) - 3);
                    values[i] = (float)random.NextDouble();

                    rowSum += values[i];
                }

                if (loss.Task == LossTask.MultiClass)
                {
                    for (int j = 0; j < outputs; j++)
                    {
                        values[(r * outputs) + j] /= rowSum;
                    }
                }
            }

            if (loss.Input == LossInput.Probabilities && loss.Task == LossTask.MultiClass)
            {
                // Rows of probabilities, as a softmax gives.
                for (int r = 0; r < batch; r++)
                {
                    Span<float> row = output.AsSpan(r * outputs, outputs);
                    float s = 0;
                    foreach (float v in row)
                    {
                        s += v;
                    }

                    for (int j = 0; j < outputs; j++)
                    {
                        row[j] /= s;
                    }
                }
            }

            // On probabilities the log's curvature (2t/o³) needs a step well below the outputs (rows of 33
            // probabilities are near 0.03 each). A summed loss has gradients batch times larger: so is the floor.
            // The floor is the absolute error allowed (times the 1e-2 tolerance) where a gradient is smaller than it.
            // The differences carry the losses' rounding: in runs of 2,000 cases each, a floor of 1e-3 failed on
            // differences of 1.1-2.5e-5 at gradients of 1e-4 to 1e-3 (a multi-class loss on logits near 4-8, whose float
            // ulp over 2h is 2.4e-5; binary probabilities, where a step of 1e-4 instead of 1e-3 made it worse, so the
            // rounding, not the truncation, is what shows). 1e-2 allows 1e-4, four times the worst seen; gradients
            // above it (1/33 of a row and up) are still held to 1%.
            float step = loss.Input != LossInput.Probabilities ? 1e-2f : loss.Task == LossTask.MultiClass ? 1e-4f : 1e-3f;
            double floor = loss.Reduction == Reduction.Sum ? 1e-2 * batch : 1e-2;
            var onValues = GradientChecker.CheckLoss(loss, output, LossTargets.FromValues(values, weights), batch, outputs, step, floor);
            Assert.True(onValues.MaxError < 1e-2, $"{name} values {c}: {onValues}");
            if (loss.Task != LossTask.Binary)
            {
                var onLabels = GradientChecker.CheckLoss(loss, output, LossTargets.FromLabels(labels, weights), batch, outputs, step, floor);
                Assert.True(onLabels.MaxError < 1e-2, $"{name} labels {c}: {onLabels}");
            }
        }).QuickCheckThrowOnFailure();
    }
}
