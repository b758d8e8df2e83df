using System.Diagnostics;
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
    /// The ints past the end of a list of <c>kc</c> steps that <see cref="RowMajor"/> and <see cref="ColumnPanels8"/>
    /// may overwrite: they store sixteen steps at a time whole (a masked store of only the kept ones, at an offset that
    /// often straddles two cache lines, took twice as long as the whole listing; AMD EPYC Zen 5, 2 real cores).
    /// </summary>
    public const int ListSlack = 16;

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
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; p <= length - Vector256<float>.Count; p += Vector256<float>.Count)
            {
                nonZero += BitOperations.PopCount(~Vector256.Equals(Vector256.Load(row + p), Vector256<float>.Zero).ExtractMostSignificantBits() & 0xFFu);
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
    /// <param name="steps">Room for <paramref name="kc"/> steps and <see cref="ListSlack"/> more ints, which may be overwritten.</param>
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

                // The steps to list, packed to the front of a vector by a compress in registers, then the whole vector
                // stored (its lanes past the steps into room the caller leaves: ListSlack). 32 lists of 8 x 196 took
                // 1.8 µs with a masked store of the steps only, 2.2 µs with masked loads for every chunk (AMD EPYC Zen 5,
                // 2 real cores); masked stores that straddle two cache lines are the slow ones.
                Vector512<int> keep = Vector512.AndNot(lanes, zero).AsInt32();
                Vector512<int> listed = Avx512F.Compress(Vector512<int>.Zero, keep, Vector512<int>.Indices + Vector512.Create((int)p));
                Vector512.Store(listed, steps + count);
                count += BitOperations.PopCount((uint)keep.ExtractMostSignificantBits());
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

        if (rows <= 8 && Avx.IsSupported)
        {
            // The 6-row tile of the 256-bit path (or any up to 8) in one masked load a step: lanes past the rows read
            // nothing. The scalar loop below took 4.5% of each thread's two-thread step at 784-1024-10, batch 128 (AMD
            // EPYC Zen 1, AVX2, 2 real cores), the weight gradient's lists being made by both threads.
            Vector256<float> lanes = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rows)).AsSingle();
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> values = Avx.MaskLoad(a + ((long)p * lda), lanes);
                steps[count] = p;
                count += Vector256.EqualsAll(values, Vector256<float>.Zero) ? 0 : 1;
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

    /// <summary>
    /// <see cref="Columns"/> for every 8-row panel of a transposed A at once: panel q holds rows <c>[8q, 8q + 8)</c> of
    /// the <paramref name="rows"/> (the last panel may be shorter); its steps go to <c>lists + q·listStride</c> and their
    /// count to <c>counts[q]</c>, the lists <see cref="Columns"/> gives panel by panel.
    /// </summary>
    /// <remarks>
    /// Panel by panel, <see cref="Columns"/> loads 8 floats a step, each a cache line away from the step before: for the
    /// 98 panels of an MNIST batch of 128, 12-14 µs a weight gradient, 6.8% of the samples of a one-thread run at
    /// 784-128-10. Here each step's run of 64 rows (eight panels) is read in four loads, reduced to one flag byte (bit k:
    /// panel k of the eight has a value other than ±0), the bytes of eight steps are transposed as an 8 x 8 bit matrix
    /// into one byte per panel (bit i: step i of the eight), and each panel's steps are listed sixteen at a time by a
    /// compress: 5.3-5.5 µs, 3.2% of the samples (AMD EPYC Zen 5, 2 real cores).
    /// </remarks>
    /// <param name="a">Step 0's value of the first row.</param>
    /// <param name="lda">Floats from one step to the next.</param>
    /// <param name="rows">Rows of all the panels (1 or more).</param>
    /// <param name="kc">Steps.</param>
    /// <param name="lists">Room for <paramref name="kc"/> steps at each <paramref name="listStride"/>, and <see cref="ListSlack"/> more ints after the last list, which may be overwritten (as may the start of each list after the one being written).</param>
    /// <param name="listStride">Ints from one panel's list to the next; at least <paramref name="kc"/>.</param>
    /// <param name="counts">One count per panel.</param>
    /// <param name="scratch"><see cref="ColumnPanelsScratch"/> bytes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnPanels8(float* a, int lda, int rows, int kc, int* lists, int listStride, int* counts, byte* scratch)
    {
        // A list's last whole-vector store reaches into the next one (or the slack after the last): see ListSlack.
        Debug.Assert(listStride >= kc, "Lists must be at least kc apart.");
        int panels = (rows + 7) >> 3, groups = (rows + 63) >> 6;
        int stepBytes = ((kc + 15) & ~15) >> 3;

        // bits[q·stepBytes + b]: bit i set when panel q is not all ±0 at step 8b + i (steps past kc: 0); then one
        // word of flag bytes per group of eight panels (below).
        byte* bits = scratch;
        ulong* blockFlags = (ulong*)(scratch + ((long)groups * stepBytes * 8));

        // Steps in blocks of eight, each step's row read from start to end: a flag byte per group of eight panels and
        // step (bit k: panel k of the group is not all ±0), then each group's eight bytes transposed into a byte per panel.
        int wholeGroups = rows >> 6, lastRow0 = wholeGroups << 6;
        Vector512<float> lanes0 = Lanes(rows - lastRow0), lanes1 = Lanes(rows - lastRow0 - 16), lanes2 = Lanes(rows - lastRow0 - 32), lanes3 = Lanes(rows - lastRow0 - 48);
        for (int b = 0; b < stepBytes; b++)
        {
            new Span<ulong>(blockFlags, groups).Clear();
            int steps = Math.Min(8, kc - (b << 3));
            for (int i = 0; i < steps; i++)
            {
                float* run = a + ((long)((b << 3) + i) * lda);
                byte* flag = (byte*)blockFlags + i;
                for (int g = 0; g < wholeGroups; g++, run += 64, flag += 8)
                {
                    ulong zero = ZeroBits(Vector512.Load(run)) | (ZeroBits(Vector512.Load(run + 16)) << 16)
                        | (ZeroBits(Vector512.Load(run + 32)) << 32) | (ZeroBits(Vector512.Load(run + 48)) << 48);
                    *flag = NonZeroBytes(~zero);
                }

                if (wholeGroups < groups)
                {
                    // The last group's runs of sixteen rows; lanes past the rows read nothing and count as zero.
                    ulong zero = ZeroBits(Avx512F.MaskLoad(run, lanes0, Vector512<float>.Zero))
                        | (ZeroBits(Avx512F.MaskLoad(run + 16, lanes1, Vector512<float>.Zero)) << 16)
                        | (ZeroBits(Avx512F.MaskLoad(run + 32, lanes2, Vector512<float>.Zero)) << 32)
                        | (ZeroBits(Avx512F.MaskLoad(run + 48, lanes3, Vector512<float>.Zero)) << 48);
                    *flag = NonZeroBytes(~zero);
                }
            }

            for (int g = 0; g < groups; g++)
            {
                ulong block = Transpose8x8(blockFlags[g]);
                byte* panelBits = bits + ((long)(g << 3) * stepBytes) + b;
                for (int k = 0; k < 8; k++)
                {
                    panelBits[(long)k * stepBytes] = (byte)(block >> (k << 3));
                }
            }
        }

        Vector512<int> laneBits = Vector512.Create(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
        for (int q = 0; q < panels; q++)
        {
            int* list = lists + ((long)q * listStride);
            byte* panelBits = bits + ((long)q * stepBytes);
            int count = 0;
            for (int p = 0; p < kc; p += 16)
            {
                int marked = Unsafe.ReadUnaligned<ushort>(panelBits + (p >> 3));
                Vector512<int> keep = Vector512.Equals(Vector512.Create(marked) & laneBits, laneBits);
                Vector512<int> listed = Avx512F.Compress(Vector512<int>.Zero, keep, Vector512<int>.Indices + Vector512.Create(p));
                // All sixteen lanes stored, those past the kept ones over what comes next (masked stores across two
                // cache lines were slow); the caller leaves room for them.
                Vector512.Store(listed, list + count);
                count += BitOperations.PopCount((uint)marked);
            }

            counts[q] = count;
        }
    }

    /// <summary>The scratch bytes <see cref="ColumnPanels8"/> needs for <paramref name="rows"/> rows and <paramref name="kc"/> steps.</summary>
    public static long ColumnPanelsScratch(int rows, int kc) => ((rows + 63) >> 6) * ((long)((kc + 15) & ~15) + sizeof(ulong));

    // The first `valid` of sixteen lanes (all for 16 or more, none for 0 or fewer).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lanes(int valid) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(Math.Clamp(valid, 0, 16))).AsSingle();

    // Bit r set when lane r is ±0 (a NaN is not).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroBits(Vector512<float> values) => (uint)Vector512.Equals(values, Vector512<float>.Zero).ExtractMostSignificantBits();

    // Bit k set when byte k of `bits` is not 0: bit 0 of each byte becomes the OR of its eight bits, and a multiply
    // gathers the eight bit 0s into the top byte.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte NonZeroBytes(ulong bits)
    {
        bits |= bits >> 4;
        bits |= bits >> 2;
        bits |= bits >> 1;
        return (byte)(((bits & 0x0101010101010101UL) * 0x0102040810204080UL) >> 56);
    }

    // Bit c of byte r goes to bit r of byte c.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Transpose8x8(ulong x)
    {
        ulong t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAUL;
        x ^= t ^ (t << 7);
        t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCUL;
        x ^= t ^ (t << 14);
        t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0UL;
        return x ^ t ^ (t << 28);
    }

    // The lanes (of those selected) at which all eight rows are ±0: the rows' bits OR-ed, the sign bit cleared, are zero
    // there (a NaN or a subnormal is not). Eight compares and seven mask ANDs took 2.8 µs for the 16 panels of an MNIST
    // batch of 128, the ORs 1.9 µs (AMD EPYC Zen 5, 2 real cores).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ZeroLanes8<TLoad>(float* a, int lda, Vector512<float> lanes)
        where TLoad : struct, GemmRows.ILanes
    {
        float* a4 = a + (4L * lda);
        Vector512<float> o0 = TLoad.Load(a, lanes) | TLoad.Load(a + lda, lanes);
        Vector512<float> o1 = TLoad.Load(a + (2L * lda), lanes) | TLoad.Load(a + (3L * lda), lanes);
        Vector512<float> o2 = TLoad.Load(a4, lanes) | TLoad.Load(a4 + lda, lanes);
        Vector512<float> o3 = TLoad.Load(a4 + (2L * lda), lanes) | TLoad.Load(a4 + (3L * lda), lanes);
        return MagnitudeZero((o0 | o1) | (o2 | o3));
    }

    // As ZeroLanes8 for any number of rows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ZeroLanes<TLoad>(float* a, int lda, int rows, Vector512<float> lanes)
        where TLoad : struct, GemmRows.ILanes
    {
        Vector512<float> bits = TLoad.Load(a, lanes);
        for (int r = 1; r < rows; r++)
        {
            bits |= TLoad.Load(a + ((long)r * lda), lanes);
        }

        return MagnitudeZero(bits);
    }

    // All ones at the lanes whose bits other than the sign are zero (±0), else zero.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MagnitudeZero(Vector512<float> bits) =>
        Vector512.Equals(bits.AsUInt32() & Vector512.Create(0x7FFFFFFFu), Vector512<uint>.Zero).AsSingle();

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
