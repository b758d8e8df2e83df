using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// Products with a few rows of A (a prediction for one or a few samples): each row of C is computed by streaming B
/// once, without the packing that the register-blocked path needs, which for one row costs more than the product itself
/// (784·128 weights packed to multiply one image).
/// </summary>
/// <remarks>
/// The arithmetic is the register-blocked path's, element for element: the same k blocks (<see cref="GemmPlan"/>'s
/// equal blocks of at most <see cref="GemmPlan.KcMax"/>), each summed from zero in increasing p with the same
/// multiply-add (fused on the vector paths, a product then a sum on the scalar one), then added to C in block order, then
/// the epilogue. So a sample predicted alone gives bitwise the outputs it gets inside a batch.
/// </remarks>
internal static unsafe partial class GemmRows
{
    /// <summary>Products with at most this many rows take this path (a predictor's prepacked weights included).</summary>
    public const int MaxRows = 4;

    /// <summary>
    /// Products with at most this many rows take this path on the 512-bit path when B is not prepacked (a model's own
    /// weights, which the register-blocked path would pack on every call) or is at most
    /// <see cref="MaxPrepackedFloatsForMoreRows"/> floats, in groups of up to four rows that each read B once. The
    /// narrower paths, which read B once per row, keep <see cref="MaxRows"/> (more was not measured there).
    /// </summary>
    public const int MaxRowsUnpacked = 8;

    /// <summary>
    /// A prepacked B (a predictor's) of at most this many floats (512 KB, half a core's L2) takes this path for up to
    /// <see cref="MaxRowsUnpacked"/> rows; a larger one keeps the blocked path from <see cref="MaxRows"/> + 1.
    /// </summary>
    public const long MaxPrepackedFloatsForMoreRows = 128 * 1024;

    /// <summary>
    /// The most rows a product of B <c>[k, n]</c> takes this path for.
    /// </summary>
    /// <remarks>
    /// Measured on the AMD EPYC Zen 5 with 2 real cores (medians, 2026-12-01): five samples of 784-128-10 took 14.2 µs
    /// through the blocked path (the model's <c>Predict</c>, which packs its weights on every call) against 6.3 µs here
    /// on one thread, 13.9 against 3.95 µs on two; 784-512-256-10 78 against 45 µs on one thread. A predictor's
    /// prepacked panels kept 784-512-256-10 faster on the blocked path (eight samples 37.7 µs against 48.7 here, one
    /// thread), while 784-128-10 was faster here (five samples 8.9 µs blocked against 6.3).
    /// </remarks>
    public static int MaxRowsFor(KernelIsa isa, bool prepacked, int k, int n) =>
        isa == KernelIsa.Vector512 && Avx512F.IsSupported && (!prepacked || (long)k * n <= MaxPrepackedFloatsForMoreRows) ? MaxRowsUnpacked : MaxRows;

    /// <summary>
    /// Fused multiply-adds per thread below which a second thread does not pay: the product streams B from cache, and a
    /// fork and join costs about a microsecond. Measured on the 2-core Zen 5 (AMD EPYC, 2 real cores; one sample, the
    /// predictor, medians, 2026-12-01): 784·128 (100K) 2.41 → 1.84 µs with two threads and 784·256 5.7 → 4.0 µs, while
    /// 784·64 (50K) was slower with two (1.35 → 1.89 µs), and so were four samples of 784·64 (4.9-5.0 → 5.2-6.4 µs).
    /// 784·192 (150K) takes two and is within 2% either way. (It was 192K until then, when 784·128 had been slower with
    /// two; the worker pool's start has become cheaper since.)
    /// </summary>
    public const long MinFmaPerThread = 48 * 1024;

    /// <summary>
    /// Weights (bytes) of a whole model above which its prediction runs two dense layers in one parallel region
    /// (<see cref="TryMultiplyPair"/>): more than one core's L2 (1 MB on the Zen 4 and Zen 5 measured), so that each
    /// core reads its half of both layers' weights while the other reads the other half.
    /// </summary>
    /// <remarks>
    /// Until 2026-12-01 such a model also split its products at a lower threshold (64K multiply-adds a thread, against
    /// 192K for the others); with <see cref="MinFmaPerThread"/> at 48K the lower one is the common one, and the models
    /// measured split the same products as before (784-512-256-10: both hidden layers; 784-256-256-10: the 784·256 one).
    /// </remarks>
    public const long LargeModelBytes = 1L << 20;

    /// <summary>
    /// The weights (bytes) of a model each thread of a few-row product reads at most for its passes to find them in its
    /// core's L2 on the next call when they alternate in direction (<see cref="PassOrder"/>): a little more than the
    /// 1 MB L2 of the Zen 4 and Zen 5 measured, since a pass in the opposite direction to the last first reads what the
    /// last read most recently.
    /// </summary>
    /// <remarks>
    /// A scratch loop reading a buffer in 200 KB stretches (AMD EPYC Zen 5, 2 real cores, 2026-12-01; mean of 3,000
    /// passes): 1,070 KB 7.47 µs with every pass in the same order, 5.83 µs with the order of the stretches reversed on
    /// every other pass; 1,200 KB 8.93 → 6.92 µs; 768 KB 4.08 → 3.34 µs; 512 KB 2.1 µs either way.
    /// </remarks>
    public const long ResidentBytesPerThread = 5L << 18;

    /// <summary>
    /// As <see cref="ResidentBytesPerThread"/> for a B stored in column chunks (a predictor's): up to this many bytes a
    /// thread, somewhat more than its L2, the alternating 64-column passes still pay, since a chunk's 512-byte rows
    /// keep the prefetchers fed where a row-major B's rows, a page apart for 1,024 columns, do not.
    /// </summary>
    /// <remarks>
    /// One sample, medians, one build switched by process (AMD EPYC Zen 5, 2 real cores, 2026-12-01, 06:00 UTC): the
    /// predictor of 784-1024-10 on two threads (1.6 MB a thread) 15.7-16.3 → 13.4-13.6 µs, of 784-512-256-10 on one
    /// (2.1 MB) 19.6-20.4 → 19.5-20.0 µs; the model's own <c>Predict</c> of 784-1024-10 on two threads 16.9-18.0 →
    /// 22.4-22.9 µs with the same passes over its row-major weights, so those keep <see cref="ResidentBytesPerThread"/>.
    /// The predictor of 784-1024-512-10 on one thread (5.3 MB) was slower with them (44.6-46.3 → 51.5-54.3 µs).
    /// </remarks>
    public const long ChunkedBytesPerThread = 9L << 18;

    // The weight bytes of the model whose call the calling thread is running (ForModel), 0 outside one.
    [ThreadStatic]
    private static long t_modelBytes;

    // Flipped by every outermost ForModel scope of a model (weight bytes above 0): the direction of this call's passes
    // when they alternate. Per calling thread: calls of one model from several threads alternate on each.
    [ThreadStatic]
    private static bool t_reverse;

    // Columns of a row-major B computed through all of k before the next ones start: one 16-chain pass on the 512-bit
    // path (see RowMajorColumns), 64 columns where the passes alternate (OrderFor). Not LayoutChunkColumnsFor, the
    // width of a chunked B's chunks.
    private const int ChunkColumns = 256;

    // Passes of a sparse row over a row-major B (TrySparseRow): eight 512-bit chains, or two 64-column calls of eight
    // 256-bit ones.
    private const int RowMajorSparseColumns = 128;

    /// <summary>
    /// Columns per chunk of a B stored chunked for <paramref name="isa"/>'s path (<see cref="Multiply"/>'s
    /// <c>chunkColumns</c>, <see cref="PackedMatrix.Chunked"/>): what one pass of eight accumulator chains covers,
    /// 128 columns on 512-bit vectors, 64 on 256-bit, 32 on 128-bit (and on the scalar path, which reads any width).
    /// Chunk c holds columns <c>[c·w, c·w + w')</c> as <c>k</c> rows of <c>w'</c> floats, one after the other, so that
    /// each pass streams one contiguous stretch.
    /// </summary>
    /// <remarks>
    /// On 256-bit vectors the chunks were 128 columns, as on 512-bit, and each pass of eight chains read half of every
    /// 512-byte row, skipping the other half: the predictor of 784-512-256-10 on one sample with no zero input took
    /// 77.5-79.3 µs (median) on one thread and 41.5-42.4 on two, against 53.9-54.1 and 29.2-32.5 with 64-column chunks
    /// (scratch loop, builds alternating, three rounds; AMD EPYC Zen 1, 2 real cores, 2026-12-05).
    /// </remarks>
    public static int LayoutChunkColumnsFor(KernelIsa isa) => isa switch
    {
        KernelIsa.Vector512 => 128,
        KernelIsa.Vector256 => 64,
        _ => 32,
    };

    [ThreadStatic]
    private static RowsJob? t_job;

    /// <summary>
    /// <c>C (+)= A·B</c> then the epilogue, for row-major <c>A[m, k]</c>, <c>B[k, n]</c>, <c>C[m, n]</c>, neither
    /// transposed, on <paramref name="isa"/>'s arithmetic. A large B is divided by columns among threads, each streaming
    /// its own columns (which changes no element's arithmetic). With <paramref name="chunkColumns"/> above 0, B is stored in
    /// chunks of that many columns (<see cref="LayoutChunkColumnsFor"/>) instead of row-major (the same values, the same
    /// sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue,
        int chunkColumns = 0, bool skipZeroA = false)
    {
        // One sample that skips its zeros multiplies only its non-zero steps: the threads follow that work. 784-128-10 on
        // an MNIST image took 0.84 µs on two threads against 0.76 on one (AMD EPYC Zen 5, 2 real cores).
        int work = skipZeroA && m == 1 && SkipsZeros(isa) ? Math.Max(1, GemmSteps.NonZero(a, k)) : k;
        int threads = Threads(m, n, work);
        if (threads == 1)
        {
            Columns(isa, a, b, c, m, n, k, 0, n, accumulate, epilogue, chunkColumns, OrderFor(1, chunkColumns), skipZeroA);
            return;
        }

        RowsJob job = t_job ??= new RowsJob();
        job.Set(isa, a, b, c, m, n, k, accumulate, epilogue, threads, chunkColumns, OrderFor(threads, chunkColumns), skipZeroA);
        try
        {
            WorkerPool.Run(job, threads, threads);
        }
        finally
        {
            job.Clear();
        }
    }

    /// <summary>
    /// The threads <see cref="Multiply"/> divides an <c>m × k</c> by <c>k × n</c> product among on the calling thread: one
    /// per <see cref="MinFmaPerThread"/> multiply-adds, at most <see cref="Parallelism.ComputeThreads"/>, and at least 16 columns each.
    /// </summary>
    internal static int Threads(int m, int n, int k)
    {
        // Slices of whole 16-column vectors, so that only the last slice has a ragged edge.
        return (int)Math.Clamp((long)m * n * k / MinFmaPerThread, 1, Math.Min(Parallelism.ComputeThreads, Math.Max(1, n / 16)));
    }

    /// <summary>
    /// Marks the products the calling thread runs until the returned scope is disposed as one call of a model whose
    /// weights take <paramref name="weightBytes"/>: above <see cref="LargeModelBytes"/> this lets
    /// <see cref="TryMultiplyPair"/> run, and where each thread's share is small enough (<see cref="OrderFor"/>) the
    /// passes over B alternate in direction from one call to the next (<see cref="PassOrder"/>): each outermost
    /// scope with <paramref name="weightBytes"/> above 0 is the next call. Scopes nest (an inner one marks the larger of
    /// the two models). Results never depend on it.
    /// </summary>
    public static ModelScope ForModel(long weightBytes)
    {
        long previous = t_modelBytes;
        t_modelBytes = Math.Max(previous, weightBytes);
        if (previous == 0 && weightBytes > 0)
        {
            t_reverse = !t_reverse;
        }

        return new ModelScope(previous);
    }

    /// <summary>Whether the calling thread is inside a <see cref="ForModel"/> scope of a model above <see cref="LargeModelBytes"/>.</summary>
    internal static bool InLargeModelScope => t_modelBytes > LargeModelBytes;

    /// <summary>Restores the model marked before <see cref="ForModel"/>.</summary>
    internal readonly struct ModelScope(long previous) : IDisposable
    {
        public void Dispose() => t_modelBytes = previous;
    }

    /// <summary>
    /// How a thread's passes over its columns of B run in a product of the calling thread's model call divided among
    /// <paramref name="threads"/> threads (taken on the calling thread, whose scope the workers do not see). Where the
    /// thread's share of the model fits <see cref="ResidentBytesPerThread"/> (<see cref="ChunkedBytesPerThread"/> for a
    /// B in column chunks): passes of 64 columns for one row where k spans two blocks or more (on the 512-bit path
    /// their k blocks two at a time, eight FMA chains; several rows go in groups of 64 or 32 columns either way), in
    /// the opposite order to the last call's, so that a pass starts on what the last call read last,
    /// still in L2; otherwise passes of a whole chunk (or 256 columns of a row-major B), in column order. Each column is
    /// the same chain either way (its k blocks in order), so the bits never change.
    /// </summary>
    /// <remarks>
    /// One sample through the predictor, medians of three rounds, alternating in one process (AMD EPYC Zen 5, 2 real
    /// cores, 2026-12-01): 784-512-256-10 on two threads (each reading 1.07 MB) 8.7-9.7 µs with 128-column passes in
    /// order, 8.3-8.5 µs alternating, 7.3-7.9 µs with 64-column passes alternating; 784-128-10 on one thread (0.4 MB)
    /// 2.5 → 2.2 µs with 64-column passes. Where the weights stream from L3 the wider passes are faster: 784-512-256-10
    /// on one thread took 20.2 µs with them, 21.4 with 64 columns, and 784-1024-512-10 45.8 against 52.9. The second
    /// product of a pair (<see cref="TryMultiplyPair"/>) for one row keeps its wide passes (whole chunks, or 256 columns
    /// of a row-major B), reversed: it sums one k block at a time, and 64 columns of one block are four FMA chains,
    /// which wait on the multiply-add latency.
    /// </remarks>
    internal static PassOrder OrderFor(int threads, int chunkColumns)
    {
        long limit = chunkColumns > 0 ? ChunkedBytesPerThread : ResidentBytesPerThread;
        bool resident = t_modelBytes > 0 && t_modelBytes <= limit * threads;
        return new PassOrder(resident, resident && t_reverse);
    }

    /// <summary>A thread's passes over B: 64 columns each when <paramref name="Narrow"/>, last columns first when <paramref name="Reverse"/> (<see cref="OrderFor"/>).</summary>
    internal readonly record struct PassOrder(bool Narrow, bool Reverse);

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of every row, then the epilogue on them; with
    /// <paramref name="sparse"/>, one row of a first layer skips its zeros (<see cref="TrySparseRow"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, int j0, int j1, bool accumulate, in GemmEpilogue epilogue,
        int chunkColumns, PassOrder order = default, bool sparse = false)
    {
        int blocks = (k + GemmPlan.KcMax - 1) / GemmPlan.KcMax;
        int kc = (k + blocks - 1) / blocks;
        bool fused = isa != KernelIsa.Scalar;
        // Up to eight rows at a time read B once for all of them; a last row alone takes the one-row kernels.
        int together = 0;
        if (isa == KernelIsa.Vector512 && Avx512F.IsSupported)
        {
            for (int rows; m - together >= 2; together += rows)
            {
                rows = Math.Min(8, m - together);
                RowsTogether(a + ((long)together * k), b, c + ((long)together * n), rows, n, k, kc, j0, j1, accumulate, chunkColumns, order.Reverse, sparse);
            }
        }
        else if (isa == KernelIsa.Vector256)
        {
            for (; m - together >= 2; together += 2)
            {
                RowPair256(a + ((long)together * k), b, c + ((long)together * n), n, k, kc, j0, j1, accumulate, chunkColumns);
            }
        }

        for (int row = 0; row < m; row++)
        {
            float* x = a + ((long)row * k);
            float* y = c + ((long)row * n);
            if (row < together || (sparse && m == 1 && SkipsZeros(isa)
                && TrySparseRow(isa, x, b, y, n, k, kc, j0, j1, accumulate, chunkColumns)))
            {
                // Done above, or over the steps at which the row is not zero.
            }
            else if (chunkColumns > 0)
            {
                ChunkedColumns(isa, fused, x, b, y, n, k, kc, j0, j1, accumulate, chunkColumns, order);
            }
            else
            {
                RowMajorColumns(isa, fused, x, b, y, n, k, kc, j0, j1, accumulate, order);
            }

            if (epilogue.Kind != GemmEpilogueKind.None)
            {
                epilogue.ApplyRow(y + j0, row, j0, j1 - j0);
            }
        }
    }

    /// <summary>Columns [<paramref name="j0"/>, <paramref name="j1"/>) of one row from a row-major B.</summary>
    /// <remarks>
    /// On the 512-bit path, 256 columns at a time with sixteen accumulator chains, which read a 1 KB stretch of each row
    /// of B, rather than 128 with eight (512 bytes): the prefetchers keep up better. Alternating in one process, a
    /// one-sample prediction of 784-512-256-10 took 27.6 → 26.0 µs on one thread and 18.9 → 16.8 µs on two (AMD EPYC
    /// Zen 5, 2 real cores; before the predictor read column chunks, which eight chains stream as fast). Where the
    /// weights stay in L2 (<see cref="OrderFor"/>), 64 columns at a time, their k blocks two at a time: the model's own
    /// <c>Predict</c> of one sample, alternating in one process, 784-512-256-10 on two threads 10.8-12.6 → 9.0-9.7 µs,
    /// 784-128-10 on one 2.5-2.6 → 2.1 µs (2026-12-01). Each column's sums are the same.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowMajorColumns(KernelIsa isa, bool fused, float* x, float* b, float* y, int n, int k, int kc, int j0, int j1, bool accumulate,
        PassOrder order)
    {
        int step = order.Narrow && k > kc ? 64 : ChunkColumns;
        int passes = (j1 - j0 + step - 1) / step;
        for (int pass = 0; pass < passes; pass++)
        {
            int jc = j0 + ((order.Reverse ? passes - 1 - pass : pass) * step);
            int width = Math.Min(step, j1 - jc);
            bool pairs = isa == KernelIsa.Vector512 && Avx512F.IsSupported && width <= 64;
            for (int p0 = 0, block = 0; p0 < k; p0 += kc, block++)
            {
                int count = Math.Min(kc, k - p0);
                bool add = accumulate || block > 0;
                float* bBlock = b + ((long)p0 * n) + jc;
                if (pairs && p0 + kc < k)
                {
                    int p1 = p0 + kc;
                    ColumnsPair(x + p0, bBlock, x + p1, b + ((long)p1 * n) + jc, y + jc, n, width, kc, Math.Min(kc, k - p1), add);
                    p0 = p1;
                    block++;
                }
                else if (isa == KernelIsa.Vector512 && width == ChunkColumns)
                {
                    Columns512x16(x + p0, bBlock, y + jc, n, count, add);
                }
                else
                {
                    Block(isa, fused, x + p0, bBlock, y + jc, n, width, count, add);
                }
            }
        }
    }

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of one row from a B stored in chunks of
    /// <paramref name="chunkColumns"/> columns: each chunk's part streamed through every k block before the next.
    /// </summary>
    /// <remarks>
    /// A pass over a row-major B reads a few hundred bytes of each row and skips the rest, and the prefetchers fetch
    /// some of what is skipped; a chunk is one contiguous stretch. Scratch loops (AMD EPYC Zen 5, 2 real cores), the
    /// first 256 of 512 columns of a 784-row B (what one of two threads reads): 7.47 µs row-major with sixteen chains,
    /// 5.20 µs chunked with eight; all 512 columns 20.1 → 18.3 µs.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkedColumns(KernelIsa isa, bool fused, float* x, float* b, float* y, int n, int k, int kc, int j0, int j1, bool accumulate, int chunkColumns,
        PassOrder order)
    {
        int firstChunk = j0 / chunkColumns, chunks = ((j1 - 1) / chunkColumns) - firstChunk + 1;
        // 64 columns only where their k blocks go two at a time (eight chains); one block of 64 columns is four chains,
        // which wait on the multiply-add latency (784-64-1024-10, one sample: 3.5-3.7 µs wide, 4.2-4.4 narrow).
        int width = order.Narrow && k > kc ? 64 : chunkColumns;
        for (int i = 0; i < chunks; i++)
        {
            int chunkStart = (firstChunk + (order.Reverse ? chunks - 1 - i : i)) * chunkColumns;
            int chunkWidth = Math.Min(chunkColumns, n - chunkStart);
            int start = Math.Max(j0, chunkStart), limit = Math.Min(j1, chunkStart + chunkWidth);
            int passes = (limit - start + width - 1) / width;
            for (int pass = 0; pass < passes; pass++)
            {
                int jc = start + ((order.Reverse ? passes - 1 - pass : pass) * width);
                ChunkPass(isa, fused, x, b + ((long)chunkStart * k) + (jc - chunkStart), y + jc, chunkWidth, Math.Min(limit, jc + width) - jc, k, kc,
                    accumulate);
            }
        }
    }

    // One pass of ChunkedColumns: columns [0, width) of a chunk's part through every k block, two blocks at a time in
    // 64 columns or fewer.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkPass(KernelIsa isa, bool fused, float* x, float* chunk, float* y, int chunkWidth, int width, int k, int kc, bool accumulate)
    {
        bool pairs = isa == KernelIsa.Vector512 && Avx512F.IsSupported && width <= 64;
        for (int p0 = 0, block = 0; p0 < k; p0 += kc, block++)
        {
            bool add = accumulate || block > 0;
            if (pairs && p0 + kc < k)
            {
                int p1 = p0 + kc;
                ColumnsPair(x + p0, chunk + ((long)p0 * chunkWidth), x + p1, chunk + ((long)p1 * chunkWidth), y, chunkWidth,
                    width, kc, Math.Min(kc, k - p1), add);
                p0 = p1;
                block++;
                continue;
            }

            Block(isa, fused, x + p0, chunk + ((long)p0 * chunkWidth), y, chunkWidth, width, Math.Min(kc, k - p0), add);
        }
    }

    /// <summary>A product divided by columns: item t computes slice t.</summary>
    private sealed class RowsJob : SlicedProductJob
    {
        private KernelIsa _isa;
        private int _chunkColumns;
        private PassOrder _order;
        private bool _sparse;

        public void Set(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue, int slices, int chunkColumns,
            PassOrder order, bool sparse)
        {
            _isa = isa;
            _sparse = sparse;
            _chunkColumns = chunkColumns;
            _order = order;
            Set(a, b, c, m, n, k, accumulate, epilogue, slices);
        }

        public override void Execute(int index)
        {
            long vectors = (N + 15) / 16;
            int j0 = (int)Math.Min(N, vectors * index / Slices * 16);
            int j1 = index == Slices - 1 ? N : (int)Math.Min(N, vectors * (index + 1) / Slices * 16);
            Columns(_isa, A, B, C, M, N, K, j0, j1, Accumulate, Epilogue, _chunkColumns, _order, _sparse);
        }
    }

    /// <summary>One k block of one row: <c>y[j] (+)= Σ_p x[p]·B[p, j]</c>, widest vectors first.</summary>
    /// <remarks><paramref name="b"/> and <paramref name="y"/> point at the first of <paramref name="width"/> columns; B's rows are <paramref name="ldb"/> apart.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(KernelIsa isa, bool fused, float* x, float* b, float* y, int ldb, int width, int count, bool add)
    {
        int n = width;
        int j = 0;
        if (isa == KernelIsa.Vector512)
        {
            for (; j + 128 <= n; j += 128)
            {
                Columns512x8(x, b + j, y + j, ldb, count, add);
            }

            for (; j + 64 <= n; j += 64)
            {
                Columns512x4(x, b + j, y + j, ldb, count, add);
            }

            if (j < n && Avx512F.IsSupported)
            {
                MaskedColumns512<EveryStep>(x, b + j, y + j, ldb, n - j, count, add, null);
                return;
            }

            for (; j + 16 <= n; j += 16)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                for (int p = 0; p < count; p++)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(x[p]), Vector512.Load(b + ((long)p * ldb) + j), acc);
                }

                Store(acc, y + j, add);
            }
        }

        if (isa == KernelIsa.Vector256)
        {
            Block256<EveryStep>(x, b, y, ldb, width, count, add, null);
            return;
        }

        if (isa == KernelIsa.Vector512)
        {
            for (; j + 8 <= n; j += 8)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (int p = 0; p < count; p++)
                {
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(x[p]), Vector256.Load(b + ((long)p * ldb) + j), acc);
                }

                Vector256.Store(add ? Vector256.Load(y + j) + acc : acc, y + j);
            }
        }

        if (isa == KernelIsa.Vector128)
        {
            // Several chains at once, as on the wider paths: one 4-column chain after another was bound by the
            // multiply-add's latency (the pathology Block256 fixed on AVX2).
            for (; j + 32 <= n; j += 32)
            {
                Columns128x8(x, b + j, y + j, ldb, count, add);
            }

            for (; j + 16 <= n; j += 16)
            {
                Columns128x4(x, b + j, y + j, ldb, count, add);
            }
        }

        if (isa != KernelIsa.Scalar)
        {
            for (; j + 4 <= n; j += 4)
            {
                Vector128<float> acc = Vector128<float>.Zero;
                for (int p = 0; p < count; p++)
                {
                    acc = Vector128.FusedMultiplyAdd(Vector128.Create(x[p]), Vector128.Load(b + ((long)p * ldb) + j), acc);
                }

                Vector128.Store(add ? Vector128.Load(y + j) + acc : acc, y + j);
            }
        }

        // The last columns (up to three on a vector path) as independent chains in one loop, so that their latencies overlap.
        ScalarColumns<EveryStep>(x, b, y, ldb, j, n, count, add, fused, null);
    }

    /// <summary>
    /// The last 1-63 columns (what the 128- and 64-column kernels leave) as up to four chains in one loop, the last one
    /// masked, where they were one 16-column chain after another, each as long as the k block and bound by the
    /// multiply-add's latency. Lanes at or past <paramref name="width"/> are neither loaded (a masked-off lane cannot
    /// fault past the end of B) nor stored; each lane's sums are those of the wider paths. The steps are those
    /// <typeparamref name="TSteps"/> gives (all of them, or a list of the non-zero ones of a sparse x).
    /// </summary>
    /// <remarks>
    /// A 10-class layer is one masked chain, as before. One sample, the predictor, one thread, medians alternating
    /// with the chains one after another (AMD EPYC Zen 5, 2 real cores, 2026-12-01): 784-32-10 1.57-1.62 → 0.93-0.96 µs,
    /// 784-96-10 2.75-2.88 → 2.14-2.24 µs; four samples of 784-32-10 5.8-6.1 → 3.3-3.4 µs.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaskedColumns512<TSteps>(float* x, float* b, float* y, int ldb, int width, int count, bool add, int* steps)
        where TSteps : struct, IStepSource
    {
        (Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3) = LaneMasks(width);
        if (width <= 16)
        {
            Vector512<float> acc = Vector512<float>.Zero;
            for (int i = 0; i < count; i++)
            {
                int p = TSteps.Step(steps, i);
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(x[p]), Avx512F.MaskLoad(b + ((long)p * ldb), m0, Vector512<float>.Zero), acc);
            }

            StoreMasked(acc, y, m0, add);
            return;
        }

        Vector512<float> a0 = Vector512<float>.Zero, a1 = Vector512<float>.Zero, a2 = Vector512<float>.Zero, a3 = Vector512<float>.Zero;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            var xp = Vector512.Create(x[p]);
            float* row = b + ((long)p * ldb);
            a0 = Vector512.FusedMultiplyAdd(xp, Avx512F.MaskLoad(row, m0, Vector512<float>.Zero), a0);
            a1 = Vector512.FusedMultiplyAdd(xp, Avx512F.MaskLoad(row + 16, m1, Vector512<float>.Zero), a1);
            a2 = Vector512.FusedMultiplyAdd(xp, Avx512F.MaskLoad(row + 32, m2, Vector512<float>.Zero), a2);
            a3 = Vector512.FusedMultiplyAdd(xp, Avx512F.MaskLoad(row + 48, m3, Vector512<float>.Zero), a3);
        }

        StoreMasked(a0, y, m0, add);
        StoreMasked(a1, y + 16, m1, add);
        StoreMasked(a2, y + 32, m2, add);
        StoreMasked(a3, y + 48, m3, add);
    }

    /// <summary>
    /// Two consecutive k blocks of at most 64 columns in one loop: <c>y (+)= s0</c>, then <c>y += s1</c>, with each
    /// block's sums <c>s = Σ_p x[p]·B[p, ·]</c> computed from zero in increasing p, as two calls of
    /// <see cref="Block"/> compute and add them (the same bits). Eight chains instead of four, where a thread's
    /// 64 columns of a product were bound by the multiply-add's latency rather than by reading B.
    /// </summary>
    /// <param name="x0">Block 0's part of the row.</param>
    /// <param name="b0">Block 0's first row of B.</param>
    /// <param name="x1">Block 1's part of the row.</param>
    /// <param name="b1">Block 1's first row of B.</param>
    /// <param name="y">The output columns.</param>
    /// <param name="ldb">Floats between B's rows.</param>
    /// <param name="width">Columns, 1 to 64.</param>
    /// <param name="count0">Rows of block 0.</param>
    /// <param name="count1">Rows of block 1, at most <paramref name="count0"/> (only the last block is shorter).</param>
    /// <param name="add">Whether block 0's sums are added to y rather than stored.</param>
    private static void ColumnsPair(float* x0, float* b0, float* x1, float* b1, float* y, int ldb, int width, int count0, int count1, bool add)
    {
        // Block 1 starts whole rows after block 0, so it is aligned where block 0 and the row stride are.
        if (width == 64 && Straddles(b0, ldb))
        {
            MaskedColumns512Pair<AllLanes>(x0, b0, x1, b1, y, ldb, width, count0, count1, add);
        }
        else
        {
            MaskedColumns512Pair<MaskedLanes>(x0, b0, x1, b1, y, ldb, width, count0, count1, add);
        }
    }

    /// <summary><see cref="ColumnsPair"/> with B's vectors loaded by <typeparamref name="TLoad"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaskedColumns512Pair<TLoad>(float* x0, float* b0, float* x1, float* b1, float* y, int ldb, int width, int count0, int count1,
        bool add)
        where TLoad : struct, ILanes
    {
        (Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3) = LaneMasks(width);
        Vector512<float> a0 = Vector512<float>.Zero, a1 = Vector512<float>.Zero, a2 = Vector512<float>.Zero, a3 = Vector512<float>.Zero;
        Vector512<float> e0 = Vector512<float>.Zero, e1 = Vector512<float>.Zero, e2 = Vector512<float>.Zero, e3 = Vector512<float>.Zero;
        int p = 0;
        for (; p < count1; p++)
        {
            var xp = Vector512.Create(x0[p]);
            float* row = b0 + ((long)p * ldb);
            a0 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row, m0), a0);
            a1 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 16, m1), a1);
            a2 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 32, m2), a2);
            a3 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 48, m3), a3);
            var xq = Vector512.Create(x1[p]);
            float* other = b1 + ((long)p * ldb);
            e0 = Vector512.FusedMultiplyAdd(xq, TLoad.Load(other, m0), e0);
            e1 = Vector512.FusedMultiplyAdd(xq, TLoad.Load(other + 16, m1), e1);
            e2 = Vector512.FusedMultiplyAdd(xq, TLoad.Load(other + 32, m2), e2);
            e3 = Vector512.FusedMultiplyAdd(xq, TLoad.Load(other + 48, m3), e3);
        }

        for (; p < count0; p++)
        {
            var xp = Vector512.Create(x0[p]);
            float* row = b0 + ((long)p * ldb);
            a0 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row, m0), a0);
            a1 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 16, m1), a1);
            a2 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 32, m2), a2);
            a3 = Vector512.FusedMultiplyAdd(xp, TLoad.Load(row + 48, m3), a3);
        }

        StoreMasked(a0, y, m0, add);
        StoreMasked(a1, y + 16, m1, add);
        StoreMasked(a2, y + 32, m2, add);
        StoreMasked(a3, y + 48, m3, add);
        StoreMasked(e0, y, m0, add: true);
        StoreMasked(e1, y + 16, m1, add: true);
        StoreMasked(e2, y + 32, m2, add: true);
        StoreMasked(e3, y + 48, m3, add: true);
    }

    /// <summary>
    /// Whether B's rows from <paramref name="first"/>, <paramref name="ldb"/> floats apart, leave 64-byte boundaries, so
    /// that its vectors straddle two cache lines: then whole vectors take plain loads (<see cref="AllLanes"/>), which
    /// take the straddle far better than masked ones. 784 rows of 64 columns in a scratch loop (AMD EPYC Zen 5, 2 real
    /// cores): 1.28-1.30 µs masked against 0.94-0.95 µs plain 16 bytes off a boundary; aligned (a predictor's chunks,
    /// the model's arena), 1.03-1.04 masked against 1.05-1.07 plain.
    /// </summary>
    private static bool Straddles(float* first, int ldb) => ((nint)first & 63) != 0 || (ldb & 15) != 0;

    /// <summary>How a kernel loads a vector of B: all lanes, or only those its mask selects.</summary>
    internal interface ILanes
    {
        static abstract Vector512<float> Load(float* p, Vector512<float> mask);
    }

    /// <summary>Every lane, for a vector wholly inside the columns: a plain load (see <see cref="Straddles"/>).</summary>
    internal readonly struct AllLanes : ILanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(float* p, Vector512<float> mask) => Vector512.Load(p);
    }

    /// <summary>The lanes the mask selects; the others read nothing (so they cannot fault) and are zero.</summary>
    internal readonly struct MaskedLanes : ILanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(float* p, Vector512<float> mask) => Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
    }

    /// <summary>The lanes of columns [0, width) in each of four consecutive vectors (all, some or none of each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) LaneMasks(int width)
    {
        Vector512<int> lanes = Vector512<int>.Indices;
        return (Vector512.LessThan(lanes, Vector512.Create(width)).AsSingle(), Vector512.LessThan(lanes, Vector512.Create(width - 16)).AsSingle(),
            Vector512.LessThan(lanes, Vector512.Create(width - 32)).AsSingle(), Vector512.LessThan(lanes, Vector512.Create(width - 48)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMasked(Vector512<float> sum, float* y, Vector512<float> mask, bool add) =>
        Avx512F.MaskStore(y, mask, add ? Avx512F.MaskLoad(y, mask, Vector512<float>.Zero) + sum : sum);

    /// <summary>256 columns at once: sixteen chains, each row of B read as one 1 KB stretch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns512x16(float* x, float* b, float* y, int n, int count, bool add)
    {
        Vector512<float> c0 = Vector512<float>.Zero, c1 = Vector512<float>.Zero, c2 = Vector512<float>.Zero, c3 = Vector512<float>.Zero;
        Vector512<float> c4 = Vector512<float>.Zero, c5 = Vector512<float>.Zero, c6 = Vector512<float>.Zero, c7 = Vector512<float>.Zero;
        Vector512<float> d0 = Vector512<float>.Zero, d1 = Vector512<float>.Zero, d2 = Vector512<float>.Zero, d3 = Vector512<float>.Zero;
        Vector512<float> d4 = Vector512<float>.Zero, d5 = Vector512<float>.Zero, d6 = Vector512<float>.Zero, d7 = Vector512<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            var xp = Vector512.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row), c0);
            c1 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 48), c3);
            c4 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 64), c4);
            c5 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 80), c5);
            c6 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 96), c6);
            c7 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 112), c7);
            d0 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 128), d0);
            d1 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 144), d1);
            d2 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 160), d2);
            d3 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 176), d3);
            d4 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 192), d4);
            d5 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 208), d5);
            d6 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 224), d6);
            d7 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 240), d7);
        }

        Store(c0, y, add);
        Store(c1, y + 16, add);
        Store(c2, y + 32, add);
        Store(c3, y + 48, add);
        Store(c4, y + 64, add);
        Store(c5, y + 80, add);
        Store(c6, y + 96, add);
        Store(c7, y + 112, add);
        Store(d0, y + 128, add);
        Store(d1, y + 144, add);
        Store(d2, y + 160, add);
        Store(d3, y + 176, add);
        Store(d4, y + 192, add);
        Store(d5, y + 208, add);
        Store(d6, y + 224, add);
        Store(d7, y + 240, add);
    }

    /// <summary><c>y (+)= sum</c> for one vector: the k block's sum is added to what earlier blocks left, as the register-blocked path adds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> sum, float* y, bool add) =>
        Vector512.Store(add ? Vector512.Load(y) + sum : sum, y);

    /// <summary>128 columns at once: eight independent chains, enough to hide the multiply-add's latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns512x8(float* x, float* b, float* y, int n, int count, bool add)
    {
        Vector512<float> c0 = Vector512<float>.Zero, c1 = Vector512<float>.Zero, c2 = Vector512<float>.Zero, c3 = Vector512<float>.Zero;
        Vector512<float> c4 = Vector512<float>.Zero, c5 = Vector512<float>.Zero, c6 = Vector512<float>.Zero, c7 = Vector512<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            var xp = Vector512.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row), c0);
            c1 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 48), c3);
            c4 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 64), c4);
            c5 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 80), c5);
            c6 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 96), c6);
            c7 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 112), c7);
        }

        Store(c0, y, add);
        Store(c1, y + 16, add);
        Store(c2, y + 32, add);
        Store(c3, y + 48, add);
        Store(c4, y + 64, add);
        Store(c5, y + 80, add);
        Store(c6, y + 96, add);
        Store(c7, y + 112, add);
    }

    /// <summary>64 columns at once: four independent accumulator chains, each B row read as one 256-byte stretch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns512x4(float* x, float* b, float* y, int n, int count, bool add)
    {
        Vector512<float> c0 = Vector512<float>.Zero, c1 = Vector512<float>.Zero, c2 = Vector512<float>.Zero, c3 = Vector512<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            var xp = Vector512.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row), c0);
            c1 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(row + 48), c3);
        }

        Store(c0, y, add);
        Store(c1, y + 16, add);
        Store(c2, y + 32, add);
        Store(c3, y + 48, add);
    }

    /// <summary>
    /// One k block of one row on 256-bit vectors (AVX2 + FMA, no AVX-512): <c>y[j] (+)= Σ_p x[p]·B[p, j]</c> over the
    /// steps <typeparamref name="TSteps"/> gives (all of them, or the non-zero ones of a sparse x), 64 columns at a time
    /// as eight independent chains, then 32 as four, then the last one to three 8-column chains in one loop, then the
    /// last 1-7 columns as scalar chains. Each column's sum is the same sequence of fused multiply-adds as on the other
    /// vector paths, so the bits are the same.
    /// </summary>
    /// <remarks>
    /// One 8-column chain after another was bound by the multiply-add's latency: one MNIST image through 784-128-10
    /// took 27.5 µs on one thread, 1.4 times ONNX Runtime's time (AMD EPYC Zen 1, 2 real cores; docs/benchmarks.md).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block256<TSteps>(float* x, float* b, float* y, int ldb, int width, int count, bool add, int* steps)
        where TSteps : struct, IStepSource
    {
        int j = 0;
        for (; j + 64 <= width; j += 64)
        {
            Columns256x8<TSteps>(x, b + j, y + j, ldb, count, add, steps);
        }

        for (; j + 32 <= width; j += 32)
        {
            Columns256x4<TSteps>(x, b + j, y + j, ldb, count, add, steps);
        }

        if (j + 8 <= width)
        {
            int chains = (width - j) / 8;
            Columns256Tail<TSteps>(x, b + j, y + j, ldb, chains, count, add, steps);
            j += 8 * chains;
        }

        ScalarColumns<TSteps>(x, b, y, ldb, j, width, count, add, fused: true, steps);
    }

    /// <summary>
    /// Columns [<paramref name="j"/>, <paramref name="width"/>) three at a time as independent scalar chains in one loop,
    /// over the steps <typeparamref name="TSteps"/> gives; fused multiply-adds where the vector paths' lanes are
    /// (<paramref name="fused"/>), a multiply then an add as the scalar micro-kernel does otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalarColumns<TSteps>(float* x, float* b, float* y, int ldb, int j, int width, int count, bool add, bool fused, int* steps)
        where TSteps : struct, IStepSource
    {
        for (; j < width; j += 3)
        {
            int left = Math.Min(3, width - j);
            float acc0 = 0f, acc1 = 0f, acc2 = 0f;
            for (int i = 0; i < count; i++)
            {
                int p = TSteps.Step(steps, i);
                float* row = b + ((long)p * ldb) + j;
                float xp = x[p];
                acc0 = fused ? MathF.FusedMultiplyAdd(xp, row[0], acc0) : (xp * row[0]) + acc0;
                if (left > 1)
                {
                    acc1 = fused ? MathF.FusedMultiplyAdd(xp, row[1], acc1) : (xp * row[1]) + acc1;
                }

                if (left > 2)
                {
                    acc2 = fused ? MathF.FusedMultiplyAdd(xp, row[2], acc2) : (xp * row[2]) + acc2;
                }
            }

            y[j] = add ? y[j] + acc0 : acc0;
            if (left > 1)
            {
                y[j + 1] = add ? y[j + 1] + acc1 : acc1;
            }

            if (left > 2)
            {
                y[j + 2] = add ? y[j + 2] + acc2 : acc2;
            }
        }
    }

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of two rows at once on 256-bit vectors: each group of 32
    /// columns streamed through every k block once for both rows, each vector of B loaded once and multiplied into both
    /// rows' chains (four each), where the rows one after another read B once each; a last group narrower than 32 runs
    /// row by row (<see cref="Block256{TSteps}"/>). Every element is the same chain as one row alone, so the bits are the
    /// same.
    /// </summary>
    /// <remarks>
    /// The predictor on inputs with no zero, min µs, builds alternating in two rounds (AMD EPYC Zen 1, 2 real cores,
    /// 2026-12-05): 784-128-10, one thread, 2 samples 23.7-23.8 → 16.6-17.9, 4 samples 44.3-45.7 → 29.5-31.7; two
    /// threads, 4 samples 27.6-28.5 → 17.9-18.5; 784-512-256-10, one thread, 2 samples 137-141 → 94-95, 4 samples
    /// 264-278 → 185 (the blocked path's 186-188); two threads, 4 samples 129-141 → 102-105.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowPair256(float* a, float* b, float* c, int n, int k, int kc, int j0, int j1, bool accumulate, int chunkColumns)
    {
        for (int jc = j0; jc < j1;)
        {
            int end = ColumnGroup(b, chunkColumns, n, k, jc, j1, 32, out float* first, out int ldb, out _);
            int width = end - jc;
            for (int p0 = 0, block = 0; p0 < k; p0 += kc, block++)
            {
                bool add = accumulate || block > 0;
                int count = Math.Min(kc, k - p0);
                float* bBlock = first + ((long)p0 * ldb);
                if (width == 32)
                {
                    Pair256x4(a + p0, a + k + p0, bBlock, ldb, c + jc, c + n + jc, count, add);
                }
                else
                {
                    Block256<EveryStep>(a + p0, bBlock, c + jc, ldb, width, count, add, null);
                    Block256<EveryStep>(a + k + p0, bBlock, c + n + jc, ldb, width, count, add, null);
                }
            }

            jc = end;
        }
    }

    /// <summary>32 columns of two rows: four chains each, every vector of B loaded once for both (14 of the 16 registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pair256x4(float* x0, float* x1, float* b, int ldb, float* y0, float* y1, int count, bool add)
    {
        Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero, c3 = Vector256<float>.Zero;
        Vector256<float> d0 = Vector256<float>.Zero, d1 = Vector256<float>.Zero, d2 = Vector256<float>.Zero, d3 = Vector256<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            float* row = b + ((long)p * ldb);
            Vector256<float> b0 = Vector256.Load(row), b1 = Vector256.Load(row + 8), b2 = Vector256.Load(row + 16), b3 = Vector256.Load(row + 24);
            var u = Vector256.Create(x0[p]);
            c0 = Vector256.FusedMultiplyAdd(u, b0, c0);
            c1 = Vector256.FusedMultiplyAdd(u, b1, c1);
            c2 = Vector256.FusedMultiplyAdd(u, b2, c2);
            c3 = Vector256.FusedMultiplyAdd(u, b3, c3);
            var v = Vector256.Create(x1[p]);
            d0 = Vector256.FusedMultiplyAdd(v, b0, d0);
            d1 = Vector256.FusedMultiplyAdd(v, b1, d1);
            d2 = Vector256.FusedMultiplyAdd(v, b2, d2);
            d3 = Vector256.FusedMultiplyAdd(v, b3, d3);
        }

        Store(c0, y0, add);
        Store(c1, y0 + 8, add);
        Store(c2, y0 + 16, add);
        Store(c3, y0 + 24, add);
        Store(d0, y1, add);
        Store(d1, y1 + 8, add);
        Store(d2, y1 + 16, add);
        Store(d3, y1 + 24, add);
    }

    /// <summary>64 columns at once on 256-bit vectors: eight independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns256x8<TSteps>(float* x, float* b, float* y, int n, int count, bool add, int* steps)
        where TSteps : struct, IStepSource
    {
        Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero, c3 = Vector256<float>.Zero;
        Vector256<float> c4 = Vector256<float>.Zero, c5 = Vector256<float>.Zero, c6 = Vector256<float>.Zero, c7 = Vector256<float>.Zero;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            var xp = Vector256.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row), c0);
            c1 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 24), c3);
            c4 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 32), c4);
            c5 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 40), c5);
            c6 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 48), c6);
            c7 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 56), c7);
        }

        Store(c0, y, add);
        Store(c1, y + 8, add);
        Store(c2, y + 16, add);
        Store(c3, y + 24, add);
        Store(c4, y + 32, add);
        Store(c5, y + 40, add);
        Store(c6, y + 48, add);
        Store(c7, y + 56, add);
    }

    /// <summary>32 columns at once on 256-bit vectors: four independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns256x4<TSteps>(float* x, float* b, float* y, int n, int count, bool add, int* steps)
        where TSteps : struct, IStepSource
    {
        Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero, c3 = Vector256<float>.Zero;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            var xp = Vector256.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row), c0);
            c1 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 24), c3);
        }

        Store(c0, y, add);
        Store(c1, y + 8, add);
        Store(c2, y + 16, add);
        Store(c3, y + 24, add);
    }

    /// <summary>The last one to three 8-column chains on 256-bit vectors, in one loop so that their latencies overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns256Tail<TSteps>(float* x, float* b, float* y, int n, int chains, int count, bool add, int* steps)
        where TSteps : struct, IStepSource
    {
        Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero;
        for (int i = 0; i < count; i++)
        {
            int p = TSteps.Step(steps, i);
            var xp = Vector256.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row), c0);
            if (chains > 1)
            {
                c1 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 8), c1);
            }

            if (chains > 2)
            {
                c2 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(row + 16), c2);
            }
        }

        Store(c0, y, add);
        if (chains > 1)
        {
            Store(c1, y + 8, add);
        }

        if (chains > 2)
        {
            Store(c2, y + 16, add);
        }
    }

    /// <summary>32 columns at once on 128-bit vectors: eight independent chains, each the sequence of the one-chain loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns128x8(float* x, float* b, float* y, int n, int count, bool add)
    {
        Vector128<float> c0 = Vector128<float>.Zero, c1 = Vector128<float>.Zero, c2 = Vector128<float>.Zero, c3 = Vector128<float>.Zero;
        Vector128<float> c4 = Vector128<float>.Zero, c5 = Vector128<float>.Zero, c6 = Vector128<float>.Zero, c7 = Vector128<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            var xp = Vector128.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row), c0);
            c1 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 4), c1);
            c2 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 8), c2);
            c3 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 12), c3);
            c4 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 16), c4);
            c5 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 20), c5);
            c6 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 24), c6);
            c7 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 28), c7);
        }

        Store(c0, y, add);
        Store(c1, y + 4, add);
        Store(c2, y + 8, add);
        Store(c3, y + 12, add);
        Store(c4, y + 16, add);
        Store(c5, y + 20, add);
        Store(c6, y + 24, add);
        Store(c7, y + 28, add);
    }

    /// <summary>16 columns at once on 128-bit vectors: four independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns128x4(float* x, float* b, float* y, int n, int count, bool add)
    {
        Vector128<float> c0 = Vector128<float>.Zero, c1 = Vector128<float>.Zero, c2 = Vector128<float>.Zero, c3 = Vector128<float>.Zero;
        for (int p = 0; p < count; p++)
        {
            var xp = Vector128.Create(x[p]);
            float* row = b + ((long)p * n);
            c0 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row), c0);
            c1 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 4), c1);
            c2 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 8), c2);
            c3 = Vector128.FusedMultiplyAdd(xp, Vector128.Load(row + 12), c3);
        }

        Store(c0, y, add);
        Store(c1, y + 4, add);
        Store(c2, y + 8, add);
        Store(c3, y + 12, add);
    }

    /// <summary><c>y (+)= sum</c> for one 128-bit vector, as <see cref="Store(Vector512{float}, float*, bool)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> sum, float* y, bool add) =>
        Vector128.Store(add ? Vector128.Load(y) + sum : sum, y);

    /// <summary><c>y (+)= sum</c> for one 256-bit vector, as <see cref="Store(Vector512{float}, float*, bool)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> sum, float* y, bool add) =>
        Vector256.Store(add ? Vector256.Load(y) + sum : sum, y);
}
