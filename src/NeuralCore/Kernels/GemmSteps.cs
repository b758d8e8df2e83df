using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

/// <summary>
/// Lists the k steps at which a tile's rows of A hold a value other than zero, so that a sparse A (a batch of MNIST
/// images, four fifths of whose pixels are 0) is multiplied over those steps only (the <c>Steps</c> micro-kernels).
/// </summary>
/// <remarks>
/// A step whose rows of A are all ±0 adds <c>±0·b</c> to each accumulator; for a finite b that leaves every sum as it
/// was, except that <c>-0 + +0</c> gives <c>+0</c>. So a product over the listed steps has the bits of the full product
/// wherever B is finite, but for the sign of a zero sum; where B holds an infinity or a NaN at a step left out, its
/// <c>0·∞</c> or NaN does not reach C. A NaN in A is not zero and its step is listed. The lists depend on the values of
/// A, the tile's rows and the k blocking only, never on the thread count.
/// </remarks>
internal static unsafe class GemmSteps
{
    /// <summary>
    /// Whether a list of <paramref name="count"/> of <paramref name="kc"/> steps is worth its indirection: it must
    /// leave out at least one step in eight (the listed loop loads an index and computes its addresses each step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Worthwhile(int count, int kc) => count * 8 <= kc * 7;

    /// <summary>
    /// Whether a tile whose first row of A holds <paramref name="row"/>'s <paramref name="kc"/> values can have a list
    /// worth its indirection: the steps that are zero in every row are among those zero in the first, so a first row
    /// with too few zeros rules the list out at an eighth of the reads (dense data pays little for being checked).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayBeWorthwhile(float* row, int kc) => Worthwhile(NonZero(row, kc), kc);

    /// <summary>How many of <paramref name="row"/>'s <paramref name="length"/> values are not ±0 (a NaN counts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int NonZero(float* row, int length)
    {
        int nonZero = 0;
        int p = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; p <= length - Vector512<float>.Count; p += Vector512<float>.Count)
            {
                nonZero += BitOperations.PopCount(~(uint)Vector512.Equals(Vector512.Load(row + p), Vector512<float>.Zero).ExtractMostSignificantBits() & 0xFFFFu);
            }
        }

        for (; p < length; p++)
        {
            nonZero += row[p] != 0f ? 1 : 0;
        }

        return nonZero;
    }

    /// <summary>
    /// Writes to <paramref name="steps"/> the steps <c>p</c> in <c>[0, kc)</c>, in increasing order, at which any of the
    /// <paramref name="rows"/> rows of a row-major A is not zero (row r at <c>a + r·lda</c>, step p at <c>a[r·lda + p]</c>),
    /// and returns their count.
    /// </summary>
    /// <param name="a">The tile's first row, at its first step.</param>
    /// <param name="lda">Floats from one row to the next.</param>
    /// <param name="rows">Rows of the tile (1 or more).</param>
    /// <param name="kc">Steps.</param>
    /// <param name="steps">Room for <paramref name="kc"/> steps.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int RowMajor(float* a, int lda, int rows, int kc, int* steps)
    {
        int count = 0;
        nint p = 0;
        if (Avx512F.IsSupported)
        {
            // Sixteen steps at a time, the last ones masked (a masked-off lane reads nothing and counts as zero): plain
            // loads while all sixteen are steps, since masked loads across two cache lines are slow (GemmRows.Straddles).
            for (; p < kc; p += Vector512<float>.Count)
            {
                Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(kc - (int)p)).AsSingle();
                Vector512<float> zero = p + Vector512<float>.Count <= kc
                    ? (rows == 8 ? ZeroLanes8<GemmRows.AllLanes>(a + p, lda, lanes) : ZeroLanes<GemmRows.AllLanes>(a + p, lda, rows, lanes))
                    : ZeroLanes<GemmRows.MaskedLanes>(a + p, lda, rows, lanes);

                // The steps to list, packed to the front of a vector by a compress in registers, then as many lanes
                // stored as there are steps (the compress's store form was not measured here). 32 lists of 8 x 196
                // took 1.8 µs so, 2.2 µs with masked loads for every chunk (AMD EPYC Zen 5, 2 real cores).
                Vector512<int> keep = Vector512.AndNot(lanes, zero).AsInt32();
                Vector512<int> listed = Avx512F.Compress(Vector512<int>.Zero, keep, Vector512<int>.Indices + Vector512.Create((int)p));
                int kept = BitOperations.PopCount((uint)keep.ExtractMostSignificantBits());
                Avx512F.MaskStore(steps + count, Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(kept)), listed);
                count += kept;
            }

            return count;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; p <= kc - Vector256<float>.Count; p += Vector256<float>.Count)
            {
                Vector256<float> zero = Vector256.Equals(Vector256.Load(a + p), Vector256<float>.Zero);
                for (int r = 1; r < rows; r++)
                {
                    zero &= Vector256.Equals(Vector256.Load(a + ((long)r * lda) + p), Vector256<float>.Zero);
                }

                count = Emit(~zero.ExtractMostSignificantBits() & 0xFFu, (int)p, steps, count);
            }
        }

        for (; p < kc; p++)
        {
            bool any = false;
            for (int r = 0; r < rows; r++)
            {
                any |= a[((long)r * lda) + p] != 0f;
            }

            steps[count] = (int)p;
            count += any ? 1 : 0;
        }

        return count;
    }

    /// <summary>
    /// As <see cref="RowMajor"/> for a transposed A read by steps: step p's <paramref name="rows"/> values side by side at
    /// <c>a + p·lda</c> (a <c>[k, m]</c> A, or a packed panel with <paramref name="lda"/> its tile height).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Columns(float* a, int lda, int rows, int kc, int* steps)
    {
        int count = 0;
        if (rows <= 16 && Avx512F.IsSupported)
        {
            // Any tile height (8 and 12 on the 512-bit path) in one masked load a step; lanes past the rows read nothing.
            Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> values = Avx512F.MaskLoad(a + ((long)p * lda), lanes, Vector512<float>.Zero);
                steps[count] = p;
                count += Vector512.EqualsAll(values, Vector512<float>.Zero) ? 0 : 1;
            }

            return count;
        }

        if (rows == 8 && Vector256.IsHardwareAccelerated)
        {
            // The common tile: one compare a step, the step written always and kept by advancing the count.
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> values = Vector256.Load(a + ((long)p * lda));
                steps[count] = p;
                count += Vector256.EqualsAll(values, Vector256<float>.Zero) ? 0 : 1;
            }

            return count;
        }

        for (int p = 0; p < kc; p++)
        {
            float* step = a + ((long)p * lda);
            bool any = false;
            for (int r = 0; r < rows; r++)
            {
                any |= step[r] != 0f;
            }

            steps[count] = p;
            count += any ? 1 : 0;
        }

        return count;
    }

    // The lanes (of those selected) at which all eight rows are ±0, eight loads side by side.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ZeroLanes8<TLoad>(float* a, int lda, Vector512<float> lanes)
        where TLoad : struct, GemmRows.ILanes
    {
        float* a4 = a + (4L * lda);
        Vector512<float> zero = Vector512<float>.Zero;
        Vector512<float> z0 = Vector512.Equals(TLoad.Load(a, lanes), zero) & Vector512.Equals(TLoad.Load(a + lda, lanes), zero);
        Vector512<float> z1 = Vector512.Equals(TLoad.Load(a + (2L * lda), lanes), zero) & Vector512.Equals(TLoad.Load(a + (3L * lda), lanes), zero);
        Vector512<float> z2 = Vector512.Equals(TLoad.Load(a4, lanes), zero) & Vector512.Equals(TLoad.Load(a4 + lda, lanes), zero);
        Vector512<float> z3 = Vector512.Equals(TLoad.Load(a4 + (2L * lda), lanes), zero) & Vector512.Equals(TLoad.Load(a4 + (3L * lda), lanes), zero);
        return (z0 & z1) & (z2 & z3);
    }

    // As ZeroLanes8 for any number of rows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ZeroLanes<TLoad>(float* a, int lda, int rows, Vector512<float> lanes)
        where TLoad : struct, GemmRows.ILanes
    {
        Vector512<float> zero = Vector512.Equals(TLoad.Load(a, lanes), Vector512<float>.Zero);
        for (int r = 1; r < rows; r++)
        {
            zero &= Vector512.Equals(TLoad.Load(a + ((long)r * lda), lanes), Vector512<float>.Zero);
        }

        return zero;
    }

    // Appends first + i for each set bit i of mask, lowest first.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Emit(uint mask, int first, int* steps, int count)
    {
        while (mask != 0)
        {
            steps[count++] = first + BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
        }

        return count;
    }
}
