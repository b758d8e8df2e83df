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

            float[] rowMajor = Seeded.Uniform(k * n, k + n), panels = new float[k * n], back = new float[k * n];
            layout.FromRowMajor(rowMajor, panels);
            for (int p = 0; p < k; p++)
            {
                for (int j = 0; j < n; j++)
                {
                    Assert.Equal(rowMajor[(p * n) + j], panels[layout.Offset(p, j)]);
                }
            }

            layout.ToRowMajor(panels, back);
            Assert.Equal(rowMajor, back);

            // In place, a k block at a time through a scratch of one block.
            float[] inPlace = (float[])rowMajor.Clone(), scratch = new float[layout.ScratchLength];
            Assert.True(layout.ScratchLength <= Math.Min(k, 256) * n);
            layout.Reorder(inPlace, scratch, toPanels: true);
            Assert.Equal(panels, inPlace);
            layout.Reorder(inPlace, scratch, toPanels: false);
            Assert.Equal(rowMajor, inPlace);
        }
    }

    [Fact]
    public void No_layout_where_the_panels_would_need_padding_or_the_narrow_path_reads_the_matrix()
    {
        Assert.False(PanelLayout.TryCreate(784, 10, KernelIsaSupport.Best, out _) && KernelIsaSupport.Best == KernelIsa.Vector512);
        Assert.False(PanelLayout.TryCreate(784, 100, KernelIsa.Scalar, out _) && 100 % 4 != 0);
        Assert.False(PanelLayout.TryCreate(0, 32, KernelIsaSupport.Best, out _));
        if (KernelIsaSupport.IsSupported(KernelIsa.Vector512))
        {
            Assert.False(PanelLayout.TryCreate(784, 100, KernelIsa.Vector512, out _));
            Assert.True(PanelLayout.TryCreate(784, 128, KernelIsa.Vector512, out PanelLayout layout));
            Assert.Equal(32, layout.Nr);
            Assert.Equal(196, layout.Kc);
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

            float[] w = Seeded.Uniform(k * n, 3 * k), panels = new float[k * n], bias = Seeded.Uniform(n, 5);
            layout.FromRowMajor(w, panels);
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
                            float[] panels = new float[k * n], bias = new float[n], back = new float[k * n];
                            layout.FromRowMajor(initial, panels);
                            Gemm.WeightGradientOn(isa, x, dy, panels, bias, k, n, batch, accumulate, default, layout);
                            layout.ToRowMajor(panels, back);
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

    private static unsafe void MultiplyAddBiasOn(KernelIsa isa, float[] x, float[] w, float[] bias, float[] c, int m, int n, int k, bool relu)
    {
        fixed (float* pBias = bias)
        {
            Gemm.MultiplyOn(isa, x, w, c, m, n, k, false, false, false, GemmEpilogue.AddBias(pBias, relu), GemmSplit.Reduction);
        }
    }
}
