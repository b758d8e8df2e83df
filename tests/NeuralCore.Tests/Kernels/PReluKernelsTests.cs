using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// <see cref="PReluKernels"/> on every instruction-set path against its naive reference, bit for bit, at every feature
/// count 1..256 (0 is refused) and two longer odd ones, with one slope per feature and one shared; and the values
/// Keras's definition gives at the special points.
/// </summary>
public class PReluKernelsTests
{
    private static readonly int[] Features = [.. Enumerable.Range(1, 256), 509, 1021];

    public static TheoryData<string> Paths() => [.. KernelIsaSupport.Supported.Select(isa => isa.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_is_the_reference_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int features in Features)
        {
            foreach (bool shared in new[] { false, true })
            {
                foreach (int batch in new[] { 0, 1, 3 })
                {
                    float[] x = WithSpecials(Seeded.Uniform(batch * features, (features * 31) + batch, 2f));
                    float[] dy = Seeded.Uniform(batch * features, (features * 17) + batch + 5, 1f);
                    float[] alpha = Seeded.Uniform(shared ? 1 : features, features + 3, 0.5f);
                    string where = $"{isa}, {batch} x {features}, {(shared ? "shared" : "per feature")}";

                    float[] y = new float[x.Length], expectedY = new float[x.Length];
                    PReluKernels.Forward(x, y, batch, features, alpha, isa);
                    PReluKernels.ForwardReference(x, expectedY, batch, features, alpha);
                    AssertBits(expectedY, y, where + ", forward");

                    float[] dx = new float[x.Length], expectedDx = new float[x.Length];
                    float[] sums = new float[features], expectedSums = new float[features];
                    PReluKernels.Backward(x, dy, alpha, dx, sums, batch, features, isa);
                    PReluKernels.BackwardReference(x, dy, alpha, expectedDx, expectedSums, batch, features);
                    AssertBits(expectedDx, dx, where + ", input gradient");
                    AssertBits(expectedSums, sums, where + ", slope sums");

                    // Without an input gradient the sums are the same.
                    sums.AsSpan().Fill(123f);
                    PReluKernels.Backward(x, dy, alpha, default, sums, batch, features, isa);
                    AssertBits(expectedSums, sums, where + ", slope sums without dx");
                }
            }
        }
    }

    [Fact]
    public void Keras_values_at_the_special_points()
    {
        float[] x = [-2f, -0f, 0f, 3f, float.NaN, float.NegativeInfinity, float.PositiveInfinity, -1e-45f];
        float[] alpha = [0.25f];
        float[] y = new float[x.Length];
        PReluKernels.Forward(x, y, x.Length, 1, alpha);
        Assert.Equal([-0.5f, -0f, 0f, 3f, float.NaN, float.NegativeInfinity, float.PositiveInfinity, 0.25f * -1e-45f], y);

        // dx: dy above 0, α·dy below, 0 at ±0 and NaN (Keras: relu(x) - α·relu(-x) through the ReLUs' derivatives).
        float[] dy = [1f, 1f, 1f, 2f, 1f, 4f, 5f, 8f];
        float[] dx = new float[x.Length], sums = new float[1];
        PReluKernels.Backward(x, dy, alpha, dx, sums, x.Length, 1);
        Assert.Equal([0.25f, 0f, 0f, 2f, 0f, 1f, 5f, 2f], dx);

        // Σ x·dy over the negative inputs: -2, -∞·4 → -∞.
        Assert.Equal(float.NegativeInfinity, sums[0]);
    }

    [Fact]
    public void Slope_sums_are_per_feature_over_the_batch()
    {
        // Two samples, three features: feature 0 negative in both, feature 1 in one, feature 2 in none.
        float[] x = [-1f, 2f, 3f, -4f, -5f, 6f];
        float[] dy = [0.5f, 1f, 1f, 2f, 3f, 1f];
        float[] sums = new float[3];
        PReluKernels.Backward(x, dy, [0.1f, 0.2f, 0.3f], default, sums, 2, 3);
        Assert.Equal([(-1f * 0.5f) + (-4f * 2f), -5f * 3f, 0f], sums);
    }

    [Fact]
    public void Shapes_are_checked()
    {
        float[] x = new float[6], y = new float[6];
        Assert.Contains("alpha holds 2 slopes; it needs one per feature (3) or one shared",
            Assert.Throws<ArgumentException>(() => PReluKernels.Forward(x, y, 2, 3, new float[2])).Message, StringComparison.Ordinal);
        Assert.Contains("y holds 5 floats", Assert.Throws<ArgumentException>(() => PReluKernels.Forward(x, new float[5], 2, 3, new float[3])).Message, StringComparison.Ordinal);
        Assert.Contains("columnSums holds 2 floats",
            Assert.Throws<ArgumentException>(() => PReluKernels.Backward(x, y, new float[3], default, new float[2], 2, 3)).Message, StringComparison.Ordinal);
        Assert.Contains("inputGrad holds 4 floats",
            Assert.Throws<ArgumentException>(() => PReluKernels.Backward(x, y, new float[3], new float[4], new float[3], 2, 3)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => PReluKernels.Forward(x, y, -1, 3, new float[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PReluKernels.Forward(x, y, 2, 0, new float[3]));
    }

    // Zeros of both signs, a NaN and infinities among the values where there is room.
    private static float[] WithSpecials(float[] values)
    {
        float[] specials = [0f, -0f, float.NaN, float.NegativeInfinity, float.PositiveInfinity, -1e-45f];
        for (int i = 0; i < specials.Length && (i * 5) + 2 < values.Length; i++)
        {
            values[(i * 5) + 2] = specials[i];
        }

        return values;
    }

    private static void AssertBits(float[] expected, float[] actual, string where)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{where}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
            }
        }
    }
}
