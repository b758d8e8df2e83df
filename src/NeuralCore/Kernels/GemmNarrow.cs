using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// Products whose C is at most 16 columns wide (the 10-class output layer) on the 512-bit path: each row of B is widened
/// once to one 16-lane vector, and sixteen (then eight, then single) rows of A run against it as independent chains, with
/// no packing of A.
/// The register-blocked path packed the whole <c>[batch, H]</c> input to use 10 of 16 lanes of a 12×16 tile.
/// </summary>
/// <remarks>
/// The arithmetic is the register-blocked path's, element for element (as <see cref="GemmRows"/>'s): the same equal k
/// blocks, each summed from zero in increasing p with a fused multiply-add per lane, then added to C in block order,
/// then the epilogue. So results are bitwise those of the other paths, and of a sample predicted alone, and the same
/// whichever thread computes a row: a product of at least two <see cref="MinFmaPerThread"/> divides its rows among
/// threads (784-1024-10 at batch 128: 33 → 18 µs on an AMD EPYC Zen 5 with two real cores).
/// </remarks>
internal static unsafe class GemmNarrow
{
    /// <summary>The widest C this path takes.</summary>
    public const int MaxColumns = 16;

    /// <summary>
    /// Multiply-adds per thread before a product's rows are divided. Lower than <see cref="GemmRows.MinFmaPerThread"/>:
    /// here each thread reads rows of A that it stored itself (the Dense before divided its rows the same way), so a
    /// second thread costs only the fork and join. Two-thread training steps, alternating with the old threshold
    /// (192K) in one process (AMD EPYC Zen 5, 2 real cores): 784-128-10 at batch 128 (a 164K product) 174.9 → 173.2,
    /// 178.3 → 175.8 and 180.3 → 177.0 µs (min), 784-256-10 333.0 → 329.1 and 349.9 → 350.6 µs.
    /// </summary>
    public const long MinFmaPerThread = 64 * 1024;

    /// <summary>Whether a product of <paramref name="m"/> rows and <paramref name="n"/> columns takes this path.</summary>
    public static bool Applies(KernelIsa isa, int m, int n) =>
        isa == KernelIsa.Vector512 && Avx512F.IsSupported && n <= MaxColumns && m > GemmRows.MaxRows;

    /// <summary>
    /// What a caller runs on rows of a narrow product's C as soon as they are finished, on the thread that computed them
    /// (a training step's loss on its logits): the rows then need not go from one core to another first, and the work
    /// is divided as the rows are. Called once for each slice of rows, <c>[first, end)</c>, together covering C.
    /// </summary>
    internal interface IRowsDone
    {
        /// <summary>Rows <c>[first, end)</c> of C are finished, epilogue included.</summary>
        void RowsDone(int first, int end);
    }

    /// <summary>
    /// <c>C (+)= A·B</c> then the epilogue, for row-major <c>A[m, k]</c>, <c>B[k, n]</c>, <c>C[m, n]</c>, n ≤ 16; then
    /// <paramref name="rowsDone"/>, when given, on each slice of rows by the thread that computed it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue,
        IRowsDone? rowsDone = null)
    {
        // Rows are independent, so a large product divides them among threads (item t takes slice t, in the order the
        // register-blocked path divides the rows of the Dense before it, so each thread reads the rows it wrote). Each
        // thread widens B for itself: reading the caller's widened copy (64 KB at k = 1024) from the other core's cache
        // took as long as the thread's half of the rows, and B itself is read-only and shared.
        int threads = Threads(m, n, k);
        if (threads <= 1)
        {
            Rows(a, Widen(b, n, k), c, m, n, k, 0, m, accumulate, epilogue);
            rowsDone?.RowsDone(0, m);
            return;
        }

        NarrowJob job = t_job ??= new NarrowJob();
        job.Set(a, b, c, m, n, k, accumulate, epilogue, threads);
        job.Done = rowsDone;
        try
        {
            WorkerPool.Run(job, threads, threads);
        }
        finally
        {
            job.Clear();
            job.Done = null;
        }
    }

    /// <summary>The threads among which <see cref="Multiply"/> divides the rows of a product of this shape, on the current thread limit.</summary>
    public static int Threads(int m, int n, int k) =>
        (int)Math.Clamp((long)m * n * k / MinFmaPerThread, 1, Math.Max(1, Math.Min(Parallelism.ComputeThreads, m / 8)));

    [ThreadStatic]
    private static NarrowJob? t_job;

    // B's rows widened to 16 lanes, zeros beyond n, into the calling thread's buffer, so that each is one aligned load (a
    // row of n floats read as 16 would run past B's end). 64 KB for k = 1024: it stays in L2 for every row of A.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* Widen(float* b, int n, int k)
    {
        if (n == MaxColumns)
        {
            // Already sixteen floats a row (a 16-unit layer): read in place.
            return b;
        }

        float* wide = GemmBuffers.A((long)k * MaxColumns);
        Vector512<float> keep = Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)n));
        int q = 0;
        for (long end = ((long)k * n) - MaxColumns; q < k && (long)q * n <= end; q++)
        {
            // Sixteen floats from the start of row q lie inside B here; the lanes past n (the next row's) are cleared.
            Vector512.Store(Vector512.ConditionalSelect(keep, Vector512.Load(b + ((long)q * n)), Vector512<float>.Zero), wide + ((long)q * MaxColumns));
        }

        for (; q < k; q++)
        {
            float* row = wide + ((long)q * MaxColumns);
            Vector512.Store(Vector512<float>.Zero, row);
            new ReadOnlySpan<float>(b + ((long)q * n), n).CopyTo(new Span<float>(row, n));
        }

        return wide;
    }

    // Rows [first, end) of C: each row's k blocks summed from zero in increasing p, added in block order, then the epilogue.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(float* a, float* wide, float* c, int m, int n, int k, int first, int end, bool accumulate, in GemmEpilogue epilogue)
    {
        RowBlocks(a, k, wide, n, k, first, end, 0, BlockCount(k), c, 0, accumulate);
        if (epilogue.Kind != GemmEpilogueKind.None)
        {
            for (int row = first; row < end; row++)
            {
                epilogue.ApplyRow(c + ((long)row * n), row, 0, n);
            }
        }
    }

    /// <summary>The number of equal k blocks of a product of reduction length <paramref name="k"/> (the register-blocked path's).</summary>
    internal static int BlockCount(int k) => (k + GemmPlan.KcMax - 1) / GemmPlan.KcMax;

    /// <summary>The length of every k block but the last (<see cref="BlockCount"/>).</summary>
    internal static int BlockLength(int k)
    {
        int blocks = BlockCount(k);
        return (k + blocks - 1) / blocks;
    }

    // Rows [first, end) over k blocks [blockFirst, blockEnd) of A [m, lda] (k its full reduction length) against the widened
    // rows of B from block blockFirst's first on. With blockStride 0 every block goes to c, the first stored (or added when
    // accumulating) and the rest added in block order; otherwise block b is stored alone at c + (b - blockFirst)·blockStride.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowBlocks(float* a, int lda, float* wide, int n, int k, int first, int end, int blockFirst, int blockEnd, float* c,
        long blockStride, bool accumulate)
    {
        int kc = BlockLength(k);
        int start = blockFirst * kc;
        var rowStore = new RowStore(n);
        int r = first;
        for (; r + 16 <= end; r += 16)
        {
            for (int block = blockFirst; block < blockEnd; block++)
            {
                int p0 = block * kc;
                Rows16(a + ((long)r * lda) + p0, lda, wide + ((long)(p0 - start) * MaxColumns), Math.Min(kc, k - p0),
                    c + ((block - blockFirst) * blockStride) + ((long)r * n), n, Adds(block, blockFirst, blockStride, accumulate), rowStore);
            }
        }

        for (; r + 8 <= end; r += 8)
        {
            for (int block = blockFirst; block < blockEnd; block++)
            {
                int p0 = block * kc;
                Rows8(a + ((long)r * lda) + p0, lda, wide + ((long)(p0 - start) * MaxColumns), Math.Min(kc, k - p0),
                    c + ((block - blockFirst) * blockStride) + ((long)r * n), n, Adds(block, blockFirst, blockStride, accumulate), rowStore);
            }
        }

        for (; r < end; r++)
        {
            for (int block = blockFirst; block < blockEnd; block++)
            {
                int p0 = block * kc;
                Vector512<float> acc = Vector512<float>.Zero;
                float* x = a + ((long)r * lda) + p0;
                float* bw = wide + ((long)(p0 - start) * MaxColumns);
                int count = Math.Min(kc, k - p0);
                for (int p = 0; p < count; p++)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(x[p]), Vector512.Load(bw + ((long)p * MaxColumns)), acc);
                }

                rowStore.Store(acc, c + ((block - blockFirst) * blockStride) + ((long)r * n), Adds(block, blockFirst, blockStride, accumulate));
            }
        }
    }

    // Whether block `block`'s sums are added to what its destination holds: in one C, every block after the first.
    private static bool Adds(int block, int blockFirst, long blockStride, bool accumulate) =>
        blockStride == 0 && (accumulate || block > blockFirst);

    /// <summary>
    /// The narrow product of the layer above a product whose threads own blocks of its columns
    /// (<see cref="GemmSplit.Columns"/>): <c>C = H·W</c> then the epilogue, for <c>H[m, k]</c> (the owning product's C),
    /// <c>W[k, n]</c>, <c>C[m, n]</c>, n ≤ 16. Each thread computes, right after its columns of H, the k blocks those
    /// columns make (<see cref="Compute"/>): the first slice's into C, every later block into a partial buffer of its
    /// own; the caller then adds the partial blocks to C in block order and applies the epilogue (<see cref="Finish"/>).
    /// The same bits as <see cref="Multiply"/>: each block summed from zero in increasing p, the blocks added in order.
    /// So no thread reads a column of H that another stored, and the upper product needs no parallel region of its own.
    /// </summary>
    internal readonly struct OwnedUpper
    {
        private readonly float* _w;
        private readonly float* _c;
        private readonly float* _partials;
        private readonly GemmEpilogue _epilogue;

        private OwnedUpper(float* w, float* c, float* partials, int n, int k, int firstPartialBlock, in GemmEpilogue epilogue)
        {
            _w = w;
            _c = c;
            _partials = partials;
            _epilogue = epilogue;
            (N, K, FirstPartialBlock) = (n, k, firstPartialBlock);
        }

        /// <summary>Columns of C.</summary>
        public int N { get; }

        /// <summary>The reduction length: H's columns.</summary>
        public int K { get; }

        /// <summary>The first k block that a slice after the first computes.</summary>
        public int FirstPartialBlock { get; }

        public bool IsEmpty => _w is null;

        /// <summary>
        /// Whether every slice boundary of <paramref name="slices"/> over H's columns (<see cref="PanelLayout.ColumnSlice"/>
        /// of <paramref name="layout"/>) falls on a k block boundary of a product of reduction length
        /// <c>layout.N</c>, and the product would take this path for <paramref name="m"/> rows and <paramref name="n"/> columns.
        /// </summary>
        public static bool Fits(in PanelLayout layout, int slices, int m, int n)
        {
            if (!Applies(KernelIsa.Vector512, m, n) || layout.Isa != KernelIsa.Vector512 || slices < 2)
            {
                return false;
            }

            int kc = BlockLength(layout.N);
            for (int s = 1; s < slices; s++)
            {
                if (layout.ColumnSlice(slices, s).First % kc != 0)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// Describes the product for slices whose first ends at column <paramref name="firstSliceEnd"/>;
        /// <paramref name="partials"/> holds <c>(BlockCount(k) − FirstPartialBlock)·m·n</c> floats.
        /// </summary>
        public static OwnedUpper Create(float* w, float* c, float* partials, int n, int k, int firstSliceEnd, in GemmEpilogue epilogue) =>
            new(w, c, partials, n, k, firstSliceEnd / BlockLength(k), epilogue);

        /// <summary>The partial buffer's length for <paramref name="m"/> rows.</summary>
        public static long PartialsLength(int m, int n, int k, int firstSliceEnd) =>
            (long)(BlockCount(k) - (firstSliceEnd / BlockLength(k))) * m * n;

        /// <summary>The k blocks of columns <c>[column0, column1)</c> of H (whole blocks), by the thread that stored them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Compute(float* h, int m, int column0, int column1)
        {
            int kc = BlockLength(K);
            int blockFirst = column0 / kc, blockEnd = Math.Min(BlockCount(K), (column1 + kc - 1) / kc);
            float* wide = Widen(_w + ((long)column0 * N), N, column1 - column0);
            if (blockFirst == 0)
            {
                RowBlocks(h, K, wide, N, K, 0, m, 0, blockEnd, _c, 0, accumulate: false);
            }
            else
            {
                RowBlocks(h, K, wide, N, K, 0, m, blockFirst, blockEnd, _partials + ((long)(blockFirst - FirstPartialBlock) * m * N),
                    (long)m * N, accumulate: false);
            }
        }

        /// <summary>Adds the partial blocks to C in block order (each value as <see cref="Multiply"/> adds a block), then the epilogue.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Finish(int m)
        {
            var rowStore = new RowStore(N);
            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(N)).AsSingle();
            for (int block = FirstPartialBlock, blocks = BlockCount(K); block < blocks; block++)
            {
                float* partial = _partials + ((long)(block - FirstPartialBlock) * m * N);
                for (int r = 0; r < m; r++)
                {
                    rowStore.Store(Avx512F.MaskLoad(partial + ((long)r * N), mask, Vector512<float>.Zero), _c + ((long)r * N), add: true);
                }
            }

            if (_epilogue.Kind != GemmEpilogueKind.None)
            {
                for (int row = 0; row < m; row++)
                {
                    _epilogue.ApplyRow(_c + ((long)row * N), row, 0, N);
                }
            }
        }
    }

    /// <summary>
    /// The narrow product of the layer above a product whose last phase divides its rows among threads (the reduction
    /// of a product split over k, <see cref="GemmSplit.Reduction"/>): <c>C = H·W</c> then the epilogue, for
    /// <c>H[m, k]</c> (that product's C), <c>W[k, n]</c>, <c>C[m, n]</c>, n ≤ 16, then <see cref="Done"/>; each thread
    /// computes the rows of C whose rows of H it has just finished (<see cref="Compute"/>), so the layer above needs no
    /// parallel region of its own and reads each finished row of H on the core that wrote it. Each row is the same bits
    /// as <see cref="Multiply"/> gives it: its k blocks summed from zero in increasing p, added in block order.
    /// </summary>
    internal readonly struct RowsAbove
    {
        private readonly float* _w;
        private readonly float* _c;
        private readonly GemmEpilogue _epilogue;

        /// <summary>
        /// <paramref name="w"/> is <c>[k, n]</c> row-major, <paramref name="c"/> <c>[m, n]</c>; both pinned while the product
        /// runs. <paramref name="done"/>, when not null, runs on each slice of C's rows after them, on the same thread.
        /// </summary>
        public RowsAbove(float* w, float* c, int n, int k, in GemmEpilogue epilogue, IRowsDone? done)
        {
            _w = w;
            _c = c;
            _epilogue = epilogue;
            (N, K, Done) = (n, k, done);
        }

        /// <summary>Columns of C.</summary>
        public int N { get; }

        /// <summary>The reduction length: H's columns.</summary>
        public int K { get; }

        /// <summary>What runs on each slice of C's rows once they are stored, epilogue included.</summary>
        public IRowsDone? Done { get; }

        public bool IsEmpty => _w is null;

        /// <summary>Rows <c>[first, end)</c> of C from the same rows of <paramref name="h"/> (<c>[m, K]</c>), then <see cref="Done"/> on them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Compute(float* h, int m, int first, int end)
        {
            if (end <= first)
            {
                return;
            }

            Rows(h, Widen(_w, N, K), _c, m, N, K, first, end, accumulate: false, _epilogue);
            Done?.RowsDone(first, end);
        }
    }

    /// <summary>A narrow product divided by rows: item t computes slice t of the rows (whole multiples of 8 but the last).</summary>
    private sealed class NarrowJob : SlicedProductJob
    {
        public IRowsDone? Done { get; set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int index)
        {
            (int first, int end) = GemmPlan.Slice((M + 7) / 8, Slices, index);
            int row0 = first * 8, row1 = Math.Min(end * 8, M);
            Rows(A, Widen(B, N, K), C, M, N, K, row0, row1, Accumulate, Epilogue);
            if (row1 > row0)
            {
                Done?.RowsDone(row0, row1);
            }
        }
    }

    // Eight rows of A (lda apart) against count rows of the widened B: eight chains, enough to hide the FMA latency.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows8(float* x, int lda, float* wide, int count, float* y, int n, bool add, in RowStore row)
    {
        Vector512<float> c0 = Vector512<float>.Zero, c1 = Vector512<float>.Zero, c2 = Vector512<float>.Zero, c3 = Vector512<float>.Zero;
        Vector512<float> c4 = Vector512<float>.Zero, c5 = Vector512<float>.Zero, c6 = Vector512<float>.Zero, c7 = Vector512<float>.Zero;

        // One pointer per row, all advanced together: indexing each row from x (x[i·lda + p]) cost the loop two or three
        // integer operations per multiply-add, and 64 rows of 512 against 10 columns ran at 6.1 µs (AMD EPYC Zen 5).
        float* x0 = x, x1 = x + lda, x2 = x + (2L * lda), x3 = x + (3L * lda);
        float* x4 = x + (4L * lda), x5 = x + (5L * lda), x6 = x + (6L * lda), x7 = x + (7L * lda);
        float* bw = wide;
        for (nint p = 0; p < count; p++, bw += MaxColumns)
        {
            Vector512<float> bp = Vector512.Load(bw);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[p]), bp, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[p]), bp, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[p]), bp, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[p]), bp, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(x4[p]), bp, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(x5[p]), bp, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(x6[p]), bp, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(x7[p]), bp, c7);
        }

        row.Store8(y, n, add, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    // Sixteen rows of A against count rows of the widened B: sixteen chains, each row's the same as Rows8's. Eight chains
    // of four-cycle multiply-adds left no slack: 64 rows of 512 against 10 columns ran at 1.5 multiply-adds a cycle.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows16(float* x, int lda, float* wide, int count, float* y, int n, bool add, in RowStore row)
    {
        Vector512<float> c0 = Vector512<float>.Zero, c1 = Vector512<float>.Zero, c2 = Vector512<float>.Zero, c3 = Vector512<float>.Zero;
        Vector512<float> c4 = Vector512<float>.Zero, c5 = Vector512<float>.Zero, c6 = Vector512<float>.Zero, c7 = Vector512<float>.Zero;
        Vector512<float> d0 = Vector512<float>.Zero, d1 = Vector512<float>.Zero, d2 = Vector512<float>.Zero, d3 = Vector512<float>.Zero;
        Vector512<float> d4 = Vector512<float>.Zero, d5 = Vector512<float>.Zero, d6 = Vector512<float>.Zero, d7 = Vector512<float>.Zero;
        float* x0 = x, x1 = x + lda, x2 = x + (2L * lda), x3 = x + (3L * lda);
        float* x4 = x + (4L * lda), x5 = x + (5L * lda), x6 = x + (6L * lda), x7 = x + (7L * lda);
        float* bw = wide;

        // Rows 8-15 through the same eight pointers, eight rows further on: sixteen pointers do not fit in registers.
        nint down = 8 * (nint)lda;
        for (nint p = 0, q = down; p < count; p++, q++, bw += MaxColumns)
        {
            Vector512<float> bp = Vector512.Load(bw);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[p]), bp, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[p]), bp, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[p]), bp, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[p]), bp, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(x4[p]), bp, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(x5[p]), bp, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(x6[p]), bp, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(x7[p]), bp, c7);
            d0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[q]), bp, d0);
            d1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[q]), bp, d1);
            d2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[q]), bp, d2);
            d3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[q]), bp, d3);
            d4 = Vector512.FusedMultiplyAdd(Vector512.Create(x4[q]), bp, d4);
            d5 = Vector512.FusedMultiplyAdd(Vector512.Create(x5[q]), bp, d5);
            d6 = Vector512.FusedMultiplyAdd(Vector512.Create(x6[q]), bp, d6);
            d7 = Vector512.FusedMultiplyAdd(Vector512.Create(x7[q]), bp, d7);
        }

        row.Store8(y, n, add, c0, c1, c2, c3, c4, c5, c6, c7);
        row.Store8(y + (8 * n), n, add, d0, d1, d2, d3, d4, d5, d6, d7);
    }

    /// <summary>
    /// The first n lanes of a vector into a row of C (added to it after the first k block) with one masked store, since
    /// a 16-lane store would write into the next row. Each lane's sum is the one a lane-by-lane store gave.
    /// </summary>
    /// <remarks>
    /// The lane-by-lane store (through a scratch vector) had been a large part of this path: alternating builds (AMD
    /// EPYC Zen 5, 2 real cores, 2026-12-01), a training step of 784-16-10 at batch 128 (whose first layer takes this
    /// path too) 50.4-52.6 → 45.2-46.5 µs on one thread, 784-128-10 252-261 → 246-252 µs; 64 samples of 784-16-10
    /// through the predictor 15.5-16.1 → 13.1-13.6 µs.
    /// </remarks>
    private readonly ref struct RowStore(int n)
    {
        private readonly Vector512<float> _mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector512<float> acc, float* y, bool add) =>
            Avx512F.MaskStore(y, _mask, add ? Avx512F.MaskLoad(y, _mask, Vector512<float>.Zero) + acc : acc);

        // Eight consecutive rows of C, n floats apart.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store8(float* y, int n, bool add, Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
            Vector512<float> c4, Vector512<float> c5, Vector512<float> c6, Vector512<float> c7)
        {
            Store(c0, y, add);
            Store(c1, y + n, add);
            Store(c2, y + (2 * n), add);
            Store(c3, y + (3 * n), add);
            Store(c4, y + (4 * n), add);
            Store(c5, y + (5 * n), add);
            Store(c6, y + (6 * n), add);
            Store(c7, y + (7 * n), add);
        }
    }
}
