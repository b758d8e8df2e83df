using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// A weight matrix kept in panel order during training: the forward product reading it must give bitwise the row-major
/// product's C, and the weight gradient written into it bitwise the row-major gradient's values at the same elements,
/// on every path, with k blocks that 8- and 12-row tiles straddle, and at any thread count.
/// </summary>
[Collection(SerialTests.Name)]
public class PanelLayoutTests
{
    public static TheoryData<int, int> Shapes => new()
    {
        { 784, 128 },
        { 784, 512 },
        { 300, 64 },
        { 257, 96 },
        { 13, 32 },
        { 1, 48 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Row_major_and_panel_order_convert_both_ways(int k, int n)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
            {
                continue;
            }

            // In place, a k block at a time through a scratch of one block; every element lands where Offset says.
            float[] rowMajor = Seeded.Uniform(k * n, k + n);
            Assert.True(layout.ScratchLength <= Math.Min(k, 256) * n);
            float[] panels = Panels(layout, rowMajor);
            for (int p = 0; p < k; p++)
            {
                for (int j = 0; j < n; j++)
                {
                    Assert.Equal(rowMajor[(p * n) + j], panels[layout.Offset(p, j)]);
                }
            }

            Assert.Equal(rowMajor, RowMajor(layout, panels));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_tile_offset_is_the_offset_of_a_panel_start_in_its_k_block(int k, int n)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
            {
                continue;
            }

            for (int p = 0; p < k; p++)
            {
                for (int j = 0; j < n; j += layout.Nr)
                {
                    Assert.Equal(layout.Offset(p, j), layout.TileOffset(p / layout.Kc * layout.Kc, p, j));
                }
            }
        }
    }

    [Fact]
    public void A_layout_exactly_where_the_panels_cover_the_columns_and_the_narrow_path_does_not_read_them()
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            Assert.True(PanelLayout.TryCreate(784, 128, isa, out PanelLayout layout), $"{isa}: 784 x 128");
            Assert.Equal(196, layout.Kc);
            foreach (int n in new[] { 10, 20, 36, 100, 132 })
            {
                bool narrow = isa == KernelIsa.Vector512 && n <= 16;
                Assert.Equal(!narrow && n % layout.Nr == 0, PanelLayout.TryCreate(784, n, isa, out _));
            }

            Assert.False(PanelLayout.TryCreate(0, 128, isa, out _));
        }

        if (KernelIsaSupport.IsSupported(KernelIsa.Vector512))
        {
            Assert.True(PanelLayout.TryCreate(784, 128, KernelIsa.Vector512, out PanelLayout wide));
            Assert.Equal(32, wide.Nr);
            Assert.False(PanelLayout.TryCreate(784, 16, KernelIsa.Vector512, out _));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_forward_product_from_panels_is_bitwise_the_row_major_one(int k, int n)
    {
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
            {
                continue;
            }

            float[] w = Seeded.Uniform(k * n, 3 * k), bias = Seeded.Uniform(n, 5), panels = Panels(layout, w);
            foreach (int m in new[] { 1, 3, 4, 5, 12, 32, 67 })
            {
                foreach (bool relu in new[] { false, true })
                {
                    float[] x = Seeded.Uniform(m * k, m + k), expected = new float[m * n], actual = new float[m * n];
                    MultiplyAddBiasOn(isa, x, w, bias, expected, m, n, k, relu);
                    Gemm.MultiplyAddBiasPanels(x, panels, layout, bias, actual, m, relu);
                    int first = expected.AsSpan().CommonPrefixLength(actual);
                    Assert.True(first == expected.Length, $"{isa} k={k} n={n} m={m} relu={relu}: element {first} differs");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Both_products_give_the_same_bits_whether_threads_divide_the_reduction_or_own_columns(int k, int n)
    {
        bool owned = false;
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
            {
                continue;
            }

            float[] w = Seeded.Uniform(k * n, 7 * k), bias = Seeded.Uniform(n, 6), panels = Panels(layout, w);
            foreach (int m in new[] { 5, 32, 67, 128 })
            {
                float[] x = Seeded.Uniform(m * k, m + (2 * k)), dy = Seeded.Uniform(m * n, m + 3);
                float[] expected = new float[m * n], expectedGrad = new float[k * n], expectedBias = new float[n];
                GemmSplitTests.WithThreads(1, () =>
                {
                    MultiplyAddBiasOn(isa, x, w, bias, expected, m, n, k, relu: true);
                    Gemm.WeightGradientOn(isa, x, dy, expectedGrad, expectedBias, k, n, m, false, default);
                });
                foreach (int threads in new[] { 2, 3 })
                {
                    foreach (int minColumns in new[] { PanelLayout.MinOwnedColumns, 1 })
                    {
                        float[] actual = new float[m * n], grad = Panels(layout, new float[k * n]), biasGrad = new float[n];
                        int slices = 0;
                        WithOwnedColumns(minColumns, () => GemmSplitTests.WithThreads(threads, () =>
                        {
                            slices = layout.OwnedColumnSlices(m);
                            Gemm.MultiplyAddBiasPanels(x, panels, layout, bias, actual, m, relu: true);
                            Gemm.WeightGradientOn(isa, x, dy, grad, biasGrad, k, n, m, false, default, layout);
                        }));
                        owned |= slices > 1;
                        string what = $"{isa} k={k} n={n} m={m}, {threads} threads, {slices} owned column slices";
                        GemmSplitTests.AssertBitwiseEqual(expected, actual, $"{what}: forward");
                        GemmSplitTests.AssertBitwiseEqual(expectedGrad, RowMajor(layout, grad), $"{what}: weight gradient");
                        Assert.Equal(expectedBias, biasGrad);
                    }
                }
            }
        }

        // Every shape but the smallest gives two or three threads columns to own at some batch.
        Assert.True(owned || (long)k * n * 128 < 2 * GemmPlan.MinFmaPerThread, $"k={k} n={n}: no product divided its columns");
    }

    [SkippableTheory]
    [InlineData(512, 2, 10, true)]
    [InlineData(768, 3, 10, true)]
    [InlineData(1024, 4, 16, true)]
    [InlineData(1024, 2, 1, false)]
    [InlineData(768, 2, 10, true)]
    public void The_narrow_product_above_owned_columns_is_bitwise_the_two_products(int units, int threads, int upperUnits, bool upperBias)
    {
        Skip.IfNot(KernelIsaSupport.IsSupported(KernelIsa.Vector512), "the 512-bit kernels need AVX-512, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        const int k = 300, m = 67;
        Assert.True(PanelLayout.TryCreate(k, units, KernelIsa.Vector512, out PanelLayout layout));
        (float[] x, float[] w, float[] bias, float[] w2, float[] bias2, float[] expectedH, float[] expected) =
            TwoLayers(k, units, upperUnits, upperBias, m);
        float[] panels = Panels(layout, w);

        float[] h = new float[m * units], output = Enumerable.Repeat(-1f, m * upperUnits).ToArray();
        bool fits = false, done = false;
        WithOwnedColumns(1, () => GemmSplitTests.WithThreads(threads, () =>
        {
            int slices = layout.OwnedColumnSlices(m);
            fits = slices > 0 && GemmNarrow.OwnedUpper.Fits(layout, slices, m, upperUnits);
            done = Gemm.TryMultiplyAddBiasPanelsThenNarrow(x, panels, layout, bias, h, m, relu: true, skipZeroA: true, w2, bias2, output, upperUnits);
        }));
        Assert.Equal(units / threads % 256 == 0, fits);
        Assert.Equal(fits, done);
        if (!done)
        {
            // Nothing computed where it does not apply.
            Assert.All(output, v => Assert.Equal(-1f, v));
            Assert.All(h, v => Assert.Equal(0f, v));
            return;
        }

        Assert.Equal(expectedH, h);
        GemmSplitTests.AssertBitwiseEqual(expected, output, $"units={units} threads={threads} n={upperUnits}");
    }

    [Fact]
    public void Columns_are_owned_only_where_each_thread_gets_the_minimum()
    {
        Assert.True(PanelLayout.TryCreate(784, 1024, KernelIsa.Vector256, out PanelLayout wide));
        Assert.True(PanelLayout.TryCreate(784, 512, KernelIsa.Vector256, out PanelLayout half));
        GemmSplitTests.WithThreads(2, () =>
        {
            Assert.Equal(2, wide.OwnedColumnSlices(128));
            Assert.Equal(0, half.OwnedColumnSlices(128));
            Assert.Equal(0, wide.OwnedColumnSlices(0));
        });
        Assert.Equal((0, 512), wide.ColumnSlice(2, 0));
        Assert.Equal((512, 1024), wide.ColumnSlice(2, 1));
        GemmSplitTests.WithThreads(1, () => Assert.Equal(0, wide.OwnedColumnSlices(128)));
        Assert.Equal(0, default(PanelLayout).OwnedColumnSlices(128));
    }

    // A dense layer with ReLU under a narrow one, seeded: the input (a third of it zero), both layers' weights and biases
    // (no upper bias unless asked), and both outputs computed one product after the other on one thread.
    internal static (float[] X, float[] W, float[] Bias, float[] W2, float[] Bias2, float[] ExpectedH, float[] Expected) TwoLayers(
        int k, int units, int upperUnits, bool upperBias, int m)
    {
        float[] w = Seeded.Uniform(k * units, units), bias = Seeded.Uniform(units, 2);
        float[] w2 = Seeded.Uniform(units * upperUnits, 3), bias2 = upperBias ? Seeded.Uniform(upperUnits, 4) : [];
        float[] x = Seeded.Uniform(m * k, 5);
        for (int i = 0; i < x.Length; i += 3)
        {
            x[i] = 0f;
        }

        float[] expectedH = new float[m * units], expected = new float[m * upperUnits];
        GemmSplitTests.WithThreads(1, () =>
        {
            MultiplyAddBiasOn(KernelIsa.Vector512, x, w, bias, expectedH, m, units, k, relu: true);
            if (upperBias)
            {
                MultiplyAddBiasOn(KernelIsa.Vector512, expectedH, w2, bias2, expected, m, upperUnits, units, relu: false);
            }
            else
            {
                Gemm.MultiplyOn(KernelIsa.Vector512, expectedH, w2, expected, m, upperUnits, units);
            }
        });
        return (x, w, bias, w2, bias2, expectedH, expected);
    }

    // Runs `action` with PanelLayout.MinOwnedColumns at `min`, then puts it back.
    internal static void WithOwnedColumns(int min, Action action)
    {
        int saved = PanelLayout.MinOwnedColumns;
        try
        {
            PanelLayout.MinOwnedColumns = min;
            action();
        }
        finally
        {
            PanelLayout.MinOwnedColumns = saved;
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_weight_gradient_into_panels_is_bitwise_the_row_major_one_at_any_thread_count(int k, int n)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            foreach (KernelIsa isa in KernelIsaSupport.Supported)
            {
                if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
                {
                    continue;
                }

                foreach (int batch in new[] { 1, 7, 32, 128 })
                {
                    float[] x = Seeded.Uniform(batch * k, batch), dy = Seeded.Uniform(batch * n, batch + 1), initial = Seeded.Uniform(k * n, 9);
                    foreach (bool accumulate in new[] { false, true })
                    {
                        Parallelism.DegreeOfParallelism = 1;
                        float[] expected = (float[])initial.Clone(), expectedBias = new float[n];
                        Gemm.WeightGradientOn(isa, x, dy, expected, expectedBias, k, n, batch, accumulate, default);
                        foreach (int threads in new[] { 1, 2, 3 })
                        {
                            Parallelism.DegreeOfParallelism = threads;
                            Parallelism.FmaThreadsOverride = threads;
                            float[] panels = Panels(layout, initial), bias = new float[n];
                            Gemm.WeightGradientOn(isa, x, dy, panels, bias, k, n, batch, accumulate, default, layout);
                            float[] back = RowMajor(layout, panels);
                            int first = expected.AsSpan().CommonPrefixLength(back);
                            Assert.True(first == expected.Length,
                                $"{isa} k={k} n={n} batch={batch} accumulate={accumulate}, {threads} threads: element {first} differs");
                            Assert.Equal(expectedBias, bias);
                        }
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

    internal static float[] Panels(in PanelLayout layout, float[] rowMajor)
    {
        float[] values = (float[])rowMajor.Clone();
        layout.Reorder(values, new float[layout.ScratchLength], toPanels: true);
        return values;
    }

    internal static float[] RowMajor(in PanelLayout layout, float[] panels)
    {
        float[] values = (float[])panels.Clone();
        layout.Reorder(values, new float[layout.ScratchLength], toPanels: false);
        return values;
    }

    internal static unsafe void MultiplyAddBiasOn(KernelIsa isa, float[] x, float[] w, float[] bias, float[] c, int m, int n, int k, bool relu)
    {
        fixed (float* pBias = bias)
        {
            Gemm.MultiplyOn(isa, x, w, c, m, n, k, false, false, false, GemmEpilogue.AddBias(pBias, relu), GemmSplit.Reduction);
        }
    }
}
