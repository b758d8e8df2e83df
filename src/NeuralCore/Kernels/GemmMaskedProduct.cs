using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

/// <summary>
/// A B operand that is itself a product, computed while it is packed and never stored:
/// <c>B[p, j] = Σ_c G[p, c]·V[j, c]</c> where <c>Mask[p, j] &gt; 0</c>, else 0. G is <c>[k, r]</c>, V is <c>[n, r]</c>
/// and the mask <c>[k, n]</c>: the input gradient of a Dense layer of r units (G its output gradient, V its weights)
/// through the ReLU below it (the mask that ReLU's output).
/// </summary>
/// <remarks>
/// Each value has the bits <see cref="Gemm.MultiplyReluMasked"/> would store for it: one accumulator from zero, c
/// increasing, a fused multiply-add on the vector ISAs and a multiply then an add on the scalar one (as the
/// micro-kernels of the same ISA), then zeroed where the mask is not positive (as <see cref="GemmEpilogue.MaskRelu"/>).
/// On the 512-bit path the product can also compute the upper layer's weight gradient, <c>Maskᵀ·G</c> (the mask being
/// that layer's input), from the same rows it reads (<see cref="UpperWeightGrad"/>).
/// </remarks>
internal readonly unsafe struct GemmMaskedProduct
{
    /// <summary>The most columns of G (units of the upper layer) a product may have: its r multiply-adds per value are
    /// made by every thread that packs B, so it is meant for narrow layers such as a 10-class output.</summary>
    public const int MaxRank = 16;

    public GemmMaskedProduct(float* g, float* v, int rank, KernelIsa isa, float* upperWeightGrad = null, bool upperAccumulate = false)
    {
        Debug.Assert(upperWeightGrad is null || CanComputeUpperWeightGrad(isa), "The upper weight gradient is computed on the 512-bit path only.");
        G = g;
        V = v;
        Rank = rank;
        Fused = isa != KernelIsa.Scalar;
        UpperWeightGrad = upperWeightGrad;
        UpperAccumulate = upperAccumulate;
    }

    /// <summary>Whether a product on <paramref name="isa"/> can compute <see cref="UpperWeightGrad"/> as it packs.</summary>
    public static bool CanComputeUpperWeightGrad(KernelIsa isa) => isa == KernelIsa.Vector512 && Avx512F.IsSupported;

    /// <summary>The <c>[k, r]</c> left factor.</summary>
    public float* G { get; }

    /// <summary>The <c>[n, r]</c> right factor (transposed in the product).</summary>
    public float* V { get; }

    /// <summary>r, the length of each value's sum.</summary>
    public int Rank { get; }

    /// <summary>Whether the sums use fused multiply-adds (every ISA but the scalar one, as its micro-kernels do).</summary>
    public bool Fused { get; }

    public bool IsEmpty => G is null;

    /// <summary>
    /// Null, or the <c>[n, r]</c> weight gradient of the upper layer, whose input is the mask:
    /// <c>UpperWeightGrad[j, c] (+)= Σ_p Mask[p, j]·G[p, c]</c>, with the bits of the register-blocked weight gradient
    /// (each k block summed from zero, p increasing, by fused multiply-adds; blocks added in order, the first one stored
    /// unless <see cref="UpperAccumulate"/>). <see cref="Pack"/> computes the rows of its columns that its share names.
    /// </summary>
    public float* UpperWeightGrad { get; }

    /// <summary>Whether <see cref="UpperWeightGrad"/> is added to rather than overwritten.</summary>
    public bool UpperAccumulate { get; }

    /// <summary>
    /// Computes columns <c>[col0, col0 + cols)</c>, steps <c>[p0, p0 + kc)</c> of B and packs them as
    /// <see cref="GemmPacking.PackB"/> packs a stored B (zero past the last column), adding each value to
    /// <paramref name="sums"/> when it is not null (<c>sums[j] += B[p, col0 + j]</c>, p increasing).
    /// <paramref name="mask"/> is <c>[k, n]</c>; <paramref name="vt"/> holds at least
    /// <c>r · cols</c> rounded up to <paramref name="nr"/> floats of scratch. With an <see cref="UpperWeightGrad"/>, also
    /// computes its rows for share <paramref name="share"/> of <paramref name="shares"/> of the chunk's columns (the
    /// threads that pack the same chunk divide them), for these steps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, float* mask, int n, int col0, int cols, int p0, int kc, int nr, float* sums, float* vt,
        int share = 0, int shares = 1)
    {
        if (UpperWeightGrad is not null)
        {
            // Sixteen columns a vector: a share is whole vectors but for the chunk's last.
            int vectors = (cols + 15) / 16;
            (int first, int end) = GemmPlan.Slice(vectors, shares, share);
            int from = col0 + (first * 16), to = Math.Min(col0 + (end * 16), col0 + cols);
            if (from < to)
            {
                UpperGradient(mask, n, from, to, p0, kc);
            }
        }

        Debug.Assert(BitOperations.IsPow2(nr), "Every micro-kernel's tile width is a power of two.");
        int r = Rank;
        int width = (cols + nr - 1) / nr * nr;

        // Column j of the chunk goes to panel j / nr, lane j % nr: shifts, since a division per stored vector (nr is not
        // a constant here) cost more than the vector's ten multiply-adds.
        int panelShift = BitOperations.Log2((uint)nr);

        // Vᵀ for this chunk's columns, zero past the last: each value is then r vector loads of one row apart. (Element
        // by element, this transpose took a quarter of the call: 1.4 of 5.6 µs for 256 columns, r = 10.)
        GemmPacking.TransposeRows(vt, V + ((long)col0 * r), r, r, cols, width);

        long panelStride = (long)nr * kc;
        for (int p = 0; p < kc; p += 2)
        {
            // Two rows at a time where they are full 128-column groups: sixteen chains, each vector of Vᵀ loaded once for
            // both rows. One row's eight chains measured one multiply-add a cycle (256 columns of 128 rows, r = 10: 4.8 µs
            // a call, AMD EPYC Zen 5), half the peak.
            int j = 0;
            if (p + 1 < kc && Fused && Vector512.IsHardwareAccelerated && nr == 32)
            {
                for (; j + 128 <= cols; j += 128)
                {
                    PairGroup512(p0 + p, mask, n, col0, j, width, dst + ((long)p * nr), panelStride, sums, vt);
                }
            }

            if (j == width)
            {
                continue;
            }

            PackRow(p0 + p, mask, n, col0, cols, j, width, dst + ((long)p * nr), panelShift, panelStride, sums, vt);
            if (p + 1 < kc)
            {
                PackRow(p0 + p + 1, mask, n, col0, cols, j, width, dst + ((long)(p + 1) * nr), panelShift, panelStride, sums, vt);
            }
        }
    }

    // Columns [j, cols) of the chunk's row for step `step` of B (its panel row at `row`), as Pack describes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PackRow(int step, float* mask, int n, int col0, int cols, int j, int width, float* row, int panelShift, long panelStride,
        float* sums, float* vt)
    {
        int r = Rank, nr = 1 << panelShift;
        float* g = G + ((long)step * r);
        float* m = mask + ((long)step * n) + col0;

        // Eight vectors at a time: eight independent chains of r fused multiply-adds keep both FMA units busy
        // (one chain waits four cycles on each step). One vector at a time then for what is left.
        if (Fused && Vector512.IsHardwareAccelerated && nr % 16 == 0)
        {
            for (; j + 128 <= cols; j += 128)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                float* v = vt + j;
                for (int c = 0; c < r; c++, v += width)
                {
                    Vector512<float> gc = Vector512.Create(g[c]);
                    a0 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v), a0);
                    a1 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 48), a3);
                    a4 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 64), a4);
                    a5 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 80), a5);
                    a6 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 96), a6);
                    a7 = Vector512.FusedMultiplyAdd(gc, Vector512.Load(v + 112), a7);
                }

                Store(a0, m, Place(row, j, panelShift, panelStride), sums, j);
                Store(a1, m, Place(row, j + 16, panelShift, panelStride), sums, j + 16);
                Store(a2, m, Place(row, j + 32, panelShift, panelStride), sums, j + 32);
                Store(a3, m, Place(row, j + 48, panelShift, panelStride), sums, j + 48);
                Store(a4, m, Place(row, j + 64, panelShift, panelStride), sums, j + 64);
                Store(a5, m, Place(row, j + 80, panelShift, panelStride), sums, j + 80);
                Store(a6, m, Place(row, j + 96, panelShift, panelStride), sums, j + 96);
                Store(a7, m, Place(row, j + 112, panelShift, panelStride), sums, j + 112);
            }

            for (; j + 16 <= cols; j += 16)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                for (int c = 0; c < r; c++)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(g[c]), Vector512.Load(vt + ((long)c * width) + j), acc);
                }

                Store(acc, m, Place(row, j, panelShift, panelStride), sums, j);
            }
        }

        if (Fused && Vector256.IsHardwareAccelerated && nr % 8 == 0)
        {
            for (; j + 64 <= cols; j += 64)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                float* v = vt + j;
                for (int c = 0; c < r; c++, v += width)
                {
                    Vector256<float> gc = Vector256.Create(g[c]);
                    a0 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v), a0);
                    a1 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 24), a3);
                    a4 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 32), a4);
                    a5 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 40), a5);
                    a6 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 48), a6);
                    a7 = Vector256.FusedMultiplyAdd(gc, Vector256.Load(v + 56), a7);
                }

                Store(a0, m, Place(row, j, panelShift, panelStride), sums, j);
                Store(a1, m, Place(row, j + 8, panelShift, panelStride), sums, j + 8);
                Store(a2, m, Place(row, j + 16, panelShift, panelStride), sums, j + 16);
                Store(a3, m, Place(row, j + 24, panelShift, panelStride), sums, j + 24);
                Store(a4, m, Place(row, j + 32, panelShift, panelStride), sums, j + 32);
                Store(a5, m, Place(row, j + 40, panelShift, panelStride), sums, j + 40);
                Store(a6, m, Place(row, j + 48, panelShift, panelStride), sums, j + 48);
                Store(a7, m, Place(row, j + 56, panelShift, panelStride), sums, j + 56);
            }

            for (; j + 8 <= cols; j += 8)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (int c = 0; c < r; c++)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(g[c]), Vector256.Load(vt + ((long)c * width) + j), acc);
                }

                Store(acc, m, Place(row, j, panelShift, panelStride), sums, j);
            }
        }

        if (Fused && Vector128.IsHardwareAccelerated && nr % 4 == 0)
        {
            for (; j + 4 <= cols; j += 4)
            {
                Vector128<float> acc = Vector128<float>.Zero;
                for (int c = 0; c < r; c++)
                {
                    acc = Vector128.FusedMultiplyAdd(Vector128.Create(g[c]), Vector128.Load(vt + ((long)c * width) + j), acc);
                }

                Store(acc, m, Place(row, j, panelShift, panelStride), sums, j);
            }
        }

        for (; j < width; j++)
        {
            float value = 0f;
            if (j < cols)
            {
                float acc = 0f;
                for (int c = 0; c < r; c++)
                {
                    float v = vt[((long)c * width) + j];
                    acc = Fused ? MathF.FusedMultiplyAdd(g[c], v, acc) : acc + (g[c] * v);
                }

                value = m[j] > 0f ? acc : 0f;
                if (sums is not null)
                {
                    sums[j] += value;
                }
            }

            *Place(row, j, panelShift, panelStride) = value;
        }
    }

    // One 128-column group of two consecutive rows, `step` and `step + 1`, for 32-column panels (the 512-bit
    // micro-kernels' width): each value's chain as PackRow's (zero, then c increasing), the first row's vectors stored
    // (and added to the sums) before the second's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PairGroup512(int step, float* mask, int n, int col0, int j, int width, float* row, long panelStride,
        float* sums, float* vt)
    {
        int r = Rank;
        float* g = G + ((long)step * r);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        float* v = vt + j;
        for (int c = 0; c < r; c++, v += width)
        {
            Vector512<float> ga = Vector512.Create(g[c]), gb = Vector512.Create(g[r + c]);
            Vector512<float> v0 = Vector512.Load(v), v1 = Vector512.Load(v + 16), v2 = Vector512.Load(v + 32), v3 = Vector512.Load(v + 48);
            a0 = Vector512.FusedMultiplyAdd(ga, v0, a0);
            b0 = Vector512.FusedMultiplyAdd(gb, v0, b0);
            a1 = Vector512.FusedMultiplyAdd(ga, v1, a1);
            b1 = Vector512.FusedMultiplyAdd(gb, v1, b1);
            a2 = Vector512.FusedMultiplyAdd(ga, v2, a2);
            b2 = Vector512.FusedMultiplyAdd(gb, v2, b2);
            a3 = Vector512.FusedMultiplyAdd(ga, v3, a3);
            b3 = Vector512.FusedMultiplyAdd(gb, v3, b3);
            Vector512<float> v4 = Vector512.Load(v + 64), v5 = Vector512.Load(v + 80), v6 = Vector512.Load(v + 96), v7 = Vector512.Load(v + 112);
            a4 = Vector512.FusedMultiplyAdd(ga, v4, a4);
            b4 = Vector512.FusedMultiplyAdd(gb, v4, b4);
            a5 = Vector512.FusedMultiplyAdd(ga, v5, a5);
            b5 = Vector512.FusedMultiplyAdd(gb, v5, b5);
            a6 = Vector512.FusedMultiplyAdd(ga, v6, a6);
            b6 = Vector512.FusedMultiplyAdd(gb, v6, b6);
            a7 = Vector512.FusedMultiplyAdd(ga, v7, a7);
            b7 = Vector512.FusedMultiplyAdd(gb, v7, b7);
        }

        // 32-column panels: the group's sixteen-lane vectors go to four panels, two to each, one panel stride apart.
        float* m = mask + ((long)step * n) + col0 + j;
        float* d = row + ((long)(j >> 5) * panelStride);
        float* s = sums is null ? null : sums + j;
        StorePair(a0, a1, m, d, s);
        StorePair(a2, a3, m + 32, d + panelStride, s is null ? null : s + 32);
        StorePair(a4, a5, m + 64, d + (2 * panelStride), s is null ? null : s + 64);
        StorePair(a6, a7, m + 96, d + (3 * panelStride), s is null ? null : s + 96);
        m += n;
        d += 32;
        StorePair(b0, b1, m, d, s);
        StorePair(b2, b3, m + 32, d + panelStride, s is null ? null : s + 32);
        StorePair(b4, b5, m + 64, d + (2 * panelStride), s is null ? null : s + 64);
        StorePair(b6, b7, m + 96, d + (3 * panelStride), s is null ? null : s + 96);
    }

    // Two vectors of 16 consecutive columns: masked, stored side by side, added to the column sums (when not null).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair(Vector512<float> low, Vector512<float> high, float* mask, float* destination, float* sums)
    {
        low &= Vector512.GreaterThan(Vector512.Load(mask), Vector512<float>.Zero);
        high &= Vector512.GreaterThan(Vector512.Load(mask + 16), Vector512<float>.Zero);
        Vector512.Store(low, destination);
        Vector512.Store(high, destination + 16);
        if (sums is not null)
        {
            Vector512.Store(Vector512.Load(sums) + low, sums);
            Vector512.Store(Vector512.Load(sums + 16) + high, sums + 16);
        }
    }

    // UpperWeightGrad's rows [from, to) for steps [p0, p0 + kc): sixteen rows at a time, one accumulator of sixteen lanes
    // (rows) per column c of G, then transposed into the rows.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void UpperGradient(float* mask, int n, int from, int to, int p0, int kc)
    {
        int r = Rank;
        float* gp = GemmBuffers.UpperGradScratch;
        float* t = gp + (GemmPlan.KcMax * 16);
        float* rows = t + 256;

        // G's rows padded with zeros to sixteen floats: a tier's broadcasts past r read zeros, never past G's end.
        Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(r)).AsSingle();
        for (int p = 0; p < kc; p++)
        {
            Vector512.Store(Avx512F.MaskLoad(G + ((long)(p0 + p) * r), lanes, Vector512<float>.Zero), gp + (p * 16));
        }

        bool store = p0 == 0 && !UpperAccumulate;
        for (int j = from; j < to; j += 16)
        {
            int w = Math.Min(16, to - j);
            float* h = mask + ((long)p0 * n) + j;
            Vector512<float> valid = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(w)).AsSingle();
            if (r <= 4)
            {
                UpperColumns<Tier4>(h, n, gp, kc, valid, t);
            }
            else if (r <= 8)
            {
                UpperColumns<Tier8>(h, n, gp, kc, valid, t);
            }
            else if (r <= 12)
            {
                UpperColumns<Tier12>(h, n, gp, kc, valid, t);
            }
            else
            {
                UpperColumns<Tier16>(h, n, gp, kc, valid, t);
            }

            // t[c·16 + l] is row j + l, column c: the w rows are r·w consecutive floats of the gradient.
            GemmPacking.TransposeRows(rows, t, 16, w, r, r);
            float* d = UpperWeightGrad + ((long)j * r);
            if (store)
            {
                new ReadOnlySpan<float>(rows, w * r).CopyTo(new Span<float>(d, w * r));
            }
            else
            {
                GemmPacking.AddTile(d, rows, w * r);
            }
        }
    }

    // Σ_p h[p·n + l]·gp[p·16 + c] for the valid lanes l and c below the tier, into t[c·16 + l]: one chain per c, p
    // increasing from zero, the mask row's value times G's (the order the blocked product multiplies them in).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpperColumns<TTier>(float* h, int n, float* gp, int kc, Vector512<float> valid, float* t)
        where TTier : struct, ITier
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (int p = 0; p < kc; p++, h += n, gp += 16)
        {
            Vector512<float> x = Avx512F.MaskLoad(h, valid, Vector512<float>.Zero);
            a0 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[0]), a0);
            a1 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[1]), a1);
            a2 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[2]), a2);
            a3 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[3]), a3);
            if (TTier.Rank > 4)
            {
                a4 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[4]), a4);
                a5 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[5]), a5);
                a6 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[6]), a6);
                a7 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[7]), a7);
            }

            if (TTier.Rank > 8)
            {
                a8 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[8]), a8);
                a9 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[9]), a9);
                a10 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[10]), a10);
                a11 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[11]), a11);
            }

            if (TTier.Rank > 12)
            {
                a12 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[12]), a12);
                a13 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[13]), a13);
                a14 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[14]), a14);
                a15 = Vector512.FusedMultiplyAdd(x, Vector512.Create(gp[15]), a15);
            }
        }

        Vector512.Store(a0, t);
        Vector512.Store(a1, t + 16);
        Vector512.Store(a2, t + 32);
        Vector512.Store(a3, t + 48);
        Vector512.Store(a4, t + 64);
        Vector512.Store(a5, t + 80);
        Vector512.Store(a6, t + 96);
        Vector512.Store(a7, t + 112);
        Vector512.Store(a8, t + 128);
        Vector512.Store(a9, t + 144);
        Vector512.Store(a10, t + 160);
        Vector512.Store(a11, t + 176);
        Vector512.Store(a12, t + 192);
        Vector512.Store(a13, t + 208);
        Vector512.Store(a14, t + 224);
        Vector512.Store(a15, t + 240);
    }

    // How many of G's columns a copy of UpperColumns computes: r rounded up to a multiple of four, so that a 10-class
    // layer runs twelve chains rather than sixteen.
    private interface ITier
    {
        static abstract int Rank { get; }
    }

    private readonly struct Tier4 : ITier
    {
        public static int Rank => 4;
    }

    private readonly struct Tier8 : ITier
    {
        public static int Rank => 8;
    }

    private readonly struct Tier12 : ITier
    {
        public static int Rank => 12;
    }

    private readonly struct Tier16 : ITier
    {
        public static int Rank => 16;
    }

    // Where column j of a chunk goes: panel j / nr (panels panelStride floats apart), lane j % nr; nr is 1 << panelShift.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Place(float* row, int j, int panelShift, long panelStride) =>
        row + ((long)(j >> panelShift) * panelStride) + (j & ((1 << panelShift) - 1));

    // Column j's vector: masked (as GemmEpilogue.MaskRelu), stored at its place in the panels, added to the column sums.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector512.GreaterThan(Vector512.Load(mask + j), Vector512<float>.Zero);
        Vector512.Store(acc, destination);
        if (sums is not null)
        {
            Vector512.Store(Vector512.Load(sums + j) + acc, sums + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector256.GreaterThan(Vector256.Load(mask + j), Vector256<float>.Zero);
        Vector256.Store(acc, destination);
        if (sums is not null)
        {
            Vector256.Store(Vector256.Load(sums + j) + acc, sums + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector128.GreaterThan(Vector128.Load(mask + j), Vector128<float>.Zero);
        Vector128.Store(acc, destination);
        if (sums is not null)
        {
            Vector128.Store(Vector128.Load(sums + j) + acc, sums + j);
        }
    }
}
