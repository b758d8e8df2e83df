using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

internal static unsafe partial class GemmRows
{
    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of one row of a first layer (a sample's pixels, most of
    /// them 0) on the 512-bit or 256-bit path: each k block over the steps at which x is not zero only (<see cref="GemmSteps"/>),
    /// so that the rows of B facing a zero are not read at all. Each column is the dense chain without its <c>0·b</c>
    /// terms: the same bits wherever B is finite (<see cref="GemmSteps"/>' remarks). Returns false, having written
    /// nothing, where x has too few zeros for the lists to pay (<see cref="GemmSteps.Worthwhile"/> over all of k).
    /// </summary>
    /// <remarks>
    /// An MNIST digit has 150 of its 784 pixels above 0 on average, so a one-sample prediction reads a fifth of the
    /// first layer's weights.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TrySparseRow(KernelIsa isa, float* x, float* b, float* y, int n, int k, int kc, int j0, int j1, bool accumulate, int chunkColumns)
    {
        // The lists hold x's non-zero steps, so their total is this count: a row with too few zeros is turned away by one
        // vector pass before they are built (writing them took 4.4% of the perf samples of one-sample predictions of
        // 784-512-256-10 on inputs with no zero, two threads, each thread listing the whole row; AMD EPYC Zen 1, 2 real
        // cores).
        if (!GemmSteps.Worthwhile(GemmSteps.NonZero(x, k), k))
        {
            return false;
        }

        int blocks = (k + kc - 1) / kc;
        int* steps = GemmBuffers.StepLists(blocks, kc, out int* counts, out _);
        for (int q = 0; q < blocks; q++)
        {
            int p0 = q * kc;
            counts[q] = GemmSteps.RowMajor(x + p0, kc, 1, Math.Min(kc, k - p0), steps + ((long)q * kc));
        }

        if (chunkColumns > 0)
        {
            int firstChunk = j0 / chunkColumns, lastChunk = (j1 - 1) / chunkColumns;
            for (int chunk = firstChunk; chunk <= lastChunk; chunk++)
            {
                int chunkStart = chunk * chunkColumns;
                int chunkWidth = Math.Min(chunkColumns, n - chunkStart);
                int start = Math.Max(j0, chunkStart), limit = Math.Min(j1, chunkStart + chunkWidth);
                SparsePass(isa, x, steps, counts, b + ((long)chunkStart * k) + (start - chunkStart), chunkWidth, y + start, limit - start, k, kc, accumulate);
            }

            return true;
        }

        for (int jc = j0; jc < j1; jc += RowMajorSparseColumns)
        {
            SparsePass(isa, x, steps, counts, b + jc, n, y + jc, Math.Min(RowMajorSparseColumns, j1 - jc), k, kc, accumulate);
        }

        return true;
    }

    /// <summary>Whether one row on <paramref name="isa"/>'s path skips its zeros: the 512-bit and 256-bit paths do.</summary>
    private static bool SkipsZeros(KernelIsa isa) => (isa == KernelIsa.Vector512 && Avx512F.IsSupported) || isa == KernelIsa.Vector256;

    // Up to 128 columns through every k block: eight chains, or four for 64 columns or fewer (on 256-bit vectors, the
    // chains of Block256).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SparsePass(KernelIsa isa, float* x, int* steps, int* counts, float* b, int ldb, float* y, int width, int k, int kc, bool accumulate)
    {
        if (isa == KernelIsa.Vector256)
        {
            for (int p0 = 0, q = 0; p0 < k; p0 += kc, q++)
            {
                Block256<ListedSteps>(x + p0, b + ((long)p0 * ldb), y, ldb, width, counts[q], accumulate || q > 0, steps + ((long)q * kc));
            }

            return;
        }

        if (width > 64)
        {
            if (width == 128 && Straddles(b, ldb))
            {
                SparsePass8<AllLanes>(x, steps, counts, b, ldb, y, width, k, kc, accumulate);
            }
            else
            {
                SparsePass8<MaskedLanes>(x, steps, counts, b, ldb, y, width, k, kc, accumulate);
            }

            return;
        }

        for (int p0 = 0, q = 0; p0 < k; p0 += kc, q++)
        {
            int* list = steps + ((long)q * kc);
            MaskedColumns512<ListedSteps>(x + p0, b + ((long)p0 * ldb), y, ldb, width, counts[q], accumulate || q > 0, list);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SparsePass8<TLoad>(float* x, int* steps, int* counts, float* b, int ldb, float* y, int width, int k, int kc, bool accumulate)
        where TLoad : struct, ILanes
    {
        (Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3) = LaneMasks(width);
        (Vector512<float> m4, Vector512<float> m5, Vector512<float> m6, Vector512<float> m7) = LaneMasks(width - 64);
        for (int p0 = 0, q = 0; p0 < k; p0 += kc, q++)
        {
            int* list = steps + ((long)q * kc);
            int count = counts[q];
            float* xb = x + p0, bb = b + ((long)p0 * ldb);
            Vector512<float> a0 = Vector512<float>.Zero, a1 = Vector512<float>.Zero, a2 = Vector512<float>.Zero, a3 = Vector512<float>.Zero;
            Vector512<float> a4 = Vector512<float>.Zero, a5 = Vector512<float>.Zero, a6 = Vector512<float>.Zero, a7 = Vector512<float>.Zero;
            for (nint i = 0; i < count; i++)
            {
                nint p = list[i];
                var xp = Vector512.Create(xb[p]);
                float* row = bb + (p * ldb);
                a0 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row, m0), a0);
                a1 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 16, m1), a1);
                a2 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 32, m2), a2);
                a3 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 48, m3), a3);
                a4 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 64, m4), a4);
                a5 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 80, m5), a5);
                a6 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 96, m6), a6);
                a7 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 112, m7), a7);
            }

            bool add = accumulate || q > 0;
            StoreMasked(a0, y, m0, add);
            StoreMasked(a1, y + 16, m1, add);
            StoreMasked(a2, y + 32, m2, add);
            StoreMasked(a3, y + 48, m3, add);
            StoreMasked(a4, y + 64, m4, add);
            StoreMasked(a5, y + 80, m5, add);
            StoreMasked(a6, y + 96, m6, add);
            StoreMasked(a7, y + 112, m7, add);
        }
    }
}
