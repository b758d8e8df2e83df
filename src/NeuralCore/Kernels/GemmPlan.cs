using System.Runtime.CompilerServices;
namespace NeuralCore.Kernels;

/// <summary>How a product's work is divided among threads.</summary>
internal enum GemmSplit
{
    /// <summary>Blocks of rows and of columns of C, chosen to pack the least.</summary>
    Auto,

    /// <summary>Contiguous blocks of rows of C only (a weight gradient, so each thread writes whole rows).</summary>
    Rows,

    /// <summary>
    /// Runs of k blocks first (a forward product, so each thread reads only its own rows of the weights), then as
    /// <see cref="Auto"/> when there are more threads than k blocks.
    /// </summary>
    Reduction,

    /// <summary>
    /// Contiguous blocks of columns of C only: each thread computes, for every row, the columns of its block, reading
    /// only those columns of B (<see cref="PanelLayout.OwnedColumnSlices"/>).
    /// </summary>
    Columns,
}

/// <summary>
/// How one product is computed: the micro-kernel and its tile, the k blocking, and how C is divided among threads.
/// </summary>
/// <remarks>
/// Only <see cref="Kc"/> and <see cref="KBlocks"/> change the arithmetic: every element of C is one accumulator lane
/// summed over each k block in increasing p, then added to C block after block, in block order. So the partition of
/// the work among threads may depend on the thread count while results stay bitwise identical for every thread count
/// (a block summed by another thread is added in its turn by the reduction phase); the k blocking depends on k alone.
/// </remarks>
internal readonly unsafe struct GemmPlan
{
    // Blocking (docs/benchmarks.md): a kc x NR panel of B (<= 32 KB) stays in L1 while an MC x kc block of A
    // (<= 144 KB) and an kc x NC chunk of packed B (<= 256 KB) share L2 (1-2 MB on the machines measured).
    internal const int KcMax = 256;
    internal const int McMax = 144;
    internal const int NcMax = 256;

    /// <summary>The most rows of any micro-kernel's tile, which with <see cref="MaxNr"/> sizes the scratch tile for ragged edges.</summary>
    internal const int MaxMr = GemmMicroKernels.MaxMr;

    /// <summary>The widest tile of any micro-kernel.</summary>
    internal const int MaxNr = GemmMicroKernels.MaxNr;

    /// <summary>
    /// Multiply-adds a thread must get before another thread is woken for a product. Measured on the 2-core Zen 5
    /// (docs/benchmarks.md): a parallel region's fork and join cost about 1 µs, and a second thread pays off only once
    /// each thread has several times that in work; below this, the product runs on the calling thread alone.
    /// </summary>
    internal const long MinFmaPerThread = 1L << 19;

    public required delegate*<int, float*, int, float*, float*, int, bool, void> Kernel { get; init; }

    /// <summary>
    /// <see cref="Kernel"/> over a list of k steps only (the <c>Steps</c> variant: count, steps, then the same
    /// arguments), for the tiles of a sparse A (<see cref="GemmSteps"/>).
    /// </summary>
    public required delegate*<int, int*, float*, int, float*, float*, int, bool, void> StepsKernel { get; init; }

    /// <summary>
    /// <see cref="Kernel"/> reading a row-major A in place, <c>aStep</c> floats per row (its <c>RowA</c> variant), or
    /// null where the tile has none and A is packed.
    /// </summary>
    public delegate*<int, float*, int, float*, float*, int, bool, void> RowAKernel { get; init; }

    /// <summary>The <c>RowASteps</c> variant of <see cref="RowAKernel"/>; null with it.</summary>
    public delegate*<int, int*, float*, int, float*, float*, int, bool, void> RowAStepsKernel { get; init; }

    public required int Mr { get; init; }

    /// <summary>
    /// The path of <see cref="TailKernel"/>'s narrower tiles, or <see cref="KernelIsa.Scalar"/> where there are none. A
    /// ragged last panel of A (packed, padded to <see cref="Mr"/> rows) is computed by a tile of fewer rows on the 256-
    /// and 128-bit paths, whose 6-row tiles spent on 2 valid rows (the batches of 32 and 128) as long as on 6: a batch
    /// of 32 cost as much as 36 in a 784 x 1024 forward product, 1961 µs against 1680 µs for 30 (AMD EPYC Zen 1, 2 real
    /// cores, one thread, 256-bit).
    /// </summary>
    public KernelIsa TailIsa { get; init; }

    /// <summary>Whether plans made from now on use <see cref="TailKernel"/>'s narrower tiles where they can; tests and benchmarks compare the two (the same bits).</summary>
    internal static bool TailKernelsEnabled { get; set; } = true;

    public required int Nr { get; init; }

    public required int Kc { get; init; }

    public required int KBlocks { get; init; }

    public required int MPanels { get; init; }

    public required int NPanels { get; init; }

    /// <summary>Threads that share the product (1 runs it on the caller).</summary>
    public required int Threads { get; init; }

    /// <summary>Slices of C along rows.</summary>
    public required int RowSlices { get; init; }

    /// <summary>Slices of C along columns.</summary>
    public required int ColumnSlices { get; init; }

    /// <summary>Runs of k blocks, each summed by its own thread (see <see cref="GemmJob"/>); 1 unless asked for.</summary>
    public required int KSlices { get; init; }

    /// <summary>
    /// The tile for a ragged last panel of <paramref name="rows"/> valid rows (fewer than <see cref="Mr"/>) of a packed A:
    /// the narrowest of the <see cref="TailIsa"/> path's tiles that holds them, else <see cref="Kernel"/> itself. Its tile
    /// reads row r of step p at <c>a[p·Mr + r]</c> as the full tile does, so the padded panel needs no other packing, and
    /// every element is the same multiply-adds in the same order.
    /// </summary>
    /// <param name="rows">The panel's valid rows.</param>
    /// <param name="kernel">The tile over every step.</param>
    /// <param name="stepsKernel">Its <c>Steps</c> variant.</param>
    /// <returns>The rows the chosen tile writes.</returns>
    public int TailKernel(int rows, out delegate*<int, float*, int, float*, float*, int, bool, void> kernel,
        out delegate*<int, int*, float*, int, float*, float*, int, bool, void> stepsKernel)
    {
        switch (TailIsa)
        {
            case KernelIsa.Vector256 when rows <= GemmMicroKernels.Vector256x2x16Mr:
                kernel = &GemmMicroKernels.Vector256x2x16;
                stepsKernel = &GemmMicroKernels.Vector256x2x16Steps;
                return GemmMicroKernels.Vector256x2x16Mr;
            case KernelIsa.Vector256 when rows <= GemmMicroKernels.Vector256x4x16Mr:
                kernel = &GemmMicroKernels.Vector256x4x16;
                stepsKernel = &GemmMicroKernels.Vector256x4x16Steps;
                return GemmMicroKernels.Vector256x4x16Mr;
            case KernelIsa.Vector128 when rows <= GemmMicroKernels.Vector128x2x8Mr:
                kernel = &GemmMicroKernels.Vector128x2x8;
                stepsKernel = &GemmMicroKernels.Vector128x2x8Steps;
                return GemmMicroKernels.Vector128x2x8Mr;
            case KernelIsa.Vector128 when rows <= GemmMicroKernels.Vector128x4x8Mr:
                kernel = &GemmMicroKernels.Vector128x4x8;
                stepsKernel = &GemmMicroKernels.Vector128x4x8Steps;
                return GemmMicroKernels.Vector128x4x8Mr;
        }

        kernel = Kernel;
        stepsKernel = StepsKernel;
        return Mr;
    }

    /// <summary>Plans a product.</summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The reduction length.</param>
    /// <param name="isa">The instruction-set path.</param>
    /// <param name="maxThreads">The most threads to use.</param>
    /// <param name="split">How to divide the work among threads.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static GemmPlan Create(int m, int n, int k, KernelIsa isa, int maxThreads, GemmSplit split = GemmSplit.Auto)
    {
        delegate*<int, float*, int, float*, float*, int, bool, void> kernel;
        delegate*<int, int*, float*, int, float*, float*, int, bool, void> steps;
        delegate*<int, float*, int, float*, float*, int, bool, void> rowA = null;
        delegate*<int, int*, float*, int, float*, float*, int, bool, void> rowASteps = null;
        int mr, nr;
        switch (isa)
        {
            // One vector per row with twice the rows keeps a 10-wide output layer at 10/16 useful lanes, not 10/32.
            case KernelIsa.Vector512 when n <= GemmMicroKernels.Vector512x12x16Nr:
                kernel = &GemmMicroKernels.Vector512x12x16;
                steps = &GemmMicroKernels.Vector512x12x16Steps;
                mr = GemmMicroKernels.Vector512x12x16Mr;
                nr = GemmMicroKernels.Vector512x12x16Nr;
                break;

            // 8 or 12 rows of two vectors: 16 or 24 of the 32 zmm registers hold C, enough independent FMA chains to
            // cover the FMA latency on both ports (6 rows reached only ~80% of the probe's peak). 8 rows when they
            // divide m (batches of 32 and 128, 784 features) so no padded rows are computed, else 12.
            case KernelIsa.Vector512 when m % GemmMicroKernels.Vector512x8x32Mr == 0 || m < GemmMicroKernels.Vector512x12x32Mr:
                kernel = &GemmMicroKernels.Vector512x8x32;
                steps = &GemmMicroKernels.Vector512x8x32Steps;
                rowA = &GemmMicroKernels.Vector512x8x32RowA;
                rowASteps = &GemmMicroKernels.Vector512x8x32RowASteps;
                mr = GemmMicroKernels.Vector512x8x32Mr;
                nr = GemmMicroKernels.Vector512x8x32Nr;
                break;
            case KernelIsa.Vector512:
                kernel = &GemmMicroKernels.Vector512x12x32;
                steps = &GemmMicroKernels.Vector512x12x32Steps;
                mr = GemmMicroKernels.Vector512x12x32Mr;
                nr = GemmMicroKernels.Vector512x12x32Nr;
                break;
            case KernelIsa.Vector256:
                kernel = &GemmMicroKernels.Vector256x6x16;
                steps = &GemmMicroKernels.Vector256x6x16Steps;
                rowA = &GemmMicroKernels.Vector256x6x16RowA;
                rowASteps = &GemmMicroKernels.Vector256x6x16RowASteps;
                mr = GemmMicroKernels.Vector256x6x16Mr;
                nr = GemmMicroKernels.Vector256x6x16Nr;
                break;
            case KernelIsa.Vector128:
                kernel = &GemmMicroKernels.Vector128x6x8;
                steps = &GemmMicroKernels.Vector128x6x8Steps;
                mr = GemmMicroKernels.Vector128x6x8Mr;
                nr = GemmMicroKernels.Vector128x6x8Nr;
                break;
            default:
                kernel = &GemmMicroKernels.Scalar4x4;
                steps = &GemmMicroKernels.Scalar4x4Steps;
                mr = GemmMicroKernels.Scalar4x4Mr;
                nr = GemmMicroKernels.Scalar4x4Nr;
                break;
        }

        // Equal k blocks: 784 becomes 4 x 196 rather than 3 x 256 + 16, which would waste a pass over C.
        int kBlocks = (k + KcMax - 1) / KcMax;
        int kc = (k + kBlocks - 1) / kBlocks;
        int mPanels = (m + mr - 1) / mr;
        int nPanels = (n + nr - 1) / nr;

        long fma = (long)m * n * k;
        int threads = (int)Math.Clamp(fma / MinFmaPerThread, 1, Math.Max(1, maxThreads));
        int kSlices = 1;
        if (split == GemmSplit.Reduction && threads > 1 && kBlocks > 1)
        {
            kSlices = Math.Min(threads, kBlocks);
            threads /= kSlices;
        }

        (int rowSlices, int columnSlices) = split switch
        {
            GemmSplit.Rows => (Math.Min(threads, mPanels), 1),
            GemmSplit.Columns => (1, Math.Min(threads, nPanels)),
            _ => Split(threads, mPanels, nPanels, (long)m * k, (long)k * n),
        };
        return new GemmPlan
        {
            Kernel = kernel,
            StepsKernel = steps,
            RowAKernel = rowA,
            RowAStepsKernel = rowASteps,
            Mr = mr,
            Nr = nr,
            TailIsa = TailKernelsEnabled && ((isa == KernelIsa.Vector256 && nr == GemmMicroKernels.Vector256x2x16Nr)
                || (isa == KernelIsa.Vector128 && nr == GemmMicroKernels.Vector128x2x8Nr)) ? isa : KernelIsa.Scalar,
            Kc = kc,
            KBlocks = kBlocks,
            MPanels = mPanels,
            NPanels = nPanels,
            Threads = kSlices * rowSlices * columnSlices,
            RowSlices = rowSlices,
            ColumnSlices = columnSlices,
            KSlices = kSlices,
        };
    }

    /// <summary>
    /// Divides C into <c>rows x columns</c> slices, one per thread, each packing the rows of A and the columns of B it
    /// reads: so a product is one parallel region with no phase boundary, and no thread reads what another packed
    /// (moving a packed block from one core's cache to another's cost more than packing it again on two cores:
    /// docs/benchmarks.md). The division minimizes the total packing, <c>rows·|B| + columns·|A|</c>: with a small
    /// batch as A and a weight matrix as B, C is cut into columns.
    /// </summary>
    private static (int Rows, int Columns) Split(int threads, int mPanels, int nPanels, long aSize, long bSize)
    {
        for (; threads > 1; threads--)
        {
            (int Rows, int Columns) best = (0, 0);
            long bestCost = long.MaxValue;
            for (int rows = 1; rows <= threads; rows++)
            {
                int columns = threads / rows;
                if (rows * columns != threads || rows > mPanels || columns > nPanels)
                {
                    continue;
                }

                long cost = (rows * bSize) + (columns * aSize);
                if (cost < bestCost)
                {
                    (best, bestCost) = ((rows, columns), cost);
                }
            }

            if (best.Rows > 0)
            {
                return best;
            }
        }

        return (1, 1);
    }

    /// <summary>The panels <c>[first, end)</c> of slice <paramref name="slice"/> of <paramref name="slices"/> over <paramref name="panels"/>.</summary>
    public static (int First, int End) Slice(int panels, int slices, int slice) =>
        ((int)((long)panels * slice / slices), (int)((long)panels * (slice + 1) / slices));
}
