using NeuralCore.Kernels;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// A weight gradient whose B is computed while it is packed (<see cref="Gemm.WeightGradientThroughRelu"/>) must give
/// the bits of the two products it replaces: the masked input gradient stored by <see cref="Gemm.MultiplyReluMasked"/>,
/// then the weight gradient with its column sums, on every instruction-set path and at every thread count.
/// </summary>
[Collection(SerialTests.Name)]
public unsafe class GemmMaskedProductTests
{
    private static readonly int[] s_threadCounts = [1, 2, 3, 8];

    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        // inFeatures, units, batch, rank: the MLP's first layer under a 10-class output; a batch of two k blocks
        // (300 > 256) and units over three packed chunks with a ragged last panel; a batch of one; ranks 1 and 16; an
        // odd batch over 128-column groups and a ragged rest (rows packed two at a time, then the last row alone).
        { 784, 128, 128, 10 },
        { 20, 300, 77, 10 },
        { 50, 600, 300, 16 },
        { 37, 45, 1, 1 },
        { 64, 17, 33, 3 },
        { 40, 150, 20, 5 },
        { 96, 200, 19, 13 },
        { 64, 16, 700, 10 },
        { 784, 200, 256, 10 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Equals_the_stored_masked_product_then_the_weight_gradient(int inFeatures, int units, int batch, int rank)
    {
        float[] x = Seeded.Uniform(batch * inFeatures, 1);
        float[] upperGrad = Seeded.Uniform(batch * rank, 2);
        float[] upperWeights = Seeded.Uniform(units * rank, 3);

        // A ReLU's output: zero about half the time, positive otherwise; a NaN gradient must not leak through a zero.
        float[] relu = ReluOutput(batch * units, 4);
        relu[0] = 0f;
        upperGrad[0] = float.NaN;

        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            // A second NaN payload in row 1 of the upper gradient: its row of ∂Z is added to row 0's (the first NaN's) in
            // the column sums, which must keep the stored path's order (sums first). (Two NaNs meeting in one value of
            // ∂Z are another matter: docs/benchmarks.md, "Not yet done".)
            float[] g = upperGrad, v = upperWeights, m = relu;
            if (batch > 1 && rank > 2)
            {
                g = (float[])upperGrad.Clone();
                g[rank + 2] = BitConverter.Int32BitsToSingle(0x7FC00011);
            }

            foreach (bool accumulate in new[] { false, true })
            {
                float[] dz = new float[batch * units];
                float[] expectedW = Seeded.Uniform(inFeatures * units, 5);
                float[] expectedB = Seeded.Uniform(units, 6);
                float[] initialW = (float[])expectedW.Clone();
                float[] initialB = (float[])expectedB.Clone();
                if (!accumulate)
                {
                    Array.Clear(expectedB);
                }

                fixed (float* mask = m, sums = expectedB)
                {
                    Gemm.MultiplyOn(isa, g, v, dz, batch, units, rank, false, true, false, GemmEpilogue.MaskRelu(mask, units));
                    Gemm.MultiplyOn(isa, x, dz, expectedW, inFeatures, units, batch, true, false, accumulate, GemmEpilogue.None,
                        GemmSplit.Rows, sums);
                }

                foreach (int threads in s_threadCounts)
                {
                    float[] w = (float[])initialW.Clone();
                    float[] bias = (float[])initialB.Clone();
                    WithThreads(threads, () => Gemm.WeightGradientThroughReluOn(isa, x, g, v, m, w, bias,
                        inFeatures, units, batch, rank, accumulate));
                    string what = $"{isa}, accumulate={accumulate}, {threads} threads";
                    AssertBitwiseEqual(expectedW, w, $"weights, {what}");
                    AssertBitwiseEqual(expectedB, bias, $"bias, {what}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_upper_layers_gradients_equal_its_own_weight_gradient(int inFeatures, int units, int batch, int rank)
    {
        float[] x = Seeded.Uniform(batch * inFeatures, 11);
        float[] upperGrad = Seeded.Uniform(batch * rank, 12);
        float[] upperWeights = Seeded.Uniform(units * rank, 13);
        float[] relu = ReluOutput(batch * units, 14);

        upperGrad[^1] = float.NaN;

        // Two NaNs with different payloads meeting in one product (step p, row j of the mask, column c of G): the result
        // carries the payload the upper layer's own product gives it.
        if (batch > 5 && units > 7 && rank > 3)
        {
            relu[(5 * units) + 7] = BitConverter.Int32BitsToSingle(0x7FC00001);
            upperGrad[(5 * rank) + 3] = BitConverter.Int32BitsToSingle(0x7FC00002);
        }
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            foreach (bool accumulate in new[] { false, true })
            {
                // What the upper layer's own backward gives its parameters.
                float[] initialW = Seeded.Uniform(units * rank, 15), initialB = Seeded.Uniform(rank, 16);
                float[] expectedW = (float[])initialW.Clone(), expectedB = (float[])initialB.Clone();
                Gemm.WeightGradientOn(isa, relu, upperGrad, expectedW, expectedB, units, rank, batch, accumulate, default);

                foreach (int threads in s_threadCounts)
                {
                    float[] w = new float[inFeatures * units], bias = new float[units];
                    float[] upperW = (float[])initialW.Clone(), upperB = (float[])initialB.Clone();
                    WithThreads(threads, () => Gemm.WeightGradientThroughReluOn(isa, x, upperGrad, upperWeights, relu, w, bias,
                        inFeatures, units, batch, rank, accumulate, default, upperW, upperB));
                    string what = $"{isa}, accumulate={accumulate}, {threads} threads";
                    AssertBitwiseEqual(expectedW, upperW, $"upper weights, {what}");
                    AssertBitwiseEqual(expectedB, upperB, $"upper bias, {what}");

                    // Without the upper bias, the weights alone.
                    upperW = (float[])initialW.Clone();
                    WithThreads(threads, () => Gemm.WeightGradientThroughReluOn(isa, x, upperGrad, upperWeights, relu, w, bias,
                        inFeatures, units, batch, rank, accumulate, default, upperW, Span<float>.Empty));
                    AssertBitwiseEqual(expectedW, upperW, $"upper weights without a bias, {what}");
                }
            }
        }
    }

    [Fact]
    public void An_upper_gradient_that_overlaps_an_operand_or_is_short_is_refused()
    {
        float[] x = new float[4 * 3], w = new float[3 * 5], relu = new float[4 * 5], upperGrad = new float[4 * 2], upperWeights = new float[5 * 2];
        var e = Assert.Throws<ArgumentException>(() => Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty,
            3, 5, 4, 2, accumulate: false, default, new float[5 * 2 - 1]));
        Assert.Contains("upperWeightGrad", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty,
            3, 5, 4, 2, accumulate: false, default, relu.AsSpan(0, 10)));
        Assert.Contains("upperWeightGrad", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty,
            3, 5, 4, 2, accumulate: false, default, Span<float>.Empty, new float[2]));
        Assert.Contains("upperBiasGrad", e.Message);

        // The bias gradient over the upper gradient it sums: refused before anything is written.
        float[] upperGradCopy = (float[])upperGrad.Clone();
        e = Assert.Throws<ArgumentException>(() => Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty,
            3, 5, 4, 2, accumulate: false, default, new float[5 * 2], upperGrad.AsSpan(0, 2)));
        Assert.Contains("upperBiasGrad", e.Message);
        Assert.Equal(upperGradCopy, upperGrad);
    }

    // max(u, 0) of seeded uniform values in [-1, 1): zero about half the time.
    private static float[] ReluOutput(int length, int seed)
    {
        float[] values = Seeded.Uniform(length, seed);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = MathF.Max(values[i], 0f);
        }

        return values;
    }

    [Fact]
    public void Without_a_bias_only_the_weights_are_computed()
    {
        const int inFeatures = 40, units = 70, batch = 20, rank = 10;
        float[] x = Seeded.Uniform(batch * inFeatures, 1);
        float[] upperGrad = Seeded.Uniform(batch * rank, 2);
        float[] upperWeights = Seeded.Uniform(units * rank, 3);
        float[] relu = Seeded.Uniform(batch * units, 4);
        float[] dz = new float[batch * units];
        float[] expected = new float[inFeatures * units];
        Gemm.MultiplyReluMasked(upperGrad, upperWeights, relu, dz, batch, units, rank, transposeB: true);
        Gemm.Multiply(x, dz, expected, inFeatures, units, batch, transposeA: true);

        float[] w = new float[inFeatures * units];
        Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty, inFeatures, units, batch, rank, accumulate: false);
        AssertBitwiseEqual(expected, w, "weights");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(GemmMaskedProduct.MaxRank + 1)]
    public void A_rank_out_of_range_is_refused(int rank)
    {
        float[] x = new float[4 * 3], w = new float[3 * 5], relu = new float[4 * 5];
        float[] upperGrad = new float[4 * Math.Max(rank, 1)], upperWeights = new float[5 * Math.Max(rank, 1)];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Gemm.WeightGradientThroughRelu(x, upperGrad, upperWeights, relu, w, Span<float>.Empty, 3, 5, 4, rank, accumulate: false));
        Assert.Contains("upper layer's units", e.Message);
    }

    [Fact]
    public void No_input_features_is_refused_rather_than_losing_the_bias_gradient()
    {
        float[] relu = new float[4 * 5], bias = new float[5];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Gemm.WeightGradientThroughRelu([], new float[4 * 2], new float[5 * 2], relu, [], bias, 0, 5, 4, 2, accumulate: false));
        Assert.Equal("inFeatures", e.ParamName);
    }

    [Fact]
    public void Short_factors_are_refused_by_name()
    {
        float[] x = new float[4 * 3], w = new float[3 * 5], relu = new float[4 * 5];
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.WeightGradientThroughRelu(x, new float[4 * 2 - 1], new float[5 * 2], relu, w, Span<float>.Empty, 3, 5, 4, 2, accumulate: false));
        Assert.Contains("upperGrad", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            Gemm.WeightGradientThroughRelu(x, new float[4 * 2], new float[5 * 2 - 1], relu, w, Span<float>.Empty, 3, 5, 4, 2, accumulate: false));
        Assert.Contains("upperWeights", e.Message);
    }
}
