using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// A product on a B packed beforehand (<see cref="PackedMatrix"/>) must give bitwise the product on B itself, on every
/// instruction-set path, at every thread count (so with each way of dividing the work), with and without the bias and
/// ReLU epilogue, for batches that take the few-rows, narrow and register-blocked paths.
/// </summary>
[Collection(SerialTests.Name)]
public unsafe class PackedMatrixTests
{
    private static void Check(KernelIsa isa, int m, int n, int k, int threads, bool bias, bool relu, int seed)
    {
        float[] a = Seeded.Uniform(m * k, seed);
        float[] b = Seeded.Uniform(k * n, seed + 1);
        float[] biasValues = Seeded.Uniform(n, seed + 2);
        float[] expected = new float[m * n];
        float[] actual = Seeded.Uniform(m * n, seed + 3);
        PackedMatrix packed = PackedMatrix.Pack(b, k, n, isa);

        // The packed matrix is a copy: changing B afterwards must not reach it.
        float[] original = (float[])b.Clone();
        b.AsSpan().Fill(float.NaN);

        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.FmaThreadsOverride = threads;
            Parallelism.DegreeOfParallelism = threads;
            fixed (float* pBias = biasValues)
            {
                if (bias || relu)
                {
                    Gemm.MultiplyOn(isa, a, original, expected, m, n, k, false, false, false, GemmEpilogue.AddBias(pBias, relu), GemmSplit.Reduction);
                    Gemm.MultiplyAddBiasPacked(a, packed, biasValues, actual, m, relu);
                }
                else
                {
                    Gemm.MultiplyOn(isa, a, original, expected, m, n, k);
                    Gemm.MultiplyPacked(a, packed, actual, m);
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }

        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{isa} m={m} n={n} k={k} threads={threads} bias={bias} relu={relu}: element {i} is {actual[i]:R} packed, {expected[i]:R} unpacked");
        }
    }

    public static TheoryData<int> Paths() => [.. KernelIsaSupport.Supported.Select(isa => (int)isa)];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Mnist_layers_are_bitwise_equal_at_every_thread_count(int isa)
    {
        // The predictor's layers: 784 inputs in four k blocks, a 10-wide output layer, and batches of 1 (rows path),
        // 64 and 256 (blocked), 37 (ragged panels).
        foreach ((int n, int k) in new[] { (128, 784), (512, 784), (256, 512), (10, 256), (10, 128) })
        {
            foreach (int m in new[] { 1, 4, 37, 64, 256 })
            {
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    Check((KernelIsa)isa, m, n, k, threads, bias: true, relu: n > 10, seed: m + n + k + threads);
                }
            }
        }
    }

    [Property(MaxTest = 120)]
    public Property Any_shape_is_bitwise_equal()
    {
        Gen<(int M, int N, int K, int Threads, int Epilogue, int Isa)> cases =
            from m in Gen.Choose(1, 150)
            from n in Gen.Choose(1, 300)
            from k in Gen.Choose(1, 1100)
            from threads in Gen.Elements(1, 2, 3, 8)
            from epilogue in Gen.Choose(0, 2)
            from isa in Gen.Elements([.. KernelIsaSupport.Supported.Select(i => (int)i)])
            select (m, n, k, threads, epilogue, isa);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            Check((KernelIsa)c.Isa, c.M, c.N, c.K, c.Threads, bias: c.Epilogue > 0, relu: c.Epilogue == 2, seed: c.M * 7 + c.N + c.K);
            return true;
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Products_of_more_than_a_few_rows_read_the_panels_and_smaller_ones_the_copy(int isa)
    {
        // Zeroing the copy of B after packing: a product that reads the panels is unchanged, one that reads the copy
        // (at most GemmRows.MaxRowsFor rows) becomes the bias alone. 30 columns: one chunk on every path (so the chunks
        // are the copy itself), and more than the 16 that the 512-bit path reads unpacked whatever the rows.
        const int K = 300, N = 30;
        float[] b = Seeded.Uniform(K * N, 3);
        float[] bias = Seeded.Uniform(N, 4);
        PackedMatrix packed = PackedMatrix.Pack(b, K, N, (KernelIsa)isa);
        Assert.True(packed.HasPanels);
        int most = GemmRows.MaxRowsFor((KernelIsa)isa, prepacked: true, K, N);
        AssertFewRowsReadZeroedCopy(packed, packed.Values, b, bias, (KernelIsa)isa, [GemmRows.MaxRows, most, most + 1, 40]);
    }

    // Zeroes copy (one of packed's) and checks that products of at most GemmRows.MaxRowsFor rows give the bias alone,
    // while larger ones, which read the panels, still give the product on b.
    private static void AssertFewRowsReadZeroedCopy(PackedMatrix packed, ReadOnlySpan<float> copy, float[] b, float[] bias, KernelIsa isa, int[] rows)
    {
        int k = packed.K, n = packed.N;
        System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(copy), k * n).Clear();
        foreach (int m in rows)
        {
            float[] a = Seeded.Uniform(m * k, m);
            float[] expected = new float[m * n], actual = new float[m * n];
            fixed (float* pBias = bias)
            {
                Gemm.MultiplyOn(isa, a, b, expected, m, n, k, false, false, false, GemmEpilogue.AddBias(pBias, false), GemmSplit.Reduction);
            }

            Gemm.MultiplyAddBiasPacked(a, packed, bias, actual, m, relu: false);
            Assert.Equal(m <= GemmRows.MaxRowsFor(isa, prepacked: true, k, n) ? Enumerable.Range(0, m).SelectMany(_ => bias) : expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Products_of_a_few_rows_read_the_column_chunks_of_a_wide_b(int isa)
    {
        // 300 columns: more than one chunk, so the chunks are a copy of their own. Zeroing them makes a product of at
        // most GemmRows.MaxRowsFor rows the bias alone and leaves a larger one unchanged.
        const int K = 90, N = 300;
        float[] b = Seeded.Uniform(K * N, 5);
        float[] bias = Seeded.Uniform(N, 6);
        PackedMatrix packed = PackedMatrix.Pack(b, K, N, (KernelIsa)isa);
        Assert.False(System.Runtime.CompilerServices.Unsafe.AreSame(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(packed.Values),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(packed.Chunked)));

        // Eight accumulator chains' worth of the path's vectors per chunk: one pass streams one contiguous stretch.
        int width = packed.ChunkColumns;
        Assert.Equal((KernelIsa)isa switch { KernelIsa.Vector512 => 128, KernelIsa.Vector256 => 64, _ => 32 }, width);

        // Chunk c holds columns [c·width, c·width + w) as K rows of w floats (w = width but for the last chunk).
        for (int p = 0; p < K; p++)
        {
            foreach (int j in new[] { 0, width - 1, width, (2 * width) - 1, 2 * width, (N / width * width) - 1, N / width * width, N - 1 })
            {
                int c0 = j / width * width, w = Math.Min(width, N - c0);
                Assert.Equal(b[(p * N) + j], packed.Chunked[(c0 * K) + (p * w) + (j - c0)]);
            }
        }

        int most = GemmRows.MaxRowsFor((KernelIsa)isa, prepacked: true, K, N);
        AssertFewRowsReadZeroedCopy(packed, packed.Chunked, b, bias, (KernelIsa)isa, [1, GemmRows.MaxRows, most, most + 1]);
    }

    [Fact]
    public void A_packed_b_of_another_shape_is_rejected()
    {
        PackedMatrix packed = PackedMatrix.Pack(Seeded.Uniform(6 * 5, 1), 6, 5, KernelIsa.Scalar);
        float[] a = new float[2 * 6], c = new float[2 * 5];
        var error = Assert.Throws<ArgumentException>(() => Gemm.MultiplyOn(KernelIsa.Scalar, a, new float[6 * 5], c, 2, 5, 6, false, false, false,
            GemmEpilogue.None, packed: PackedMatrix.Pack(Seeded.Uniform(5 * 6, 1), 5, 6, KernelIsa.Scalar)));
        Assert.Equal("packed", error.ParamName);
        Assert.Contains("5 x 6", error.Message);
        Gemm.MultiplyOn(KernelIsa.Scalar, a, packed.Values, c, 2, 5, 6, false, false, false, GemmEpilogue.None, packed: packed);
    }

    [Fact]
    public void Panels_packed_for_another_path_are_not_used()
    {
        // A matrix packed for the widest path, multiplied on the scalar one: B's copy is packed as usual.
        KernelIsa widest = KernelIsaSupport.Supported.Max();
        float[] a = Seeded.Uniform(40 * 300, 1);
        float[] b = Seeded.Uniform(300 * 70, 2);
        float[] expected = new float[40 * 70], actual = new float[40 * 70];
        PackedMatrix packed = PackedMatrix.Pack(b, 300, 70, widest);
        Gemm.MultiplyOn(KernelIsa.Scalar, a, b, expected, 40, 70, 300);
        Gemm.MultiplyOn(KernelIsa.Scalar, a, packed.Values, actual, 40, 70, 300, false, false, false, GemmEpilogue.None, packed: packed);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Bad_shapes_are_rejected_by_name()
    {
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => PackedMatrix.Pack(new float[4], 0, 4, KernelIsa.Scalar)).ParamName);
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() => PackedMatrix.Pack(new float[4], 4, -1, KernelIsa.Scalar)).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(new float[5], 2, 3, KernelIsa.Scalar)).ParamName);
    }
}
