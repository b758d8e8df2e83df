using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// The narrow path (C at most 16 columns wide, 512-bit) must give bitwise what the row path gives each row alone, which
/// is what the register-blocked path gives (GemmRowsTests), for every width, every k blocking, ragged row counts and
/// every epilogue; and the reference's values within rounding.
/// </summary>
public class GemmNarrowTests
{
    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    [InlineData(true, 3)]
    public unsafe void Every_row_is_bitwise_the_row_paths(bool accumulate, int epilogueKind)
    {
        if (!KernelIsaSupport.IsSupported(KernelIsa.Vector512))
        {
            return;
        }

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
/// epilogues included, for row counts that do not divide into the threads' 8-row groups.
/// </summary>
[Collection(SerialTests.Name)]
public class GemmNarrowThreadTests
{
    [Theory]
    [InlineData(203, 10, 1024)]
    [InlineData(128, 16, 784)]
    [InlineData(61, 3, 4096)]
    [InlineData(128, 10, 128)]
    public unsafe void Any_thread_count_gives_the_one_thread_rows(int m, int n, int k)
    {
        if (!KernelIsaSupport.IsSupported(KernelIsa.Vector512))
        {
            return;
        }

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
}
