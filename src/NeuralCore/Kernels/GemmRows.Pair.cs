using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

internal static unsafe partial class GemmRows
{
    [ThreadStatic]
    private static PairJob? t_pairJob;

    /// <summary>
    /// The threads <see cref="TryMultiplyPair"/> runs two products of a few rows on, <c>H = A·B1</c>
    /// (<c>m × k1</c> by <c>k1 × n1</c>) and <c>C = H·B2</c> (by <c>n1 × n2</c>); 1 when the pair does not apply.
    /// </summary>
    /// <remarks>
    /// Only inside a <see cref="ForModel"/> scope of a model above <see cref="LargeModelBytes"/>, where it was measured,
    /// and only where each product alone would take the same number of threads (so that the pair takes none from
    /// either and gives none to either) and the second
    /// product's k blocks (<see cref="GemmPlan.KcMax"/> rows of B2 at most, equal) divide evenly among them, since
    /// each thread computes whole blocks.
    /// </remarks>
    internal static int PairThreads(int m, int k1, int n1, int n2)
    {
        if (!InLargeModelScope || m < 1 || m > MaxRows)
        {
            return 1;
        }

        int first = Threads(m, n1, k1);
        (int blocks, _) = KBlocks(n1);
        return first >= 2 && Threads(m, n2, n1) == first && blocks % first == 0 ? first : 1;
    }

    // The k blocks Columns sums a reduction of length k in (equal blocks of at most KcMax), counting only those with
    // rows: for a k near a multiple of KcMax squared the last of the equal blocks can be empty, and Columns skips it.
    private static (int Blocks, int Kc) KBlocks(int k)
    {
        int blocks = (k + GemmPlan.KcMax - 1) / GemmPlan.KcMax;
        int kc = (k + blocks - 1) / blocks;
        return ((k + kc - 1) / kc, kc);
    }

    /// <summary>
    /// Two products of at most <see cref="MaxRows"/> rows in one parallel region, where they would otherwise take one
    /// each: <c>H = epilogue1(A·B1)</c>, then <c>C = epilogue2(H·B2)</c>, for row-major <c>A[m, k1]</c>,
    /// <c>H[m, n1]</c>, <c>C[m, n2]</c>, and B1, B2 row-major or in chunks (<see cref="LayoutChunkColumnsFor"/>). Thread t
    /// computes the columns of H that make up its k blocks of the second product, then those blocks' sums for every
    /// column of C into a buffer of its own (thread 0 adds its blocks together, since they come first; the others keep
    /// each block apart); no thread reads what another wrote until the join, after which the calling thread writes C
    /// from the block sums in block order and applies <paramref name="epilogue2"/>. Every element is the same
    /// arithmetic as two calls of <see cref="Multiply"/> (the same blocks, each summed from zero, then added in block
    /// order), so the results are the same bits. C is written only after the join, so it may be A's memory (a model
    /// ping-pongs two buffers); H must not overlap A, B1, B2 or C.
    /// </summary>
    /// <returns>False, having done nothing, when <see cref="PairThreads"/> gives one thread or the workers are busy.</returns>
    /// <remarks>
    /// One sample of 784-512-256-10 on two threads is two fork-joins of about a microsecond each otherwise (AMD EPYC
    /// Zen 5, 2 real cores), beside about 9 µs of reading the weights.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryMultiplyPair(KernelIsa isa, float* a, float* b1, int chunkColumns1, in GemmEpilogue epilogue1, float* h,
        int m, int k1, int n1, float* b2, int chunkColumns2, in GemmEpilogue epilogue2, float* c, int n2, bool skipZeroA = false)
    {
        int threads = PairThreads(m, k1, n1, n2);
        if (threads < 2)
        {
            return false;
        }

        PairJob job = t_pairJob ??= new PairJob();
        job.Set(isa, a, b1, chunkColumns1, epilogue1, h, m, k1, n1, b2, chunkColumns2, epilogue2, c, n2, threads, OrderFor(threads, chunkColumns1), OrderFor(threads, chunkColumns2),
            skipZeroA);
        try
        {
            if (!WorkerPool.TryRun(job, threads, threads))
            {
                return false;
            }

            job.Finish();
            return true;
        }
        finally
        {
            job.Clear();
        }
    }

    /// <summary>The sums of k block <paramref name="p0"/>..<paramref name="p0"/>+<paramref name="count"/> of one row for every column of a B of <paramref name="n"/> columns and <paramref name="k"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockAllColumns(KernelIsa isa, float* x, float* b, int chunkColumns, float* y, int n, int k, int p0, int count, bool add, PassOrder order)
    {
        bool fused = isa != KernelIsa.Scalar;
        if (chunkColumns > 0)
        {
            int chunks = (n + chunkColumns - 1) / chunkColumns;
            for (int i = 0; i < chunks; i++)
            {
                // One k block: a whole chunk at a time, whose eight FMA chains keep both units busy (64 columns, four
                // chains, would wait on the multiply-add latency), in the order of the call.
                int chunkStart = (order.Reverse ? chunks - 1 - i : i) * chunkColumns;
                int width = Math.Min(chunkColumns, n - chunkStart);
                float* chunk = b + ((long)chunkStart * k);
                Block(isa, fused, x + p0, chunk + ((long)p0 * width), y + chunkStart, width, width, count, add);
            }

            return;
        }

        int passes = (n + ChunkColumns - 1) / ChunkColumns;
        for (int pass = 0; pass < passes; pass++)
        {
            int jc = (order.Reverse ? passes - 1 - pass : pass) * ChunkColumns;
            int width = Math.Min(ChunkColumns, n - jc);
            float* bBlock = b + ((long)p0 * n) + jc;
            if (isa == KernelIsa.Vector512 && width == ChunkColumns)
            {
                Columns512x16(x + p0, bBlock, y + jc, n, count, add);
            }
            else
            {
                Block(isa, fused, x + p0, bBlock, y + jc, n, width, count, add);
            }
        }
    }

    /// <summary>Item t of <see cref="TryMultiplyPair"/>: its columns of H, then its k blocks' sums.</summary>
    private sealed class PairJob : IParallelWork
    {
        private KernelIsa _isa;
        private float* _a, _b1, _h, _b2, _c;
        private int _chunkColumns1, _chunkColumns2;
        private GemmEpilogue _epilogue1, _epilogue2;
        private int _m, _k1, _n1, _n2, _threads, _blocks, _kc, _firstOtherBlock;
        private PassOrder _order1, _order2;
        private bool _sparse1;

        // Block sums, slot after slot of [m, n2]: slot 0 thread 0's blocks added together, then one slot per block of
        // the other threads. Grown, never shrunk; pinned, so that its address holds without a fixed block.
        private float[] _partials = [];

        public void Set(KernelIsa isa, float* a, float* b1, int chunkColumns1, in GemmEpilogue epilogue1, float* h, int m, int k1, int n1,
            float* b2, int chunkColumns2, in GemmEpilogue epilogue2, float* c, int n2, int threads, PassOrder order1, PassOrder order2, bool sparse1)
        {
            _sparse1 = sparse1;
            _a = a;
            _b1 = b1;
            _h = h;
            _b2 = b2;
            _c = c;
            (_isa, _chunkColumns1, _epilogue1, _chunkColumns2, _epilogue2) = (isa, chunkColumns1, epilogue1, chunkColumns2, epilogue2);
            (_m, _k1, _n1, _n2, _threads) = (m, k1, n1, n2, threads);
            (_blocks, _kc) = KBlocks(n1);
            (_order1, _order2) = (order1, order2);
            _firstOtherBlock = FirstBlock(1);
            long partials = (long)(1 + _blocks - _firstOtherBlock) * m * n2;
            if (_partials.Length < partials)
            {
                _partials = GC.AllocateUninitializedArray<float>((int)partials, pinned: true);
            }
        }

        public void Clear()
        {
            _a = _b1 = _h = _b2 = _c = null;
            _epilogue1 = _epilogue2 = default;
        }

        private int FirstBlock(int thread) => (int)((long)_blocks * thread / _threads);

        // Slot 0 is thread 0's; block b of another thread has slot 1 + b - _firstOtherBlock.
        private float* Slot(int slot, int row) =>
            (float*)Unsafe.AsPointer(ref _partials[0]) + ((((long)slot * _m) + row) * _n2);

        public void Execute(int index)
        {
            int block0 = FirstBlock(index), block1 = FirstBlock(index + 1);
            int j0 = block0 * _kc, j1 = Math.Min(_n1, block1 * _kc);
            Columns(_isa, _a, _b1, _h, _m, _n1, _k1, j0, j1, accumulate: false, _epilogue1, _chunkColumns1, _order1, _sparse1);

            if (_m >= 2 && _isa == KernelIsa.Vector512 && Avx512F.IsSupported)
            {
                // All rows at once, each vector of B2 loaded once for them (GemmRows.Together.cs); a slot's rows are
                // n2 apart.
                for (int block = block0; block < block1; block++)
                {
                    float* y = index == 0 ? Slot(0, 0) : Slot(1 + block - _firstOtherBlock, 0);
                    BlockAllColumnsTogether(_h, _n1, _b2, _chunkColumns2, y, _n2, _m, _n2, _n1, block * _kc, Math.Min(_kc, _n1 - (block * _kc)),
                        add: index == 0 && block > 0, _order2.Reverse);
                }

                return;
            }

            for (int row = 0; row < _m; row++)
            {
                float* x = _h + ((long)row * _n1);
                for (int block = block0; block < block1; block++)
                {
                    float* y = index == 0 ? Slot(0, row) : Slot(1 + block - _firstOtherBlock, row);
                    BlockAllColumns(_isa, x, _b2, _chunkColumns2, y, _n2, _n1, block * _kc, Math.Min(_kc, _n1 - (block * _kc)),
                        add: index == 0 && block > 0, _order2);
                }
            }
        }

        /// <summary>On the calling thread after the join: C from the block sums in block order, then the epilogue.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Finish()
        {
            for (int row = 0; row < _m; row++)
            {
                float* y = _c + ((long)row * _n2);
                Buffer.MemoryCopy(Slot(0, row), y, 4L * _n2, 4L * _n2);
                for (int block = _firstOtherBlock; block < _blocks; block++)
                {
                    AddRow(y, Slot(1 + block - _firstOtherBlock, row), _n2);
                }

                if (_epilogue2.Kind != GemmEpilogueKind.None)
                {
                    _epilogue2.ApplyRow(y, row, 0, _n2);
                }
            }
        }

        // y += s, one IEEE sum per element at any width, y the first operand as in Store(sum, y, add: true) of the
        // blocks (GemmPacking.AddTile adds the other way round, which keeps the other operand's payload when both are NaN).
        private static void AddRow(float* y, float* s, int n)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 <= n; j += 16)
                {
                    Vector512.Store(Vector512.Load(y + j) + Vector512.Load(s + j), y + j);
                }
            }

            for (; j < n; j++)
            {
                y[j] += s[j];
            }
        }
    }
}
