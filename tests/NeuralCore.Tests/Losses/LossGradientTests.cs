using FsCheck;
using FsCheck.Fluent;
using NeuralCore.Diagnostics;
using NeuralCore.Losses;
using NeuralCore.Tests.Layers;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// Every loss's gradient against central differences of its reduced value, over random shapes, targets of each kind,
/// sample weights and both reductions, each loss under a bound a stated margin above the largest error measured for
/// it.
/// </summary>
/// <remarks>
/// The bounds were measured on 2026-12-04 by running the check over many more random cases than a run's 100, at the
/// three instruction-set levels CI runs: 85,000 cases per loss (45,000 AVX-512, 20,000 AVX2 with AVX-512 off, 20,000
/// scalar), each on values and, where it applies, on labels, and 400,000 to 1,000,000 more for the losses whose
/// largest error stood well above their 99.9th percentile (a heavy tail).
/// </remarks>
public class LossGradientTests
{
    /// <summary>
    /// The regression, hinge and KL losses and those on probability rows (cce_probabilities,
    /// categorical_focal_probabilities). Measured max 4.4e-4 over 485,000 cases (msle on values, a heavy tail: 99.9th
    /// percentile 2.7e-5; cosine 2.5e-4 and poisson 1.7e-4 likewise, over 485,000); the others at most 4.7e-5 over
    /// 85,000; bound = 4.5 × 4.4e-4.
    /// </summary>
    private const double Tolerance = 2e-3;

    /// <summary>
    /// The cross-entropies on logits, the binary cross-entropies, the focal losses on logits or binary outputs, and
    /// Huber (whose second derivative jumps at |o - t| = δ: up to 1.8e-3 there). Measured max 9.6e-3 over 1,185,000
    /// cases (bce_probabilities; cce_logits_smoothing 8.6e-3 over as many; the others at most 4.7e-3 over 85,000 to
    /// 185,000), a heavy tail: 99.9th percentiles 6.6e-4 and 1.5e-3. The tail is the rounding of the loss's value at
    /// gradients under the floor: the floor puts one float ulp of the sum at an error of at most 2.5e-3 (see the
    /// test), and the two sums of a difference are a few ulps apart at worst. Bound = 3.1 × 9.6e-3.
    /// </summary>
    private const double RoundingTolerance = 3e-2;

    public static TheoryData<string, double> Losses() => new()
    {
        { "cce_logits", RoundingTolerance }, { "cce_logits_smoothing", RoundingTolerance }, { "cce_probabilities", Tolerance },
        { "bce_logits", RoundingTolerance }, { "bce_logits_smoothing", RoundingTolerance }, { "bce_probabilities", RoundingTolerance },
        { "mse", Tolerance }, { "mae", Tolerance }, { "cce_logits_sum", RoundingTolerance }, { "huber", RoundingTolerance },
        { "log_cosh", Tolerance }, { "msle", Tolerance }, { "mape", Tolerance }, { "poisson", Tolerance }, { "kld", Tolerance },
        { "cosine", Tolerance }, { "hinge", Tolerance }, { "squared_hinge", Tolerance }, { "categorical_hinge", Tolerance },
        { "binary_focal_logits", RoundingTolerance }, { "binary_focal_probabilities", RoundingTolerance },
        { "binary_focal_balanced", RoundingTolerance }, { "categorical_focal_logits", RoundingTolerance },
        { "categorical_focal_probabilities", Tolerance }, { "categorical_focal_half", RoundingTolerance },
    };

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
        "huber" => new Huber(0.7f),
        "log_cosh" => new LogCosh(),
        "msle" => new MeanSquaredLogarithmicError(),
        "mape" => new MeanAbsolutePercentageError(),
        "poisson" => new Poisson(),
        "kld" => new KLDivergence(),
        "cosine" => new CosineSimilarity(),
        "hinge" => new Hinge(),
        "squared_hinge" => new SquaredHinge(),
        "categorical_hinge" => new CategoricalHinge(),
        "binary_focal_logits" => new BinaryFocalCrossentropy(fromLogits: true),
        "binary_focal_probabilities" => new BinaryFocalCrossentropy(),
        "binary_focal_balanced" => new BinaryFocalCrossentropy(applyClassBalancing: true, alpha: 0.3f, gamma: 1.5f, fromLogits: true, labelSmoothing: 0.1f),
        "categorical_focal_logits" => new CategoricalFocalCrossentropy(fromLogits: true),
        "categorical_focal_probabilities" => new CategoricalFocalCrossentropy(alpha: 1f),
        "categorical_focal_half" => new CategoricalFocalCrossentropy(alpha: 0.5f, gamma: 0.5f, fromLogits: true, labelSmoothing: 0.2f),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Fact]
    public void Every_registered_loss_has_a_gradient_check()
    {
        // A loss registered in the library passes its golden values alone; its derivative must be checked here too.
        HashSet<string> checkedHere = [.. Losses().Select(row => Create((string)row[0]).Name)];
        Assert.All(Configuration.ComponentRegistry.LossTypes, type => Assert.Contains(type, checkedHere));
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void The_gradient_matches_differences_for_labels_values_and_weights(string name, double tolerance)
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
                Point(loss, random, output.AsSpan(r * outputs, outputs), values.AsSpan(r * outputs, outputs), labels[r]);
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
            // The floor is the gradient below which an error counts absolutely (divided by the floor). The
            // differences carry the loss's rounding: a value good to about one float ulp of the sum it divides gives
            // numeric gradients good to ulp / (2h·divisor). The floor keeps four times that under 1e-2 (one ulp reads
            // as an error of at most 2.5e-3), and is never below 1e-3 (batch times that for a summed loss). A fixed
            // 1e-3 failed now and then on the rounding alone: 1.1e-5 at a gradient of 1.1e-4 for 33 logits whose loss
            // was near 5 (seed 846343250279586312, 6757048149709691309, size 18), and 2.1-2.5e-5 for binary
            // probabilities in runs of 2,000 cases, where a step of 1e-4 instead of 1e-3 made it worse (rounding, not
            // truncation).
            // Poisson's, cosine similarity's and MSLE's third derivatives (2t/o³, 1/‖o‖³ for a short row, about
            // 6/(1 + o)³) made differences of 1e-2 miss by 1.1-2% of the floor now and then (MSLE once in CI's scalar
            // run): a tenth of the step takes their truncation a hundredth.
            float step = loss.Input == LossInput.Probabilities ? (loss.Task == LossTask.MultiClass ? 1e-4f : 1e-3f)
                : loss is Poisson or CosineSimilarity or MeanSquaredLogarithmicError ? 1e-3f : 1e-2f;
            double divisor = loss.Reduction == Reduction.Sum ? 1 : batch;
            double Floor(LossTargets targets)
            {
                float sum = (float)Math.Abs(loss.Sum(output, targets, batch, outputs));
                double rounding = (MathF.BitIncrement(sum) - sum) / (2 * step * divisor);
                return Math.Max(1e-3 * (loss.Reduction == Reduction.Sum ? batch : 1), 4 * rounding / 1e-2);
            }

            LossTargets onValuesTargets = LossTargets.FromValues(values, weights);
            var onValues = GradientChecker.CheckLoss(loss, output, onValuesTargets, batch, outputs, step, Floor(onValuesTargets));
            Assert.True(onValues.MaxError < tolerance, $"{name} values {c}: {onValues}");
            // MAPE's labels are targets of 0, whose 1e7-times errors drown the differences; categorical hinge's values
            // are the labels' one-hot rows already.
            if (loss.Task != LossTask.Binary && loss is not (MeanAbsolutePercentageError or CategoricalHinge))
            {
                LossTargets onLabelsTargets = LossTargets.FromLabels(labels, weights);
                var onLabels = GradientChecker.CheckLoss(loss, output, onLabelsTargets, batch, outputs, step, Floor(onLabelsTargets));
                Assert.True(onLabels.MaxError < tolerance, $"{name} labels {c}: {onLabels}");
            }
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>
    /// One sample's outputs and target values for <paramref name="loss"/>, more than a difference step away from its
    /// kinks (where the one-sided slopes differ and central differences average them): MAE's and MAPE's o = t, the
    /// hinge's margin y·o = 1, the categorical hinge's margin and its changes of argmax, MSLE's clip at o = ε.
    /// </summary>
    private static void Point(ILoss loss, Random random, Span<float> output, Span<float> values, int label)
    {
        int outputs = output.Length;
        float Uniform(float low, float high) => low + ((high - low) * (float)random.NextDouble());
        float AwayFrom(float kink, float gap, float spread) => kink + ((random.Next(2) == 0 ? -1 : 1) * Uniform(gap, gap + spread));
        float rowSum = 0;
        for (int j = 0; j < outputs; j++)
        {
            values[j] = loss switch
            {
                Hinge or SquaredHinge => random.Next(2) == 0 ? -1f : 1f,
                MeanAbsolutePercentageError => AwayFrom(0, 0.5f, 1f),
                CategoricalHinge => j == label ? 1f : 0f,
                _ => (float)random.NextDouble(),
            };
            rowSum += values[j];

            // Probabilities stay well inside Keras's clip.
            output[j] = loss switch
            {
                { Input: LossInput.Probabilities } => Uniform(0.3f, 0.95f),
                MeanAbsoluteError => AwayFrom(0, 1.1f, 2f),
                MeanAbsolutePercentageError => AwayFrom(values[j], 0.1f, 2f),
                Hinge or SquaredHinge => AwayFrom(random.Next(2) == 0 ? -1f : 1f, 0.1f, 1.5f),
                MeanSquaredLogarithmicError => AwayFrom(0, 0.1f, 2.9f),
                Poisson => Uniform(0.3f, 3f),
                CosineSimilarity => AwayFrom(0, 0.5f, 2.5f),
                _ => Uniform(-3f, 3f),
            };
        }

        if (loss.Task == LossTask.MultiClass && loss is not CategoricalHinge)
        {
            for (int j = 0; j < outputs; j++)
            {
                values[j] /= rowSum;
            }
        }

        if (loss is CategoricalHinge && NearHingeKink(output, values))
        {
            Point(loss, random, output, values, label);
        }
    }

    // Whether a step of 1e-2 on one output could cross the categorical hinge's margin or change the largest
    // (1 - t_j)·o_j: each moves by at most the step.
    private static bool NearHingeKink(ReadOnlySpan<float> output, ReadOnlySpan<float> values)
    {
        const float gap = 0.03f;
        float first = float.NegativeInfinity, second = float.NegativeInfinity, positive = 0;
        for (int j = 0; j < output.Length; j++)
        {
            positive += values[j] * output[j];
            float term = (1 - values[j]) * output[j];
            if (term > first)
            {
                (first, second) = (term, first);
            }
            else if (term > second)
            {
                second = term;
            }
        }

        return first - second < gap || Math.Abs(first - positive + 1) < gap;
    }
}
