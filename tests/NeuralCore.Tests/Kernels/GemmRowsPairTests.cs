using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// Two few-row products in one parallel region (<see cref="GemmRows.TryMultiplyPair"/>) must give bitwise what the two
/// products give one after the other, on every instruction-set path, for row-major and chunked weights.
/// </summary>
[Collection(SerialTests.Name)]
public class GemmRowsPairTests
{
    public static TheoryData<int> Paths() => [.. KernelIsaSupport.Supported.Select(isa => (int)isa)];

    private static void WithThreads(int threads, Action action)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.FmaThreadsOverride = threads;
            Parallelism.DegreeOfParallelism = threads;

            // Twice where each thread's share stays in L2 (passes of 64 columns, one direction then the other), once
            // where only a B in column chunks keeps them, and once where neither does (wide passes in order).
            foreach (long bytes in new[]
            {
                GemmRows.LargeModelBytes + 1, GemmRows.LargeModelBytes + 1, GemmRows.ResidentBytesPerThread * threads + 1,
                GemmRows.ChunkedBytesPerThread * threads + 1,
            })
            {
                using (GemmRows.ForModel(bytes))
                {
                    action();
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    // Runs the pair and the two products apart; the pair must apply and give the same bits for H and C.
    private static unsafe void Check(KernelIsa isa, int m, int k1, int n1, int n2, bool chunked1, bool chunked2, bool bias1, bool relu1, bool bias2, bool relu2, int seed)
    {
        float[] a = Seeded.Uniform(m * k1, seed);
        float[] w1 = Seeded.Uniform(k1 * n1, seed + 1);
        float[] w2 = Seeded.Uniform(n1 * n2, seed + 2);
        float[] b1 = bias1 ? Seeded.Uniform(n1, seed + 3) : relu1 ? new float[n1] : [];
        float[] b2 = bias2 ? Seeded.Uniform(n2, seed + 4) : relu2 ? new float[n2] : [];
        // The expected rows from the blocked path (the first m rows of a batch too tall for the few-row path), whose
        // arithmetic the few-row path matches and which does not depend on the order of its passes.
        int tall = GemmRows.MaxRowsUnpacked + 5;
        float[] aTall = new float[tall * k1];
        a.CopyTo(aTall, 0);
        float[] hTall = new float[tall * n1], cTall = new float[tall * n2];
        fixed (float* pb1 = b1, pb2 = b2)
        {
            GemmEpilogue e1 = b1.Length == 0 ? GemmEpilogue.None : GemmEpilogue.AddBias(pb1, relu1);
            GemmEpilogue e2 = b2.Length == 0 ? GemmEpilogue.None : GemmEpilogue.AddBias(pb2, relu2);
            Gemm.MultiplyOn(isa, aTall, w1, hTall, tall, n1, k1, false, false, false, e1);
            Gemm.MultiplyOn(isa, hTall, w2, cTall, tall, n2, n1, false, false, false, e2);
        }

        float[] hExpected = hTall[..(m * n1)], cExpected = cTall[..(m * n2)];

        // The chunked copies a predictor reads (PackedMatrix.Chunked is B itself for at most one chunk's columns).
        PackedMatrix? packed1 = chunked1 ? PackedMatrix.Pack(w1, k1, n1, isa) : null;
        PackedMatrix? packed2 = chunked2 ? PackedMatrix.Pack(w2, n1, n2, isa) : null;
        ReadOnlySpan<float> read1 = packed1 is null ? w1 : packed1.Chunked;
        ReadOnlySpan<float> read2 = packed2 is null ? w2 : packed2.Chunked;
        float[] h = new float[m * n1], c = new float[m * n2];
        string what = $"{isa} m={m} {k1}-{n1}-{n2} chunked {chunked1}/{chunked2} bias {bias1}/{bias2} relu {relu1}/{relu2}";
        Assert.True(Gemm.TryMultiplyPairRows(isa, a, read1, packed1?.ChunkColumns ?? 0, b1, relu1, h, m, k1, n1, read2, packed2?.ChunkColumns ?? 0, b2, relu2,
            c, n2),
            $"{what}: the pair did not apply");
        AssertBitwise(hExpected, h, what + ", H");
        AssertBitwise(cExpected, c, what + ", C");
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i} is {actual[i]:R}, apart {expected[i]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Two_threads_give_the_two_products_bits(int isa)
    {
        WithThreads(2, () =>
        {
            for (int m = 1; m <= GemmRows.MaxRows; m++)
            {
                // 784-512-256: two k blocks of 256, one per thread.
                Check((KernelIsa)isa, m, 784, 512, 256, chunked1: true, chunked2: true, true, true, true, true, seed: m);
                Check((KernelIsa)isa, m, 784, 512, 256, chunked1: false, chunked2: false, true, true, true, false, seed: m + 10);
            }

            // Four k blocks on two threads (thread 0 adds its two together, the other's are kept apart): of 256 rows,
            // then of 250 and of 195 (the last 192), ragged widths, no bias, chunks mixed with row-major.
            Check((KernelIsa)isa, 1, 300, 1024, 240, chunked1: true, chunked2: false, false, false, false, false, seed: 21);
            Check((KernelIsa)isa, 2, 97, 1000, 70, chunked1: false, chunked2: true, true, false, false, true, seed: 22);
            Check((KernelIsa)isa, 3, 784, 777, 131, chunked1: true, chunked2: true, false, true, true, true, seed: 23);
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Three_threads_give_the_two_products_bits(int isa)
    {
        WithThreads(3, () =>
        {
            // Three k blocks of 200: one each, two of them kept apart and added by the calling thread.
            Assert.Equal(3, GemmRows.PairThreads(2, 784, 600, 200));
            Check((KernelIsa)isa, 2, 784, 600, 200, chunked1: true, chunked2: true, true, true, true, true, seed: 31);
            Check((KernelIsa)isa, 4, 784, 768, 160, chunked1: false, chunked2: true, true, true, false, false, seed: 32);
        });
    }

    [Fact]
    public void The_pair_applies_only_where_both_products_would_be_divided_and_each_thread_gets_a_block()
    {
        WithThreads(2, () =>
        {
            Assert.Equal(2, GemmRows.PairThreads(1, 784, 512, 256));
            Assert.Equal(1, GemmRows.PairThreads(GemmRows.MaxRows + 1, 784, 512, 256)); // more rows than the pair takes
            Assert.Equal(1, GemmRows.PairThreads(0, 784, 512, 256));
            Assert.Equal(1, GemmRows.PairThreads(1, 784, 256, 256)); // one k block of the second product
            Assert.Equal(1, GemmRows.PairThreads(1, 784, 512, 10)); // the second alone would take one thread
            Assert.Equal(1, GemmRows.PairThreads(1, 16, 512, 256)); // the first alone would take one thread
            Assert.Equal(1, GemmRows.PairThreads(1, 784, 600, 256)); // three k blocks for two threads

            // Where it does not apply, the pair does nothing and says so.
            float[] a = Seeded.Uniform(784, 1), w1 = Seeded.Uniform(784 * 256, 2), w2 = Seeded.Uniform(256 * 256, 3);
            float[] h = [.. Enumerable.Repeat(7f, 256)], c = [.. Enumerable.Repeat(7f, 256)];
            Assert.False(Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, [], false, h, 1, 784, 256, w2, 0, [], false, c, 256));
            Assert.All(h, v => Assert.Equal(7f, v));
            Assert.All(c, v => Assert.Equal(7f, v));
        });

        WithThreads(3, () =>
        {
            Assert.Equal(1, GemmRows.PairThreads(1, 784, 512, 256)); // two blocks for three threads
            Assert.Equal(1, GemmRows.PairThreads(1, 130, 1024, 256)); // the second alone would take three threads, the first two
        });
        WithThreads(1, () => Assert.Equal(1, GemmRows.PairThreads(1, 784, 512, 256)));

        // Outside a large model's scope the second product (131K multiply-adds) would take one thread.
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.FmaThreadsOverride = 2;
            Parallelism.DegreeOfParallelism = 2;
            Assert.Equal(1, GemmRows.PairThreads(1, 784, 512, 256));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public unsafe void C_may_be_written_over_A(int isa)
    {
        // A model's layers ping-pong two buffers, so the pair's output can be its input's memory: C is written only
        // after every thread has read A. Here A and C share one array.
        WithThreads(2, () =>
        {
            const int M = 2, K = 512, N1 = 512, N2 = 512;
            float[] a = Seeded.Uniform(M * K, 41), w1 = Seeded.Uniform(K * N1, 42), w2 = Seeded.Uniform(N1 * N2, 43);
            float[] bias = Seeded.Uniform(N1, 44);
            float[] hExpected = new float[M * N1], cExpected = new float[M * N2];
            fixed (float* pBias = bias)
            {
                Gemm.MultiplyOn((KernelIsa)isa, a, w1, hExpected, M, N1, K, false, false, false, GemmEpilogue.AddBias(pBias, relu: true));
            }

            Gemm.MultiplyOn((KernelIsa)isa, hExpected, w2, cExpected, M, N2, N1, false, false, false, GemmEpilogue.None);

            float[] shared = (float[])a.Clone(), h = new float[M * N1];
            Assert.True(Gemm.TryMultiplyPairRows((KernelIsa)isa, shared, w1, 0, bias, true, h, M, K, N1, w2, 0, [], false, shared, N2));
            AssertBitwise(hExpected, h, $"{(KernelIsa)isa} in place, H");
            AssertBitwise(cExpected, shared, $"{(KernelIsa)isa} in place, C");
        });
    }

    [Fact]
    public void Short_spans_and_relu_without_a_bias_are_rejected()
    {
        WithThreads(2, () =>
        {
            float[] a = new float[784], w1 = new float[784 * 512], w2 = new float[512 * 256], h = new float[512], c = new float[256];
            float[] b1 = new float[512];
            Assert.Throws<ArgumentException>("b2", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, b1, true, h, 1, 784, 512, w2.AsSpan(0, 100), 0, [], false, c, 256));
            Assert.Throws<ArgumentException>("h", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, b1, true, h.AsSpan(0, 511), 1, 784, 512, w2, 0, [], false, c, 256));
            Assert.Throws<ArgumentException>("bias1", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, [], true, h, 1, 784, 512, w2, 0, [], false, c, 256));
            Assert.Throws<ArgumentException>("bias2", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, b1, true, h, 1, 784, 512, w2, 0, b1.AsSpan(0, 10), false, c, 256));

            // H is written while the threads still read A, the weights and (thread 0's sums aside) nothing else.
            float[] big = new float[1024];
            Assert.Throws<ArgumentException>("h", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, big.AsSpan(0, 784), w1, 0, b1, true, big.AsSpan(256, 512), 1, 784, 512, w2, 0, [], false, c, 256));
            Assert.Throws<ArgumentException>("h", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, b1, true, big.AsSpan(0, 512), 1, 784, 512, w2, 0, [], false, big.AsSpan(300, 256), 256));
            Assert.Throws<ArgumentException>("c", () => Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, a, w1, 0, b1, true, h, 1, 784, 512, w2, 0, [], false, w2.AsSpan(0, 256), 256));
        });
    }
}
