using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// A sparse A (a batch of images): the step lists hold exactly the steps with a value other than ±0 in a tile's rows,
/// and the first layer's products over them (the forward from panels, the weight gradient into panels) give bitwise the
/// full products' C wherever B is finite, on every path and at any thread count. Where B holds an infinity at a step
/// left out, C is the product with that step's row of B taken as zero (GemmSteps' remarks), which shows that the steps
/// are really left out on each path.
/// </summary>
[Collection(SerialTests.Name)]
public class GemmStepsTests
{
    public static TheoryData<string> Patterns => new() { "image", "half", "most", "all", "rows", "none" };

    [Fact]
    public unsafe void The_lists_hold_exactly_the_steps_with_a_value_other_than_zero()
    {
        var random = new Random(11);
        foreach (int rows in new[] { 1, 2, 4, 6, 7, 8, 12 })
        {
            foreach (int kc in new[] { 0, 1, 7, 8, 15, 16, 17, 33, 196 })
            {
                for (int trial = 0; trial < 4; trial++)
                {
                    // Row-major: row r at r·lda, with lda past kc; and transposed: step p's rows side by side at p·ld.
                    int lda = kc + 3, ld = rows + 2;
                    float[] rowMajor = Values(random, rows * lda, trial), columns = Values(random, Math.Max(1, kc * ld), trial);
                    var expectedRows = new List<int>();
                    var expectedColumns = new List<int>();
                    for (int p = 0; p < kc; p++)
                    {
                        bool anyRow = false, anyColumn = false;
                        for (int r = 0; r < rows; r++)
                        {
                            anyRow |= rowMajor[(r * lda) + p] != 0f;
                            anyColumn |= columns[(p * ld) + r] != 0f;
                        }

                        if (anyRow)
                        {
                            expectedRows.Add(p);
                        }

                        if (anyColumn)
                        {
                            expectedColumns.Add(p);
                        }
                    }

                    int[] steps = new int[kc + GemmSteps.ListSlack];
                    fixed (float* a = rowMajor, t = columns)
                    fixed (int* s = steps)
                    {
                        int count = GemmSteps.RowMajor(a, lda, rows, kc, s);
                        Assert.Equal(expectedRows, steps[..count]);
                        count = GemmSteps.Columns(t, ld, rows, kc, s);
                        Assert.Equal(expectedColumns, steps[..count]);
                    }
                }
            }
        }
    }

    [Fact]
    public unsafe void The_first_row_rules_a_list_out_only_where_the_whole_tile_would()
    {
        var random = new Random(12);
        foreach (int kc in new[] { 1, 8, 15, 16, 17, 100, 196 })
        {
            for (int trial = 0; trial < 40; trial++)
            {
                float[] tile = Values(random, 8 * kc, trial % 4);
                int[] steps = new int[kc + GemmSteps.ListSlack];
                fixed (float* a = tile)
                fixed (int* s = steps)
                {
                    int rowNonZero = tile.AsSpan(0, kc).ToArray().Count(v => v != 0f);
                    bool may = GemmSteps.MayBeWorthwhile(a, kc);
                    Assert.Equal(GemmSteps.Worthwhile(rowNonZero, kc), may);
                    if (GemmSteps.Worthwhile(GemmSteps.RowMajor(a, kc, 8, kc, s), kc))
                    {
                        Assert.True(may, $"kc={kc}: a worthwhile tile was ruled out by its first row");
                    }
                }
            }
        }
    }

    [SkippableFact]
    public unsafe void Every_panel_listed_at_once_gets_the_list_of_its_own_and_nothing_past_the_room_is_written()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "this layout exists only on the AVX-512 path, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        // Rows around the 64-row groups and 16-row runs (a ragged last panel, a last group of one run), steps around
        // the 8-step blocks and 16-step stores; A a weight gradient's transposed batch, one step's rows lda apart.
        var random = new Random(13);
        foreach (int rows in new[] { 1, 7, 8, 9, 16, 17, 63, 64, 65, 100, 784 })
        {
            foreach (int kc in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 128, 200 })
            {
                for (int trial = 0; trial < 4; trial++)
                {
                    int lda = rows + 5, panels = (rows + 7) / 8, stride = kc + 3;
                    float[] a = Values(random, kc * lda, trial);
                    int[] lists = new int[(panels * stride) + GemmSteps.ListSlack + 16];
                    int[] counts = new int[panels];
                    byte[] scratch = new byte[GemmSteps.ColumnPanelsScratch(rows, kc)];
                    Array.Fill(lists, int.MinValue);
                    fixed (float* pa = a)
                    fixed (int* pl = lists, pc = counts)
                    fixed (byte* ps = scratch)
                    {
                        GemmSteps.ColumnPanels8(pa, lda, rows, kc, pl, stride, pc, ps);
                        int[] expected = new int[kc + GemmSteps.ListSlack];
                        fixed (int* pe = expected)
                        {
                            for (int q = 0; q < panels; q++)
                            {
                                int count = GemmSteps.Columns(pa + (q * 8), lda, Math.Min(8, rows - (q * 8)), kc, pe);
                                Assert.True(count == counts[q], $"rows={rows}, kc={kc}, trial {trial}, panel {q}: {counts[q]} steps listed, {count} expected");
                                Assert.Equal(expected[..count], lists[(q * stride)..((q * stride) + count)]);
                            }
                        }
                    }

                    Assert.All(lists[((panels * stride) + GemmSteps.ListSlack)..], v => Assert.Equal(int.MinValue, v));
                }
            }
        }
    }

    [Fact]
    public unsafe void A_row_major_list_counts_a_lone_nan_subnormal_or_infinity_among_negative_zeros()
    {
        // The rows' bits are OR-ed with the sign cleared: -0 must stay zero, and any other value must be listed.
        float[] specials = [float.NaN, float.Epsilon, -float.Epsilon, 1e-40f, float.NegativeInfinity, -1f];
        var random = new Random(16);
        foreach (int rows in new[] { 1, 3, 8 })
        {
            foreach (int kc in new[] { 1, 15, 16, 17, 40 })
            {
                foreach (float special in specials)
                {
                    int lda = kc + 2, row = random.Next(rows), step = random.Next(kc);
                    float[] a = new float[rows * lda];
                    Array.Fill(a, -0f);
                    a[(row * lda) + step] = special;
                    int[] steps = new int[kc + GemmSteps.ListSlack];
                    fixed (float* pa = a)
                    fixed (int* s = steps)
                    {
                        int count = GemmSteps.RowMajor(pa, lda, rows, kc, s);
                        Assert.True(count == 1 && steps[0] == step, $"rows={rows}, kc={kc}, {special} at row {row}, step {step}: listed {count}");
                    }
                }
            }
        }
    }

    [Fact]
    public void The_8x8_bit_transpose_moves_bit_c_of_byte_r_to_bit_r_of_byte_c()
    {
        var random = new Random(14);
        for (int trial = 0; trial < 200; trial++)
        {
            ulong x = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
            ulong t = GemmSteps.Transpose8x8(x);
            for (int r = 0; r < 8; r++)
            {
                for (int c = 0; c < 8; c++)
                {
                    Assert.Equal((x >> ((8 * r) + c)) & 1, (t >> ((8 * c) + r)) & 1);
                }
            }
        }
    }

    [Fact]
    public unsafe void A_row_major_list_writes_nothing_past_its_room()
    {
        var random = new Random(15);
        foreach (int kc in new[] { 1, 15, 16, 17, 100, 196 })
        {
            float[] a = Values(random, 8 * kc, 0);
            int[] steps = new int[kc + GemmSteps.ListSlack + 16];
            Array.Fill(steps, int.MinValue);
            fixed (float* pa = a)
            fixed (int* s = steps)
            {
                GemmSteps.RowMajor(pa, kc, 8, kc, s);
            }

            Assert.All(steps[(kc + GemmSteps.ListSlack)..], v => Assert.Equal(int.MinValue, v));
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void The_forward_product_over_the_listed_steps_is_bitwise_the_full_one(string pattern)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            foreach ((int k, int n) in new[] { (784, 512), (784, 128), (300, 64), (257, 96), (13, 32) })
            {
                if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
                {
                    continue;
                }

                float[] w = Seeded.Uniform(k * n, 3 * k), bias = Seeded.Uniform(n, 5), panels = PanelLayoutTests.Panels(layout, w);
                foreach (int m in new[] { 1, 5, 12, 32, 67, 128 })
                {
                    float[] x = Sparse(Seeded.Uniform(m * k, m + k), m, k, pattern, m * k);
                    float[] expected = new float[m * n];
                    PanelLayoutTests.MultiplyAddBiasOn(isa, x, w, bias, expected, m, n, k, relu: true);
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        float[] actual = new float[m * n];
                        GemmSplitTests.WithThreads(threads, () => Gemm.MultiplyAddBiasPanels(x, panels, layout, bias, actual, m, relu: true, skipZeroA: true));
                        int first = expected.AsSpan().CommonPrefixLength(actual);
                        Assert.True(first == expected.Length, $"{isa} {pattern} k={k} n={n} m={m}, {threads} threads: element {first} differs");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void A_forward_product_cut_into_parts_keeps_its_slices_lists_for_every_k_block(string pattern)
    {
        // Columns owned by threads, as 784-1024-10's on two threads: each slice cut into parts (GemmJob.Items), the
        // later parts reading the lists the first made for each of the four k blocks.
        int saved = PanelLayout.MinOwnedColumns;
        try
        {
            PanelLayout.MinOwnedColumns = 64;
            foreach (KernelIsa isa in KernelIsaSupport.Supported)
            {
                if (!PanelLayout.TryCreate(784, 512, isa, out PanelLayout layout))
                {
                    continue;
                }

                float[] w = Seeded.Uniform(784 * 512, 17), bias = Seeded.Uniform(512, 5), panels = PanelLayoutTests.Panels(layout, w);
                foreach (int m in new[] { 32, 128 })
                {
                    float[] x = Sparse(Seeded.Uniform(m * 784, m), m, 784, pattern, m + 1);
                    float[] expected = new float[m * 512];
                    PanelLayoutTests.MultiplyAddBiasOn(isa, x, w, bias, expected, m, 512, 784, relu: true);
                    foreach (int threads in new[] { 2, 3 })
                    {
                        float[] actual = new float[m * 512];
                        GemmSplitTests.WithThreads(threads, () =>
                        {
                            Assert.Equal(threads, layout.OwnedColumnSlices(m));
                            Gemm.MultiplyAddBiasPanels(x, panels, layout, bias, actual, m, relu: true, skipZeroA: true);
                        });
                        int first = expected.AsSpan().CommonPrefixLength(actual);
                        Assert.True(first == expected.Length, $"{isa} {pattern} m={m}, {threads} threads: element {first} differs");
                    }
                }
            }
        }
        finally
        {
            PanelLayout.MinOwnedColumns = saved;
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void The_weight_gradient_over_the_listed_steps_is_bitwise_the_full_one(string pattern)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            foreach ((int k, int n) in new[] { (784, 512), (784, 128), (300, 64), (13, 32) })
            {
                if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
                {
                    continue;
                }

                foreach (int batch in new[] { 1, 7, 32, 128 })
                {
                    float[] x = Sparse(Seeded.Uniform(batch * k, batch), batch, k, pattern, batch + k);
                    float[] dy = Seeded.Uniform(batch * n, batch + 1), initial = Seeded.Uniform(k * n, 9);
                    foreach (bool accumulate in new[] { false, true })
                    {
                        float[] expected = (float[])initial.Clone(), expectedBias = new float[n];
                        GemmSplitTests.WithThreads(1, () => Gemm.WeightGradientOn(isa, x, dy, expected, expectedBias, k, n, batch, accumulate, default));
                        foreach (int threads in new[] { 1, 2, 3 })
                        {
                            float[] panels = PanelLayoutTests.Panels(layout, initial), bias = new float[n];
                            GemmSplitTests.WithThreads(threads, () => Gemm.WeightGradientOn(isa, x, dy, panels, bias, k, n, batch, accumulate, default, layout, skipZeroA: true));
                            float[] back = PanelLayoutTests.RowMajor(layout, panels);
                            int first = expected.AsSpan().CommonPrefixLength(back);
                            Assert.True(first == expected.Length,
                                $"{isa} {pattern} k={k} n={n} batch={batch} accumulate={accumulate}, {threads} threads: element {first} differs");
                            Assert.Equal(expectedBias, bias);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void A_step_left_out_of_the_forward_product_does_not_carry_an_infinite_weight_into_C()
    {
        const int k = 300, n = 64, m = 32, step = 7;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            Assert.True(PanelLayout.TryCreate(k, n, isa, out PanelLayout layout));
            float[] x = Sparse(Seeded.Uniform(m * k, 2), m, k, "most", 4), w = Seeded.Uniform(k * n, 3), bias = Seeded.Uniform(n, 5);
            for (int i = 0; i < m; i++)
            {
                x[(i * k) + step] = 0f;
            }

            // The full product turns 0·∞ into NaN; the listed steps leave step 7 out, as if its row of B were zero.
            float[] withInfinity = (float[])w.Clone();
            withInfinity[(step * n) + 3] = float.PositiveInfinity;
            float[] zeroRow = (float[])w.Clone();
            Array.Clear(zeroRow, step * n, n);
            float[] full = new float[m * n], expected = new float[m * n], actual = new float[m * n];
            PanelLayoutTests.MultiplyAddBiasOn(isa, x, withInfinity, bias, full, m, n, k, relu: false);
            PanelLayoutTests.MultiplyAddBiasOn(isa, x, zeroRow, bias, expected, m, n, k, relu: false);
            Gemm.MultiplyAddBiasPanels(x, PanelLayoutTests.Panels(layout, withInfinity), layout, bias, actual, m, relu: false, skipZeroA: true);
            Assert.True(float.IsNaN(full[3]), $"{isa}: the full product");
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void A_sample_left_out_of_the_weight_gradient_does_not_carry_an_infinite_gradient_into_it()
    {
        const int k = 300, n = 64, batch = 32, sample = 5;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            Assert.True(PanelLayout.TryCreate(k, n, isa, out PanelLayout layout));
            float[] x = Sparse(Seeded.Uniform(batch * k, 2), batch, k, "most", 4), dy = Seeded.Uniform(batch * n, 3);
            Array.Clear(x, sample * k, k);
            float[] withInfinity = (float[])dy.Clone();
            withInfinity[(sample * n) + 3] = float.NegativeInfinity;
            float[] zeroRow = (float[])dy.Clone();
            Array.Clear(zeroRow, sample * n, n);
            float[] full = new float[k * n], expected = new float[k * n], panels = new float[k * n];
            Gemm.WeightGradientOn(isa, x, withInfinity, full, new float[n], k, n, batch, false, default);
            Gemm.WeightGradientOn(isa, x, zeroRow, expected, new float[n], k, n, batch, false, default);
            float[] bias = new float[n];
            Gemm.WeightGradientOn(isa, x, withInfinity, panels, bias, k, n, batch, false, default, layout, skipZeroA: true);
            Assert.True(float.IsNaN(full[3]), $"{isa}: the full product");
            Assert.Equal(expected, PanelLayoutTests.RowMajor(layout, panels));
            Assert.Equal(float.NegativeInfinity, bias[3]);
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Row_major_and_prepacked_weights_over_the_listed_steps_give_the_full_products_bits(string pattern)
    {
        // The blocked path for a batch, the few-row path for one to a few samples (one sample over its non-zero steps on
        // the 512-bit and 256-bit paths), from a row-major B and from a prepacked one (panels, or column chunks for a few rows).
        foreach ((int k, int n) in new[] { (784, 512), (784, 128), (300, 96), (13, 32) })
        {
            float[] w = Seeded.Uniform(k * n, k + n), bias = Seeded.Uniform(n, 7);
            PackedMatrix packed = PackedMatrix.Pack(w, k, n, KernelIsaSupport.Best);
            foreach (int m in new[] { 1, 2, 5, 40 })
            {
                float[] x = Sparse(Seeded.Uniform(m * k, m), m, k, pattern, 3 * m);
                float[] expected = new float[m * n];
                GemmSplitTests.WithThreads(1, () => Gemm.MultiplyAddBias(x, w, bias, expected, m, n, k, relu: true));
                foreach (int threads in new[] { 1, 2 })
                {
                    float[] rowMajor = new float[m * n], prepacked = new float[m * n];
                    GemmSplitTests.WithThreads(threads, () =>
                    {
                        Gemm.MultiplyAddBias(x, w, bias, rowMajor, m, n, k, relu: true, skipZeroA: true);
                        Gemm.MultiplyAddBiasPacked(x, packed, bias, prepacked, m, relu: true, skipZeroA: true);
                    });
                    int first = expected.AsSpan().CommonPrefixLength(rowMajor);
                    Assert.True(first == expected.Length, $"{pattern} {k}x{n} m={m}, {threads} threads, row-major: element {first} differs");
                    first = expected.AsSpan().CommonPrefixLength(prepacked);
                    Assert.True(first == expected.Length, $"{pattern} {k}x{n} m={m}, {threads} threads, prepacked: element {first} differs");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void A_pair_of_layers_over_the_first_ones_listed_steps_gives_the_full_products_bits(string pattern)
    {
        const int k1 = 784, n1 = 512, n2 = 256;
        float[] w1 = Seeded.Uniform(k1 * n1, 1), w2 = Seeded.Uniform(n1 * n2, 2), b1 = Seeded.Uniform(n1, 3), b2 = Seeded.Uniform(n2, 4);
        PackedMatrix packed1 = PackedMatrix.Pack(w1, k1, n1, KernelIsaSupport.Best);
        float[] chunked1 = packed1.Chunked.ToArray();
        foreach (int m in new[] { 1, 3 })
        {
            float[] x = Sparse(Seeded.Uniform(m * k1, 5), m, k1, pattern, 6);
            float[] hExpected = new float[m * n1], cExpected = new float[m * n2];
            GemmSplitTests.WithThreads(1, () =>
            {
                Gemm.MultiplyAddBias(x, w1, b1, hExpected, m, n1, k1, relu: true);
                Gemm.MultiplyAddBias(hExpected, w2, b2, cExpected, m, n2, n1, relu: false);
            });
            foreach (bool chunked in new[] { false, true })
            {
                float[] h = new float[m * n1], c = new float[m * n2];
                bool applied = false;
                GemmSplitTests.WithThreads(2, () =>
                {
                    using (GemmRows.ForModel(GemmRows.LargeModelBytes + 1))
                    {
                        applied = Gemm.TryMultiplyPairRows(KernelIsaSupport.Best, x, chunked ? chunked1 : w1, chunked ? packed1.ChunkColumns : 0, b1, true, h, m, k1, n1,
                            w2, 0, b2, false, c, n2, skipZeroA: true);
                    }
                });
                Assert.True(applied, $"{pattern} m={m}: the pair did not apply");
                Assert.Equal(hExpected, h);
                Assert.Equal(cExpected, c);
            }
        }
    }

    /// <summary>
    /// One sample over its non-zero steps on every path that runs here (the 256-bit one skips zeros too, and on a
    /// machine with AVX-512 it is not the default), from a row-major B and from column chunks, every width of the last
    /// columns included: the bits of the path's full product.
    /// </summary>
    [Theory]
    [MemberData(nameof(GemmRowsTests.Paths), MemberType = typeof(GemmRowsTests))]
    public unsafe void One_sample_over_its_listed_steps_gives_the_full_products_bits_on_every_path(int path)
    {
        var isa = (KernelIsa)path;
        foreach ((int k, int n) in new[] { (784, 128), (784, 10), (300, 97), (700, 200), (784, 8), (784, 75) })
        {
            float[] x = Sparse(Seeded.Uniform(k, n), 1, k, "image", n + 1), w = Seeded.Uniform(k * n, k + n);
            PackedMatrix packed = PackedMatrix.Pack(w, k, n, isa);
            float[] expected = new float[n], rowMajor = new float[n], chunked = new float[n];
            Gemm.MultiplyOn(isa, x, w, expected, 1, n, k);
            Gemm.MultiplyOn(isa, x, w, rowMajor, 1, n, k, false, false, false, GemmEpilogue.None, skipZeroA: true);
            Gemm.MultiplyOn(isa, x, w, chunked, 1, n, k, false, false, false, GemmEpilogue.None, packed: packed, skipZeroA: true);
            Assert.True(expected.AsSpan().SequenceEqual(rowMajor), $"{isa} {k}x{n}: row-major element {expected.AsSpan().CommonPrefixLength(rowMajor)} differs");
            Assert.True(expected.AsSpan().SequenceEqual(chunked), $"{isa} {k}x{n}: chunked element {expected.AsSpan().CommonPrefixLength(chunked)} differs");
        }
    }

    [Fact]
    public void One_sample_over_its_listed_steps_does_not_carry_an_infinite_weight_facing_a_zero_into_C()
    {
        // One sample skips its zeros on the 512-bit and the 256-bit paths.
        if (KernelIsaSupport.Best is not (KernelIsa.Vector512 or KernelIsa.Vector256))
        {
            return;
        }

        const int k = 784, n = 128, step = 100;
        float[] x = Sparse(Seeded.Uniform(k, 2), 1, k, "most", 4), w = Seeded.Uniform(k * n, 3), bias = Seeded.Uniform(n, 5);
        x[step] = 0f;
        float[] withInfinity = (float[])w.Clone();
        withInfinity[(step * n) + 3] = float.PositiveInfinity;
        float[] zeroRow = (float[])w.Clone();
        Array.Clear(zeroRow, step * n, n);
        float[] full = new float[n], expected = new float[n], actual = new float[n];
        Gemm.MultiplyAddBias(x, withInfinity, bias, full, 1, n, k, relu: false);
        Gemm.MultiplyAddBias(x, zeroRow, bias, expected, 1, n, k, relu: false);
        Gemm.MultiplyAddBias(x, withInfinity, bias, actual, 1, n, k, relu: false, skipZeroA: true);
        Assert.True(float.IsNaN(full[3]));
        Assert.Equal(expected, actual);
    }

    // Values with zeros (half of them -0) and, now and then, a NaN.
    private static float[] Values(Random random, int length, int trial)
    {
        float[] values = new float[length];
        double zeros = trial switch { 0 => 0.5, 1 => 0.9, 2 => 1.0, _ => 0.0 };
        for (int i = 0; i < length; i++)
        {
            double u = random.NextDouble();
            values[i] = u < zeros ? (random.Next(2) == 0 ? 0f : -0f) : random.NextDouble() < 0.02 ? float.NaN : (float)u + 0.5f;
        }

        return values;
    }

    // Zeros written into rows of a [rows, k] matrix as the pattern says (half of them -0): "image" keeps a random window of
    // each row with holes in it (an MNIST digit's run of pixels), "half" and "most" zero 50% and 95% of the values,
    // "all" every value, "rows" every other row, "none" nothing.
    private static float[] Sparse(float[] values, int rows, int k, string pattern, int seed)
    {
        var random = new Random(seed);
        for (int r = 0; r < rows; r++)
        {
            int lo = random.Next(k), hi = lo + random.Next(k - lo + 1);
            for (int p = 0; p < k; p++)
            {
                bool zero = pattern switch
                {
                    "image" => p < lo || p >= hi || random.NextDouble() < 0.3,
                    "half" => random.NextDouble() < 0.5,
                    "most" => random.NextDouble() < 0.95,
                    "all" => true,
                    "rows" => r % 2 == 1,
                    _ => false,
                };
                if (zero)
                {
                    values[(r * k) + p] = random.Next(2) == 0 ? 0f : -0f;
                }
            }
        }

        return values;
    }
}
