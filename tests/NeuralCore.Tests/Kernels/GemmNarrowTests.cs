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
