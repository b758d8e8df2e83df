using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// The few-rows path (a prediction for one sample) must give bitwise what the register-blocked path gives the same rows
/// inside a larger batch, on every instruction-set path, with every epilogue.
/// </summary>
[Collection(SerialTests.Name)]
public class GemmRowsTests
{
    public static TheoryData<int> Paths() => [.. KernelIsaSupport.Supported.Select(isa => (int)isa)];

    // With modelBytes, the row path runs in two model scopes one after the other (GemmRows.ForModel), so that where the
    // passes alternate in direction both directions are checked.
    private static unsafe void Check(KernelIsa isa, int m, int n, int k, bool accumulate, int epilogueKind, int seed, bool chunked = false,
        long modelBytes = 0)
    {
        // The blocked path computes the same rows as the first m of a batch too tall for the row path.
        int tall = GemmRows.MaxRowsUnpacked + 5;
        float[] a = Seeded.Uniform(tall * k, seed);
        float[] b = Seeded.Uniform(k * n, seed + 1);
        float[] bias = Seeded.Uniform(n, seed + 2);
        float[] initial = Seeded.Uniform(tall * n, seed + 3);
        float[] mask = Seeded.Uniform(tall * n, seed + 4);
        float[] blocked = (float[])initial.Clone();
        float[] rows = initial[..(m * n)];
        fixed (float* pBias = bias, pMask = mask)
        {
            GemmEpilogue epilogue = Epilogue(epilogueKind, pBias, pMask, n);
            Gemm.MultiplyOn(isa, a, b, blocked, tall, n, k, false, false, accumulate, epilogue);
            // Chunked: B read from a weight copy's column chunks (PackedMatrix.Chunked), as a predictor reads it.
            PackedMatrix? packed = chunked ? PackedMatrix.Pack(b, k, n, isa) : null;
            for (int call = 0; call < (modelBytes > 0 ? 2 : 1); call++)
            {
                using (GemmRows.ForModel(modelBytes))
                {
                    initial.AsSpan(0, m * n).CopyTo(rows);
                    Gemm.MultiplyOn(isa, a.AsSpan(0, m * k), b, rows, m, n, k, false, false, accumulate, epilogue, packed: packed);
                }

                for (int i = 0; i < m * n; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(blocked[i]) == BitConverter.SingleToInt32Bits(rows[i]),
                        $"{isa} m={m} n={n} k={k} accumulate={accumulate} epilogue={epilogueKind} chunked={chunked} model bytes={modelBytes} call {call}: element {i} is {rows[i]:R} on the row path, {blocked[i]:R} blocked");
                }
            }
        }
    }

    /// <summary>Epilogue kind 0: none; 1: bias; 2: bias and ReLU; 3: the ReLU mask of a <c>[?, n]</c> matrix.</summary>
    internal static unsafe GemmEpilogue Epilogue(int kind, float* bias, float* mask, int n) => kind switch
    {
        1 => GemmEpilogue.AddBias(bias, relu: false),
        2 => GemmEpilogue.AddBias(bias, relu: true),
        3 => GemmEpilogue.MaskRelu(mask, n),
        _ => GemmEpilogue.None,
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Mnist_shapes_are_bitwise_equal(int isa)
    {
        foreach ((int n, int k) in new[] { (128, 784), (10, 128), (512, 784), (256, 512), (10, 256), (1, 5), (70, 300), (300, 97), (1034, 300) })
        {
            for (int m = 1; m <= GemmRows.MaxRowsUnpacked; m++)
            {
                Check((KernelIsa)isa, m, n, k, accumulate: false, epilogueKind: 2, seed: n + k + m);
                Check((KernelIsa)isa, m, n, k, accumulate: false, epilogueKind: 2, seed: n + k + m, chunked: true);
            }
        }
    }

    /// <summary>
    /// Every width of the last columns a 128- and a 64-column pass leave (one to four chains in one loop, the last
    /// masked), alone and after wider passes, chunked and row-major, with one to three k blocks.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_width_of_the_last_columns_is_bitwise_equal(int isa)
    {
        foreach (int n in Enumerable.Range(1, 80).Concat([127, 129, 191, 200, 255]))
        {
            Check((KernelIsa)isa, 1, n, 37, accumulate: false, epilogueKind: 2, seed: n);
            Check((KernelIsa)isa, 2, n, 300, accumulate: true, epilogueKind: 1, seed: n + 1, chunked: true);

            // At most 64 columns take their k blocks two at a time, row-major and chunked: an odd number of blocks,
            // and a last block shorter than the others.
            Check((KernelIsa)isa, 1, n, 301, accumulate: false, epilogueKind: 2, seed: n + 2);
            Check((KernelIsa)isa, 2, n, 301, accumulate: true, epilogueKind: 2, seed: n + 4, chunked: true);
            Check((KernelIsa)isa, 3, n, 700, accumulate: true, epilogueKind: 0, seed: n + 3, chunked: true);
        }
    }

    [Fact]
    public void Products_split_among_threads_are_bitwise_equal_and_the_scope_restores()
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.FmaThreadsOverride = 3;
            Parallelism.DegreeOfParallelism = 3;
            using (GemmRows.ForModel(GemmRows.LargeModelBytes))
            {
                Assert.False(GemmRows.InLargeModelScope);
            }

            using (GemmRows.ForModel(GemmRows.LargeModelBytes + 1))
            {
                Assert.True(GemmRows.InLargeModelScope);
                using (GemmRows.ForModel(0))
                {
                    Assert.True(GemmRows.InLargeModelScope);
                }

                Assert.True(GemmRows.InLargeModelScope);

                // Three rows of 512·256 and of 256·300 take three threads, one row of 512·256 two, inside the scope as
                // outside it (the threshold is the same; checked below).
                Assert.Equal(3, GemmRows.Threads(3, 256, 512));
                Assert.Equal(3, GemmRows.Threads(3, 300, 256));
                Assert.Equal(2, GemmRows.Threads(1, 256, 512));
                foreach (KernelIsa isa in KernelIsaSupport.Supported)
                {
                    foreach ((int n, int k) in new[] { (256, 512), (300, 256), (10, 7000), (97, 900), (48, 300) })
                    {
                        Check(isa, 1, n, k, accumulate: false, epilogueKind: 2, seed: n + k);
                        Check(isa, 3, n, k, accumulate: true, epilogueKind: 1, seed: n + k + 1, chunked: true);
                    }
                }
            }

            Assert.False(GemmRows.InLargeModelScope);
            Assert.Equal(2, GemmRows.Threads(1, 256, 512));
            Assert.Equal(3, GemmRows.Threads(3, 300, 256));

            // The threshold: one sample of 784·128 (100K multiply-adds) takes two threads, of 784·64 (50K) one.
            Assert.Equal(2, GemmRows.Threads(1, 128, 784));
            Assert.Equal(1, GemmRows.Threads(1, 64, 784));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    /// <summary>
    /// In a model small enough for each thread's share to stay in L2 (<see cref="GemmRows.ResidentBytesPerThread"/>) the
    /// passes take 64 columns and alternate in direction from call to call; every column is still the same chain, on one
    /// to three threads, row-major and chunked, one row and several.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Passes_in_either_direction_are_bitwise_equal(int isa)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.FmaThreadsOverride = threads;
                Parallelism.DegreeOfParallelism = threads;
                // Consecutive calls alternate; a nested scope, or one of a call that marks no model (0 bytes), is not
                // another call.
                GemmRows.PassOrder first, second, third;
                using (GemmRows.ForModel(1))
                {
                    first = GemmRows.OrderFor(threads, chunkColumns: 0);
                    using (GemmRows.ForModel(2))
                    {
                        Assert.Equal(first, GemmRows.OrderFor(threads, chunkColumns: 0));
                    }
                }

                using (GemmRows.ForModel(0))
                {
                    Assert.Equal(default, GemmRows.OrderFor(threads, chunkColumns: 0));
                }

                using (GemmRows.ForModel(1))
                {
                    second = GemmRows.OrderFor(threads, chunkColumns: 0);
                }

                using (GemmRows.ForModel(GemmRows.ResidentBytesPerThread * threads))
                {
                    third = GemmRows.OrderFor(threads, chunkColumns: 0);
                }

                Assert.True(first.Narrow && second.Narrow && third.Narrow);
                Assert.NotEqual(first.Reverse, second.Reverse);
                Assert.Equal(first.Reverse, third.Reverse);
                Assert.Equal(default, GemmRows.OrderFor(threads, chunkColumns: 0));
                using (GemmRows.ForModel(GemmRows.ResidentBytesPerThread * threads + 1))
                {
                    // A B in column chunks keeps the 64-column passes a little further.
                    Assert.Equal(default, GemmRows.OrderFor(threads, chunkColumns: 0));
                    Assert.True(GemmRows.OrderFor(threads, chunkColumns: 64).Narrow);
                }

                using (GemmRows.ForModel(GemmRows.ChunkedBytesPerThread * threads))
                {
                    Assert.True(GemmRows.OrderFor(threads, chunkColumns: 64).Narrow);
                }

                using (GemmRows.ForModel(GemmRows.ChunkedBytesPerThread * threads + 1))
                {
                    Assert.Equal(default, GemmRows.OrderFor(threads, chunkColumns: 64));
                }

                foreach ((int n, int k) in new[] { (128, 784), (512, 784), (256, 512), (10, 256), (1034, 300), (300, 97), (63, 700), (200, 301), (129, 5) })
                {
                    for (int m = 1; m <= GemmRows.MaxRowsUnpacked; m += 3)
                    {
                        Check((KernelIsa)isa, m, n, k, accumulate: m > 1, epilogueKind: 2, seed: n + k + m, modelBytes: 1);
                        Check((KernelIsa)isa, m, n, k, accumulate: false, epilogueKind: 1, seed: n + k + m + 1, chunked: true, modelBytes: 1);
                    }
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Property(MaxTest = 150)]
    public Property Any_shape_and_epilogue_is_bitwise_equal()
    {
        Gen<(int M, int N, int K, bool Accumulate, int Epilogue, int Isa, bool Chunked, long ModelBytes)> cases =
            from m in Gen.Choose(1, GemmRows.MaxRowsUnpacked)
            from n in Gen.Choose(1, 600)
            from k in Gen.Choose(1, 600)
            from accumulate in Gen.Elements(false, true)
            from epilogue in Gen.Choose(0, 3)
            from isa in Gen.Elements([.. KernelIsaSupport.Supported.Select(i => (int)i)])
            from chunked in Gen.Elements(false, true)
            from modelBytes in Gen.Elements(0L, 1L)
            select (m, n, k, accumulate, epilogue, isa, chunked, modelBytes);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            Check((KernelIsa)c.Isa, c.M, c.N, c.K, c.Accumulate, c.Epilogue, c.M * 1000 + c.N + c.K, c.Chunked, c.ModelBytes);
            return true;
        });
    }
}
