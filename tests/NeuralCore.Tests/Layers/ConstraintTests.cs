using NeuralCore.Kernels;
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
[Collection(SerialTests.Name)]
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
    public void Non_neg_is_kerass_max_of_the_weight_and_zero()
    {
        // Keras 3's ops.maximum(w, 0): -1, -0 and -∞ become +0; NaN stays.
        float[] w = Applied(Constraint.NonNeg(), [-1f, 2f, -0f, float.NaN, 0.5f, float.NegativeInfinity], 2, 3);
        Assert.Equal([0f, 2f, 0f, float.NaN, 0.5f, 0f], w);
        Assert.All(new[] { w[0], w[2], w[5] }, z => Assert.False(float.IsNegative(z), "+0, as max(w, 0) gives"));
    }

    [Fact]
    public void A_bias_is_one_vector_and_a_one_input_kernel_keeps_its_columns()
    {
        // A bias [3, 4, 0] has norm 5.
        double f = 1 / (Eps + 5);
        float[] bias = [3f, 4f, 0f];
        Constraint.MaxNorm(1f).Apply(bias, 1, 3, default, vector: true);
        AssertNear([3 * f, 4 * f, 0], bias);

        // A kernel of one input, [1, 2]: axis 0 takes each unit's weight alone (|3| and |4| set to 1), axis 1 the row.
        AssertNear([3 / (Eps + 3), 4 / (Eps + 4)], Applied(Constraint.UnitNorm(), [3f, 4f], 1, 2));
        AssertNear([3 * f, 4 * f], Applied(Constraint.UnitNorm(axis: 1), [3f, 4f], 1, 2));
        var oneInput = new Sequential(1, seed: 2).Add(new Dense(3) { KernelConstraint = Constraint.UnitNorm() });
        oneInput.Compile(new MeanSquaredError(), new Sgd(0.1f));
        oneInput.TrainStep([1f], LossTargets.FromValues([1f, -1f, 0.5f]), 1);
        Assert.All(((Dense)oneInput.Layers[0]).Weights.ToArray(), w => Assert.True(Math.Abs(Math.Abs(w) - 1) < 1e-6, $"weight {w}"));

        Assert.Contains("a bias has one axis", Assert.Throws<ArgumentException>(() => new Dense(3) { BiasConstraint = Constraint.MaxNorm(axis: 1) }).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Training_keeps_every_step_within_the_constraints_with_the_same_bits_on_any_thread_count()
    {
        // 256-512-4 at batch 128: a step of two or three threads, whose constraint divides the 512 columns among them.
        float[] x = Seeded.Uniform(128 * 256, 3, 2f);
        int[] y = [.. Enumerable.Range(0, 128).Select(i => i % 4)];
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            try
            {
                var hidden = new Dense(512) { KernelConstraint = Constraint.MaxNorm(0.5f), BiasConstraint = Constraint.NonNeg() };
                var model = new Sequential(256, seed: 2).Add(hidden).Add(new Relu()).Add(new Dense(4) { KernelConstraint = Constraint.UnitNorm(axis: 1) });
                model.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f));
                Assert.Equal(threads, model.StepThreads(128));
                Assert.Equal(threads, hidden.KernelConstraint.Slices(256, 512, Parallelism.ComputeThreads));
                for (int step = 0; step < 4; step++)
                {
                    // Each step in panel order (as Fit runs it), each check in row-major order.
                    Assert.True(model.EnterPanelOrder(), "a kernel-constrained first layer keeps panel order");
                    model.TrainStep(x, y, 128);
                    model.ExitPanelOrder();
                    float[] w = hidden.Weights.ToArray();
                    for (int unit = 0; unit < 512; unit++)
                    {
                        double norm = Math.Sqrt(Enumerable.Range(0, 256).Sum(i => (double)w[(i * 512) + unit] * w[(i * 512) + unit]));
                        Assert.True(norm <= 0.5 * (1 + 1e-5), $"{threads} threads, step {step}, unit {unit}: norm {norm}");
                    }

                    Assert.All(hidden.Bias.ToArray(), b => Assert.True(b >= 0f, $"step {step}: bias {b}"));
                    float[] top = ((Dense)model.Layers[2]).Weights.ToArray();
                    for (int input = 0; input < 512; input++)
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
            }
        }
    }

    [Fact]
    public void A_loop_of_your_own_applies_them_with_ApplyConstraints_and_a_bias_constraint_keeps_the_panel_order()
    {
        var model = new Sequential(6, seed: 1).Add(new Dense(32) { KernelConstraint = Constraint.MaxNorm(0.01f) }).Add(new Dense(2));
        var sgd = new Sgd(0.5f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        model.ComputeGradients(Seeded.Uniform(4 * 6, 2, 2f), [0, 1, 1, 0], 4);
        sgd.Update(model.Parameters.Span, model.Gradients.Span);
        model.ApplyConstraints();
        float[] w = ((Dense)model.Layers[0]).Weights.ToArray();
        for (int unit = 0; unit < 32; unit++)
        {
            double norm = Math.Sqrt(Enumerable.Range(0, 6).Sum(i => (double)w[(i * 32) + unit] * w[(i * 32) + unit]));
            Assert.True(norm <= 0.01 * (1 + 1e-5), $"unit {unit}: norm {norm}");
        }

        // A constraint on the first layer's bias alone leaves its weights in panel order through the steps.
        var biasOnly = new Sequential(6, seed: 1).Add(new Dense(64) { BiasConstraint = Constraint.NonNeg() }).Add(new Relu()).Add(new Dense(2));
        biasOnly.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        Assert.True(biasOnly.EnterPanelOrder());
        biasOnly.TrainStep(Seeded.Uniform(4 * 6, 2, 2f), [0, 1, 1, 0], 4);
        Assert.True(biasOnly.IsInPanelOrder, "the bias constraint took the weights out of panel order");
        biasOnly.ExitPanelOrder();
        Assert.All(((Dense)biasOnly.Layers[0]).Bias.ToArray(), b => Assert.True(b >= 0f));
    }

    [Fact]
    public void Slices_give_the_bits_of_one_pass()
    {
        // 7 x 100: columns in groups of 32 (the last group short), rows one by one; every kind and axis, 2 to 5 slices.
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
    public void In_panel_order_every_kind_gives_the_bits_of_row_major_order_on_every_path()
    {
        // 700 x 96: several k blocks, panels of every tile width; every kind and axis, one pass and 3 slices.
        const int rows = 700, columns = 96;
        float[] w = Seeded.Uniform(rows * columns, 9, 0.2f);
        int layouts = 0;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            if (!PanelLayout.TryCreate(rows, columns, isa, out PanelLayout layout))
            {
                continue;
            }

            layouts++;
            foreach (Constraint constraint in new[] { Constraint.MaxNorm(1f), Constraint.MaxNorm(0.5f, axis: 1), Constraint.MinMaxNorm(0.5f, 2f, 0.3f),
                Constraint.UnitNorm(axis: 1), Constraint.UnitNorm(), Constraint.NonNeg() })
            {
                float[] expected = Applied(constraint, w, rows, columns);
                foreach (int slices in new[] { 1, 3 })
                {
                    float[] panels = (float[])w.Clone(), reorder = new float[layout.ScratchLength], scratch = new float[Constraint.ScratchLength(columns)];
                    layout.Reorder(panels, reorder, toPanels: true);
                    for (int slice = 0; slice < slices; slice++)
                    {
                        constraint.ApplySlice(panels, rows, columns, scratch, slice, slices, layout: layout);
                    }

                    layout.Reorder(panels, reorder, toPanels: false);
                    int first = expected.AsSpan().CommonPrefixLength(panels);
                    Assert.True(first == expected.Length, $"{isa}, {constraint}, {slices} slices: weight {first} differs");
                }
            }
        }

        Assert.True(layouts > 0, "no path has a panel layout for 700 x 96: the test compared nothing");
    }

    [Fact]
    public void A_constrained_first_layer_keeps_its_weights_in_panel_order_with_the_same_bits()
    {
        // It left panel order for the row-major matrix its norms ran along: 784-1024-10 steps were 6-7% slower with it.
        int savedThreads = Parallelism.DegreeOfParallelism;
        bool savedOrder = Sequential.PanelOrderEnabled;
        try
        {
            float[]? expected = null;
            foreach (bool panelOrder in new[] { false, true })
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    Parallelism.DegreeOfParallelism = threads;
                    Parallelism.FmaThreadsOverride = threads;
                    Sequential.PanelOrderEnabled = panelOrder;
                    var model = new Sequential(40, seed: 3).Add(new Dense(64, Activation.Relu) { KernelConstraint = Constraint.MaxNorm(0.3f) })
                        .Add(new Dense(3) { KernelConstraint = Constraint.UnitNorm(axis: 1) });
                    model.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f));
                    Assert.Equal(panelOrder, model.EnterPanelOrder());
                    for (int step = 0; step < 4; step++)
                    {
                        model.TrainStep(Seeded.Uniform(16 * 40, step, 1f), [.. Enumerable.Range(0, 16).Select(i => (i + step) % 3)], 16);
                        Assert.Equal(panelOrder, model.IsInPanelOrder);
                    }

                    model.ExitPanelOrder();
                    float[] parameters = model.Parameters.ToArray();
                    expected ??= parameters;
                    int first = expected.AsSpan().CommonPrefixLength(parameters);
                    Assert.True(first == expected.Length, $"panel order {panelOrder}, {threads} threads: parameter {first} differs");
                    float[] w = ((Dense)model.Layers[0]).Weights.ToArray();
                    for (int unit = 0; unit < 64; unit++)
                    {
                        double norm = Math.Sqrt(Enumerable.Range(0, 40).Sum(i => (double)w[(i * 64) + unit] * w[(i * 64) + unit]));
                        Assert.True(norm <= 0.3 * (1 + 1e-5), $"unit {unit}: norm {norm}");
                    }
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
            Sequential.PanelOrderEnabled = savedOrder;
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

    [Theory]
    [InlineData("kernel", "max_norm", 0, -1f, "kernel_constraint_max_value (max_norm) is -1")]
    [InlineData("kernel", "max_norm", 0, float.NaN, "kernel_constraint_max_value is NaN; it must be finite")]
    [InlineData("kernel", "unit_norm", 7, 1f, "kernel_constraint_axis is 7; it must be 0 or 1")]
    [InlineData("kernel", "non_neg", 1, 1f, "kernel_constraint_axis is 1; non_neg takes none (0)")]
    [InlineData("bias", "unit_norm", 1, 1f, "bias_constraint_axis is 1; a bias has one axis, 0")]
    [InlineData("kernel", "max_nrm", 0, 1f, "kernel_constraint is 'max_nrm'; expected max_norm, min_max_norm, non_neg or unit_norm")]
    public void A_model_file_constraint_out_of_range_is_invalid_data_naming_the_entry(string prefix, string kind, int axis, float maxValue, string message)
    {
        var config = new NeuralCore.Configuration.ComponentConfig("Dense").Set(prefix + "_constraint", kind).Set(prefix + "_constraint_axis", axis)
            .Set(prefix + "_constraint_max_value", maxValue);
        var e = Assert.Throws<InvalidDataException>(() => Constraint.Read(config, prefix, vector: prefix == "bias"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", e.Message, StringComparison.Ordinal);
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
