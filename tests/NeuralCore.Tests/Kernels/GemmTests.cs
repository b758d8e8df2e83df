using FsCheck.Xunit;
using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

[Collection(SerialTests.Name)]
public class GemmTests
{
    public static TheoryData<int> Paths() => [.. KernelIsaSupport.Supported.Select(isa => (int)isa)];

    /// <summary>
    /// Checks the fast product against <see cref="GemmReference"/>. Both sum k products in float, so each is within
    /// k·u·Σ|a||b| of the exact value (u = 2⁻²⁴); the bound below is twice that, plus the initial C when accumulating.
    /// </summary>
    internal static void AssertMatchesReference(GemmCase c, KernelIsa isa)
    {
        float[] a = Seeded.Uniform(c.M * c.K, c.Seed);
        float[] b = Seeded.Uniform(c.K * c.N, c.Seed + 1);
        float[] initial = Seeded.Uniform(c.M * c.N, c.Seed + 2);
        float[] expected = (float[])initial.Clone();
        float[] actual = (float[])initial.Clone();
        float[] magnitude = new float[c.M * c.N];

        GemmReference.Multiply(a, b, expected, c.M, c.N, c.K, c.TransposeA, c.TransposeB, c.Accumulate);
        Gemm.MultiplyOn(isa, a, b, actual, c.M, c.N, c.K, c.TransposeA, c.TransposeB, c.Accumulate);
        GemmReference.Multiply(Abs(a), Abs(b), magnitude, c.M, c.N, c.K, c.TransposeA, c.TransposeB);

        double u = Math.Pow(2, -24);
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = magnitude[i] + (c.Accumulate ? Math.Abs(initial[i]) : 0);
            double bound = (2 * (c.K + 1) * u * scale * 1.01) + 1e-30;
            double error = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(error <= bound,
                $"{isa} {c}: element {i} (row {i / c.N}, column {i % c.N}) is {actual[i]}, reference {expected[i]}, |error| {error:E3} > bound {bound:E3}");
        }
    }

    private static float[] Abs(float[] values) => [.. values.Select(MathF.Abs)];

    [Property(Arbitrary = [typeof(KernelGenerators)], MaxTest = 150)]
    public void Matches_reference_on_every_supported_path(GemmCase c)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            AssertMatchesReference(c, isa);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Matches_reference_on_blocked_shapes(int path)
    {
        var isa = (KernelIsa)path;

        // Shapes that cross the kc (256), mc (144) and nc (256) block sizes, plus the MLP's narrow ones.
        GemmCase[] cases =
        [
            new(150, 300, 600, false, false, false, 1),
            new(289, 33, 513, true, false, true, 2),
            new(128, 10, 784, false, false, false, 3),
            new(784, 10, 32, true, false, true, 4),
            new(32, 784, 10, false, true, false, 5),
            new(97, 257, 1, false, true, true, 6),
        ];
        foreach (GemmCase c in cases)
        {
            AssertMatchesReference(c, isa);
        }
    }

    /// <summary>
    /// The last panel of A, when it has fewer valid rows than the tile (a batch of 32 leaves 2 past the 256-bit path's
    /// 6-row panels), is computed by a narrower tile where the path has one: each of its elements must still be the
    /// bits the same row gets inside a full panel, here the first rows of a product of 48 rows (a multiple of every
    /// path's tile rows) with the same leading rows, and the bits of the full tile run on the padded panel. Row-major
    /// and transposed A, dense and with zero steps skipped, overwriting and accumulating, on one thread and two.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public unsafe void Ragged_last_panel_gives_the_bits_of_a_full_one(int path)
    {
        var isa = (KernelIsa)path;
        const int Padded = 48, N = 40, K = 300;
        float[] rowsOfA = Seeded.Uniform(Padded * K, 11);
        for (int i = 0; i < rowsOfA.Length; i += 3)
        {
            rowsOfA[i] = 0f; // zeros for the step lists to skip
        }

        float[] b = Seeded.Uniform(K * N, 12);
        float[] initial = Seeded.Uniform(Padded * N, 13);
        foreach (bool transposeA in new[] { false, true })
        {
            foreach (bool skipZeroA in new[] { false, true })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    foreach (int threads in new[] { 1, 2 })
                    {
                        float[] full = Product(Padded);
                        for (int m = 25; m <= 36; m++)
                        {
                            float[] ragged = Product(m);
                            float[] fullTile = WithoutTailKernels(() => Product(m));
                            for (int i = 0; i < m * N; i++)
                            {
                                string where = $"{isa}, m {m}, transposeA {transposeA}, skipZeroA {skipZeroA}, accumulate {accumulate}, {threads} thread(s): " +
                                    $"row {i / N}, column {i % N} is {ragged[i]}";
                                Assert.True(BitConverter.SingleToInt32Bits(ragged[i]) == BitConverter.SingleToInt32Bits(full[i]),
                                    $"{where}, {full[i]} in the {Padded}-row product");
                                Assert.True(BitConverter.SingleToInt32Bits(ragged[i]) == BitConverter.SingleToInt32Bits(fullTile[i]),
                                    $"{where}, {fullTile[i]} with the full tile for the last panel");
                            }
                        }

                        float[] Product(int m)
                        {
                            // The first m rows of A, laid out as the product reads them.
                            float[] a = new float[m * K];
                            for (int r = 0; r < m; r++)
                            {
                                for (int p = 0; p < K; p++)
                                {
                                    a[transposeA ? (p * m) + r : (r * K) + p] = rowsOfA[(r * K) + p];
                                }
                            }

                            float[] c = initial[..(m * N)];
                            GemmSplitTests.WithThreads(threads, () => Gemm.MultiplyOn(isa, a, b, c, m, N, K, transposeA, transposeB: false, accumulate,
                                GemmEpilogue.None, skipZeroA: skipZeroA));
                            return c;
                        }
                    }
                }
            }
        }
    }

    // The plans made inside run the ragged last panel on the full tile (GemmPlan.TailKernelsEnabled), as before the
    // narrower tiles; other tests running meanwhile get the same bits either way.
    private static T WithoutTailKernels<T>(Func<T> action)
    {
        GemmPlan.TailKernelsEnabled = false;
        try
        {
            return action();
        }
        finally
        {
            GemmPlan.TailKernelsEnabled = true;
        }
    }

    [Fact]
    public void Public_entry_point_matches_reference()
    {
        AssertMatchesReferencePublic(new GemmCase(37, 65, 129, false, true, true, 9));
    }

    private static void AssertMatchesReferencePublic(GemmCase c)
    {
        float[] a = Seeded.Uniform(c.M * c.K, 1);
        float[] b = Seeded.Uniform(c.K * c.N, 2);
        float[] expected = new float[c.M * c.N];
        float[] actual = new float[c.M * c.N];
        GemmReference.Multiply(a, b, expected, c.M, c.N, c.K, c.TransposeA, c.TransposeB);
        Gemm.Multiply(a, b, actual, c.M, c.N, c.K, c.TransposeA, c.TransposeB);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }
    }

    [Fact]
    public void K_zero_clears_or_keeps_C()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply([], [], c, 2, 3, 0, accumulate: true);
        Assert.Equal([1, 2, 3, 4, 5, 6], c);
        Gemm.Multiply([], [], c, 2, 3, 0);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Leaves_elements_past_m_times_n_untouched()
    {
        float[] a = Seeded.Uniform(7 * 5, 1);
        float[] b = Seeded.Uniform(5 * 9, 2);
        float[] c = Enumerable.Repeat(42f, (7 * 9) + 10).ToArray();
        Gemm.Multiply(a, b, c, 7, 9, 5);
        Assert.All(c[(7 * 9)..], v => Assert.Equal(42f, v));
    }

    [Theory]
    [InlineData(-1, 2, 3, "m")]
    [InlineData(2, -1, 3, "n")]
    [InlineData(2, 3, -1, "k")]
    public void Negative_sizes_throw_naming_the_argument(int m, int n, int k, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[100], new float[100], new float[100], m, n, k));
        Assert.Equal(name, ex.ParamName);
        var reference = Assert.Throws<ArgumentOutOfRangeException>(() => GemmReference.Multiply(new float[100], new float[100], new float[100], m, n, k));
        Assert.Equal(name, reference.ParamName);
    }

    [Theory]
    [InlineData(5, 12, 12, "a")]
    [InlineData(6, 11, 12, "b")]
    [InlineData(6, 12, 11, "c")]
    public void Short_spans_throw_naming_the_argument(int aLength, int bLength, int cLength, string name)
    {
        // m = 3, n = 4, k = 2: A needs 6, B needs 8, C needs 12.
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(new float[aLength], new float[bLength - 4], new float[cLength], 3, 4, 2));
        Assert.Equal(name, ex.ParamName);
        Assert.Contains("but the shape needs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overflowing_shape_is_rejected_before_any_work()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(new float[100_000], new float[100_000], new float[4], 100_000, 100_000, 1));
        Assert.Equal("c", ex.ParamName);
    }

    [Fact]
    public void Output_overlapping_an_input_is_rejected()
    {
        float[] buffer = new float[64];
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(buffer.AsSpan(0, 16), new float[16], buffer.AsSpan(8, 16), 4, 4, 4));
        Assert.Equal("c", ex.ParamName);
    }
}
