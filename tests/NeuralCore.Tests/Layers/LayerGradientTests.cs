using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Diagnostics;
using NeuralCore.Layers;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Layers;

/// <summary>A layer-gradient problem: batch, widths and a seed.</summary>
public sealed record LayerCase(int Batch, int Inputs, int Outputs, int Seed);

public static class LayerGenerators
{
    public static Arbitrary<LayerCase> LayerCases() =>
        (from batch in Gen.Elements(1, 2, 3, 5, 8)
         from inputs in Gen.Elements(1, 2, 3, 7, 16, 17)
         from outputs in Gen.Elements(1, 2, 5, 10, 33)
         from seed in Gen.Choose(0, int.MaxValue)
         select new LayerCase(batch, inputs, outputs, seed))
        .ToArbitrary();
}

/// <summary>
/// Analytic gradients against central differences (<see cref="GradientChecker"/>), step 1e-2, over random shapes.
/// Dense and ReLU are piecewise linear, so away from kinks the differences are exact up to float rounding:
/// tolerance 1e-2 with an absolute floor of 1e-3 covers the rounding of float forwards summed over a few hundred terms.
/// </summary>
public class LayerGradientTests
{
    private const double Tolerance = 1e-2;

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Dense_input_weight_and_bias_gradients_match_differences(LayerCase c)
    {
        var dense = new Dense(c.Inputs, c.Outputs, (ulong)c.Seed);
        Seeded.Uniform(c.Outputs, c.Seed + 5, 0.5f).CopyTo(dense.Bias.Span); // a non-zero bias
        var result = GradientChecker.CheckLayer(dense, Seeded.Uniform(c.Batch * c.Inputs, c.Seed), c.Batch, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < Tolerance, $"{c}: {result}");
        Assert.Equal((c.Batch * c.Inputs) + dense.ParameterCount, result.Checked);
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Relu_gradient_matches_differences_away_from_the_kink(LayerCase c)
    {
        // Keep every input at least 0.05 from 0, five steps away from the kink.
        float[] x = [.. Seeded.Uniform(c.Batch * c.Inputs, c.Seed).Select(v => v >= 0 ? v + 0.05f : v - 0.05f)];
        var result = GradientChecker.CheckLayer(new Relu(c.Inputs), x, c.Batch, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < Tolerance, $"{c}: {result}");
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Dropout_gradient_matches_differences_with_a_fixed_mask(LayerCase c)
    {
        var dropout = new Dropout(c.Inputs, 0.4f, (ulong)c.Seed);
        float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed);
        dropout.Forward(x, new float[x.Length], c.Batch, training: true);
        dropout.FreezeMask = true;
        var result = GradientChecker.CheckLayer(dropout, x, c.Batch, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < Tolerance, $"{c}: {result}");
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Softmax_layer_gradient_matches_differences(LayerCase c)
    {
        // Softmax is smooth: with h = 1e-3 the O(h²) truncation error is far below the tolerance.
        var result = GradientChecker.CheckLayer(new Softmax(c.Outputs), Seeded.Uniform(c.Batch * c.Outputs, c.Seed, 3f),
            c.Batch, step: 1e-3f, floor: 1e-2, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < Tolerance, $"{c}: {result}");
    }

    [Fact]
    public void The_checker_catches_a_wrong_gradient()
    {
        var result = GradientChecker.CheckLayer(new BrokenLayer(), Seeded.Uniform(6, 1), 2);
        Assert.True(result.MaxInputError > 0.3, result.ToString());
    }

    /// <summary>y = 2x, with a backward that forgets the factor 2.</summary>
    private sealed class BrokenLayer : Layer
    {
        public BrokenLayer()
            : base("broken") => Build(3, 0);

        public override string DefaultName => "broken";

        public override string TypeId => "Broken";

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
        {
            for (int i = 0; i < input.Length; i++)
            {
                output[i] = 2 * input[i];
            }
        }

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            outputGrad.CopyTo(inputGrad);
    }
}
