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
/// Analytic gradients against central differences (<see cref="GradientChecker"/>) over random shapes, inputs and
/// parameters drawn by FsCheck (<see cref="LayerGenerators"/>). Each family of layers has its own step h and floor (the
/// gradient below which an error counts absolutely), chosen at its test, and its own bound on the checker's error
/// <c>|analytic - numeric| / max(|analytic| + |numeric|, floor)</c>: a stated margin above the largest error measured
/// for the family.
/// </summary>
/// <remarks>
/// The bounds were measured on 2026-12-04 by running each family's check over many more random cases than a run's 40
/// or 100, at the three instruction-set levels CI runs: 85,000 cases per layer (45,000 AVX-512, 20,000 AVX2 with
/// AVX-512 off, 20,000 scalar), and 400,000 to 1,000,000 more for the families whose largest error stood well above
/// their 99.9th percentile (a heavy tail), whose margin is then set by the tail's shape as well. Inline checks that
/// involve no differences (the fused activations) compare exactly.
/// </remarks>
public class LayerGradientTests
{
    /// <summary>
    /// Dense's differences are exact up to float rounding (at a step of 0.25, see the test). Measured max 1.17e-3 over
    /// 1,185,000 cases, a tail (99.9th percentile 3.8e-4) of input gradients under the floor, where the rounding of
    /// the forward counts absolutely; bound = 4.3 × 1.17e-3.
    /// </summary>
    private const double DenseTolerance = 5e-3;

    /// <summary>
    /// ReLU copies its inputs (or zeroes them), so only the double rounding of the checker's objective is left.
    /// Measured max 2.9e-12 over 85,000 cases; bound = 5 × 2.9e-12.
    /// </summary>
    private const double ReluTolerance = 1.5e-11;

    /// <summary>
    /// Dropout and the noise layers are linear in their input once the mask or noise is drawn: the float rounding of
    /// <c>x·scale (+ noise)</c> alone. Measured max 1.5e-6 (dropout) and 4.5e-6 (gaussian_noise; gaussian_dropout and
    /// alpha_dropout 2.9e-6) over 85,000 cases each; bound = 4.5 × 4.5e-6.
    /// </summary>
    private const double NoiseTolerance = 2e-5;

    /// <summary>
    /// The smooth layers whose forward rounds to a few ulps (sigmoid, tanh, silu, softplus, mish, rescaling,
    /// normalization_invert), at h = 5e-3. Measured max 1.4e-4 over 485,000 cases (normalization_invert, a heavy tail:
    /// 99.9th percentile 3.0e-5); the others at most 4.0e-5 (mish) over 85,000; bound = 4.2 × 1.4e-4.
    /// </summary>
    private const double SmoothTolerance = 6e-4;

    /// <summary>
    /// The smooth layers with a coarser difference, at h = 5e-3: gelu and normalization (the rounding of their forward,
    /// up to 4.7e-4), elu and softsign (their second derivative jumps at 0, so a difference across 0 is off by up to
    /// h/8 = 6.2e-4 and h/2 = 2.5e-3, both reached), and the dense layers (the rounding of outputs summed over up to
    /// 17 inputs, divided by 2h). Measured max 4.9e-3 over 185,000 cases (dense_no_bias; the other dense layers
    /// 3.3e-3 over 85,000); bound = 4.1 × 4.9e-3.
    /// </summary>
    private const double SmoothCoarseTolerance = 2e-2;

    /// <summary>
    /// The piecewise layers whose gradient stays well above the floor between their kinks (relu_options, leaky_relu,
    /// elu_alpha, selu, hard_sigmoid), at h = 1e-2. Measured max 1.8e-5 (hard_sigmoid) over 85,000 cases each;
    /// bound = 5.6 × 1.8e-5.
    /// </summary>
    private const double PiecewiseTolerance = 1e-4;

    /// <summary>
    /// The piecewise layers with gradients under the floor of 1e-3 (hard_silu near its minimum at -1.5, PReLU's slope
    /// gradients, sums over the batch that can cancel), where the rounding of the forward counts absolutely. Measured
    /// max 2.4e-3 over 485,000 cases (hard_silu; p_re_lu_shared 2.1e-3 and p_re_lu 1.3e-3, heavy tails: 99.9th
    /// percentiles 1.0e-4 and 2.0e-4); bound = 4.1 × 2.4e-3.
    /// </summary>
    private const double PiecewiseSmallGradientTolerance = 1e-2;

    /// <summary>
    /// Softmax at h = 1e-2 (see the test). Measured max 9.6e-4 over 150,000 cases (99.9th percentile 5.6e-4);
    /// bound = 4.2 × 9.6e-4.
    /// </summary>
    private const double SoftmaxTolerance = 4e-3;

    /// <summary>
    /// BatchNormalization over batches of five and eight (see the test). Measured max 4.5e-2 over 1,225,000 cases, a
    /// heavy tail: 99.9th percentile 1.2e-3, and the number of cases above an error e falls about as 1/e² (in
    /// 1,000,000 cases: 2,111 above 1e-3, 192 above 3e-3, 25 above 1e-2, 6 above 2e-2). Bound = 3.3 × 4.5e-2, which
    /// that fall puts at about one case in 10⁷.
    /// </summary>
    private const double BatchNormTolerance = 0.15;

    /// <summary>
    /// LayerNormalization over rows of seven features or more (see the test). Measured max 7.9e-3 over 485,000 cases
    /// (layer_normalization_bare, 99.9th percentile 2.3e-3; layer_normalization_no_scale 4.6e-3 over 585,000, the
    /// others at most 2.8e-3 over 85,000); bound = 3.8 × 7.9e-3.
    /// </summary>
    private const double LayerNormTolerance = 3e-2;

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Dense_input_weight_and_bias_gradients_match_differences(LayerCase c)
    {
        var dense = new Dense(c.Inputs, c.Outputs, (ulong)c.Seed);
        Seeded.Uniform(c.Outputs, c.Seed + 5, 0.5f).CopyTo(dense.Bias.Span); // a non-zero bias
        // Dense is linear in its input and in its parameters, so the central difference is exact at any step: a large
        // one keeps float rounding of the forward (a few ulps of outputs summed over 33 units) far below the tolerance,
        // which a step of 1e-2 did not always (a gradient entry of 1e-4 then measured 1.3e-2 off).
        var result = GradientChecker.CheckLayer(dense, Seeded.Uniform(c.Batch * c.Inputs, c.Seed), c.Batch, step: 0.25f,
            seed: (ulong)c.Seed);
        Assert.True(result.MaxError < DenseTolerance, $"{c}: {result}");
        Assert.Equal((c.Batch * c.Inputs) + dense.ParameterCount, result.Checked);
    }

    public static TheoryData<string, double> SmoothLayers() => new()
    {
        { "sigmoid", SmoothTolerance }, { "tanh", SmoothTolerance }, { "silu", SmoothTolerance },
        { "softplus", SmoothTolerance }, { "mish", SmoothTolerance }, { "rescaling", SmoothTolerance },
        { "rescaling_offset", SmoothTolerance }, { "normalization_invert", SmoothTolerance },
        { "gelu", SmoothCoarseTolerance }, { "gelu_approximate", SmoothCoarseTolerance }, { "normalization", SmoothCoarseTolerance },
        { "elu", SmoothCoarseTolerance }, { "softsign", SmoothCoarseTolerance }, { "dense_no_bias", SmoothCoarseTolerance },
        { "dense_sigmoid", SmoothCoarseTolerance }, { "dense_tanh", SmoothCoarseTolerance }, { "dense_softmax", SmoothCoarseTolerance },
    };

    [Theory]
    [MemberData(nameof(SmoothLayers))]
    public void Smooth_layers_match_differences_over_random_shapes(string name, double tolerance)
    {
        // Two errors, which the step trades against each other (an absolute error of 1e-4 against the floor of 1e-2
        // reads as 1e-2). Rounding: outputs a perturbation does not reach are bit-identical in both evaluations and
        // cancel, the ones it reaches (a row of up to 33, or a column of up to 8) carry about 6e-8 each, divided by 2h;
        // h = 1e-3 gave 1.2e-4 absolute. Truncation: h^2/6 f''' over the samples a weight reaches; h = 1e-2 with
        // inputs in [-2, 2] gave 1.5e-4 for tanh. Inputs in [-1, 1] and h = 5e-3 keep both lower; each row's bound
        // (SmoothTolerance, SmoothCoarseTolerance) is measured.
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            ILayer layer = LayerFactory.Create(name, c.Inputs, c.Outputs, (ulong)c.Seed);
            Seeded.Uniform(layer.ParameterCount, c.Seed + 3, 0.5f).CopyTo(layer.Parameters.Span);
            float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed);
            var result = GradientChecker.CheckLayer(layer, x, c.Batch, step: 5e-3f, floor: 1e-2, seed: (ulong)c.Seed);
            Assert.True(result.MaxError < tolerance, $"{name} {c}: {result}");
        }).QuickCheckThrowOnFailure();
    }

    public static TheoryData<string, float[], double> PiecewiseLayers() => new()
    {
        { "relu_options", [0.1f, 0.5f], PiecewiseTolerance },
        { "leaky_relu", [0f], PiecewiseTolerance },
        { "p_re_lu", [0f], PiecewiseSmallGradientTolerance },
        { "p_re_lu_shared", [0f], PiecewiseSmallGradientTolerance },
        { "elu_alpha", [0f], PiecewiseTolerance },
        { "selu", [0f], PiecewiseTolerance },
        // Between their kinks at ±3 (these inputs stay within ±1.5); the flat parts are checked against PyTorch in
        // ActivationsTests.
        { "hard_sigmoid", [-3f, 3f], PiecewiseTolerance },
        { "hard_silu", [-3f, 3f], PiecewiseSmallGradientTolerance },
    };

    [Fact]
    public void Batch_normalization_matches_differences_over_batches_of_five_and_eight()
    {
        // Normalizing by the batch makes every output of a column depend on every input of it, and with few samples
        // close together the variance is small and the function sharply curved: over 3,000 random cases at h = 5e-3
        // the worst error was 0.10 with batches of 1 to 8 and inputs in [-1, 1]. Batches of 5 and 8 and inputs in
        // [-2, 2] make such columns rarer, not impossible (float rounding of a whole column, not one output, per
        // perturbation, on top of the curvature): the tail is heavy (BatchNormTolerance). So this float check only
        // catches gross errors (a term of the backward left out is off by tens of percent). The exact derivative is
        // checked in double, at every batch size, by
        // BatchNormalizationTests.The_kernels_backward_is_the_derivative_in_double.
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            int batch = c.Batch < 5 ? 5 : 8;
            ILayer layer = LayerFactory.Create("batch_normalization", c.Inputs, c.Outputs, (ulong)c.Seed);
            Seeded.Uniform(layer.ParameterCount, c.Seed + 3, 0.5f).CopyTo(layer.Parameters.Span);
            float[] x = Seeded.Uniform(batch * c.Inputs, c.Seed, 2f);
            var result = GradientChecker.CheckLayer(layer, x, batch, step: 5e-3f, floor: 1e-2, seed: (ulong)c.Seed);
            Assert.True(result.MaxError < BatchNormTolerance, $"batch_normalization, batch {batch}, {c}: {result}");
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("layer_normalization")]
    [InlineData("layer_normalization_no_center")]
    [InlineData("layer_normalization_no_scale")]
    [InlineData("layer_normalization_bare")]
    public void Layer_normalization_matches_differences_over_rows_of_seven_features_or_more(string name)
    {
        // Normalizing each sample by its own features makes every output of a row depend on every input of it, and a
        // row of two or three features close together is sharply curved, as a small batch is for BatchNormalization:
        // rows of 7, 16 and 17 features here, inputs in [-2, 2] (the bound: LayerNormTolerance). The exact derivative
        // is checked in double, at two features too, by
        // LayerNormalizationTests.The_kernels_backward_is_the_derivative_in_double.
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            int features = Math.Max(7, c.Inputs);
            ILayer layer = LayerFactory.Create(name, features, c.Outputs, (ulong)c.Seed);
            Seeded.Uniform(layer.ParameterCount, c.Seed + 3, 0.5f).CopyTo(layer.Parameters.Span);
            float[] x = Seeded.Uniform(c.Batch * features, c.Seed, 2f);
            var result = GradientChecker.CheckLayer(layer, x, c.Batch, step: 5e-3f, floor: 1e-2, seed: (ulong)c.Seed);
            Assert.True(result.MaxError < LayerNormTolerance, $"{name}, {features} features, {c}: {result}");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Every_layer_of_the_factory_has_a_gradient_check()
    {
        // A layer added to LayerFactory passes the contract tests alone; its derivative must be checked here too.
        HashSet<string> checkedHere = [.. SmoothLayers().Select<object[], string>(row => (string)row[0]),
            .. PiecewiseLayers().Select<object[], string>(row => (string)row[0]),
            "dense", "dense_relu", "dense_relu_no_bias", "relu", "dropout", "softmax", "batch_normalization",
            "layer_normalization", "layer_normalization_no_center", "layer_normalization_no_scale", "layer_normalization_bare",
            "gaussian_noise", "gaussian_dropout", "alpha_dropout"];
        Assert.All(LayerFactory.Names().Select<object[], string>(row => (string)row[0]), name => Assert.Contains(name, checkedHere));
    }

    [Theory]
    [MemberData(nameof(PiecewiseLayers))]
    public void Piecewise_linear_layers_match_differences_away_from_their_kinks(string name, float[] kinks, double tolerance)
    {
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            ILayer layer = LayerFactory.Create(name, c.Inputs, c.Outputs, (ulong)c.Seed);

            // Every input at least 0.05 (five steps) from every kink.
            float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed, 1.5f);
            for (int i = 0; i < x.Length; i++)
            {
                foreach (float kink in kinks)
                {
                    if (Math.Abs(x[i] - kink) < 0.05f)
                    {
                        x[i] = kink + (x[i] >= kink ? 0.05f : -0.05f);
                    }
                }
            }

            var result = GradientChecker.CheckLayer(layer, x, c.Batch, seed: (ulong)c.Seed);
            Assert.True(result.MaxError < tolerance, $"{name} {c}: {result}");
        }).QuickCheckThrowOnFailure();
    }

    public static TheoryData<Activation, bool> DenseActivations() => new()
    {
        { Activation.Relu, true }, { Activation.Relu, false }, { Activation.Sigmoid, true }, { Activation.Sigmoid, false },
        { Activation.Tanh, true }, { Activation.Softmax, true },
    };

    // The fused layers ("dense_relu", "dense_relu_no_bias" in LayerFactory) are checked through this equivalence: the
    // plain Dense and the activation layers have their own finite-difference checks above.
    [Theory]
    [MemberData(nameof(DenseActivations))]
    public void A_dense_activation_equals_the_dense_layer_then_the_activation_layer(Activation activation, bool useBias)
    {
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            var fused = new Dense(c.Inputs, c.Outputs, (ulong)c.Seed, activation, useBias);
            var plain = new Dense(c.Inputs, c.Outputs, (ulong)c.Seed, useBias: useBias);
            if (useBias)
            {
                Seeded.Uniform(c.Outputs, c.Seed + 5, 0.5f).CopyTo(fused.Bias.Span);
            }

            Assert.Equal(plain.ParameterCount, fused.ParameterCount);
            fused.Parameters.Span.CopyTo(plain.Parameters.Span);
            ILayer after = activation switch
            {
                Activation.Relu => new Relu(c.Outputs),
                Activation.Sigmoid => new Sigmoid(c.Outputs),
                Activation.Tanh => new Tanh(c.Outputs),
                _ => new Softmax(c.Outputs),
            };

            int n = c.Batch * c.Outputs;
            float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed);
            float[] dy = Seeded.Uniform(n, c.Seed + 9);
            float[] y = new float[n], z = new float[n], y2 = new float[n], dz = new float[n];
            float[] dxFused = new float[x.Length], dxPlain = new float[x.Length];
            fused.Forward(x, y, c.Batch, training: true);
            plain.Forward(x, z, c.Batch, training: true);
            after.Forward(z, y2, c.Batch, training: true);
            Assert.Equal(y2, y);

            fused.Gradients.Span.Clear();
            plain.Gradients.Span.Clear();
            fused.Backward(x, y, dy, dxFused, c.Batch);
            after.Backward(z, y2, dy, dz, c.Batch);
            plain.Backward(x, z, dz, dxPlain, c.Batch);
            Assert.Equal(dxPlain, dxFused);
            Assert.Equal(plain.Gradients.ToArray(), fused.Gradients.ToArray());
        }).QuickCheckThrowOnFailure();
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Relu_gradient_matches_differences_away_from_the_kink(LayerCase c)
    {
        // Keep every input at least 0.05 from 0, five steps away from the kink.
        float[] x = [.. Seeded.Uniform(c.Batch * c.Inputs, c.Seed).Select(v => v >= 0 ? v + 0.05f : v - 0.05f)];
        var result = GradientChecker.CheckLayer(new Relu(c.Inputs), x, c.Batch, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < ReluTolerance, $"{c}: {result}");
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Dropout_gradient_matches_differences_with_a_fixed_mask(LayerCase c)
    {
        var dropout = new Dropout(c.Inputs, 0.4f, (ulong)c.Seed);
        float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed);
        dropout.Forward(x, new float[x.Length], c.Batch, training: true);
        dropout.FreezeNoise = true;
        var result = GradientChecker.CheckLayer(dropout, x, c.Batch, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < NoiseTolerance, $"{c}: {result}");
    }

    [Theory]
    [InlineData("gaussian_noise")]
    [InlineData("gaussian_dropout")]
    [InlineData("alpha_dropout")]
    public void Noise_layer_gradients_match_differences_with_fixed_noise(string name)
    {
        // Each is linear in its input once its noise is drawn: the differences are exact up to float rounding.
        Prop.ForAll(LayerGenerators.LayerCases(), c =>
        {
            ILayer layer = LayerFactory.Create(name, c.Inputs, c.Outputs, (ulong)c.Seed);
            float[] x = Seeded.Uniform(c.Batch * c.Inputs, c.Seed);
            layer.Forward(x, new float[x.Length], c.Batch, training: true);
            ((NoiseLayer)layer).FreezeNoise = true;

            var result = GradientChecker.CheckLayer(layer, x, c.Batch, seed: (ulong)c.Seed);
            Assert.True(result.MaxError < NoiseTolerance, $"{name} {c}: {result}");
        }).QuickCheckThrowOnFailure();
    }

    [Property(Arbitrary = [typeof(LayerGenerators)], MaxTest = 40)]
    public void Softmax_layer_gradient_matches_differences(LayerCase c)
    {
        // Softmax is smooth: its error is the rounding of the float outputs divided by 2h, not the O(h²) truncation.
        // Over 10,000 cases the largest error halved with each doubling of h from 1e-3 (6.6e-3) to 2e-2 (3.4e-4); h =
        // 1e-2 keeps it at 6.5e-4 there, the truncation still out of sight.
        var result = GradientChecker.CheckLayer(new Softmax(c.Outputs), Seeded.Uniform(c.Batch * c.Outputs, c.Seed, 3f),
            c.Batch, step: 1e-2f, floor: 1e-2, seed: (ulong)c.Seed);
        Assert.True(result.MaxError < SoftmaxTolerance, $"{c}: {result}");
    }

    [Fact]
    public void The_checker_catches_a_wrong_gradient()
    {
        var result = GradientChecker.CheckLayer(new BrokenLayer(), Seeded.Uniform(6, 1), 2);
        Assert.True(result.MaxInputError > 0.3, result.ToString());
    }

    [Fact]
    public void The_checker_takes_exactly_the_rows_and_names_a_span_that_does_not_hold_them()
    {
        // A longer span had its first rows checked without a word; a short one to CheckModel failed in a bare slice.
        var dense = new Dense(5);
        var unbuilt = Assert.Throws<ArgumentException>(() => GradientChecker.CheckLayer(dense, Seeded.Uniform(9, 1), 3));
        Assert.Equal("layer", unbuilt.ParamName);
        Assert.StartsWith("Layer 'dense' (Dense) is not built: call Build(inputSize, seed) first", unbuilt.Message, StringComparison.Ordinal);
        dense.Build(3, seed: 1);
        var longer = Assert.Throws<ArgumentException>(() => GradientChecker.CheckLayer(dense, Seeded.Uniform(16, 1), 3));
        Assert.Equal("input", longer.ParamName);
        Assert.Contains("needs exactly 9", longer.Message, StringComparison.Ordinal);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => GradientChecker.CheckLayer(dense, Seeded.Uniform(8, 1), 3)).ParamName);

        var loss = new NeuralCore.Losses.SoftmaxCrossEntropy();
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => GradientChecker.CheckLoss(loss, Seeded.Uniform(12, 2), [0, 1], 2, 5)).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => GradientChecker.CheckLoss(loss, Seeded.Uniform(10, 2), [0, 1, 2], 2, 5)).ParamName);
        // The labels overload had its classes refused as outputs, a name its caller never wrote.
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => GradientChecker.CheckLoss(loss, Seeded.Uniform(10, 2), [0, 1], 2, 0)).ParamName);

        var model = new NeuralCore.Models.Sequential(3, seed: 1).Add(new Dense(4));
        model.Compile(loss, new NeuralCore.Optimizers.Sgd(), 4);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => GradientChecker.CheckModel(model, Seeded.Uniform(5, 3), [0, 1], 2)).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => GradientChecker.CheckModel(model, Seeded.Uniform(7, 3), [0, 1], 2)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => GradientChecker.CheckModel(model, Seeded.Uniform(6, 3), [0, 1, 2], 2)).ParamName);
        Assert.True(GradientChecker.CheckModel(model, Seeded.Uniform(6, 3), [0, 1], 2).MaxParameterError < 1e-2);
    }

    [Fact]
    public void The_worst_location_is_that_of_the_largest_error_of_either_kind()
    {
        // Fix 6c: the parameter pass used to overwrite the input pass's worst location, even when smaller.
        var result = GradientChecker.CheckLayer(new ScaleWithWrongInputGradient(), Seeded.Uniform(6, 1), 2);
        Assert.True(result.MaxInputError > 0.3, result.ToString());
        Assert.True(result.MaxParameterError is > 0 and < 1e-2, result.ToString());
        Assert.StartsWith("input[", result.Worst, StringComparison.Ordinal);
    }

    /// <summary>y = w·x with one parameter w: a right parameter gradient, an input gradient that forgets w.</summary>
    private sealed class ScaleWithWrongInputGradient : Layer
    {
        public ScaleWithWrongInputGradient()
            : base("scale") => Build(3, 0);

        public override string DefaultName => "scale";

        public override string TypeId => "Scale";

        public override int ParameterCount => 1;

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void InitializeParameters(Span<float> parameters, ulong seed) => parameters[0] = 3.3f;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
        {
            for (int i = 0; i < input.Length; i++)
            {
                output[i] = Parameters.Span[0] * input[i];
            }
        }

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
        {
            float sum = 0;
            for (int i = 0; i < input.Length; i++)
            {
                sum += input[i] * outputGrad[i];
            }

            Gradients.Span[0] += sum;
            outputGrad.CopyTo(inputGrad);
        }
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
