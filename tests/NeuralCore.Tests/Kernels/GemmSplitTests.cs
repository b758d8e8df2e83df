using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// The ways a product is divided among threads (blocks of C, rows only, runs of k blocks with a reduction phase),
/// its fused epilogues and its fused column sums: each must give bitwise the result of the plain product followed by
/// the separate element-wise kernel, at every thread count and on every instruction-set path.
/// </summary>
[Collection(SerialTests.Name)]
public unsafe class GemmSplitTests
{
    private static readonly int[] s_threadCounts = [1, 2, 3, 8];

    public static TheoryData<int, int, int, bool> Shapes() => new()
    {
        // The MLP's products: forward (k = 784 in four blocks), weight gradient (transposed A read in place),
        // a narrow output layer, and shapes whose panels, k blocks and rows do not divide evenly.
        { 128, 1024, 784, false },
        { 32, 128, 784, false },
        { 784, 256, 128, true },
        { 128, 10, 1024, false },
        { 1024, 10, 32, true },
        { 37, 300, 1031, false },
        { 301, 45, 600, true },
    };

    internal static void WithThreads(int threads, Action action)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            // More threads than the machine has cores, or its FMA units allow, still partition the work that many ways.
            Parallelism.FmaThreadsOverride = threads;
            Parallelism.DegreeOfParallelism = threads;
            action();
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    internal static void AssertBitwiseEqual(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
        }
    }

    [Theory]
    [InlineData(128, 512, 784)]
    [InlineData(40, 300, 1031)]
    [InlineData(11, 512, 784)]
    [InlineData(9, 96, 300)]
    [InlineData(10, 64, 1000)]
    public void A_row_major_A_read_in_place_gives_the_packed_bits(int m, int n, int k)
    {
        // The 8 x 32 tile (taken for m a multiple of 8, or below 12, above the few-row path's 8 rows) reads full panels
        // of a row-major A in place (GemmMicroKernels.Vector512x8x32RowA), as the 6 x 16 tile of Vector256 does
        // (Vector256x6x16RowA); the ragged last panel is packed (m = 9-11).
        // Accumulating into C, with and without the bias epilogue, on 1-3 threads.
        Assert.True(m > GemmRows.MaxRowsUnpacked && GemmPlan.Create(m, n, k, KernelIsa.Vector512, 1, GemmSplit.Reduction).Mr == 8,
            $"{m} x {n} x {k} does not take the 8 x 32 tile");
        float[] a = Seeded.Uniform(m * k, 7);
        float[] b = Seeded.Uniform(k * n, 8);
        float[] bias = Seeded.Uniform(n, 9);
        a[0] = float.NaN;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                foreach (bool withBias in new[] { false, true })
                {
                    float[] expected = Run(inPlace: false), actual = Run(inPlace: true);
                    AssertBitwiseEqual(expected, actual, $"{isa}, {threads} threads, bias {withBias}, {m}x{n}x{k}");

                    float[] Run(bool inPlace)
                    {
                        float[] c = Seeded.Uniform(m * n, 10);
                        bool saved = GemmJob.RowMajorAInPlace;
                        try
                        {
                            GemmJob.RowMajorAInPlace = inPlace;
                            fixed (float* pBias = bias)
                            {
                                GemmEpilogue epilogue = withBias ? GemmEpilogue.AddBias(pBias, relu: true) : GemmEpilogue.None;
                                WithThreads(threads, () => Gemm.MultiplyOn(isa, a, b, c, m, n, k, false, false, !withBias, epilogue,
                                    GemmSplit.Reduction));
                            }
                        }
                        finally
                        {
                            GemmJob.RowMajorAInPlace = saved;
                        }

                        return c;
                    }
                }
            }
        }
    }

    [Fact]
    public void Slices_are_cut_into_parts_of_four_panels_or_more_only_where_a_is_read_in_place()
    {
        // 784-512-10's forward product at batch 32 on two threads: 16 panels of 16 columns a slice, four parts each.
        GemmPlan forward = GemmPlan.Create(32, 512, 784, KernelIsa.Vector256, 2, GemmSplit.Columns);
        Assert.Equal(2, forward.Threads);
        Assert.Equal(4, GemmJob.Parts(forward, aInPlace: true, noUpper: true));

        // A packed A would be packed again by every part; the narrow product above reads whole slices.
        Assert.Equal(1, GemmJob.Parts(forward, aInPlace: false, noUpper: true));
        Assert.Equal(1, GemmJob.Parts(forward, aInPlace: true, noUpper: false));
        Assert.Equal(1, GemmJob.Parts(GemmPlan.Create(32, 512, 784, KernelIsa.Vector256, 1, GemmSplit.Columns), true, true));
        Assert.Equal(1, GemmJob.Parts(GemmPlan.Create(32, 512, 784, KernelIsa.Vector256, 2, GemmSplit.Reduction), true, true));

        // Fewer than eight panels a slice stay whole: each part reads all the slice's rows of A.
        GemmPlan narrow = GemmPlan.Create(128, 64, 784, KernelIsa.Vector256, 2, GemmSplit.Columns);
        Assert.Equal(2, narrow.Threads);
        Assert.Equal(1, GemmJob.Parts(narrow, true, true));
        Assert.Equal(1, GemmJob.Parts(GemmPlan.Create(128, 224, 784, KernelIsa.Vector256, 2, GemmSplit.Columns), true, true)); // 7 + 7 panels
        Assert.Equal(2, GemmJob.Parts(GemmPlan.Create(128, 256, 784, KernelIsa.Vector256, 2, GemmSplit.Columns), true, true)); // 8 + 8
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_split_at_every_thread_count_gives_the_one_thread_bits(int m, int n, int k, bool transposeA)
    {
        float[] a = Seeded.Uniform(m * k, 1);
        float[] b = Seeded.Uniform(k * n, 2);
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            float[] expected = Seeded.Uniform(m * n, 3);
            WithThreads(1, () => Gemm.MultiplyOn(isa, a, b, expected, m, n, k, transposeA, false, accumulate: true));
            foreach (GemmSplit split in Enum.GetValues<GemmSplit>())
            {
                foreach (int threads in s_threadCounts)
                {
                    float[] actual = Seeded.Uniform(m * n, 3);
                    WithThreads(threads, () => Gemm.MultiplyOn(isa, a, b, actual, m, n, k, transposeA, false, true,
                        GemmEpilogue.None, split));
                    AssertBitwiseEqual(expected, actual, $"{isa} {split} {threads} threads {m}x{n}x{k}");
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bias_and_relu_epilogue_equals_the_product_then_the_elementwise_kernels(bool relu)
    {
        const int m = 64, n = 200, k = 784;
        float[] a = Seeded.Uniform(m * k, 4);
        float[] b = Seeded.Uniform(k * n, 5);
        float[] bias = Seeded.Uniform(n, 6);
        bias[3] = float.NaN;
        bias[4] = float.PositiveInfinity;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            float[] expected = new float[m * n];
            Gemm.MultiplyOn(isa, a, b, expected, m, n, k);
            Elementwise.AddRowToEachRow(expected, bias, m);
            if (relu)
            {
                Elementwise.Relu(expected, expected);
            }

            foreach (int threads in s_threadCounts)
            {
                float[] actual = new float[m * n];
                WithThreads(threads, () =>
                {
                    fixed (float* pBias = bias)
                    {
                        Gemm.MultiplyOn(isa, a, b, actual, m, n, k, false, false, false,
                            GemmEpilogue.AddBias(pBias, relu), GemmSplit.Reduction);
                    }
                });
                AssertBitwiseEqual(expected, actual, $"{isa} relu={relu} {threads} threads");
            }
        }
    }

    [Fact]
    public void Relu_mask_epilogue_equals_the_product_then_relu_backward()
    {
        const int m = 96, n = 300, k = 10;
        float[] a = Seeded.Uniform(m * k, 7);
        float[] b = Seeded.Uniform(n * k, 8);
        float[] mask = Seeded.Uniform(m * n, 9);
        mask[0] = float.NaN;
        mask[1] = -0f;
        mask[2] = 0f;
        mask[3] = float.Epsilon;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            float[] expected = new float[m * n];
            Gemm.MultiplyOn(isa, a, b, expected, m, n, k, transposeB: true);
            Elementwise.ReluBackward(mask, expected, expected);
            foreach (int threads in s_threadCounts)
            {
                float[] actual = new float[m * n];
                WithThreads(threads, () =>
                {
                    fixed (float* pMask = mask)
                    {
                        Gemm.MultiplyOn(isa, a, b, actual, m, n, k, false, true, false, GemmEpilogue.MaskRelu(pMask, n));
                    }
                });
                AssertBitwiseEqual(expected, actual, $"{isa} {threads} threads");
            }
        }
    }

    // 77 columns fit one packed chunk of B; 600 span three (256, 256 and 88 columns), each packed, and summed, apart.
    [Theory]
    [InlineData(false, 77)]
    [InlineData(true, 77)]
    [InlineData(false, 600)]
    [InlineData(true, 600)]
    public void Weight_gradient_equals_the_product_and_column_sums(bool accumulate, int units)
    {
        const int inputs = 300, batch = 130;
        float[] x = Seeded.Uniform(batch * inputs, 10);
        float[] dy = Seeded.Uniform(batch * units, 11);
        float[] expectedW = Seeded.Uniform(inputs * units, 12);
        float[] expectedB = Seeded.Uniform(units, 13);
        float[] initialW = (float[])expectedW.Clone();
        float[] initialB = (float[])expectedB.Clone();
        if (!accumulate)
        {
            Array.Clear(expectedB);
        }

        Gemm.Multiply(x, dy, expectedW, inputs, units, batch, transposeA: true, accumulate: accumulate);
        Elementwise.AccumulateColumnSums(dy, expectedB, batch);
        foreach (int threads in s_threadCounts)
        {
            float[] w = (float[])initialW.Clone();
            float[] bias = (float[])initialB.Clone();
            WithThreads(threads, () => Gemm.WeightGradient(x, dy, w, bias, inputs, units, batch, accumulate));
            AssertBitwiseEqual(expectedW, w, $"weights, {threads} threads");
            AssertBitwiseEqual(expectedB, bias, $"bias, {threads} threads");
        }
    }

    [Fact]
    public void Row_partition_covers_every_row_once_in_order()
    {
        foreach (int threads in s_threadCounts)
        {
            WithThreads(threads, () =>
            {
                Gemm.RowPartition(784, 1024, 128, out int slices, out int mr);
                Assert.InRange(slices, 1, threads);
                int panels = (784 + mr - 1) / mr, next = 0;
                for (int s = 0; s < slices; s++)
                {
                    (int first, int end) = GemmPlan.Slice(panels, slices, s);
                    Assert.Equal(next, first);
                    Assert.True(end > first, "an empty slice");
                    next = end;
                }

                Assert.Equal(panels, next);
            });
        }
    }

    [Fact]
    public void Small_products_run_on_one_thread_and_large_ones_on_all()
    {
        WithThreads(2, () =>
        {
            Assert.Equal(1, GemmPlan.Create(32, 16, 128, KernelIsa.Vector256, 2).Threads);
            Assert.Equal(2, GemmPlan.Create(128, 1024, 784, KernelIsa.Vector256, 2).Threads);
            Assert.Equal(2, GemmPlan.Create(128, 1024, 784, KernelIsa.Vector256, 2, GemmSplit.Reduction).KSlices);
        });
    }
}
