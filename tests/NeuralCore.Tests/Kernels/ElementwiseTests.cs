using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

public class ElementwiseTests
{
    // Every length 0..256 covers each vector width's body and every tail length.
    public static TheoryData<int> Lengths() => [.. Enumerable.Range(0, 257)];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void BytesToSingles_is_the_scalar_division_at_every_length(int length)
    {
        byte[] x = [.. Enumerable.Range(0, length).Select(i => (byte)((i * 97) + length))];
        float[] y = Enumerable.Repeat(-1f, length + 3).ToArray();
        Elementwise.BytesToSingles(x, y, 255f);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(x[i] / 255f), BitConverter.SingleToInt32Bits(y[i]));
        }

        Assert.All(y[length..], v => Assert.Equal(-1f, v));
    }

    // Streaming stores start at the destination's first 64-byte line boundary: every offset of the destination from a
    // line (0..15 floats) and lengths across the head, the 16-float body and the tail. The values are the division's.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(63)]
    [InlineData(784)]
    [InlineData(1000)]
    public unsafe void BytesToSinglesStreaming_writes_the_division_at_every_alignment(int length)
    {
        byte[] x = [.. Enumerable.Range(0, length).Select(i => (byte)((i * 97) + length))];
        float[] buffer = GC.AllocateArray<float>(length + 48, pinned: true);
        fixed (float* start = buffer)
        {
            int first = (int)((64 - ((nuint)start % 64)) % 64 / sizeof(float));
            for (int offset = 0; offset < 16; offset++)
            {
                Array.Fill(buffer, -1f);
                Span<float> y = buffer.AsSpan(first + offset, length);
                Elementwise.BytesToSinglesStreaming(x, y, 255f);
                Elementwise.StreamingFence();
                for (int i = 0; i < length; i++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(x[i] / 255f), BitConverter.SingleToInt32Bits(y[i]));
                }

                Assert.All(buffer[(first + offset + length)..], v => Assert.Equal(-1f, v));
                Assert.All(buffer[..(first + offset)], v => Assert.Equal(-1f, v));
            }
        }

        if (length > 0)
        {
            var e = Assert.Throws<ArgumentException>(() => Elementwise.BytesToSinglesStreaming(x, new float[length - 1], 255f));
            Assert.Equal("destination", e.ParamName);
        }
    }

    [Fact]
    public void BytesToSingles_rejects_a_short_destination()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.BytesToSingles(new byte[5], new float[4], 255f));
        Assert.Equal("destination", e.ParamName);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Relu_matches_scalar_definition(int length)
    {
        float[] x = Seeded.Uniform(length, length);
        float[] y = new float[length];
        Elementwise.Relu(x, y);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(x[i] > 0 ? x[i] : 0f, y[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ReluBackward_matches_scalar_definition(int length)
    {
        float[] x = Seeded.Uniform(length, length);
        if (length > 3)
        {
            x[3] = 0f; // the derivative at exactly 0 is taken as 0
        }

        float[] dy = Seeded.Uniform(length, length + 1000);
        float[] dx = new float[length];
        Elementwise.ReluBackward(x, dy, dx);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(x[i] > 0 ? dy[i] : 0f, dx[i]);
        }
    }

    [Fact]
    public void ReluBackward_runs_in_place_on_the_gradient()
    {
        float[] x = [-1, 2, 0, 3];
        float[] dy = [5, 6, 7, 8];
        Elementwise.ReluBackward(x, dy, dy);
        Assert.Equal([0, 6, 0, 8], dy);
    }

    [Fact]
    public void Relu_keeps_nan_visible()
    {
        float[] y = new float[1];
        Elementwise.Relu([float.NaN], y);
        Assert.True(float.IsNaN(y[0]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 10)]
    [InlineData(7, 17)]
    [InlineData(32, 33)]
    public void Softmax_rows_match_double_precision(int rows, int columns)
    {
        float[] x = Seeded.Uniform(rows * columns, rows + columns, scale: 20f);
        float[] p = new float[rows * columns];
        Elementwise.SoftmaxRows(x, p, rows, columns);
        for (int r = 0; r < rows; r++)
        {
            double max = x.Skip(r * columns).Take(columns).Max();
            double sum = x.Skip(r * columns).Take(columns).Sum(v => Math.Exp(v - max));
            for (int j = 0; j < columns; j++)
            {
                double expected = Math.Exp(x[(r * columns) + j] - max) / sum;
                Assert.True(Math.Abs(p[(r * columns) + j] - expected) <= 1e-6 + (1e-5 * expected),
                    $"row {r}, column {j}: {p[(r * columns) + j]} vs {expected}");
            }
        }
    }

    [Fact]
    public void Softmax_does_not_overflow_on_large_logits()
    {
        float[] x = [1000f, 999f, -1000f, 88.8f, 1e30f, 1e30f];
        float[] p = new float[6];
        Elementwise.SoftmaxRows(x, p, 2, 3);
        Assert.All(p, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1 / (1 + Math.Exp(-1)), p[0], 1e-6);
        Assert.Equal(0.5f, p[4], 1e-6f);
        Assert.Equal(0f, p[3]);
    }

    [Fact]
    public void Softmax_validates_sizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Elementwise.SoftmaxRows(new float[6], new float[5], 2, 3));
        Assert.Equal("destination", ex.ParamName);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => Elementwise.SoftmaxRows([], [], 2, 0));
        Assert.Equal("columns", zero.ParamName);
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Elementwise.SoftmaxRows([], [], -1, 3));
        Assert.Equal("rows", negative.ParamName);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 1)]
    [InlineData(4, 17)]
    [InlineData(33, 10)]
    public void Row_broadcast_and_column_sums_match_loops(int rows, int columns)
    {
        float[] matrix = Seeded.Uniform(rows * columns, 1);
        float[] row = Seeded.Uniform(columns, 2);
        float[] expected = (float[])matrix.Clone();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < columns; j++)
            {
                expected[(r * columns) + j] += row[j];
            }
        }

        Elementwise.AddRowToEachRow(matrix, row, rows);
        Assert.Equal(expected, matrix);

        float[] sums = Seeded.Uniform(columns, 3);
        float[] expectedSums = (float[])sums.Clone();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < columns; j++)
            {
                expectedSums[j] += matrix[(r * columns) + j];
            }
        }

        Elementwise.AccumulateColumnSums(matrix, sums, rows);
        Assert.Equal(expectedSums, sums);
    }

    [Fact]
    public void Broadcast_and_sums_validate_arguments()
    {
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => Elementwise.AddRowToEachRow(new float[5], new float[3], 2)).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentOutOfRangeException>(() => Elementwise.AddRowToEachRow(new float[5], new float[3], -2)).ParamName);
        Assert.Equal("matrix", Assert.Throws<ArgumentException>(() => Elementwise.AccumulateColumnSums(new float[5], new float[3], 2)).ParamName);
        Assert.Equal("outputGrad", Assert.Throws<ArgumentException>(() => Elementwise.ReluBackward(new float[5], new float[4], new float[5])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => Elementwise.Relu(new float[5], new float[4])).ParamName);
    }

    /// <summary>Every row length the register kernels take (4 to 16, each summed in its own order), and some they decline.</summary>
    public static TheoryData<int> RowLengths() => [1, 3, .. Enumerable.Range(4, 13), 17, 40];

    [Theory]
    [MemberData(nameof(RowLengths))]
    public void TrySoftmaxGradientRow_gives_the_bits_of_the_span_path_or_declines(int classes)
    {
        var random = new Random(classes);
        float[] x = new float[classes], e = new float[classes], expected = new float[classes];
        for (int trial = 0; trial < 2000; trial++)
        {
            FillLogits(x, random, trial);

            int label = random.Next(classes);
            float scale = trial % 3 == 0 ? 1f : 1f / 128;

            // What CategoricalCrossentropy computes without the kernel.
            (float max, float sum) = Elementwise.ShiftedExp(x, e);
            float factor = scale / sum;
            float labelGrad = (e[label] * factor) - scale;
            System.Numerics.Tensors.TensorPrimitives.Multiply(e, factor, expected);
            expected[label] = labelGrad;

            float[] g = Enumerable.Repeat(float.NaN, classes + 2).ToArray();
            bool computed = Elementwise.TrySoftmaxGradientRow(x, label, scale, g.AsSpan(0, classes), out float rowMax, out float rowSum);
            bool expectedToCompute = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated
                && System.Runtime.Intrinsics.X86.Avx512F.IsSupported && classes >= 4 && classes <= 16;
            Assert.Equal(expectedToCompute, computed);
            if (!computed)
            {
                Assert.All(g, v => Assert.True(float.IsNaN(v)));
                continue;
            }

            Assert.Equal(BitConverter.SingleToInt32Bits(max), BitConverter.SingleToInt32Bits(rowMax));
            Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(rowSum));
            for (int j = 0; j < classes; j++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(g[j]),
                    $"classes {classes}, trial {trial}, g[{j}]: {g[j]} against {expected[j]}");
            }

            // Nothing past the row is written.
            Assert.True(float.IsNaN(g[classes]) && float.IsNaN(g[classes + 1]));
        }
    }

    // Ordinary logits, a quarter of the rows far apart (underflowing exponentials), and every seventh a tie for the
    // maximum with signed zeros.
    private static void FillLogits(float[] x, Random random, int trial)
    {
        for (int j = 0; j < x.Length; j++)
        {
            x[j] = trial % 4 == 0 ? (float)((random.NextDouble() * 200) - 100) : (float)((random.NextDouble() * 10) - 5);
        }

        if (trial % 7 == 0 && x.Length > 1)
        {
            x[^1] = x[0] = 0f;
            x[x.Length / 2] = -0f;
        }
    }

    [Theory]
    [MemberData(nameof(RowLengths))]
    public void TrySoftmaxRow_gives_the_bits_of_the_span_path_or_declines(int columns)
    {
        var random = new Random(100 + columns);
        float[] x = new float[columns], expected = new float[columns];
        for (int trial = 0; trial < 2000; trial++)
        {
            // FillLogits' rows, then an infinite logit (NaN probabilities on both paths) and a NaN.
            FillLogits(x, random, trial);
            if (trial == 11)
            {
                x[columns / 2] = float.PositiveInfinity;
            }

            if (trial == 13)
            {
                x[0] = float.NaN;
            }

            if (trial == 17)
            {
                // A NaN with a payload of its own, mid-row.
                x[columns / 2] = BitConverter.Int32BitsToSingle(0x7FC0_1234);
            }

            if (trial == 19)
            {
                // Two NaN payloads: which one the maximum keeps depends on the order of its comparisons.
                x[0] = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_0456));
                x[^1] = BitConverter.Int32BitsToSingle(0x7FC0_0123);
            }

            // What SoftmaxRows computes without the kernel.
            (_, float sum) = Elementwise.ShiftedExp(x, expected);
            System.Numerics.Tensors.TensorPrimitives.Divide(expected, sum, expected);

            float[] p = Enumerable.Repeat(float.NaN, columns + 2).ToArray();
            bool computed = Elementwise.TrySoftmaxRow(x, p.AsSpan(0, columns));
            bool expectedToCompute = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated
                && System.Runtime.Intrinsics.X86.Avx512F.IsSupported && columns >= 4 && columns <= 16;
            Assert.Equal(expectedToCompute, computed);
            if (!computed)
            {
                Assert.All(p, v => Assert.True(float.IsNaN(v)));
                continue;
            }

            for (int j = 0; j < columns; j++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(p[j]),
                    $"columns {columns}, trial {trial}, p[{j}]: {p[j]} against {expected[j]}");
            }

            Assert.True(float.IsNaN(p[columns]) && float.IsNaN(p[columns + 1]));

            // In place, as SoftmaxRows may run.
            float[] inPlace = (float[])x.Clone();
            Assert.True(Elementwise.TrySoftmaxRow(inPlace, inPlace));
            Assert.Equal(p.Take(columns).Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
