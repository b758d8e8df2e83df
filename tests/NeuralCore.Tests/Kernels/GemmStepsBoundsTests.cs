using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// The step listings against their buffers' ends: A, the lists, the counts and the scratch each end where a page that
/// may not be touched begins, so that one float read or written past them faults; the real buffer layout
/// (<see cref="GemmBuffers.StepLists"/>); a lone NaN or subnormal among -0s; and the weight gradient over several k blocks.
/// </summary>
[Collection(SerialTests.Name)]
public unsafe class GemmStepsBoundsTests
{
    private const int ProtNone = 0, ProtRw = 3, MapPrivateAnon = 0x22;

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int mprotect(IntPtr addr, nuint length, int prot);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(IntPtr addr, nuint length);

    // `bytes` usable bytes that end exactly where a PROT_NONE page starts (and start after one).
    private sealed class Fenced : IDisposable
    {
        private readonly IntPtr _map;
        private readonly nuint _length;
        public readonly byte* End;

        public Fenced(long bytes)
        {
            long page = Environment.SystemPageSize;
            long body = (bytes + page - 1) / page * page;
            _length = (nuint)(body + (2 * page));
            _map = mmap(IntPtr.Zero, _length, ProtNone, MapPrivateAnon, -1, 0);
            Assert.NotEqual(new IntPtr(-1), _map);
            Assert.Equal(0, mprotect(_map + (nint)page, (nuint)body, ProtRw));
            End = (byte*)_map + page + body;
        }

        public T* At<T>(long count) where T : unmanaged => (T*)(End - (count * sizeof(T)));

        public void Dispose() => Assert.Equal(0, munmap(_map, _length));
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void Columns_reads_no_float_past_a_panel_that_ends_at_the_buffer_end()
    {
        Skip.If(!OperatingSystem.IsLinux(), "the guard pages come from Linux mmap/mprotect");

        // The last panel of a transposed A whose last step ends at the fence: a masked load (rows below 8 on the AVX
        // path, below 16 on AVX-512) must read nothing past the tile's rows.
        var random = new Random(22);
        foreach (int rows in new[] { 1, 2, 3, 5, 6, 7, 8 })
        {
            foreach (int kc in new[] { 1, 2, 17, 196 })
            {
                for (int trial = 0; trial < 4; trial++)
                {
                    using var fa = new Fenced((long)kc * rows * 4);
                    float* a = fa.At<float>((long)kc * rows);
                    Fill(a, (long)kc * rows, random, trial);
                    var expected = new List<int>();
                    for (int p = 0; p < kc; p++)
                    {
                        bool any = false;
                        for (int r = 0; r < rows; r++)
                        {
                            any |= a[((long)p * rows) + r] != 0f;
                        }

                        if (any)
                        {
                            expected.Add(p);
                        }
                    }

                    int[] steps = new int[kc + GemmSteps.ListSlack];
                    fixed (int* s = steps)
                    {
                        int count = GemmSteps.Columns(a, rows, rows, kc, s);
                        Assert.True(expected.SequenceEqual(steps[..count]), $"rows={rows} kc={kc} trial={trial}");
                    }
                }
            }
        }
    }

    private static void Fill(float* a, long length, Random random, int trial)
    {
        double zeros = trial switch { 0 => 0.5, 1 => 0.95, 2 => 1.0, _ => 0.0 };
        for (long i = 0; i < length; i++)
        {
            double u = random.NextDouble();
            a[i] = u < zeros ? (random.Next(2) == 0 ? 0f : -0f) : random.NextDouble() < 0.05 ? float.NaN : (float)u + 0.5f;
        }
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void Column_panels_read_and_write_nothing_past_tight_buffers()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "this layout exists only on the AVX-512 path, which this CPU (or DOTNET_EnableAVX512=0) does not offer");
        Skip.IfNot(OperatingSystem.IsLinux(), "the guard pages come from Linux mmap/mprotect");

        var random = new Random(21);
        foreach (int rows in new[] { 1, 3, 8, 15, 16, 17, 31, 48, 63, 64, 65, 79, 127, 128, 129, 200, 784 })
        {
            foreach (int kc in new[] { 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 129, 196, 256 })
            {
                for (int trial = 0; trial < 4; trial++)
                {
                    // lda == rows: the last step's last row is the last float before the fence.
                    int lda = rows, panels = (rows + 7) / 8, stride = kc;
                    using var fa = new Fenced((long)kc * lda * 4);
                    using var fl = new Fenced(((long)panels * stride + GemmSteps.ListSlack) * 4);
                    using var fc = new Fenced((long)panels * 4);
                    long scratchBytes = GemmSteps.ColumnPanelsScratch(rows, kc);
                    using var fs = new Fenced(scratchBytes);
                    float* a = fa.At<float>((long)kc * lda);
                    Fill(a, (long)kc * lda, random, trial);
                    int* lists = fl.At<int>(((long)panels * stride) + GemmSteps.ListSlack);
                    int* counts = fc.At<int>(panels);
                    byte* scratch = fs.At<byte>(scratchBytes);
                    GemmSteps.ColumnPanels8(a, lda, rows, kc, lists, stride, counts, scratch);
                    int[] expected = new int[kc + GemmSteps.ListSlack];
                    fixed (int* pe = expected)
                    {
                        for (int q = 0; q < panels; q++)
                        {
                            int count = GemmSteps.Columns(a + (q * 8), lda, Math.Min(8, rows - (q * 8)), kc, pe);
                            Assert.True(count == counts[q], $"rows={rows} kc={kc} trial={trial} panel {q}");
                            Assert.Equal(expected[..count], new Span<int>(lists + ((long)q * stride), count).ToArray());
                        }
                    }
                }
            }
        }
    }

    [SkippableFact]
    public void Column_panels_in_the_step_lists_layout_leave_counts_intact_for_every_kc_up_to_the_stride()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "this layout exists only on the AVX-512 path, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        var random = new Random(22);
        foreach (int rows in new[] { 1, 9, 64, 65, 784 })
        {
            const int stride = 196;
            int panels = (rows + 7) / 8;
            foreach (int kc in new[] { 181, 188, 189, 195, 196 })
            {
                float[] values = new float[kc * rows];
                fixed (float* a = values)
                {
                    Fill(a, values.Length, random, 3); // dense: every list as long as it can be
                    int* lists = GemmBuffers.StepLists(panels, stride, out int* counts, out byte* scratch, GemmSteps.ColumnPanelsScratch(rows, stride));
                    GemmSteps.ColumnPanels8(a, rows, rows, kc, lists, stride, counts, scratch);
                    for (int q = 0; q < panels; q++)
                    {
                        Assert.Equal(kc, counts[q]);
                        for (int i = 0; i < kc; i++)
                        {
                            Assert.Equal(i, lists[((long)q * stride) + i]);
                        }
                    }
                }
            }
        }
    }

    [SkippableFact]
    public void A_lone_NaN_or_denormal_is_listed_and_negative_zeros_are_not()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "this layout exists only on the AVX-512 path, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        foreach (int rows in new[] { 8, 70, 130 })
        {
            const int kc = 40;
            int panels = (rows + 7) / 8;
            for (int row = 0; row < rows; row++)
            {
                float[] values = new float[kc * rows];
                Array.Fill(values, -0f);
                int step = (row * 7) % kc;
                values[(step * rows) + row] = row % 2 == 0 ? float.NaN : -float.Epsilon;
                int[] lists = new int[(panels * kc) + GemmSteps.ListSlack];
                int[] counts = new int[panels];
                byte[] scratch = new byte[GemmSteps.ColumnPanelsScratch(rows, kc)];
                fixed (float* a = values)
                fixed (int* l = lists, c = counts)
                fixed (byte* s = scratch)
                {
                    GemmSteps.ColumnPanels8(a, rows, rows, kc, l, kc, c, s);
                }

                for (int q = 0; q < panels; q++)
                {
                    Assert.Equal(q == row / 8 ? 1 : 0, counts[q]);
                }

                Assert.Equal(step, lists[(row / 8) * kc]);
            }
        }
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void Row_major_lists_read_and_write_nothing_past_tight_buffers()
    {
        Skip.If(!OperatingSystem.IsLinux(), "the guard pages come from Linux mmap/mprotect");

        var random = new Random(23);
        foreach (int rows in new[] { 1, 2, 5, 8 })
        {
            foreach (int kc in new[] { 1, 7, 15, 16, 17, 31, 33, 196, 256 })
            {
                for (int trial = 0; trial < 4; trial++)
                {
                    using var fa = new Fenced((long)rows * kc * 4);
                    using var fs = new Fenced((kc + GemmSteps.ListSlack) * 4L);
                    float* a = fa.At<float>((long)rows * kc);
                    Fill(a, (long)rows * kc, random, trial);
                    int* steps = fs.At<int>(kc + GemmSteps.ListSlack);
                    int count = GemmSteps.RowMajor(a, kc, rows, kc, steps);
                    int expected = 0;
                    for (int p = 0; p < kc; p++)
                    {
                        bool any = false;
                        for (int r = 0; r < rows; r++)
                        {
                            any |= a[((long)r * kc) + p] != 0f;
                        }

                        if (any)
                        {
                            Assert.Equal(p, steps[expected++]);
                        }
                    }

                    Assert.Equal(expected, count);
                }
            }
        }
    }

    [Theory]
    [InlineData("half")]
    [InlineData("most")]
    [InlineData("rows")]
    public void The_weight_gradient_over_several_k_blocks_is_bitwise_the_full_one(string pattern)
    {
        // batch (the product's k) past KcMax: several k blocks, full ones Kc apart whose spill reaches the next list.
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            foreach ((int k, int n) in new[] { (9, 64), (11, 96), (136, 64), (200, 128), (784, 128), (130, 64) })
            {
                if (!PanelLayout.TryCreate(k, n, isa, out PanelLayout layout))
                {
                    continue;
                }

                foreach (int batch in new[] { 257, 300, 512, 777 })
                {
                    float[] x = new float[batch * k];
                    var random = new Random(batch + k);
                    for (int i = 0; i < x.Length; i++)
                    {
                        bool zero = pattern switch { "half" => random.Next(2) == 0, "most" => random.Next(20) != 0, _ => (i / k) % 2 == 1 };
                        x[i] = zero ? (random.Next(2) == 0 ? 0f : -0f) : (float)random.NextDouble() - 0.5f;
                    }

                    float[] dy = Seeded.Uniform(batch * n, batch + 1);
                    float[] expected = new float[k * n], expectedBias = new float[n];
                    GemmSplitTests.WithThreads(1, () => Gemm.WeightGradientOn(isa, x, dy, expected, expectedBias, k, n, batch, false, default));
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        float[] panels = new float[k * n], bias = new float[n];
                        GemmSplitTests.WithThreads(threads, () => Gemm.WeightGradientOn(isa, x, dy, panels, bias, k, n, batch, false, default, layout, skipZeroA: true));
                        float[] back = PanelLayoutTests.RowMajor(layout, panels);
                        int first = expected.AsSpan().CommonPrefixLength(back);
                        Assert.True(first == expected.Length, $"{isa} {pattern} k={k} n={n} batch={batch}, {threads} threads: element {first} differs");
                    }
                }
            }
        }
    }
}
