using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

/// <summary>
/// Copies blocks of A and B into the panel layouts the micro-kernels read. Packing only moves values, never changes
/// one, so every path here gives the same bits; the vector paths exist because packing is pure overhead.
/// </summary>
/// <remarks>
/// A panel holds <c>mr</c> rows of op(A) as <c>kc</c> steps of <c>mr</c> values: <c>panel[p·mr + r] = op(A)[row0 + r, p0 + p]</c>.
/// A B panel holds <c>nr</c> columns of op(B) as <c>kc</c> steps of <c>nr</c> values:
/// <c>panel[p·nr + j] = op(B)[p0 + p, col0 + j]</c>. Rows and columns past the matrix are zero, so ragged edges
/// run the same full-tile kernel.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows <c>[row0, row0 + rows)</c> of op(A), steps <c>[p0, p0 + kc)</c>, as consecutive mr-panels at
    /// <paramref name="dst"/> (panel q at <c>dst + q·mr·kc</c>). <paramref name="a"/> is <c>[m, k]</c>, or <c>[k, m]</c> when
    /// <paramref name="transposed"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* dst, float* a, int m, int k, bool transposed, int row0, int rows, int p0, int kc, int mr)
    {
        for (int ir = 0; ir < rows; ir += mr)
        {
            int valid = Math.Min(mr, rows - ir);
            float* panel = dst + ((long)ir * kc);
            if (transposed)
            {
                // A is stored [k, m]: a step's mr values are contiguous in one row of a.
                CopySteps(panel, a + ((long)p0 * m) + row0 + ir, m, kc, valid, mr);
            }
            else
            {
                TransposeRows(panel, a + ((long)(row0 + ir) * k) + p0, k, kc, valid, mr);
            }
        }
    }

    /// <summary>
    /// Packs columns <c>[col0, col0 + cols)</c> of op(B), steps <c>[p0, p0 + kc)</c>, as consecutive nr-panels at
    /// <paramref name="dst"/> (panel q at <c>dst + q·nr·kc</c>). <paramref name="b"/> is <c>[k, n]</c>, or <c>[n, k]</c> when
    /// <paramref name="transposed"/>. When <paramref name="sums"/> is not null (B not transposed), the packed values
    /// are also added to it column by column, rows in increasing order: <c>sums[j] += op(B)[p, col0 + j]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(float* dst, float* b, int n, int k, bool transposed, int col0, int cols, int p0, int kc, int nr, float* sums = null)
    {
        if (transposed)
        {
            // B is stored [n, k]: a column of op(B) is a contiguous row of b, so each panel is a transpose.
            for (int jr = 0; jr < cols; jr += nr)
            {
                TransposeRows(dst + ((long)jr * kc), b + ((long)(col0 + jr) * k) + p0, k, kc, Math.Min(nr, cols - jr), nr);
            }

            return;
        }

        // Row by row across all panels, so that memory is read in long contiguous runs (the rows of a weight matrix
        // are 4 KB apart: reading one panel at a time touched a new page every 128 bytes and left the prefetchers
        // idle).
        int fullPanels = cols / nr;
        int tail = cols - (fullPanels * nr);
        float* src = b + ((long)p0 * n) + col0;
        long panelStride = (long)nr * kc;
        for (int p = 0; p < kc; p++, src += n)
        {
            if (sums is not null)
            {
                AddFloats(sums, src, cols);
            }

            float* row = dst + ((long)p * nr);
            for (int q = 0; q < fullPanels; q++)
            {
                CopyFloats(row + (q * panelStride), src + (q * nr), nr);
            }

            if (tail > 0)
            {
                float* last = row + (fullPanels * panelStride);
                CopyFloats(last, src + (fullPanels * nr), tail);
                new Span<float>(last + tail, nr - tail).Clear();
            }
        }
    }

    // dst[p·width + r] = src[p·ld + r] for r < valid, zero for valid ≤ r < width.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopySteps(float* dst, float* src, long ld, int kc, int valid, int width)
    {
        for (int p = 0; p < kc; p++, src += ld, dst += width)
        {
            CopyFloats(dst, src, valid);
            for (int r = valid; r < width; r++)
            {
                dst[r] = 0f;
            }
        }
    }

    // dst[p·width + r] = src[r·ld + p] for r < valid, zero for valid ≤ r < width: rows of src become steps.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransposeRows(float* dst, float* src, long ld, int kc, int valid, int width)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            // 8x8 register transposes: 8 vector stores instead of 64 scalar ones.
            for (; r + 8 <= valid; r += 8)
            {
                Transpose8(dst + r, width, src + (r * ld), ld, kc);
            }
        }

        if (Sse.IsSupported)
        {
            for (; r + 4 <= valid; r += 4)
            {
                Transpose4(dst + r, width, src + (r * ld), ld, kc);
            }
        }

        for (; r < width; r++)
        {
            float* d = dst + r;
            if (r < valid)
            {
                float* s = src + (r * ld);
                for (int p = 0; p < kc; p++)
                {
                    d[p * width] = s[p];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    d[p * width] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Writes 8 rows of <paramref name="kc"/> values (row r at <c>src + r·ld</c>) as kc steps of 8 values,
    /// <paramref name="stride"/> apart: <c>dst[p·stride + r] = src[r·ld + p]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8(float* dst, int stride, float* src, long ld, int kc)
    {
        float* s0 = src, s1 = src + ld, s2 = src + (2 * ld), s3 = src + (3 * ld);
        float* s4 = src + (4 * ld), s5 = src + (5 * ld), s6 = src + (6 * ld), s7 = src + (7 * ld);
        int p = 0;
        for (; p + 8 <= kc; p += 8, dst += 8 * stride)
        {
            Vector256<float> t0 = Avx.UnpackLow(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p));
            Vector256<float> t1 = Avx.UnpackHigh(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p));
            Vector256<float> t2 = Avx.UnpackLow(Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
            Vector256<float> t3 = Avx.UnpackHigh(Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
            Vector256<float> t4 = Avx.UnpackLow(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p));
            Vector256<float> t5 = Avx.UnpackHigh(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p));
            Vector256<float> t6 = Avx.UnpackLow(Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));
            Vector256<float> t7 = Avx.UnpackHigh(Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));

            // Per 128-bit lane, u0 holds column 0 (and 4) of rows 0-3, u1 column 1 (and 5), and so on.
            Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
            Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
            Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);

            Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
            Avx.Store(dst + stride, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(dst + (2 * stride), Avx.Permute2x128(u2, u6, 0x20));
            Avx.Store(dst + (3 * stride), Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(dst + (4 * stride), Avx.Permute2x128(u0, u4, 0x31));
            Avx.Store(dst + (5 * stride), Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(dst + (6 * stride), Avx.Permute2x128(u2, u6, 0x31));
            Avx.Store(dst + (7 * stride), Avx.Permute2x128(u3, u7, 0x31));
        }

        for (; p < kc; p++, dst += stride)
        {
            dst[0] = s0[p];
            dst[1] = s1[p];
            dst[2] = s2[p];
            dst[3] = s3[p];
            dst[4] = s4[p];
            dst[5] = s5[p];
            dst[6] = s6[p];
            dst[7] = s7[p];
        }
    }

    /// <summary>As <see cref="Transpose8"/> for 4 rows, with 4x4 SSE transposes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4(float* dst, int stride, float* src, long ld, int kc)
    {
        float* s0 = src, s1 = src + ld, s2 = src + (2 * ld), s3 = src + (3 * ld);
        int p = 0;
        for (; p + 4 <= kc; p += 4, dst += 4 * stride)
        {
            Vector128<float> r0 = Sse.LoadVector128(s0 + p), r1 = Sse.LoadVector128(s1 + p);
            Vector128<float> r2 = Sse.LoadVector128(s2 + p), r3 = Sse.LoadVector128(s3 + p);
            Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackHigh(r0, r1);
            Vector128<float> t2 = Sse.UnpackLow(r2, r3), t3 = Sse.UnpackHigh(r2, r3);
            Sse.Store(dst, Sse.MoveLowToHigh(t0, t2));
            Sse.Store(dst + stride, Sse.MoveHighToLow(t2, t0));
            Sse.Store(dst + (2 * stride), Sse.MoveLowToHigh(t1, t3));
            Sse.Store(dst + (3 * stride), Sse.MoveHighToLow(t3, t1));
        }

        for (; p < kc; p++, dst += stride)
        {
            dst[0] = s0[p];
            dst[1] = s1[p];
            dst[2] = s2[p];
            dst[3] = s3[p];
        }
    }

    /// <summary>
    /// Writes the valid <c>mr x nr</c> corner of a full tile computed into <paramref name="t"/>:
    /// <c>C = t</c>, or <c>C = C + t</c> when <paramref name="add"/> (the same addition a full tile makes). A 10-wide
    /// output layer stores every tile this way, so the rows are copied with vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StoreEdge(float* t, int ldt, float* c, int ldc, bool add, int mr, int nr)
    {
        for (int r = 0; r < mr; r++, t += ldt, c += ldc)
        {
            if (add)
            {
                AddTile(c, t, nr);
            }
            else
            {
                CopyFloats(c, t, nr);
            }
        }
    }

    /// <summary>
    /// <c>c[j] = t[j] + c[j]</c>: a finished sum added to C with its operands in the micro-kernels' order
    /// (<c>acc + C</c>), so that even the payload of a NaN does not depend on which path stored a tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTile(float* c, float* t, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Vector512.Load(t + i) + Vector512.Load(c + i), c + i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                Vector256.Store(Vector256.Load(t + i) + Vector256.Load(c + i), c + i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= count; i += 4)
            {
                Vector128.Store(Vector128.Load(t + i) + Vector128.Load(c + i), c + i);
            }
        }

        for (; i < count; i++)
        {
            c[i] = t[i] + c[i];
        }
    }

    /// <summary><c>sums[j] += src[j]</c> for j &lt; <paramref name="count"/>; one addition per element at any width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddFloats(float* sums, float* src, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Vector512.Load(sums + i) + Vector512.Load(src + i), sums + i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                Vector256.Store(Vector256.Load(sums + i) + Vector256.Load(src + i), sums + i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= count; i += 4)
            {
                Vector128.Store(Vector128.Load(sums + i) + Vector128.Load(src + i), sums + i);
            }
        }

        for (; i < count; i++)
        {
            sums[i] += src[i];
        }
    }

    /// <summary>Copies <paramref name="count"/> floats with the widest vectors available (no call for short runs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyFloats(float* dst, float* src, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Vector512.Load(src + i), dst + i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                Vector256.Store(Vector256.Load(src + i), dst + i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= count; i += 4)
            {
                Vector128.Store(Vector128.Load(src + i), dst + i);
            }
        }

        for (; i < count; i++)
        {
            dst[i] = src[i];
        }
    }
}
