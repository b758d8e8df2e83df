using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Kernels;
using NeuralCore.Threading;

namespace NeuralCore.Tests.Layers;

/// <summary>
/// <see cref="Constraint"/>: Keras's four projections against their formulas in double, along either axis and on a
/// bias; applied after every update a model makes, on any thread count; saved with the model.
/// </summary>
public sealed class ConstraintTests : IDisposable
{
    private const double Eps = 1e-7;

    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-constraint-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // W[3, 2]: column norms 5 and 0.5, row norms √9.25, 4 and 0.
    private static float[] Matrix() => [3f, 0.5f, 4f, 0f, 0f, 0f];

    private static void AssertNear(double[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"element {i}: {actual[i]:G9}, expected {expected[i]:G9}");
        }
    }

    private static float[] Applied(Constraint constraint, float[] w, int rows, int columns)
    {
        float[] copy = (float[])w.Clone();
        constraint.Apply(copy, rows, columns, new float[Constraint.ScratchLength(columns)]);
        return copy;
    }

    [Fact]
    public void Max_norm_caps_each_units_incoming_norm_or_with_axis_1_each_inputs()
    {
        // Column 0 (norm 5) scaled to 2; column 1 (norm 0.5) kept (0.5/(ε + 0.5)).
        double f0 = 2 / (Eps + 5), f1 = 0.5 / (Eps + 0.5);
        AssertNear([3 * f0, 0.5 * f1, 4 * f0, 0, 0, 0], Applied(Constraint.MaxNorm(2f), Matrix(), 3, 2));

        // Rows: √9.25 ≈ 3.04 and 4 capped at 2, the zero row left at 0 (0/(ε + 0)).
        double r0 = 2 / (Eps + Math.Sqrt(9.25)), r1 = 2 / (Eps + 4);
        AssertNear([3 * r0, 0.5 * r0, 4 * r1, 0, 0, 0], Applied(Constraint.MaxNorm(2f, axis: -1), Matrix(), 3, 2));
        Assert.Equal(1, Constraint.MaxNorm(axis: -1).Axis);
    }

    [Fact]
    public void Min_max_norm_moves_each_norm_into_its_range_at_its_rate_and_unit_norm_sets_it_to_one()
    {
        // Rate 0.5 towards [1, 2]: norm 5 → 0.5·2 + 0.5·5 = 3.5; norm 0.5 → 0.5·1 + 0.5·0.5 = 0.75.
        double f0 = 3.5 / (Eps + 5), f1 = 0.75 / (Eps + 0.5);
        AssertNear([3 * f0, 0.5 * f1, 4 * f0, 0, 0, 0], Applied(Constraint.MinMaxNorm(1f, 2f, 0.5f), Matrix(), 3, 2));

        double u0 = 1 / (Eps + 5), u1 = 1 / (Eps + 0.5);
        AssertNear([3 * u0, 0.5 * u1, 4 * u0, 0, 0, 0], Applied(Constraint.UnitNorm(), Matrix(), 3, 2));
    }

    [Fact]
    public void Non_neg_zeroes_negative_weights_and_a_nan_stays()
    {
        float[] w = Applied(Constraint.NonNeg(), [-1f, 2f, -0f, float.NaN, 0.5f, float.NegativeInfinity], 2, 3);
        Assert.Equal(-0f, w[0]);
        Assert.True(float.IsNegative(w[0]), "w·0 of a negative weight is -0, as Keras's product");
        Assert.Equal(2f, w[1]);
        Assert.True(float.IsNaN(w[3]));
        Assert.Equal(0.5f, w[4]);
        Assert.True(float.IsNaN(w[5]), "-∞·0 is NaN in Keras's product");
    }

    [Fact]
    public void A_bias_is_one_vector_whatever_the_axis()
    {
        // [3, 4, 0] has norm 5.
        double f = 1 / (Eps + 5);
        AssertNear([3 * f, 4 * f, 0], Applied(Constraint.MaxNorm(1f), [3f, 4f, 0f], 1, 3));
        AssertNear([3 * f, 4 * f, 0], Applied(Constraint.MaxNorm(1f, axis: 1), [3f, 4f, 0f], 1, 3));
    }

    [Fact]
    public void Training_keeps_every_step_within_the_constraints_with_the_same_bits_on_any_thread_count()
    {
        float[] x = Seeded.Uniform(64 * 20, 3, 2f);
        int[] y = [.. Enumerable.Range(0, 64).Select(i => i % 4)];
        float[]? first = null;
        int savedMin = Dense.MinParallelPenaltyWeights;
        Dense.MinParallelPenaltyWeights = 0;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            try
            {
                var hidden = new Dense(96) { KernelConstraint = Constraint.MaxNorm(0.5f), BiasConstraint = Constraint.NonNeg() };
                var model = new Sequential(20, seed: 2).Add(hidden).Add(new Relu()).Add(new Dense(4) { KernelConstraint = Constraint.UnitNorm(axis: 1) });
                model.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f));
                Assert.False(model.EnterPanelOrder(), "a constrained first layer stays row-major");
                for (int step = 0; step < 10; step++)
                {
                    model.TrainStep(x, y, 64);
                    float[] w = hidden.Weights.ToArray();
                    for (int unit = 0; unit < 96; unit++)
                    {
                        double norm = Math.Sqrt(Enumerable.Range(0, 20).Sum(i => (double)w[(i * 96) + unit] * w[(i * 96) + unit]));
                        Assert.True(norm <= 0.5 * (1 + 1e-5), $"step {step}, unit {unit}: norm {norm}");
                    }

                    Assert.All(hidden.Bias.ToArray(), b => Assert.True(b >= 0f, $"step {step}: bias {b}"));
                    float[] top = ((Dense)model.Layers[2]).Weights.ToArray();
                    for (int input = 0; input < 96; input++)
                    {
                        double norm = Math.Sqrt(Enumerable.Range(0, 4).Sum(j => (double)top[(input * 4) + j] * top[(input * 4) + j]));
                        Assert.True(Math.Abs(norm - 1) < 1e-5, $"step {step}, input {input}: norm {norm}");
                    }
                }

                first ??= model.Parameters.ToArray();
                Assert.Equal(first, model.Parameters.ToArray());
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
                Parallelism.FmaThreadsOverride = 0;
                Dense.MinParallelPenaltyWeights = savedMin;
            }
        }
    }

    [Fact]
    public void Slices_give_the_bits_of_one_pass()
    {
        // 7 x 100: columns in groups of 32 (the last group short), rows one by one; every kind and axis, 1 to 5 slices.
        float[] w = Seeded.Uniform(7 * 100, 4, 3f);
        foreach (Constraint constraint in new[] { Constraint.MaxNorm(1f), Constraint.MaxNorm(1f, axis: 1), Constraint.MinMaxNorm(0.5f, 2f, 0.3f),
            Constraint.UnitNorm(axis: 1), Constraint.NonNeg() })
        {
            float[] expected = Applied(constraint, w, 7, 100);
            foreach (int slices in new[] { 2, 3, 4, 5 })
            {
                Assert.True(constraint.Slices(7, 100, slices) >= Math.Min(slices, 4), $"{constraint}: {constraint.Slices(7, 100, slices)} slices for {slices}");
                float[] sliced = (float[])w.Clone(), scratch = new float[Constraint.ScratchLength(100)];
                for (int s = 0; s < slices; s++)
                {
                    constraint.ApplySlice(sliced, 7, 100, scratch, s, slices);
                }

                Assert.Equal(expected, sliced);
            }
        }
    }

    [Fact]
    public void A_skipped_step_applies_no_constraint_and_the_model_file_keeps_them()
    {
        var model = new Sequential(3, seed: 1)
            .Add(new Dense(4) { KernelConstraint = Constraint.MinMaxNorm(0.1f, 0.2f, 0.7f, axis: 1), BiasConstraint = Constraint.MaxNorm(3f) })
            .Add(new Dense(2) { KernelConstraint = Constraint.NonNeg(), BiasConstraint = Constraint.UnitNorm() });
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));

        // A NaN input makes the loss NaN: the step is skipped, and the weights are left as they were, unprojected.
        float[] before = model.Parameters.ToArray();
        Assert.True(model.TrainStep([float.NaN, 0f, 0f], [1], 1).Skipped);
        Assert.Equal(before, model.Parameters.ToArray());

        string path = Path.Combine(_folder, "constrained.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        for (int i = 0; i < 2; i++)
        {
            var (a, b) = ((Dense)model.Layers[i], (Dense)loaded.Layers[i]);
            Assert.Equal(a.KernelConstraint!.ToString(), b.KernelConstraint!.ToString());
            Assert.Equal(a.BiasConstraint!.ToString(), b.BiasConstraint!.ToString());
        }

        Assert.Equal("MinMaxNorm(0.1, 0.2, rate=0.7, axis=1)", ((Dense)loaded.Layers[0]).KernelConstraint!.ToString());
    }

    [Fact]
    public void Bad_settings_name_the_value()
    {
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => Constraint.MaxNorm(0f)).ParamName);
        Assert.Equal("axis", Assert.Throws<ArgumentOutOfRangeException>(() => Constraint.UnitNorm(2)).ParamName);
        Assert.Contains("max_value must be at least min_value (2)",
            Assert.Throws<ArgumentOutOfRangeException>(() => Constraint.MinMaxNorm(2f, 1f)).Message, StringComparison.Ordinal);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => Constraint.MinMaxNorm(rate: 1.5f)).ParamName);
        Assert.Equal("minValue", Assert.Throws<ArgumentOutOfRangeException>(() => Constraint.MinMaxNorm(float.NaN)).ParamName);
    }
}
