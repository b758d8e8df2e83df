using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// Single-precision matrix multiplication: packed panels, register-blocked SIMD micro-kernels and a parallel
/// driver that splits C into tiles.
/// </summary>
/// <remarks>
/// A dense layer with weights <c>W[in, out]</c> needs three products, all expressed by <see cref="Multiply"/>:
/// forward <c>Y = X·W</c>; input gradient <c>dX = dY·Wᵀ</c> (<c>transposeB</c>); weight gradient
/// <c>dW += Xᵀ·dY</c> (<c>transposeA</c>, <c>accumulate</c>). Results are bitwise identical for every
/// <see cref="Parallelism.DegreeOfParallelism"/>: tiles follow the shape alone and the reduction is never split.
/// </remarks>
public static unsafe class Gemm
{
    // Blocking (docs/benchmarks.md): a kc x NR panel of B (<= 32 KB) stays in a 32-48 KB L1 while the MC x kc block
    // of A (<= 144 KB) stays in L2, on the Xeon (48 KB L1, 2 MB L2) we measure on and on Zen 4 (32 KB, 1 MB) alike.
    internal const int KcMax = 256;
    internal const int McMax = 144;
    internal const int NcMax = 256;

    // Below this many multiply-adds, waking workers costs more than it saves.
    internal const long MinFmaPerThread = 1L << 18;

    // Tasks are split until there are this many (enough to balance 16 threads) or they would get too small.
    internal const int TargetTasks = 32;
    internal const long MinFmaPerTask = 1L << 20;

    [ThreadStatic]
    private static GemmJob? t_job;

    /// <summary>
    /// Computes <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> when <paramref name="accumulate"/> is true, for
    /// row-major matrices: <c>C[i,j] (+)= Σ_p op(A)[i,p]·op(B)[p,j]</c>. Allocates nothing after the first call on a thread.
    /// </summary>
    /// <param name="a">op(A) is <c>[m, k]</c>: <paramref name="a"/> holds <c>[m, k]</c>, or <c>[k, m]</c> when <paramref name="transposeA"/>.</param>
    /// <param name="b">op(B) is <c>[k, n]</c>: <paramref name="b"/> holds <c>[k, n]</c>, or <c>[n, k]</c> when <paramref name="transposeB"/>.</param>
    /// <param name="c">The <c>[m, n]</c> destination; only its first <c>m·n</c> elements are touched.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">The reduction length; 0 gives C = 0 (or leaves C as is when accumulating).</param>
    /// <param name="transposeA">Whether <paramref name="a"/> is stored transposed.</param>
    /// <param name="transposeB">Whether <paramref name="b"/> is stored transposed.</param>
    /// <param name="accumulate">Add to <paramref name="c"/> instead of overwriting it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    public static void Multiply(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) =>
        MultiplyOn(GemmIsaSupport.Best, a, b, c, m, n, k, transposeA, transposeB, accumulate);

    /// <summary>As the public overload, on an explicit instruction-set path (tests and benchmarks).</summary>
    internal static void MultiplyOn(
        GemmIsa isa, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false)
    {
        Validate(a, b, c, m, n, k);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }

            return;
        }

        var plan = GemmPlan.Create(m, n, k, isa);
        long fma = (long)m * n * k;
        int threads = (int)Math.Clamp(fma / MinFmaPerThread, 1, plan.Tasks);

        fixed (float* pa = a, pb = b, pc = c)
        {
            GemmJob job = t_job ??= new GemmJob();
            job.Set(plan, pa, pb, pc, m, n, k, transposeA, transposeB, accumulate);
            try
            {
                job.Packing = true;
                Run(job, job.PackItems, threads);
                job.Packing = false;
                Run(job, plan.Tasks, threads);
            }
            finally
            {
                job.Clear();
            }
        }
    }

    private static void Run(GemmJob job, int items, int threads)
    {
        if (threads == 1)
        {
            for (int i = 0; i < items; i++)
            {
                job.Execute(i);
            }
        }
        else
        {
            WorkerPool.Run(job, items, threads);
        }
    }

    internal static void Validate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, int m, int n, int k)
    {
        ThrowHelper.CheckNonNegative(m, nameof(m));
        ThrowHelper.CheckNonNegative(n, nameof(n));
        ThrowHelper.CheckNonNegative(k, nameof(k));
        long aLength = (long)m * k, bLength = (long)k * n, cLength = (long)m * n;
        ThrowHelper.CheckLength(a.Length, aLength, nameof(a));
        ThrowHelper.CheckLength(b.Length, bLength, nameof(b));
        ThrowHelper.CheckLength(c.Length, cLength, nameof(c));
        ReadOnlySpan<float> used = c[..(int)cLength];
        if (used.Overlaps(a[..(int)aLength]))
        {
            ThrowHelper.ThrowOverlap(nameof(c), nameof(a));
        }

        if (used.Overlaps(b[..(int)bLength]))
        {
            ThrowHelper.ThrowOverlap(nameof(c), nameof(b));
        }
    }
}

/// <summary>The tiling of one product; a function of the shape and the path only, never of the thread count.</summary>
internal readonly unsafe struct GemmPlan
{
    public required delegate*<int, float*, float*, float*, int, bool, void> Kernel { get; init; }
    public required int Mr { get; init; }
    public required int Nr { get; init; }
    public required int Kc { get; init; }
    public required int KBlocks { get; init; }
    public required int MBlockPanels { get; init; }
    public required int NBlockPanels { get; init; }
    public required int MBlocks { get; init; }
    public required int NBlocks { get; init; }

    public int Tasks => MBlocks * NBlocks;

    public static GemmPlan Create(int m, int n, int k, GemmIsa isa)
    {
        delegate*<int, float*, float*, float*, int, bool, void> kernel;
        int mr, nr;
        switch (isa)
        {
            // One vector per row with twice the rows keeps a 10-wide output layer at 10/16 useful lanes, not 10/32.
            case GemmIsa.Vector512 when n <= 16:
                kernel = &GemmMicroKernels.Vector512x12x16;
                mr = 12;
                nr = 16;
                break;
            // 8 or 12 rows of two vectors: 16 or 24 of the 32 zmm registers hold C, enough independent FMA chains to
            // cover the FMA latency on both ports (6 rows reached only ~80% of the probe's peak). 8 rows when they
            // divide m (batches of 32 and 128, 784 features) so no padded rows are computed, else 12.
            case GemmIsa.Vector512 when m % 8 == 0 || m < 12:
                kernel = &GemmMicroKernels.Vector512x8x32;
                mr = 8;
                nr = 32;
                break;
            case GemmIsa.Vector512:
                kernel = &GemmMicroKernels.Vector512x12x32;
                mr = 12;
                nr = 32;
                break;
            case GemmIsa.Vector256:
                kernel = &GemmMicroKernels.Vector256x6x16;
                mr = 6;
                nr = 16;
                break;
            case GemmIsa.Vector128:
                kernel = &GemmMicroKernels.Vector128x6x8;
                mr = 6;
                nr = 8;
                break;
            default:
                kernel = &GemmMicroKernels.Scalar4x4;
                mr = 4;
                nr = 4;
                break;
        }

        // Equal k blocks: 784 becomes 4 x 196 rather than 3 x 256 + 16, which would waste a pass over C.
        int kBlocks = (k + Gemm.KcMax - 1) / Gemm.KcMax;
        int kc = (k + kBlocks - 1) / kBlocks;

        int mPanels = (m + mr - 1) / mr;
        int nPanels = (n + nr - 1) / nr;
        int mbp = Math.Min(mPanels, Gemm.McMax / mr);
        int nbp = Math.Min(nPanels, Gemm.NcMax / nr);
        while (true)
        {
            int tasks = Blocks(mPanels, mbp) * Blocks(nPanels, nbp);
            long taskFma = (long)mbp * mr * nbp * nr * k;
            if (tasks >= Gemm.TargetTasks || taskFma < Gemm.MinFmaPerTask)
            {
                break;
            }

            if (nbp > 1)
            {
                nbp = (nbp + 1) / 2;
            }
            else if (mbp > 1)
            {
                mbp = (mbp + 1) / 2;
            }
            else
            {
                break;
            }
        }

        return new GemmPlan
        {
            Kernel = kernel,
            Mr = mr,
            Nr = nr,
            Kc = kc,
            KBlocks = kBlocks,
            MBlockPanels = mbp,
            NBlockPanels = nbp,
            MBlocks = Blocks(mPanels, mbp),
            NBlocks = Blocks(nPanels, nbp),
        };
    }

    private static int Blocks(int panels, int perBlock) => (panels + perBlock - 1) / perBlock;
}

/// <summary>
/// One product in flight. Phase 1 packs all of A once into a buffer the tasks share; phase 2 runs the tiles of C,
/// each packing its own block of B.
/// </summary>
internal sealed unsafe class GemmJob : IParallelWork
{
    // Phase 1 items pack this many MR panels of one k block each.
    private const int PackPanelsPerItem = 8;

    private GemmPlan _plan;
    private float* _a;
    private float* _b;
    private float* _c;
    private float* _packedA;
    private int _m;
    private int _n;
    private int _k;
    private int _mPanels;
    private int _packItemsPerBlock;
    private bool _transposeA;
    private bool _transposeB;
    private bool _accumulate;
    private bool _packing;

    public void Set(in GemmPlan plan, float* a, float* b, float* c, int m, int n, int k,
        bool transposeA, bool transposeB, bool accumulate)
    {
        _plan = plan;
        _a = a;
        _b = b;
        _c = c;
        (_m, _n, _k) = (m, n, k);
        (_transposeA, _transposeB, _accumulate) = (transposeA, transposeB, accumulate);
        _mPanels = (m + plan.Mr - 1) / plan.Mr;
        _packItemsPerBlock = (_mPanels + PackPanelsPerItem - 1) / PackPanelsPerItem;
        _packedA = PackBuffers.SharedA((long)_mPanels * plan.Mr * k);
    }

    /// <summary>Work items of phase 1 (packing A).</summary>
    public int PackItems => _packItemsPerBlock * _plan.KBlocks;

    /// <summary>Selects the phase that <see cref="Execute"/> runs.</summary>
    public bool Packing
    {
        set => _packing = value;
    }

    public void Clear()
    {
        _a = null;
        _b = null;
        _c = null;
        _packedA = null;
    }

    public void Execute(int index)
    {
        if (_packing)
        {
            int kb = index / _packItemsPerBlock;
            int firstPanel = index % _packItemsPerBlock * PackPanelsPerItem;
            int row0 = firstPanel * _plan.Mr;
            int rows = Math.Min(PackPanelsPerItem * _plan.Mr, _m - row0);
            int p0 = kb * _plan.Kc;
            int kc = Math.Min(_plan.Kc, _k - p0);
            PackA(PackedBlock(kb) + ((long)row0 * kc), row0, rows, p0, kc, _plan.Mr);
        }
        else
        {
            ComputeTile(index);
        }
    }

    // The packed k block kb holds every MR panel of A for columns [kb*Kc, kb*Kc + kc).
    private float* PackedBlock(int kb) => _packedA + ((long)kb * _plan.Kc * _mPanels * _plan.Mr);

    private void ComputeTile(int index)
    {
        ref readonly GemmPlan plan = ref _plan;
        int mr = plan.Mr, nr = plan.Nr;
        int row0 = index / plan.NBlocks * plan.MBlockPanels * mr;
        int col0 = index % plan.NBlocks * plan.NBlockPanels * nr;
        int rows = Math.Min(plan.MBlockPanels * mr, _m - row0);
        int cols = Math.Min(plan.NBlockPanels * nr, _n - col0);
        float* bp = PackBuffers.B;
        float* scratch = PackBuffers.Tile;

        // B is always packed: reading a row-major B in place (kc rows n floats apart) measured 20-40% slower than
        // copying each kc x NR panel into contiguous memory first (docs/benchmarks.md).
        for (int kb = 0; kb < plan.KBlocks; kb++)
        {
            int p0 = kb * plan.Kc;
            int kc = Math.Min(plan.Kc, _k - p0);
            float* ap = PackedBlock(kb) + ((long)row0 * kc);
            PackB(bp, col0, cols, p0, kc, nr);
            bool add = _accumulate || kb > 0;
            for (int jr = 0; jr < cols; jr += nr)
            {
                float* bPanel = bp + ((long)jr * kc);
                float* cColumn = _c + ((long)row0 * _n) + col0 + jr;
                int nValid = Math.Min(nr, cols - jr);
                for (int ir = 0; ir < rows; ir += mr)
                {
                    int mValid = Math.Min(mr, rows - ir);
                    float* cTile = cColumn + ((long)ir * _n);
                    if (mValid == mr && nValid == nr)
                    {
                        plan.Kernel(kc, ap + ((long)ir * kc), bPanel, cTile, _n, add);
                    }
                    else
                    {
                        // The same FMA chains into a full scratch tile, then only the valid corner into C.
                        plan.Kernel(kc, ap + ((long)ir * kc), bPanel, scratch, nr, false);
                        GemmMicroKernels.StoreEdge(scratch, nr, cTile, _n, add, mValid, nValid);
                    }
                }
            }
        }
    }

    // Panel q of A holds rows [q*mr, q*mr + mr) as kc steps of mr values; rows past the matrix are zero.
    private void PackA(float* dst, int row0, int rows, int p0, int kc, int mr)
    {
        for (int ir = 0; ir < rows; ir += mr)
        {
            int valid = Math.Min(mr, rows - ir);
            float* panel = dst + ((long)ir * kc);
            if (_transposeA)
            {
                // A is stored [k, m]: each step's mr values are contiguous.
                float* src = _a + ((long)p0 * _m) + row0 + ir;
                if (valid == 8 && mr == 8 && Vector256.IsHardwareAccelerated)
                {
                    for (int p = 0; p < kc; p++, src += _m, panel += 8)
                    {
                        Vector256.Store(Vector256.Load(src), panel);
                    }

                    continue;
                }

                for (int p = 0; p < kc; p++, src += _m, panel += mr)
                {
                    int r = 0;
                    for (; r < valid; r++)
                    {
                        panel[r] = src[r];
                    }

                    for (; r < mr; r++)
                    {
                        panel[r] = 0f;
                    }
                }
            }
            else if (valid == 8 && mr == 8 && PackKernels.CanTransposeRows8)
            {
                PackKernels.TransposeRows8(panel, _a + ((long)(row0 + ir) * _k) + p0, _k, kc);
            }
            else
            {
                for (int r = 0; r < mr; r++)
                {
                    if (r < valid)
                    {
                        float* src = _a + ((long)(row0 + ir + r) * _k) + p0;
                        for (int p = 0; p < kc; p++)
                        {
                            panel[(p * mr) + r] = src[p];
                        }
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            panel[(p * mr) + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    // Panel q of B holds columns [q*nr, q*nr + nr) as kc steps of nr values; columns past the matrix are zero.
    private void PackB(float* dst, int col0, int cols, int p0, int kc, int nr)
    {
        for (int jr = 0; jr < cols; jr += nr)
        {
            int valid = Math.Min(nr, cols - jr);
            float* panel = dst + ((long)jr * kc);
            if (_transposeB)
            {
                // B is stored [n, k]: a column of op(B) is a contiguous row of b.
                for (int j = 0; j < nr; j++)
                {
                    if (j < valid)
                    {
                        float* src = _b + ((long)(col0 + jr + j) * _k) + p0;
                        for (int p = 0; p < kc; p++)
                        {
                            panel[(p * nr) + j] = src[p];
                        }
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            panel[(p * nr) + j] = 0f;
                        }
                    }
                }
            }
            else
            {
                float* src = _b + ((long)p0 * _n) + col0 + jr;
                int bytes = valid * sizeof(float);
                for (int p = 0; p < kc; p++, src += _n, panel += nr)
                {
                    Unsafe.CopyBlockUnaligned(panel, src, (uint)bytes);
                    if (valid < nr)
                    {
                        new Span<float>(panel + valid, nr - valid).Clear();
                    }
                }
            }
        }
    }
}

/// <summary>Per-thread packing buffers, pinned and 64-byte aligned; they grow once and are then reused.</summary>
internal static unsafe class PackBuffers
{
    private const int AlignFloats = 16;

    [ThreadStatic]
    private static float[]? t_sharedA;

    [ThreadStatic]
    private static float[]? t_b;

    [ThreadStatic]
    private static float[]? t_tile;

    /// <summary>A scratch tile for ragged edges, as large as the largest micro-tile (12 x 32).</summary>
    public static float* Tile => Aligned(t_tile ??= Allocate(12 * 32));

    /// <summary>The calling thread's buffer for all of A, grown (never shrunk) to <paramref name="length"/> floats.</summary>
    public static float* SharedA(long length)
    {
        if (t_sharedA is null || t_sharedA.Length - AlignFloats < length)
        {
            t_sharedA = Allocate(checked((int)length));
        }

        return Aligned(t_sharedA);
    }

    public static float* B => Aligned(t_b ??= Allocate(Gemm.KcMax * Gemm.NcMax));

    private static float[] Allocate(int length) =>
        GC.AllocateUninitializedArray<float>(length + AlignFloats, pinned: true);

    private static float* Aligned(float[] array)
    {
        // The array lives on the pinned object heap, so its address is stable.
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((start + 63) & ~(nint)63);
    }
}
