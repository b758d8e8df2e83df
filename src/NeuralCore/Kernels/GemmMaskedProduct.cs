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
    /// (each k block summed from zero, p increasing, by fused multiply-adds with the operands in the micro-kernels'
    /// places; blocks added in order, the first one stored unless <see cref="UpperAccumulate"/>). <see cref="Pack"/>
    /// computes the rows of its columns that its share names.
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
            }

            float* place = Place(row, j, panelShift, panelStride);
            *place = value;
            if (sums is not null && j < cols)
            {
                // Read back from the panel, as PackB's sums read the packed value (sums first: a NaN's payload too).
                sums[j] += *place;
            }
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
        float* m = mask + ((long)step * n) + col0;
        float* d = row + ((long)(j >> 5) * panelStride);
        Store(a0, m, d, sums, j);
        Store(a1, m, d + 16, sums, j + 16);
        Store(a2, m, d + panelStride, sums, j + 32);
        Store(a3, m, d + panelStride + 16, sums, j + 48);
        Store(a4, m, d + (2 * panelStride), sums, j + 64);
        Store(a5, m, d + (2 * panelStride) + 16, sums, j + 80);
        Store(a6, m, d + (3 * panelStride), sums, j + 96);
        Store(a7, m, d + (3 * panelStride) + 16, sums, j + 112);
        m += n;
        d += 32;
        Store(b0, m, d, sums, j);
        Store(b1, m, d + 16, sums, j + 16);
        Store(b2, m, d + panelStride, sums, j + 32);
        Store(b3, m, d + panelStride + 16, sums, j + 48);
        Store(b4, m, d + (2 * panelStride), sums, j + 64);
        Store(b5, m, d + (2 * panelStride) + 16, sums, j + 80);
        Store(b6, m, d + (3 * panelStride), sums, j + 96);
        Store(b7, m, d + (3 * panelStride) + 16, sums, j + 112);
    }

    // UpperWeightGrad's rows [from, to) for steps [p0, p0 + kc): one accumulator per row, its lanes G's r columns,
    // sixteen rows at a time. Each multiply-add has G's row in a register and the mask's value as a broadcast from
    // memory, as the register-blocked product has its B and A: so even the payload of a NaN is that product's. (Rows
    // in the lanes took a quarter fewer multiply-adds at r = 10, but put the two operands the other way round.)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void UpperGradient(float* mask, int n, int from, int to, int p0, int kc)
    {
        int r = Rank;
        Vector512<float> lanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(r)).AsSingle();
        bool store = p0 == 0 && !UpperAccumulate;
        float* g = G + ((long)p0 * r);
        float* h = mask + ((long)p0 * n);
        // Later k blocks are added through a scratch tile (acc + C, below). Taken here, not in UpperRows16: a call there,
        // with its sixteen sums live across it, made the JIT keep every sum on the stack, loaded and stored at each step
        // (784-512-10 at batch 128, one thread: the upper gradient's 512 rows took 22-41 µs a step instead of 10-16; AMD
        // EPYC Zen 5, 2 real cores).
        float* t = store ? null : GemmBuffers.Tile;
        int j = from;
        for (; j + 16 <= to; j += 16)
        {
            UpperRows16(g, r, h + j, n, kc, lanes, UpperWeightGrad + ((long)j * r), t);
        }

        for (; j < to; j++)
        {
            Vector512<float> acc = Vector512<float>.Zero;
            float* hj = h + j, gp = g;
            for (int p = 0; p < kc; p++, hj += n, gp += r)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(*hj), Avx512F.MaskLoad(gp, lanes, Vector512<float>.Zero), acc);
            }

            float* d = UpperWeightGrad + ((long)j * r);
            if (store)
            {
                Avx512F.MaskStore(d, lanes, acc);
            }
            else
            {
                // Through the scratch, as UpperRows16 adds: acc + C.
                Avx512F.MaskStore(t, lanes, acc);
                GemmPacking.AddTile(d, t, r);
            }
        }
    }

    // Sixteen rows of the upper weight gradient: row i sums h[p·n + i]·g[p·r + c] over the steps, p increasing from zero,
    // then is stored to d (no scratch: the first k block) or added to it through the scratch.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpperRows16(float* g, int r, float* h, int n, int kc, Vector512<float> lanes, float* d, float* scratch)
    {
        float* t = scratch is null ? d : scratch;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (int p = 0; p < kc; p++, g += r, h += n)
        {
            Vector512<float> gp = Avx512F.MaskLoad(g, lanes, Vector512<float>.Zero);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(h[0]), gp, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(h[1]), gp, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(h[2]), gp, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(h[3]), gp, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(h[4]), gp, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(h[5]), gp, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Create(h[6]), gp, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Create(h[7]), gp, a7);
            a8 = Vector512.FusedMultiplyAdd(Vector512.Create(h[8]), gp, a8);
            a9 = Vector512.FusedMultiplyAdd(Vector512.Create(h[9]), gp, a9);
            a10 = Vector512.FusedMultiplyAdd(Vector512.Create(h[10]), gp, a10);
            a11 = Vector512.FusedMultiplyAdd(Vector512.Create(h[11]), gp, a11);
            a12 = Vector512.FusedMultiplyAdd(Vector512.Create(h[12]), gp, a12);
            a13 = Vector512.FusedMultiplyAdd(Vector512.Create(h[13]), gp, a13);
            a14 = Vector512.FusedMultiplyAdd(Vector512.Create(h[14]), gp, a14);
            a15 = Vector512.FusedMultiplyAdd(Vector512.Create(h[15]), gp, a15);
        }

        // Added to C (after the first block) through a tile laid out as the sixteen rows are, so that the addition reads
        // C as a memory operand, after the sum: acc + C, as the micro-kernels add (a masked load of each row was added
        // the other way round by the JIT, which gave C's NaN payload where both were NaN).
        Avx512F.MaskStore(t, lanes, a0);
        Avx512F.MaskStore(t + r, lanes, a1);
        Avx512F.MaskStore(t + (2 * r), lanes, a2);
        Avx512F.MaskStore(t + (3 * r), lanes, a3);
        Avx512F.MaskStore(t + (4 * r), lanes, a4);
        Avx512F.MaskStore(t + (5 * r), lanes, a5);
        Avx512F.MaskStore(t + (6 * r), lanes, a6);
        Avx512F.MaskStore(t + (7 * r), lanes, a7);
        Avx512F.MaskStore(t + (8 * r), lanes, a8);
        Avx512F.MaskStore(t + (9 * r), lanes, a9);
        Avx512F.MaskStore(t + (10 * r), lanes, a10);
        Avx512F.MaskStore(t + (11 * r), lanes, a11);
        Avx512F.MaskStore(t + (12 * r), lanes, a12);
        Avx512F.MaskStore(t + (13 * r), lanes, a13);
        Avx512F.MaskStore(t + (14 * r), lanes, a14);
        Avx512F.MaskStore(t + (15 * r), lanes, a15);
        if (scratch is not null)
        {
            GemmPacking.AddTile(d, t, 16 * r);
        }
    }

    // Where column j of a chunk goes: panel j / nr (panels panelStride floats apart), lane j % nr; nr is 1 << panelShift.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Place(float* row, int j, int panelShift, long panelStride) =>
        row + ((long)(j >> panelShift) * panelStride) + (j & ((1 << panelShift) - 1));

    // Column j's vector: masked (as GemmEpilogue.MaskRelu), stored at its place in the panels, added to the column sums
    // from there: sums + (the stored values), both from memory as in GemmPacking.AddFloats, so that the addition keeps
    // its operands' order (with the vector in a register, the JIT put it first, and a NaN's payload was the new
    // value's where PackB's sums keep the running sum's).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector512.GreaterThan(Vector512.Load(mask + j), Vector512<float>.Zero);
        Vector512.Store(acc, destination);
        if (sums is not null)
        {
            Vector512.Store(Vector512.Load(sums + j) + Vector512.Load(destination), sums + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector256.GreaterThan(Vector256.Load(mask + j), Vector256<float>.Zero);
        Vector256.Store(acc, destination);
        if (sums is not null)
        {
            Vector256.Store(Vector256.Load(sums + j) + Vector256.Load(destination), sums + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> acc, float* mask, float* destination, float* sums, int j)
    {
        acc &= Vector128.GreaterThan(Vector128.Load(mask + j), Vector128<float>.Zero);
        Vector128.Store(acc, destination);
        if (sums is not null)
        {
            Vector128.Store(Vector128.Load(sums + j) + Vector128.Load(destination), sums + j);
        }
    }
}
