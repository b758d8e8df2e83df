using System.Text.Json;
using NeuralCore.Kernels;
using NeuralCore.Layers;

namespace NeuralCore.Tests.Kernels;

/// <summary>Activation kernels against published values (Keras's documented examples, tables of erf and Φ).</summary>
public class ActivationsTests
{
    private static readonly float[] KerasInput = [-3f, -1f, 0f, 2f];

    [Fact]
    public void Relu_options_give_the_values_of_the_keras_documentation()
    {
        // keras.layers.ReLU docstring: max_value=1 -> [0, 0, 0, 1]; negative_slope=1 -> [-3, -1, 0, 2];
        // threshold=1.5 -> [0, 0, 0, 2]. keras.layers.LeakyReLU(negative_slope=0.5) -> [-1.5, -0.5, 0, 2].
        Assert.Equal([0f, 0f, 0f, 1f], Relu(0f, 0f, 1f));
        Assert.Equal([-3f, -1f, 0f, 2f], Relu(1f, 0f, float.PositiveInfinity));
        Assert.Equal([0f, 0f, 0f, 2f], Relu(0f, 1.5f, float.PositiveInfinity));
        Assert.Equal([-1.5f, -0.5f, 0f, 2f], Relu(0.5f, 0f, float.PositiveInfinity));
        Assert.True(float.IsNaN(Relu(0.5f, 0f, 6f, [float.NaN])[0]));
    }

    [Fact]
    public void Relu_backward_is_the_slope_of_each_piece()
    {
        float[] x = [-1f, 0.1f, 0.5f, 0.7f, 2f, float.NaN];
        float[] dx = new float[x.Length];
        Activations.ReluBackward(x, [1f, 1f, 1f, 1f, 1f, 1f], dx, negativeSlope: 0.25f, threshold: 0.5f, maxValue: 1f);
        Assert.Equal([0.25f, 0.25f, 0.25f, 1f, 0f, 0f], dx);
    }

    [Fact]
    public void Relu_edges_match_keras_pytorch_and_the_onnx_export()
    {
        // A capped ReLU gave NaN at -inf (0·-inf) and -0 for negative inputs, where Keras's relu, torch.relu6 and the
        // model's own ONNX export (Clip) give +0.
        float[] y = Relu(0f, 0f, 6f, [float.NegativeInfinity, -3f, 7f, float.PositiveInfinity]);
        Assert.Equal([0, 0, BitConverter.SingleToInt32Bits(6f), BitConverter.SingleToInt32Bits(6f)], y.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(float.NegativeInfinity, Relu(0.3f, 0f, float.PositiveInfinity, [float.NegativeInfinity])[0]);

        // LeakyReLU's gradient at +inf is the identity's (it was 0: +inf >= a missing cap of +inf), as PyTorch gives it;
        // at a cap the upper side's, as torch.relu6 and TensorFlow's relu6 take it.
        float[] dx = new float[4];
        Activations.ReluBackward([float.NegativeInfinity, -1f, 0f, float.PositiveInfinity], [1f, 1f, 1f, 1f], dx, 0.3f, 0f, float.PositiveInfinity);
        Assert.Equal([0.3f, 0.3f, 0.3f, 1f], dx);
        Activations.ReluBackward([5f, 5.5f, 4.5f, float.PositiveInfinity], [1f, 1f, 1f, 1f], dx, 0f, 0f, 5f);
        Assert.Equal([0f, 0f, 1f, 0f], dx);

        // Settings the layer refuses are refused by the kernels too (a cap below the threshold gave the cap everywhere).
        float[] y2 = new float[2];
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => Activations.Relu([1f, 2f], y2, 0f, 0f, -1f)).ParamName);
        Assert.Equal("negativeSlope", Assert.Throws<ArgumentOutOfRangeException>(() => Activations.Relu([1f, 2f], y2, float.NaN, 0f, 6f)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => Activations.ReluBackward([1f, 2f], [1f, 1f], y2, 0f, float.NaN, 6f)).ParamName);

        // BytesToSingles refuses the divisor Dataset.FromBytes refuses (0 gave NaN and infinities).
        Assert.Equal("divisor", Assert.Throws<ArgumentOutOfRangeException>(() => Elementwise.BytesToSingles([0, 1], y2, 0f)).ParamName);
    }

    [Fact]
    public void Erf_matches_tabulated_values()
    {
        // Abramowitz and Stegun, table 7.1 (and erf(-x) = -erf(x)).
        (double X, double Erf)[] table =
        [
            (0, 0), (0.1, 0.1124629160182849), (0.5, 0.5204998778130465), (1, 0.8427007929497149),
            (2, 0.9953222650189527), (3.5, 0.9999992569016276), (5, 0.9999999999984626),
        ];
        foreach ((double x, double erf) in table)
        {
            Assert.Equal(erf, Activations.Erf(x), 2e-12);
            Assert.Equal(-erf, Activations.Erf(-x), 2e-12);
        }
    }

    [Fact]
    public void Gelu_exact_and_approximate_give_published_values()
    {
        // gelu(1) = Φ(1) = 0.841344746...; the tanh form gives 0.841191990...; gelu(-1) = -(1 - Φ(1)).
        float[] exact = new float[3], approximate = new float[3];
        Activations.Gelu([1f, -1f, 0f], exact, approximate: false);
        Activations.Gelu([1f, -1f, 0f], approximate, approximate: true);
        Assert.Equal([0.84134475f, -0.15865525f, 0f], exact);
        Assert.Equal(0.84119199f, approximate[0], 1e-7f);
        Assert.Equal(-0.15880801f, approximate[1], 1e-7f);
    }

    public static TheoryData<string> TorchCases => ["elu", "elu_alpha_0.5", "selu", "silu", "softplus", "softsign", "hard_sigmoid", "hard_silu", "mish"];

    [Theory]
    [MemberData(nameof(TorchCases))]
    public void Elu_selu_silu_and_softplus_and_their_derivatives_match_the_reference(string name)
    {
        // torch_activations.py, beside this file: the C library's expm1, log1p and exp in float64 (checked there against
        // PyTorch, which loses digits itself at -3e-12 in ELU and SELU), at float32 inputs from -100 to 90, including
        // ±3e-12 (where eˣ - 1 and ln(1 + eˣ) cancel if computed naively) and tails whose values are float32 subnormals.
        JsonElement golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Kernels", "golden_torch_activations.json"))).RootElement;
        float[] x = [.. golden.GetProperty("inputs").EnumerateArray().Select(v => (float)v.GetDouble())];
        float[] y = new float[x.Length], dx = new float[x.Length], ones = [.. Enumerable.Repeat(1f, x.Length)];
        switch (name)
        {
            case "elu":
                Activations.Elu(x, y, 1f);
                Activations.EluBackward(x, ones, dx, 1f);
                break;
            case "elu_alpha_0.5":
                Activations.Elu(x, y, 0.5f);
                Activations.EluBackward(x, ones, dx, 0.5f);
                break;
            case "selu":
                Activations.Elu(x, y, Selu.Alpha, Selu.Scale);
                Activations.EluBackward(x, ones, dx, Selu.Alpha, Selu.Scale);
                break;
            case "silu":
                Activations.Silu(x, y);
                Activations.SiluBackward(x, ones, dx);
                break;
            case "softsign":
                Activations.Softsign(x, y);
                Activations.SoftsignBackward(x, ones, dx);
                break;
            case "hard_sigmoid":
                Activations.HardSigmoid(x, y);
                Activations.HardSigmoidBackward(x, ones, dx);
                break;
            case "hard_silu":
                Activations.HardSilu(x, y);
                Activations.HardSiluBackward(x, ones, dx);
                break;
            case "mish":
                Activations.Mish(x, y);
                Activations.MishBackward(x, ones, dx);
                break;
            default:
                Activations.Softplus(x, y);
                Activations.SoftplusBackward(x, ones, dx);
                break;
        }

        AssertWithinUlps(golden.GetProperty(name).GetProperty("output"), y, x, $"{name}");
        AssertWithinUlps(golden.GetProperty(name).GetProperty("derivative"), dx, x, $"{name}'s derivative");
    }

    // Two float32 ulps of the exact value (the double computation rounds once, or twice with its own error), and the
    // smallest subnormal's spacing where the value is that small.
    private static void AssertWithinUlps(JsonElement expected, float[] actual, float[] x, string what)
    {
        double[] e = [.. expected.EnumerateArray().Select(v => v.GetDouble())];
        for (int i = 0; i < e.Length; i++)
        {
            double tolerance = (2.4e-7 * Math.Abs(e[i])) + 2.9e-45;
            Assert.True(Math.Abs(actual[i] - e[i]) <= tolerance, $"{what} at {x[i]:R}: reference {e[i]:R}, NeuralCore {actual[i]:R}");
        }
    }

    [Fact]
    public void Elu_silu_and_softplus_at_the_infinities_and_at_nan()
    {
        float[] x = [float.NegativeInfinity, float.PositiveInfinity, float.NaN], y = new float[3], dx = new float[3], ones = [1f, 1f, 1f];
        Activations.Elu(x, y, 0.5f);
        Activations.EluBackward(x, ones, dx, 0.5f);
        Assert.Equal([-0.5f, float.PositiveInfinity, float.NaN], y);
        Assert.Equal([0f, 1f, float.NaN], dx);
        Activations.Silu(x, y);
        Activations.SiluBackward(x, ones, dx);
        Assert.Equal([float.NaN, float.PositiveInfinity, float.NaN], y);
        Assert.Equal([float.NaN, float.NaN, float.NaN], dx);
        Activations.Softplus(x, y);
        Activations.SoftplusBackward(x, ones, dx);
        Assert.Equal([0f, float.PositiveInfinity, float.NaN], y);
        Assert.Equal([0f, 1f, float.NaN], dx);

        // As Keras, PyTorch and ONNX Runtime compute them: softsign's ∞/∞ and the -∞·0 of the hard SiLU and Mish are NaN.
        Activations.Softsign(x, y);
        Activations.SoftsignBackward(x, ones, dx);
        Assert.Equal([float.NaN, float.NaN, float.NaN], y);
        Assert.Equal([0f, 0f, float.NaN], dx);
        Activations.HardSigmoid(x, y);
        Activations.HardSigmoidBackward(x, ones, dx);
        Assert.Equal([0f, 1f, float.NaN], y);
        Assert.Equal([0f, 0f, float.NaN], dx);
        Activations.HardSilu(x, y);
        Activations.HardSiluBackward(x, ones, dx);
        Assert.Equal([float.NaN, float.PositiveInfinity, float.NaN], y);
        Assert.Equal([0f, 1f, float.NaN], dx);
        Activations.Mish(x, y);
        Activations.MishBackward(x, ones, dx);
        Assert.Equal([float.NaN, float.PositiveInfinity, float.NaN], y);
        Assert.Equal([float.NaN, float.NaN, float.NaN], dx);
    }

    [Fact]
    public void Gelu_keeps_its_relative_accuracy_in_the_negative_tail()
    {
        // 1 + erf(x/√2) cancels for negative x: gelu(-8) read -4.8849813e-15 (1.8% off) and gelu(-9) -0. The values are
        // x·Φ(x) with Φ(-8) = 6.220960574271785e-16, Φ(-9) = 1.1285884059538324e-19, Φ(-10) = 7.619853024160525e-24.
        float[] y = new float[3];
        Activations.Gelu([-8f, -9f, -10f], y, approximate: false);
        Assert.Equal((float)(-8 * 6.220960574271785e-16), y[0]);
        Assert.Equal((float)(-9 * 1.1285884059538324e-19), y[1]);
        Assert.Equal((float)(-10 * 7.619853024160525e-24), y[2]);
        Assert.Equal(1.1224297172982928e-29, Activations.Erfc(8), 1e-40);
        Assert.Equal(2.0, Activations.Erfc(double.NegativeInfinity));
        Assert.Equal(0.0, Activations.Erfc(double.PositiveInfinity));
    }

    [Fact]
    public void Sigmoid_is_correctly_rounded_and_the_same_bits_whatever_the_batch()
    {
        // TensorPrimitives.Sigmoid took a scalar path for spans shorter than a vector: 14 of 64 samples of a
        // Dense-Sigmoid model predicted other bits alone than in their batch, up to 3 ulps from the exact value.
        float[] x = [.. Enumerable.Range(0, 2000).Select(i => (float)((i - 1000) * 0.02137)), 0f, -0f, 1e-30f, 88f, -88f, 104f, -104f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN];
        float[] y = new float[x.Length];
        Activations.Sigmoid(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            float exact = (float)(1 / (1 + Math.Exp(-(double)x[i])));
            Assert.True(BitConverter.SingleToInt32Bits(exact) == BitConverter.SingleToInt32Bits(y[i]) || (float.IsNaN(exact) && float.IsNaN(y[i])),
                $"sigmoid({x[i]:R}) = {y[i]:R}, exactly {exact:R}");
            float[] one = new float[1];
            Activations.Sigmoid([x[i]], one);
            Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(one[0]));
        }

        Activations.Sigmoid(x, x);
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), x.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Sigmoid_and_tanh_backward_use_the_output()
    {
        float[] y = new float[2], dx = new float[2];
        Activations.Sigmoid([0f, 2f], y);
        Activations.SigmoidBackward(y, [2f, 1f], dx);
        Assert.Equal(0.5f, dx[0]);
        Assert.Equal(y[1] * (1 - y[1]), dx[1], 1e-7f);
        Activations.Tanh([0f, 1f], y);
        Activations.TanhBackward(y, [3f, 1f], dx);
        Assert.Equal(3f, dx[0]);
        Assert.Equal(1 - (y[1] * y[1]), dx[1], 1e-7f);
    }

    [Fact]
    public void Short_destinations_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Activations.Sigmoid([1f, 2f], new float[1]));
        Assert.Throws<ArgumentException>(() => Activations.TanhBackward([1f, 2f], [1f], new float[2]));
        Assert.Throws<ArgumentException>(() => Activations.Gelu([1f, 2f], new float[1], false));
    }

    private static float[] Relu(float slope, float threshold, float max, float[]? x = null)
    {
        x ??= KerasInput;
        float[] y = new float[x.Length];
        Activations.Relu(x, y, slope, threshold, max);
        return y;
    }

    [Fact]
    public void Tanh_is_within_two_ulps_of_the_exact_value_near_zero_and_elsewhere_whatever_the_batch()
    {
        // The vector algorithm of TensorPrimitives gave tanh(0) = -5.96e-8 and tanh(1e-5) = 9.954e-6 (0.46% off), and a
        // span shorter than a vector took an exact scalar path: one sample's output depended on the batch around it.
        float[] x = [0f, -0f, 1e-45f, 1e-30f, 1e-10f, 1.1e-7f, 1e-5f, -1e-5f, 1e-3f, 0.06f, 0.0625f, 0.07f, 0.5f, -0.9f, 3f, 10f, -20f, float.NaN];
        foreach (int copies in new[] { 1, 3, 17, 300 })
        {
            float[] batch = [.. Enumerable.Repeat(x, copies).SelectMany(v => v)];
            float[] y = new float[batch.Length];
            Activations.Tanh(batch, y);
            for (int i = 0; i < batch.Length; i++)
            {
                float expected = (float)Math.Tanh(batch[i]);
                if (float.IsNaN(expected))
                {
                    Assert.True(float.IsNaN(y[i]));
                    continue;
                }

                Assert.True(Math.Abs(BitConverter.SingleToInt32Bits(y[i]) - BitConverter.SingleToInt32Bits(expected)) <= 2,
                    $"{copies} copies: tanh({batch[i]:R}) = {y[i]:R}, exactly {expected:R}");
            }

            // Each sample alone gives the bits it gives in a batch, and in place the same as apart.
            for (int i = 0; i < x.Length; i++)
            {
                float[] one = new float[1];
                Activations.Tanh([x[i]], one);
                Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(one[0]));
            }

            Activations.Tanh(batch, batch);
            Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), batch.Select(BitConverter.SingleToInt32Bits));
        }

        float[] zeros = new float[2];
        Activations.Tanh([0f, -0f], zeros);
        Assert.Equal([0, int.MinValue], zeros.Select(BitConverter.SingleToInt32Bits));

        // Odd bit for bit (computed on |x|, the sign copied), over a sweep that crosses the 1e-4 switch and a chunk's
        // edge (257-272 values run as one chunk).
        float[] sweep = [.. Enumerable.Range(0, 270).Select(i => (float)(3.5e-4 * Math.Pow(1.07, i)))];
        float[] positive = new float[sweep.Length], negative = new float[sweep.Length];
        Activations.Tanh(sweep, positive);
        Activations.Tanh([.. sweep.Select(v => -v)], negative);
        Assert.Equal(positive.Select(v => BitConverter.SingleToInt32Bits(-v)), negative.Select(BitConverter.SingleToInt32Bits));

        // A shifted overlap would read values already written: refused, as the vector library refused it.
        float[] shifted = new float[601];
        Assert.Throws<ArgumentException>(() => Activations.Tanh(shifted.AsSpan(0, 600), shifted.AsSpan(1, 600)));
        Activations.Tanh([], []);
    }
}
