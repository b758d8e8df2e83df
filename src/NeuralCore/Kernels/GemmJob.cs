using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// One product in flight. Item i of the compute phase covers slice i of the work (<see cref="GemmPlan"/>): a block
/// of rows, a block of columns and a run of k blocks. It packs the part of A it reads into its own thread's buffer (or,
/// for full 8 x 32 tiles of a row-major A, reads it in place) and B chunk by chunk. When the k blocks are divided among
/// slices, the later slices leave each block's sum in a partial buffer and a reduction phase adds them to C in block
/// order, then applies the epilogue. For a sparse A (a batch of images) each tile can run over the k steps at which its
/// rows of A are not all zero only (<see cref="GemmSteps"/>). Where threads own blocks of columns, each can go on with
/// its k blocks of the narrow product above (<see cref="GemmNarrow.OwnedUpper"/>); where the reduction phase divides
/// the rows, each thread can go on with those rows of the narrow product above (<see cref="GemmNarrow.RowsAbove"/>).
/// </summary>
internal sealed unsafe class GemmJob : IParallelWork
{
    private GemmPlan _plan;
    private GemmEpilogue _epilogue;
    private GemmMaskedProduct _productB;
    private GemmNarrow.OwnedUpper _upper;
    private GemmNarrow.RowsAbove _rowsAbove;
    private PanelLayout _cLayout;
    private float* _a;
    private float* _b;
    private float* _c;
    private float* _columnSums;
    private float* _partials;
    private float* _packedB;
    private long _packedStride;
    private int _m;
    private int _n;
    private int _k;
    private int _firstPartialBlock;
    private bool _transposeA;
    private bool _transposeB;
    private bool _accumulate;
    private bool _reducing;
    private bool _directA;
    private bool _rowMajorA;
    private bool _skipZeroA;
    private int _parts;
    private long _stamp;

    // One stamp a product, so that lists a thread kept for one are never taken for another's.
    private static long s_stamps;

    /// <summary>
    /// Whether a row-major A is read in place by the tiles that can (<see cref="GemmPlan.RowAKernel"/>: 8 x 32 and 6 x 16)
    /// instead of packed; tests and benchmarks compare the two (the same bits).
    /// </summary>
    internal static bool RowMajorAInPlace { get; set; } = true;

    /// <summary>
    /// Describes the product; <paramref name="packedB"/>, when not null, holds B already packed for this plan's tile
    /// width and k blocking (<see cref="PackedMatrix"/>, <paramref name="packedStride"/> floats per row of a k block),
    /// and no chunk of B is packed.
    /// </summary>
    public void Set(in GemmPlan plan, float* a, float* b, float* c, int m, int n, int k,
        bool transposeA, bool transposeB, bool accumulate, in GemmEpilogue epilogue, float* columnSums,
        float* packedB = null, long packedStride = 0, in GemmMaskedProduct productB = default, in PanelLayout cLayout = default,
        bool skipZeroA = false, in GemmNarrow.OwnedUpper upper = default, in GemmNarrow.RowsAbove rowsAbove = default)
    {
        _skipZeroA = skipZeroA;
        _upper = upper;
        _rowsAbove = rowsAbove;
        _productB = productB;
        _cLayout = cLayout;
        _plan = plan;
        _epilogue = epilogue;
        _a = a;
        _b = b;
        _c = c;
        _columnSums = columnSums;
        _packedB = packedB;
        _packedStride = packedStride;
        (_m, _n, _k) = (m, n, k);
        (_transposeA, _transposeB, _accumulate) = (transposeA, transposeB, accumulate);
        _reducing = false;
        _partials = null;

        // A transposed A ([k, m]) already holds each step's MR values side by side: full panels are read in place,
        // kc rows of A apart, and only a ragged last panel is packed (reading it in place would run past A's rows).
        _directA = transposeA;

        // A row-major A (a batch, in a forward product) is read in place, one pointer per row of the tile: packing it
        // took 4 µs a step of each thread at 784-512-10, batch 128 on two threads, 0.8% of the step (AMD EPYC Zen 5,
        // 2 real cores, 8 x 32 tile), and 1.7% of a one-thread epoch at 784-1024-10, batch 128, 3.4% of a two-thread one
        // (AMD EPYC Zen 1, AVX2, 2 real cores, 6 x 16 tile), since every thread that shares a product packs all of A.
        _rowMajorA = RowMajorAInPlace && !transposeA && plan.RowAKernel != null && !cLayout.IsValid;
        _parts = Parts(plan, _directA || _rowMajorA, upper.IsEmpty);
        _stamp = Interlocked.Increment(ref s_stamps);
        _firstPartialBlock = plan.KBlocks;
        if (plan.KSlices > 1)
        {
            // Blocks from the second k slice on are summed apart, one buffer each.
            _firstPartialBlock = GemmPlan.Slice(plan.KBlocks, plan.KSlices, 0).End;
            _partials = GemmBuffers.Partials((long)(plan.KBlocks - _firstPartialBlock) * m * n);
        }
    }

    /// <summary>The most parts a slice's columns are cut into (<see cref="Items"/>).</summary>
    internal const int MaxParts = 4;

    /// <summary>The fewest panels of a part (<see cref="Items"/>).</summary>
    internal const int MinPanelsPerPart = 4;

    /// <summary>
    /// The items of the compute phase: each thread's slice, its columns cut into parts of at least four panels where A
    /// is read in place (a part packs only its own chunks of B, no more than its slice did), so that a thread that
    /// finishes its own parts takes the ones another has not started. With one item a thread, a step waited for the
    /// slower of two vCPUs whenever the host slowed one (FMA probe 32.6 and 21.5 GFLOP/s pinned to each at once; a
    /// two-thread step at 784-512-10, batch 32, then took 3.0 ms against 1.38 ms when the host was quiet, no faster
    /// than one thread: AMD EPYC Zen 1, 2 real cores). Each tile is computed the same way whatever item holds it,
    /// and a part of several panels lists a sparse A's steps as its slice did, so results do not change.
    /// </summary>
    public int Items => _plan.Threads * _parts;

    internal static int Parts(in GemmPlan plan, bool aInPlace, bool noUpper)
    {
        if (plan.Threads < 2 || plan.KSlices != 1 || !aInPlace || !noUpper)
        {
            return 1;
        }

        // The narrowest slice decides: every slice is cut into the same number of parts, of four panels or more. Each
        // part reads all its slice's rows of A: parts of two panels made 784-128-10's two-thread step at batch 128 read
        // its batch twice, 5-9% slower (AMD EPYC Zen 1, 2 real cores).
        int panels = plan.NPanels / plan.ColumnSlices;
        return Math.Clamp(panels / MinPanelsPerPart, 1, MaxParts);
    }

    /// <summary>Switches <see cref="Execute"/> to the reduction phase: items are blocks of rows of C.</summary>
    public void BeginReduction() => _reducing = true;

    public void Clear()
    {
        _a = null;
        _b = null;
        _c = null;
        _columnSums = null;
        _partials = null;
        _packedB = null;
        _productB = default;
        _upper = default;
        _rowsAbove = default;
        _cLayout = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index)
    {
        ref readonly GemmPlan plan = ref _plan;
        if (_reducing)
        {
            (int first, int end) = GemmPlan.Slice(_m, plan.Threads, index);
            Reduce(first, end);
            if (!_rowsAbove.IsEmpty)
            {
                // The rows of C this thread has just finished, in its cache: the layer above reads them here.
                _rowsAbove.Compute(_c, _m, first, end);
            }

            return;
        }

        // Item i is part i / slices of slice i % slices: WorkerPool gives participant p items p, p + T, …, so each
        // thread starts with its own slice's parts in order.
        int slices = plan.RowSlices * plan.ColumnSlices;
        int slice = index % slices;
        int kSlice = _parts > 1 ? 0 : index / slices;
        int rowSlice = slice / plan.ColumnSlices;
        (int rowFirst, int rowEnd) = GemmPlan.Slice(plan.MPanels, plan.RowSlices, rowSlice);
        (int colFirst, int colEnd) = GemmPlan.Slice(plan.NPanels, plan.ColumnSlices, slice % plan.ColumnSlices);
        if (_parts > 1)
        {
            (int partFirst, int partEnd) = GemmPlan.Slice(colEnd - colFirst, _parts, index / slices);
            (colFirst, colEnd) = (colFirst + partFirst, colFirst + partEnd);
        }

        (int kbFirst, int kbEnd) = GemmPlan.Slice(plan.KBlocks, plan.KSlices, kSlice);
        float* packedA = GemmBuffers.A(PackedALength);
        PackARows(packedA, rowFirst, rowEnd, kbFirst, kbEnd);

        // Of several slices over the same columns, the first takes their sums.
        ComputeSlice(packedA, rowFirst, rowEnd, colFirst, colEnd, kbFirst, kbEnd, rowSlice == 0 ? _columnSums : null, rowSlice);
        if (!_upper.IsEmpty)
        {
            // A slice of whole columns of C (the Columns split): the narrow product above reads them here, finished.
            _upper.Compute(_c, _m, colFirst * plan.Nr, Math.Min(colEnd * plan.Nr, _n));
        }
    }

    private long PackedALength => (long)_plan.MPanels * _plan.Mr * _k;

    // The packed k block kb holds every MR panel of A for columns [kb*Kc, kb*Kc + kc).
    private float* PackedBlock(float* packedA, int kb) => packedA + ((long)kb * _plan.Kc * _plan.MPanels * _plan.Mr);

    // Packs MR panels [first, end) of A, k blocks [kbFirst, kbEnd).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PackARows(float* packedA, int first, int end, int kbFirst, int kbEnd)
    {
        if (first >= end)
        {
            return;
        }

        int mr = _plan.Mr;
        if (_directA || _rowMajorA)
        {
            // Only the ragged last panel.
            first = Math.Max(first, _m / mr);
            if (first >= end)
            {
                return;
            }
        }

        int row0 = first * mr;
        int rows = Math.Min(end * mr, _m) - row0;
        for (int kb = kbFirst; kb < kbEnd; kb++)
        {
            int p0 = kb * _plan.Kc;
            int kc = Math.Min(_plan.Kc, _k - p0);
            GemmPacking.PackA(PackedBlock(packedA, kb) + ((long)row0 * kc), _a, _m, _k, _transposeA, row0, rows, p0, kc, mr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ComputeSlice(float* packedA, int rowFirst, int rowEnd, int colFirst, int colEnd, int kbFirst, int kbEnd, float* columnSums,
        int rowSlice)
    {
        ref readonly GemmPlan plan = ref _plan;
        int mr = plan.Mr, nr = plan.Nr;
        int row0 = rowFirst * mr, rowLimit = Math.Min(rowEnd * mr, _m);
        int col0 = colFirst * nr, colLimit = Math.Min(colEnd * nr, _n);
        if (row0 >= rowLimit || col0 >= colLimit)
        {
            return;
        }

        float* chunk = _packedB is null ? GemmBuffers.B : null;
        float* scratch = GemmBuffers.Tile;
        int panels = (rowLimit - row0 + mr - 1) / mr;
        // A list pays where several column tiles share it: the 784 x 16 weight gradient of 784-16-10 (one tile per list)
        // made its epochs 6-12% slower (AMD EPYC Zen 5, 2 real cores).
        // Where a slice is cut into parts, each k block's lists are kept for the slice's next part on this thread, which
        // reads the same rows: listed again, a product's lists would be made once a part instead of once a slice.
        int* counts = null;
        byte* listScratch = null;
        // Sized for the largest slice, whichever this is: a thread that takes over another's part then needs no larger
        // buffer mid-training (a step that allocated).
        int listBlocks = _parts > 1 ? kbEnd - kbFirst : 1;
        int sizedPanels = (plan.MPanels + plan.RowSlices - 1) / plan.RowSlices;
        bool kept = false;
        int* lists = _skipZeroA && colLimit - col0 > nr
            ? GemmBuffers.StepListsFor(_parts > 1 ? (_stamp << 10) | (uint)(rowSlice + 1) : 0, (long)sizedPanels * listBlocks, plan.Kc, out counts, out listScratch,
                ListsAllPanels ? GemmSteps.ColumnPanelsScratch(sizedPanels * mr, plan.Kc) : 0, out kept)
            : null;
        int chunkWidth = GemmPlan.NcMax / nr * nr;
        int mBlock = Math.Max(1, GemmPlan.McMax / mr) * mr;
        bool epilogue = _epilogue.Kind != GemmEpilogueKind.None && plan.KSlices == 1;
        for (int kb = kbFirst; kb < kbEnd; kb++)
        {
            int p0 = kb * plan.Kc;
            int kc = Math.Min(plan.Kc, _k - p0);
            float* aBlock = PackedBlock(packedA, kb);

            // A block of the first k slice adds to C as the serial loop does; a later one is summed on its own, to be
            // added to C in block order by the reduction phase.
            bool partial = kb >= _firstPartialBlock;
            float* c = partial ? _partials + ((long)(kb - _firstPartialBlock) * _m * _n) : _c;
            bool add = !partial && (_accumulate || kb > 0);
            bool last = epilogue && kb == plan.KBlocks - 1;
            int* blockLists = null, blockCounts = null;
            if (lists is not null)
            {
                int block = (kb - kbFirst) % listBlocks;
                blockLists = lists + ((long)block * panels * plan.Kc);
                blockCounts = counts + ((long)block * panels);
                if (!kept)
                {
                    ListSteps(blockLists, blockCounts, listScratch, row0, rowLimit, p0, kc);
                }
            }

            for (int jc = col0; jc < colLimit; jc += chunkWidth)
            {
                int cols = Math.Min(chunkWidth, colLimit - jc);

                // B is always packed: reading a row-major B in place (kc rows n floats apart) measured 20-40% slower
                // than copying each chunk into contiguous panels first (docs/benchmarks.md). A B packed beforehand
                // holds the chunk's panels at the same offsets from its k block's first panel.
                float* bp = chunk;
                if (!_productB.IsEmpty)
                {
                    // B is computed here, by each thread for the chunks it packs (_b is then the product's mask); the row
                    // slices that pack the same chunk divide its rows of the upper weight gradient, if any.
                    _productB.Pack(bp, _b, _n, jc, cols, p0, kc, nr, columnSums is null ? null : columnSums + jc, GemmBuffers.ProductFactor,
                        rowSlice, plan.RowSlices);
                }
                else if (_packedB is null)
                {
                    GemmPacking.PackB(bp, _b, _n, _k, _transposeB, jc, cols, p0, kc, nr, columnSums is null ? null : columnSums + jc);
                }
                else
                {
                    bp = _packedB + (p0 * _packedStride) + ((long)jc * kc);
                }

                for (int ic = row0; ic < rowLimit; ic += mBlock)
                {
                    int rows = Math.Min(mBlock, rowLimit - ic);

                    // The panel's index in the slice's lists, and the first row of the k block of C's layout that holds
                    // it, are counted up tile by tile: the divisions a tile (one 64-bit, in the list's offset) held
                    // about 28% of the loop's own samples at 784-1024-10, batch 32, one thread, whose weight-gradient
                    // tiles are 32 steps long (AMD EPYC Zen 1).
                    int firstPanel = (ic - row0) / mr;
                    int layoutFirst = _cLayout.IsValid ? ic / _cLayout.Kc * _cLayout.Kc : 0;
                    for (int jr = 0; jr < cols; jr += nr)
                    {
                        float* bPanel = bp + ((long)jr * kc);
                        int nValid = Math.Min(nr, cols - jr);
                        int layoutP0 = layoutFirst;
                        for (int ir = 0, panel = firstPanel; ir < rows; ir += mr, panel++)
                        {
                            int row = ic + ir;
                            int mValid = Math.Min(mr, rows - ir);
                            float* aPanel = aBlock + ((long)row * kc);
                            int aStep = mr;
                            delegate*<int, float*, int, float*, float*, int, bool, void> kernel = plan.Kernel;
                            delegate*<int, int*, float*, int, float*, float*, int, bool, void> stepsKernel = plan.StepsKernel;
                            int* steps = null;
                            int count = 0;
                            if (blockLists is not null && blockCounts[panel] >= 0)
                            {
                                steps = blockLists + ((long)panel * plan.Kc);
                                count = blockCounts[panel];
                            }

                            int tileRows = mr;
                            if (mValid < mr)
                            {
                                // The ragged last panel, packed and padded: a tile of fewer rows where the plan has one.
                                tileRows = plan.TailKernel(mValid, out kernel, out stepsKernel);
                            }
                            else if (_directA)
                            {
                                aPanel = _a + ((long)p0 * _m) + row;
                                aStep = _m;
                            }
                            else if (_rowMajorA)
                            {
                                aPanel = _a + ((long)row * _k) + p0;
                                aStep = _k;
                                kernel = plan.RowAKernel;
                                stepsKernel = plan.RowAStepsKernel;
                            }

                            if (_cLayout.IsValid)
                            {
                                while (row >= layoutP0 + _cLayout.Kc)
                                {
                                    layoutP0 += _cLayout.Kc;
                                }

                                StoreToPanels(kernel, stepsKernel, steps, count, kc, aPanel, aStep, bPanel, scratch, row, layoutP0, mValid, jc + jr, add);
                                continue;
                            }

                            float* cTile = c + ((long)row * _n) + jc + jr;
                            if (mValid == tileRows && nValid == nr)
                            {
                                Tile(kernel, stepsKernel, steps, count, kc, aPanel, aStep, bPanel, cTile, _n, add);
                            }
                            else
                            {
                                // The same FMA chains into a full scratch tile, then only the valid corner into C.
                                Tile(kernel, stepsKernel, steps, count, kc, aPanel, aStep, bPanel, scratch, nr, false);
                                GemmPacking.StoreEdge(scratch, nr, cTile, _n, add, mValid, nValid);
                            }

                            if (last)
                            {
                                for (int r = 0; r < mValid; r++)
                                {
                                    _epilogue.ApplyRow(cTile + ((long)r * _n), row + r, jc + jr, nValid);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // A tile of a C kept in panel order (_cLayout; a weight gradient for weights kept so): the rows of one k block of
    // the layout are Nr floats apart in a panel, so a tile within one block is stored by the kernel itself, and one
    // across a block boundary row by row from the scratch tile (the same sums, added to C the same way). p0 is the
    // first row of the layout's k block that holds row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreToPanels(delegate*<int, float*, int, float*, float*, int, bool, void> kernel,
        delegate*<int, int*, float*, int, float*, float*, int, bool, void> stepsKernel, int* steps, int count,
        int kc, float* aPanel, int aStep, float* bPanel, float* scratch, int row, int p0, int rows, int column, bool add)
    {
        ref readonly GemmPlan plan = ref _plan;
        if (rows == plan.Mr && row + rows <= p0 + _cLayout.Kc)
        {
            Tile(kernel, stepsKernel, steps, count, kc, aPanel, aStep, bPanel, _c + _cLayout.TileOffset(p0, row, column), plan.Nr, add);
            return;
        }

        Tile(kernel, stepsKernel, steps, count, kc, aPanel, aStep, bPanel, scratch, plan.Nr, false);
        for (int r = 0; r < rows; r++)
        {
            GemmPacking.StoreEdge(scratch + ((long)r * plan.Nr), plan.Nr, _c + _cLayout.Offset(row + r, column), plan.Nr, add, 1, plan.Nr);
        }
    }

    // One tile over every step of the k block, or over the listed steps only.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(delegate*<int, float*, int, float*, float*, int, bool, void> kernel,
        delegate*<int, int*, float*, int, float*, float*, int, bool, void> stepsKernel, int* steps, int count,
        int kc, float* aPanel, int aStep, float* bPanel, float* c, int ldc, bool add)
    {
        if (steps is null)
        {
            kernel(kc, aPanel, aStep, bPanel, c, ldc, add);
        }
        else
        {
            stepsKernel(count, steps, aPanel, aStep, bPanel, c, ldc, add);
        }
    }

    // Whether a transposed A's lists are made for all its 8-row panels at once (GemmSteps.ColumnPanels8).
    private bool ListsAllPanels => _transposeA && _plan.Mr == 8 && Avx512F.IsSupported;

    // For each MR panel of rows [row0, rowLimit), the steps of k block [p0, p0 + kc) at which its rows of A are not all
    // zero (lists Kc apart), and their count, or -1 where the list would leave out too few steps to pay for itself.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ListSteps(int* lists, int* counts, byte* scratch, int row0, int rowLimit, int p0, int kc)
    {
        int mr = _plan.Mr;
        if (ListsAllPanels)
        {
            // Every panel's list at once, each step's rows read as one run (GemmSteps.ColumnPanels8).
            GemmSteps.ColumnPanels8(_a + ((long)p0 * _m) + row0, _m, rowLimit - row0, kc, lists, _plan.Kc, counts, scratch);
            for (int q = 0, panels = (rowLimit - row0 + mr - 1) / mr; q < panels; q++)
            {
                counts[q] = GemmSteps.Worthwhile(counts[q], kc) ? counts[q] : -1;
            }

            return;
        }

        for (int row = row0, q = 0; row < rowLimit; row += mr, q++)
        {
            int rows = Math.Min(mr, _m - row);
            int* list = lists + ((long)q * _plan.Kc);
            if (!_transposeA && !GemmSteps.MayBeWorthwhile(_a + ((long)row * _k) + p0, kc))
            {
                counts[q] = -1;
                continue;
            }

            int count = _transposeA
                ? GemmSteps.Columns(_a + ((long)p0 * _m) + row, _m, rows, kc, list)
                : GemmSteps.RowMajor(_a + ((long)row * _k) + p0, _k, rows, kc, list);
            counts[q] = GemmSteps.Worthwhile(count, kc) ? count : -1;
        }
    }

    // Rows [first, end) of C: add each partial block in block order (the additions the serial loop makes), then the epilogue.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Reduce(int first, int end)
    {
        int blocks = _plan.KBlocks - _firstPartialBlock;
        for (int row = first; row < end; row++)
        {
            float* c = _c + ((long)row * _n);
            for (int q = 0; q < blocks; q++)
            {
                GemmPacking.AddTile(c, _partials + ((long)q * _m * _n) + ((long)row * _n), _n);
            }

            if (_epilogue.Kind != GemmEpilogueKind.None)
            {
                _epilogue.ApplyRow(c, row, 0, _n);
            }
        }
    }
}
