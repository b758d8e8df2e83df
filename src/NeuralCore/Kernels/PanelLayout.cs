namespace NeuralCore.Kernels;

/// <summary>
/// The order in which the register-blocked products read a <c>[k, n]</c> B once it is packed
/// (<see cref="GemmPacking.PackB"/>): k block by k block of <see cref="Kc"/> rows, and within a block panel by panel of
/// <see cref="Nr"/> columns, each panel's rows one after the other. Element <c>(p, j)</c> of a matrix kept in this order
/// is at <see cref="Offset"/>. A weight matrix kept so during training is read by the forward product without being
/// packed, and its gradient is written there by the weight-gradient product (<see cref="Gemm.WeightGradient"/>); an
/// optimizer that updates element by element does not see the difference.
/// </summary>
/// <remarks>
/// Only a layout whose panels cover <c>n</c> exactly is made (<c>n</c> a multiple of <see cref="Nr"/>), so that the
/// matrix keeps its <c>k·n</c> elements and no padding.
/// </remarks>
internal readonly struct PanelLayout
{
    private PanelLayout(int k, int n, KernelIsa isa, int kc, int nr) => (K, N, Isa, Kc, Nr) = (k, n, isa, kc, nr);

    /// <summary>Rows of the matrix (the products' reduction length).</summary>
    public int K { get; }

    /// <summary>Columns of the matrix.</summary>
    public int N { get; }

    /// <summary>The instruction-set path whose tile width <see cref="Nr"/> is.</summary>
    public KernelIsa Isa { get; }

    /// <summary>Rows per k block (the last block may have fewer).</summary>
    public int Kc { get; }

    /// <summary>Columns per panel.</summary>
    public int Nr { get; }

    /// <summary>False for the default value.</summary>
    public bool IsValid => Nr > 0;

    /// <summary>
    /// The layout of a <c>[k, n]</c> B as every register-blocked product on <paramref name="isa"/> reads it, or false
    /// where such products do not read panels (the narrow path of at most 16 columns) or the panels would need padding.
    /// </summary>
    public static bool TryCreate(int k, int n, KernelIsa isa, out PanelLayout layout)
    {
        layout = default;
        if (k < 1 || n < 1 || GemmNarrow.Applies(isa, GemmRows.MaxRows + 1, n))
        {
            return false;
        }

        // The tile width and k blocking of any product with this B (neither depends on its rows; PackedMatrix.Pack).
        GemmPlan plan = GemmPlan.Create(GemmRows.MaxRows + 1, n, k, isa, 1);
        if (n % plan.Nr != 0)
        {
            return false;
        }

        layout = new PanelLayout(k, n, isa, plan.Kc, plan.Nr);
        return true;
    }

    /// <summary>
    /// The fewest columns (units) each thread must get for a layer in panel order to be divided by columns through the
    /// whole step (<see cref="OwnedColumnSlices"/>); tests lower it to reach that division with small layers.
    /// </summary>
    internal static int MinOwnedColumns { get; set; } = 512;

    /// <summary>
    /// How many threads divide the columns of a layer kept in this order through a training step on
    /// <paramref name="batch"/> samples, each owning the same contiguous block of columns in every product and in the
    /// update (<see cref="GemmSplit.Columns"/>: the forward product, the weight gradient, the optimizer's ranges, whose
    /// thread counts all follow from the same <c>batch·K·N</c> multiply-adds); 0 where the step divides the reduction
    /// instead (<see cref="GemmSplit.Reduction"/> forward, <see cref="GemmSplit.Rows"/> weight gradient).
    /// </summary>
    /// <remarks>
    /// Owning columns, a thread writes and reads only its own part of this layer's weights, their gradient, the
    /// optimizer's state for them and the layer's output, and no reduction phase runs (the layer above reads all of
    /// the output, unless its own k blocks follow the slices: <see cref="GemmNarrow.OwnedUpper"/>); it pays a full pass
    /// over the batch on every thread, for a share of the columns. Measured on the AMD EPYC Zen 5 with two real cores
    /// (docs/benchmarks.md, 2026-12-01; epochs alternating in one process): 784-1024-10 at batch 128 on two threads as
    /// fast as the reduction split with the vCPUs close (cross-core round trip 80 ns) and 11% faster with them far
    /// apart (350 ns); 784-512-10 within ±4% either way; 784-128-10 12-25% slower. Hence 512 columns a thread.
    /// </remarks>
    public int OwnedColumnSlices(int batch)
    {
        if (!IsValid || batch < 1)
        {
            return 0;
        }

        GemmPlan plan = GemmPlan.Create(batch, N, K, Isa, Parallelism.ComputeThreads, GemmSplit.Columns);

        // Two panels a slice at least: a slice of one panel would not list a sparse input's steps (GemmJob), which
        // would make where an infinite weight reaches depend on the thread count.
        int slices = plan.ColumnSlices;
        return slices > 1 && N / slices >= MinOwnedColumns && N / Nr / slices >= 2 ? slices : 0;
    }

    /// <summary>
    /// Columns <c>[first, end)</c> of slice <paramref name="slice"/> of <paramref name="slices"/>, as the products of
    /// <see cref="GemmSplit.Columns"/> divide them (whole panels).
    /// </summary>
    public (int First, int End) ColumnSlice(int slices, int slice)
    {
        (int first, int end) = GemmPlan.Slice(N / Nr, slices, slice);
        return (first * Nr, end * Nr);
    }

    /// <summary>
    /// Where element <c>(row, column)</c> is, for a <paramref name="column"/> that begins a panel (a multiple of
    /// <see cref="Nr"/>) and a <paramref name="row"/> in the k block that begins at <paramref name="p0"/>: what
    /// <see cref="Offset"/> gives, with no division (a product's tile loop asks once a tile, and a weight gradient of
    /// 32 steps a tile spent 2% of a step at 784-512-10, batch 32, in the three divisions, AMD EPYC Zen 1).
    /// </summary>
    public long TileOffset(int p0, int row, int column) =>
        ((long)p0 * N) + ((long)column * Math.Min(Kc, K - p0)) + ((long)(row - p0) * Nr);

    /// <summary>Where element <c>(row, column)</c> is.</summary>
    public long Offset(int row, int column)
    {
        int p0 = row / Kc * Kc;
        int kc = Math.Min(Kc, K - p0);
        return ((long)p0 * N) + ((long)(column / Nr) * Nr * kc) + ((long)(row - p0) * Nr) + (column % Nr);
    }

    /// <summary>The scratch <see cref="Reorder"/> needs: one k block, at most <c>Kc·N</c> values.</summary>
    public int ScratchLength => Math.Min(Kc, K) * N;

    /// <summary>
    /// Reorders <paramref name="values"/> in place, from row-major into this order when <paramref name="toPanels"/>,
    /// else back. Each k block occupies the same <c>kc·N</c> values in both orders, so a block at a time goes through
    /// <paramref name="scratch"/> (<see cref="ScratchLength"/> values), not the whole matrix.
    /// </summary>
    /// <exception cref="ArgumentException">A span is too short, or the two overlap.</exception>
    public unsafe void Reorder(Span<float> values, Span<float> scratch, bool toPanels)
    {
        ThrowHelper.CheckLength(values.Length, (long)K * N, nameof(values));
        ThrowHelper.CheckLength(scratch.Length, ScratchLength, nameof(scratch));
        if (values[..(K * N)].Overlaps(scratch[..ScratchLength]))
        {
            ThrowHelper.ThrowOverlap(nameof(scratch), nameof(values));
        }

        for (int p0 = 0; p0 < K; p0 += Kc)
        {
            int kc = Math.Min(Kc, K - p0);
            Span<float> block = values.Slice(p0 * N, kc * N), copy = scratch[..(kc * N)];
            block.CopyTo(copy);
            if (toPanels)
            {
                fixed (float* src = copy, dst = block)
                {
                    GemmPacking.PackB(dst, src, N, kc, false, 0, N, 0, kc, Nr);
                }
            }
            else
            {
                BlockToRowMajor(copy, block, kc);
            }
        }
    }

    // One k block of kc rows, its panels one after the other, back into kc row-major rows.
    private void BlockToRowMajor(ReadOnlySpan<float> panels, Span<float> rows, int kc)
    {
        for (int q = 0; q < N; q += Nr)
        {
            ReadOnlySpan<float> panel = panels.Slice(q * kc, Nr * kc);
            for (int p = 0; p < kc; p++)
            {
                panel.Slice(p * Nr, Nr).CopyTo(rows.Slice((p * N) + q, Nr));
            }
        }
    }
}
