using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

internal static unsafe partial class GemmRows
{
    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of all <paramref name="m"/> (2 to 8) rows at once on the
    /// 512-bit path: each group of at most 64 columns (32 for five rows or more) is streamed through every k block once
    /// for all the rows, each vector of B loaded once and multiplied into every row's chain, where the rows one after
    /// another read B once each. Every element is the same chain as in <see cref="Columns"/> (its k block summed from zero in
    /// increasing p, added to C in block order), so the bits are the same.
    /// </summary>
    /// <remarks>
    /// Four samples of 784-512-256-10 took 3.5-4 times one sample's time before, each reading the 2.1 MB of weights:
    /// one thread 73-74 → 25.6-25.9 µs, two 28-31 → 12.5-15.6 µs; two samples on one thread 38.6-40.7 → 20.5-22.2 µs;
    /// four samples of 784-128-10 9.4 → 3.8 µs (the predictor, medians, alternating builds; AMD EPYC Zen 5, 2 real
    /// cores, 2026-12-01), which is the FMA peak: from four rows on, the product is bound by the arithmetic, not by
    /// reading B. Five rows as one group instead of four and one: the model's <c>Predict</c> of five samples of
    /// 784-128-10 6.4 → 5.5 µs, of 784-512-256-10 45.4 → 36.5 µs (one thread).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsTogether(float* a, float* b, float* c, int m, int n, int k, int kc, int j0, int j1, bool accumulate, int chunkColumns,
        bool reverse, bool sparse = false)
    {
        if (j0 >= j1)
        {
            return;
        }

        // A first layer's rows skip the steps at which all of them are zero (GemmSteps), block by block where that pays.
        int blocks = (k + kc - 1) / kc;
        int* counts = null;
        int* lists = sparse ? GemmBuffers.StepLists(blocks, kc, out counts, out _) : null;
        for (int q = 0; lists is not null && q < blocks; q++)
        {
            int p0 = q * kc, length = Math.Min(kc, k - p0);
            int listed = GemmSteps.RowMajor(a + p0, k, m, length, lists + ((long)q * kc));
            counts[q] = GemmSteps.Worthwhile(listed, length) ? listed : -1;
        }

        int group = m <= 4 ? 64 : 32;
        for (int jc = reverse ? LastGroup(chunkColumns, j0, j1, group) : j0; reverse ? jc >= j0 : jc < j1;)
        {
            // Up to four rows: 4 x 4 chains of 64 columns; five to eight: 8 x 2 chains of 32.
            int end = ColumnGroup(b, chunkColumns, n, k, jc, j1, group, out float* first, out int ldb, out bool plain);
            int width = end - jc;
            for (int p0 = 0, block = 0; p0 < k; p0 += kc, block++)
            {
                bool add = accumulate || block > 0;
                int count = Math.Min(kc, k - p0);
                float* bBlock = first + ((long)p0 * ldb);
                float* x = a + p0;
                float* y = c + jc;
                if (lists is not null && counts[block] >= 0)
                {
                    RowsBlock<ListedSteps>(m, plain, x, k, bBlock, ldb, y, n, width, counts[block], add, lists + ((long)block * kc));
                }
                else
                {
                    RowsBlock<EveryStep>(m, plain, x, k, bBlock, ldb, y, n, width, count, add, null);
                }
            }

            jc = reverse ? (jc == j0 ? -1 : LastGroup(chunkColumns, j0, jc, group)) : end;
        }
    }

    // The start of the last of the groups ColumnGroup cuts [j0, end) into, going forward from j0: groups restart at
    // each chunk boundary of a chunked B.
    private static int LastGroup(int chunkColumns, int j0, int end, int group)
    {
        int start = chunkColumns > 0 ? Math.Max(j0, (end - 1) / chunkColumns * chunkColumns) : j0;
        return start + ((end - 1 - start) / group * group);
    }

    /// <summary>
    /// One k block of <paramref name="m"/> rows (k from <paramref name="p0"/>, <paramref name="count"/> of them) for
    /// every column of a B of <paramref name="n"/> columns and <paramref name="k"/> rows, row-major or chunked, into
    /// rows of y <paramref name="ldc"/> apart: what <c>BlockAllColumns</c> does for one row, for all of them at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockAllColumnsTogether(float* x, int lda, float* b, int chunkColumns, float* y, int ldc, int m, int n, int k, int p0, int count,
        bool add, bool reverse)
    {
        if (n < 1)
        {
            return;
        }

        for (int jc = reverse ? LastGroup(chunkColumns, 0, n, 64) : 0; reverse ? jc >= 0 : jc < n;)
        {
            int end = ColumnGroup(b, chunkColumns, n, k, jc, n, 64, out float* first, out int ldb, out bool plain);
            int width = end - jc;
            RowsBlock<EveryStep>(m, plain, x + p0, lda, first + ((long)p0 * ldb), ldb, y + jc, ldc, width, count, add, null);
            jc = reverse ? (jc == 0 ? -1 : LastGroup(chunkColumns, 0, jc, 64)) : end;
        }
    }

    /// <summary>
    /// The group of at most <paramref name="group"/> columns (64 or 32) from <paramref name="jc"/>, ending at
    /// <paramref name="limit"/> at the latest and, for a chunked B, inside its chunk: returns its end, and gives its
    /// first element of B's row 0, the floats between B's rows, and whether its vectors take plain loads
    /// (<see cref="Straddles"/>).
    /// </summary>
    private static int ColumnGroup(float* b, int chunkColumns, int n, int k, int jc, int limit, int group, out float* first, out int ldb, out bool plain)
    {
        int chunkStart = chunkColumns > 0 ? jc / chunkColumns * chunkColumns : 0;
        ldb = chunkColumns > 0 ? Math.Min(chunkColumns, n - chunkStart) : n;
        int end = Math.Min(limit, jc + group);
        if (chunkColumns > 0)
        {
            end = Math.Min(end, chunkStart + ldb);
        }

        first = chunkColumns > 0 ? b + ((long)chunkStart * k) + (jc - chunkStart) : b + jc;
        plain = end - jc == group && Straddles(first, ldb);
        return end;
    }

    /// <summary>
    /// <see cref="RowsBlock{TRows, TLoad, TSteps}"/> for 2 to 4 rows (at most 64 columns), <see cref="RowsBlock8{TRows, TSteps}"/> for 5
    /// to 8 (at most 32), plain loads or masked.
    /// </summary>
    private static void RowsBlock<TSteps>(int m, bool plain, float* x, int lda, float* b, int ldb, float* y, int ldc, int width, int count, bool add,
        int* steps)
        where TSteps : struct, IStepSource
    {
        switch (m, plain)
        {
            case (2, false):
                RowsBlock<TwoRows, MaskedLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (2, true):
                RowsBlock<TwoRows, AllLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (3, false):
                RowsBlock<ThreeRows, MaskedLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (3, true):
                RowsBlock<ThreeRows, AllLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (4, false):
                RowsBlock<FourRows, MaskedLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (4, true):
                RowsBlock<FourRows, AllLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (5, _):
                RowsBlock8<FiveRows, TSteps>(plain, x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (6, _):
                RowsBlock8<SixRows, TSteps>(plain, x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (7, _):
                RowsBlock8<SevenRows, TSteps>(plain, x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            case (8, _):
                RowsBlock8<EightRows, TSteps>(plain, x, lda, b, ldb, y, ldc, width, count, add, steps);
                break;
            default:
                // One row would be read and written past its end, more than eight would leave rows unwritten.
                throw new ArgumentOutOfRangeException(nameof(m), m, "RowsBlock computes 2 to 8 rows at once.");
        }
    }

    /// <summary>Which steps of a k block a kernel runs: the <c>i</c>-th of <c>count</c>.</summary>
    private interface IStepSource
    {
        static abstract int Step(int* steps, int i);
    }

    /// <summary>Every step, in order (the list is not read).</summary>
    private readonly struct EveryStep : IStepSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Step(int* steps, int i) => i;
    }

    /// <summary>The steps a list names (<see cref="GemmSteps"/>), in its order.</summary>
    private readonly struct ListedSteps : IStepSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Step(int* steps, int i) => steps[i];
    }

    /// <summary>How many rows <see cref="RowsBlock{TRows, TLoad, TSteps}"/> computes; a constant per type, so that each instantiation keeps only its rows' code.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private readonly struct FiveRows : IRowCount
    {
        public static int Count => 5;
    }

    private readonly struct SixRows : IRowCount
    {
        public static int Count => 6;
    }

    private readonly struct SevenRows : IRowCount
    {
        public static int Count => 7;
    }

    private readonly struct EightRows : IRowCount
    {
        public static int Count => 8;
    }

    private readonly struct TwoRows : IRowCount
    {
        public static int Count => 2;
    }

    private readonly struct ThreeRows : IRowCount
    {
        public static int Count => 3;
    }

    private readonly struct FourRows : IRowCount
    {
        public static int Count => 4;
    }

    /// <summary>
    /// One k block of <typeparamref name="TRows"/> rows and at most 64 columns: <c>y[r, j] (+)= Σ_p x[r, p]·B[p, j]</c>,
    /// the rows <paramref name="lda"/> and <paramref name="ldc"/> apart, B's rows <paramref name="ldb"/> apart. Lanes at
    /// or past <paramref name="width"/> are neither loaded nor stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsBlock<TRows, TLoad, TSteps>(float* x, int lda, float* b, int ldb, float* y, int ldc, int width, int count, bool add,
        int* steps)
        where TRows : struct, IRowCount
        where TLoad : struct, ILanes
        where TSteps : struct, IStepSource
    {
        (Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3) = LaneMasks(width);
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        float* x1 = x + lda, x2 = x1 + lda, x3 = x2 + lda;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            float* row = b + ((long)p * ldb);
            Vector512<float> b0 = TLoad.Load(row, m0), b1 = TLoad.Load(row + 16, m1);
            Vector512<float> b2 = TLoad.Load(row + 32, m2), b3 = TLoad.Load(row + 48, m3);
            var v = Vector512.Create(x[p]);
            a00 = Vector512.FusedMultiplyAdd(v, b0, a00);
            a01 = Vector512.FusedMultiplyAdd(v, b1, a01);
            a02 = Vector512.FusedMultiplyAdd(v, b2, a02);
            a03 = Vector512.FusedMultiplyAdd(v, b3, a03);
            v = Vector512.Create(x1[p]);
            a10 = Vector512.FusedMultiplyAdd(v, b0, a10);
            a11 = Vector512.FusedMultiplyAdd(v, b1, a11);
            a12 = Vector512.FusedMultiplyAdd(v, b2, a12);
            a13 = Vector512.FusedMultiplyAdd(v, b3, a13);
            if (TRows.Count >= 3)
            {
                v = Vector512.Create(x2[p]);
                a20 = Vector512.FusedMultiplyAdd(v, b0, a20);
                a21 = Vector512.FusedMultiplyAdd(v, b1, a21);
                a22 = Vector512.FusedMultiplyAdd(v, b2, a22);
                a23 = Vector512.FusedMultiplyAdd(v, b3, a23);
            }

            if (TRows.Count >= 4)
            {
                v = Vector512.Create(x3[p]);
                a30 = Vector512.FusedMultiplyAdd(v, b0, a30);
                a31 = Vector512.FusedMultiplyAdd(v, b1, a31);
                a32 = Vector512.FusedMultiplyAdd(v, b2, a32);
                a33 = Vector512.FusedMultiplyAdd(v, b3, a33);
            }
        }

        StoreRow(y, m0, m1, m2, m3, a00, a01, a02, a03, add);
        StoreRow(y + ldc, m0, m1, m2, m3, a10, a11, a12, a13, add);
        if (TRows.Count >= 3)
        {
            StoreRow(y + (2L * ldc), m0, m1, m2, m3, a20, a21, a22, a23, add);
        }

        if (TRows.Count >= 4)
        {
            StoreRow(y + (3L * ldc), m0, m1, m2, m3, a30, a31, a32, a33, add);
        }
    }

    /// <summary><see cref="RowsBlock8{TRows, TLoad, TSteps}"/> with plain or masked loads.</summary>
    private static void RowsBlock8<TRows, TSteps>(bool plain, float* x, int lda, float* b, int ldb, float* y, int ldc, int width, int count, bool add,
        int* steps)
        where TRows : struct, IRowCount
        where TSteps : struct, IStepSource
    {
        if (plain)
        {
            RowsBlock8<TRows, AllLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
        }
        else
        {
            RowsBlock8<TRows, MaskedLanes, TSteps>(x, lda, b, ldb, y, ldc, width, count, add, steps);
        }
    }

    /// <summary>
    /// One k block of <typeparamref name="TRows"/> rows (5 to 8) and at most 32 columns: as
    /// <see cref="RowsBlock{TRows, TLoad, TSteps}"/>, with two vectors a row so that eight rows' chains fit in the registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsBlock8<TRows, TLoad, TSteps>(float* x, int lda, float* b, int ldb, float* y, int ldc, int width, int count, bool add,
        int* steps)
        where TRows : struct, IRowCount
        where TLoad : struct, ILanes
        where TSteps : struct, IStepSource
    {
        (Vector512<float> m0, Vector512<float> m1, _, _) = LaneMasks(width);
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<float> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            float* row = b + ((long)p * ldb);
            Vector512<float> b0 = TLoad.Load(row, m0), b1 = TLoad.Load(row + 16, m1);
            float* xp = x + p;
            var v = Vector512.Create(xp[0]);
            a00 = Vector512.FusedMultiplyAdd(v, b0, a00);
            a01 = Vector512.FusedMultiplyAdd(v, b1, a01);
            v = Vector512.Create(xp[lda]);
            a10 = Vector512.FusedMultiplyAdd(v, b0, a10);
            a11 = Vector512.FusedMultiplyAdd(v, b1, a11);
            v = Vector512.Create(xp[2L * lda]);
            a20 = Vector512.FusedMultiplyAdd(v, b0, a20);
            a21 = Vector512.FusedMultiplyAdd(v, b1, a21);
            v = Vector512.Create(xp[3L * lda]);
            a30 = Vector512.FusedMultiplyAdd(v, b0, a30);
            a31 = Vector512.FusedMultiplyAdd(v, b1, a31);
            v = Vector512.Create(xp[4L * lda]);
            a40 = Vector512.FusedMultiplyAdd(v, b0, a40);
            a41 = Vector512.FusedMultiplyAdd(v, b1, a41);
            if (TRows.Count >= 6)
            {
                v = Vector512.Create(xp[5L * lda]);
                a50 = Vector512.FusedMultiplyAdd(v, b0, a50);
                a51 = Vector512.FusedMultiplyAdd(v, b1, a51);
            }

            if (TRows.Count >= 7)
            {
                v = Vector512.Create(xp[6L * lda]);
                a60 = Vector512.FusedMultiplyAdd(v, b0, a60);
                a61 = Vector512.FusedMultiplyAdd(v, b1, a61);
            }

            if (TRows.Count >= 8)
            {
                v = Vector512.Create(xp[7L * lda]);
                a70 = Vector512.FusedMultiplyAdd(v, b0, a70);
                a71 = Vector512.FusedMultiplyAdd(v, b1, a71);
            }
        }

        StorePair(y, m0, m1, a00, a01, add);
        StorePair(y + ldc, m0, m1, a10, a11, add);
        StorePair(y + (2L * ldc), m0, m1, a20, a21, add);
        StorePair(y + (3L * ldc), m0, m1, a30, a31, add);
        StorePair(y + (4L * ldc), m0, m1, a40, a41, add);
        if (TRows.Count >= 6)
        {
            StorePair(y + (5L * ldc), m0, m1, a50, a51, add);
        }

        if (TRows.Count >= 7)
        {
            StorePair(y + (6L * ldc), m0, m1, a60, a61, add);
        }

        if (TRows.Count >= 8)
        {
            StorePair(y + (7L * ldc), m0, m1, a70, a71, add);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair(float* y, Vector512<float> m0, Vector512<float> m1, Vector512<float> s0, Vector512<float> s1, bool add)
    {
        StoreMasked(s0, y, m0, add);
        StoreMasked(s1, y + 16, m1, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* y, Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
        Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3, bool add)
    {
        StoreMasked(s0, y, m0, add);
        StoreMasked(s1, y + 16, m1, add);
        StoreMasked(s2, y + 32, m2, add);
        StoreMasked(s3, y + 48, m3, add);
    }
}
