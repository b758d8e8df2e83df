using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
internal static unsafe class GemmRows
{
    /// <summary>Products with at most this many rows take this path.</summary>
    public const int MaxRows = 4;

    /// <summary>
    /// Fused multiply-adds per thread below which a second thread does not pay: the product streams B from cache, and a
    /// fork and join costs about a microsecond. Measured on the 2-core Zen 5: 784·512 (401K) halves with two threads, while
    /// 784·128 (100K) is slower with two and 512·256 (131K) no faster.
    /// </summary>
    public const long MinFmaPerThread = 192 * 1024;

    [ThreadStatic]
    private static RowsJob? t_job;

    /// <summary>
    /// <c>C (+)= A·B</c> then the epilogue, for row-major <c>A[m, k]</c>, <c>B[k, n]</c>, <c>C[m, n]</c>, neither
    /// transposed, on <paramref name="isa"/>'s arithmetic. A large B is divided by columns among threads, each streaming
    /// its own columns (which changes no element's arithmetic).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue)
    {
        // Slices of whole 16-column vectors, so that only the last slice has a ragged edge.
        int threads = (int)Math.Clamp((long)m * n * k / MinFmaPerThread, 1, Math.Min(Parallelism.ComputeThreads, Math.Max(1, n / 16)));
        if (threads == 1)
        {
            Columns(isa, a, b, c, m, n, k, 0, n, accumulate, epilogue);
            return;
        }

        RowsJob job = t_job ??= new RowsJob();
        job.Set(isa, a, b, c, m, n, k, accumulate, epilogue, threads);
        try
        {
            WorkerPool.Run(job, threads, threads);
        }
        finally
        {
            job.Clear();
        }
    }

    /// <summary>Columns [<paramref name="j0"/>, <paramref name="j1"/>) of every row, then the epilogue on them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, int j0, int j1, bool accumulate, in GemmEpilogue epilogue)
    {
        int blocks = (k + GemmPlan.KcMax - 1) / GemmPlan.KcMax;
        int kc = (k + blocks - 1) / blocks;
        bool fused = isa != KernelIsa.Scalar;
        for (int row = 0; row < m; row++)
        {
            float* x = a + ((long)row * k);
            float* y = c + ((long)row * n);
            for (int p0 = 0, block = 0; p0 < k; p0 += kc, block++)
            {
                int count = Math.Min(kc, k - p0);
                bool add = accumulate || block > 0;
                Block(isa, fused, x + p0, b + ((long)p0 * n) + j0, y + j0, n, j1 - j0, count, add);
            }

            if (epilogue.Kind != GemmEpilogueKind.None)
            {
                epilogue.ApplyRow(y + j0, row, j0, j1 - j0);
            }
        }
    }

    /// <summary>A product divided by columns: item t computes slice t.</summary>
    private sealed class RowsJob : SlicedProductJob
    {
        private KernelIsa _isa;

        public void Set(KernelIsa isa, float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue, int slices)
        {
            _isa = isa;
            Set(a, b, c, m, n, k, accumulate, epilogue, slices);
        }

        public override void Execute(int index)
        {
            int vectors = (N + 15) / 16;
            int j0 = Math.Min(N, vectors * index / Slices * 16);
            int j1 = index == Slices - 1 ? N : Math.Min(N, vectors * (index + 1) / Slices * 16);
            Columns(_isa, A, B, C, M, N, K, j0, j1, Accumulate, Epilogue);
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

            for (; j + 16 <= n; j += 16)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                for (int p = 0; p < count; p++)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(x[p]), Vector512.Load(b + ((long)p * ldb) + j), acc);
                }

                Vector512.Store(add ? Vector512.Load(y + j) + acc : acc, y + j);
            }
        }

        if (isa is KernelIsa.Vector512 or KernelIsa.Vector256)
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
        for (; j < n; j += 3)
        {
            int left = Math.Min(3, n - j);
            float acc0 = 0f, acc1 = 0f, acc2 = 0f;
            for (int p = 0; p < count; p++)
            {
                float* row = b + ((long)p * ldb) + j;
                float xp = x[p];
                // The vector paths' lanes are fused; the scalar micro-kernel multiplies, then adds.
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

        if (add)
        {
            c0 = Vector512.Load(y) + c0;
            c1 = Vector512.Load(y + 16) + c1;
            c2 = Vector512.Load(y + 32) + c2;
            c3 = Vector512.Load(y + 48) + c3;
            c4 = Vector512.Load(y + 64) + c4;
            c5 = Vector512.Load(y + 80) + c5;
            c6 = Vector512.Load(y + 96) + c6;
            c7 = Vector512.Load(y + 112) + c7;
        }

        Vector512.Store(c0, y);
        Vector512.Store(c1, y + 16);
        Vector512.Store(c2, y + 32);
        Vector512.Store(c3, y + 48);
        Vector512.Store(c4, y + 64);
        Vector512.Store(c5, y + 80);
        Vector512.Store(c6, y + 96);
        Vector512.Store(c7, y + 112);
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

        if (add)
        {
            c0 = Vector512.Load(y) + c0;
            c1 = Vector512.Load(y + 16) + c1;
            c2 = Vector512.Load(y + 32) + c2;
            c3 = Vector512.Load(y + 48) + c3;
        }

        Vector512.Store(c0, y);
        Vector512.Store(c1, y + 16);
        Vector512.Store(c2, y + 32);
        Vector512.Store(c3, y + 48);
    }
}
