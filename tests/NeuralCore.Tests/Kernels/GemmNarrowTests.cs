using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// The narrow path (C at most 16 columns wide, 512-bit) must give bitwise what the row path gives each row alone, which
/// is what the register-blocked path gives (GemmRowsTests), for every width, every k blocking, ragged row counts and
/// every epilogue; and the reference's values within rounding.
/// </summary>
public class GemmNarrowTests
{
    [SkippableTheory]
    [InlineData(false, 0)]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    [InlineData(true, 3)]
    public unsafe void Every_row_is_bitwise_the_row_paths(bool accumulate, int epilogueKind)
    {
        Skip.IfNot(KernelIsaSupport.IsSupported(KernelIsa.Vector512), "the 512-bit kernels need AVX-512, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        foreach (int n in new[] { 1, 2, 7, 10, 15, 16 })
        {
            foreach (int k in new[] { 1, 9, 256, 257, 784 })
            {
                foreach (int m in new[] { 5, 8, 13, 24, 67 })
                {
                    Assert.True(GemmNarrow.Applies(KernelIsa.Vector512, m, n));
                    int seed = (n * 100_000) + (k * 100) + m;
                    float[] a = Seeded.Uniform(m * k, seed), b = Seeded.Uniform(k * n, seed + 1);
                    float[] bias = Seeded.Uniform(n, seed + 2), mask = Seeded.Uniform(m * n, seed + 3);
                    float[] initial = Seeded.Uniform(m * n, seed + 4);
                    float[] narrow = (float[])initial.Clone(), rows = (float[])initial.Clone();
                    fixed (float* pBias = bias, pMask = mask)
                    {
                        GemmEpilogue epilogue = GemmRowsTests.Epilogue(epilogueKind, pBias, pMask, n);
                        Gemm.MultiplyOn(KernelIsa.Vector512, a, b, narrow, m, n, k, false, false, accumulate, epilogue);
                        for (int r = 0; r < m; r++)
                        {
                            // One row at a time: the row path. The mask epilogue reads row 0 of what it is given.
                            GemmEpilogue one = epilogueKind == 3 ? GemmEpilogue.MaskRelu(pMask + (r * n), n) : epilogue;
                            Gemm.MultiplyOn(KernelIsa.Vector512, a.AsSpan(r * k, k), b, rows.AsSpan(r * n, n), 1, n, k, false, false, accumulate, one);
                        }
                    }

                    for (int i = 0; i < m * n; i++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(narrow[i]) == BitConverter.SingleToInt32Bits(rows[i]),
                            $"m={m} n={n} k={k}: element {i} is {narrow[i]:R} on the narrow path, {rows[i]:R} on the row path");
                    }

                    if (epilogueKind == 0)
                    {
                        float[] expected = (float[])initial.Clone();
                        GemmReference.Multiply(a, b, expected, m, n, k, false, false, accumulate);
                        for (int i = 0; i < m * n; i++)
                        {
                            Assert.True(Math.Abs(expected[i] - narrow[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"m={m} n={n} k={k}: element {i} is {narrow[i]} where the reference gives {expected[i]}");
                        }
                    }
                }
            }
        }
    }
}

/// <summary>
/// A large narrow product divides its rows among threads; every thread count must give bitwise the one-thread result,
/// epilogues included, for row counts that do not divide into the threads' 8-row groups. So must the narrow product
/// computed on each thread's rows in the reduction phase of the product below it, and its rowsDone must see every row
/// once.
/// </summary>
[Collection(SerialTests.Name)]
public class GemmNarrowThreadTests
{
    [SkippableTheory]
    [InlineData(203, 10, 1024)]
    [InlineData(128, 16, 784)]
    [InlineData(61, 3, 4096)]
    [InlineData(128, 10, 128)]
    public unsafe void Any_thread_count_gives_the_one_thread_rows(int m, int n, int k)
    {
        Skip.IfNot(KernelIsaSupport.IsSupported(KernelIsa.Vector512), "the 512-bit kernels need AVX-512, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        Assert.True(GemmNarrow.Applies(KernelIsa.Vector512, m, n));
        Assert.True((long)m * n * k >= 2 * GemmNarrow.MinFmaPerThread, "the product should be large enough to be divided");
        float[] a = Seeded.Uniform(m * k, 21), b = Seeded.Uniform(k * n, 22);
        float[] bias = Seeded.Uniform(n, 23), mask = Seeded.Uniform(m * n, 24), initial = Seeded.Uniform(m * n, 25);
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            fixed (float* pBias = bias, pMask = mask)
            {
                foreach (int kind in new[] { 0, 1, 2, 3 })
                {
                    GemmEpilogue epilogue = GemmRowsTests.Epilogue(kind, pBias, pMask, n);
                    bool accumulate = kind % 2 == 1;
                    Parallelism.DegreeOfParallelism = 1;
                    float[] single = (float[])initial.Clone();
                    Gemm.MultiplyOn(KernelIsa.Vector512, a, b, single, m, n, k, false, false, accumulate, epilogue);
                    foreach (int threads in new[] { 2, 3, 8 })
                    {
                        Parallelism.DegreeOfParallelism = threads;
                        Parallelism.FmaThreadsOverride = threads;
                        float[] parallel = (float[])initial.Clone();
                        Gemm.MultiplyOn(KernelIsa.Vector512, a, b, parallel, m, n, k, false, false, accumulate, epilogue);
                        int first = single.AsSpan().CommonPrefixLength(parallel);
                        Assert.True(first == single.Length,
                            $"m={m} n={n} k={k} epilogue {kind}, {threads} threads: element {first} differs from one thread's");
                    }
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [SkippableTheory]
    [InlineData(false, 2, 128, 10, true, 128, true)]
    [InlineData(false, 2, 128, 10, true, 100, true)]
    [InlineData(false, 3, 64, 16, false, 67, true)]
    [InlineData(true, 2, 128, 10, true, 128, true)]
    [InlineData(true, 4, 256, 1, true, 37, true)]
    [InlineData(false, 1, 128, 10, true, 128, false)]
    [InlineData(false, 2, 128, 10, true, 6, false)]
    [InlineData(true, 2, 512, 10, true, 7, true)]
    [InlineData(true, 2, 32, 10, true, 16, false)]
    public void The_rows_above_a_split_reduction_are_bitwise_the_two_products(bool panels, int threads, int units, int upperUnits, bool upperBias, int m,
        bool fused)
    {
        Skip.IfNot(KernelIsaSupport.IsSupported(KernelIsa.Vector512), "the 512-bit kernels need AVX-512, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        const int k = 300;
        (float[] x, float[] w, float[] bias, float[] w2, float[] bias2, float[] expectedH, float[] expected) =
            PanelLayoutTests.TwoLayers(k, units, upperUnits, upperBias, m);

        PanelLayout layout = default;
        float[] b = w;
        if (panels)
        {
            Assert.True(PanelLayout.TryCreate(k, units, KernelIsa.Vector512, out layout));
            b = PanelLayoutTests.Panels(layout, w);
        }

        float[] h = new float[m * units], output = Enumerable.Repeat(-1f, m * upperUnits).ToArray();
        var rows = new RowsSeen(output, expected, upperUnits);
        bool splits = false, done = false, predicted = false;
        GemmSplitTests.WithThreads(threads, () =>
        {
            predicted = Gemm.DividesReductionRows(m, units, k, layout);
            GemmPlan plan = GemmPlan.Create(m, units, k, KernelIsa.Vector512, threads, GemmSplit.Reduction);
            // A few rows of a row-major B stream it unpacked (GemmRows), with no reduction phase.
            splits = plan.Threads > 1 && plan.KSlices > 1 && GemmNarrow.Applies(KernelIsa.Vector512, m, upperUnits)
                && (panels || m > GemmRows.MaxRowsFor(KernelIsa.Vector512, prepacked: false, k, units));
            done = Gemm.MultiplyAddBiasThenRowsAbove(x, b, layout, bias, h, m, units, k, relu: true, skipZeroA: true, w2, bias2, output, upperUnits, rows);
        });

        // The layer below is computed either way; the one above only where the reduction divides the rows among threads.
        // One thread, a few rows of a row-major B (streamed unpacked, GemmRows) or a product too small to divide: no
        // reduction phase.
        Assert.Equal(fused, splits);
        Assert.Equal(splits, done);
        // The predicate answers for the product below; the layer above fits the narrow path in every case here.
        Assert.Equal(done, predicted);
        GemmSplitTests.AssertBitwiseEqual(expectedH, h, $"H: threads={threads} m={m}");
        if (!done)
        {
            Assert.All(output, v => Assert.Equal(-1f, v));
            Assert.Equal(0, rows.Total);
            return;
        }

        GemmSplitTests.AssertBitwiseEqual(expected, output, $"threads={threads} n={upperUnits} m={m}");
        rows.AssertEachOnce();
        Assert.True(rows.AllFinal, "rowsDone ran on a row before its outputs were stored");
    }

    // Which rows a narrow product's rowsDone was given, how often, and whether each row's outputs were already the
    // expected ones when it was.
    private sealed class RowsSeen(float[] output, float[] expected, int n) : GemmNarrow.IRowsDone
    {
        private readonly int[] _seen = new int[output.Length / n];
        private int _total;
        private volatile bool _notFinal;

        public int Total => _total;

        public bool AllFinal => !_notFinal;

        public void RowsDone(int first, int end)
        {
            for (int r = first; r < end; r++)
            {
                Interlocked.Increment(ref _seen[r]);
                if (!output.AsSpan(r * n, n).SequenceEqual(expected.AsSpan(r * n, n)))
                {
                    _notFinal = true;
                }
            }

            Interlocked.Add(ref _total, end - first);
        }

        public void AssertEachOnce() => Assert.All(_seen, count => Assert.Equal(1, count));
    }
}
